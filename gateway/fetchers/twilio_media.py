"""Twilio MMS and WhatsApp media: ``MediaUrl{N}`` fetched with the account's credentials.

Media URLs are ``https://api.twilio.com/2010-04-01/Accounts/{AC}/Messages/{MM}/Media/{ME}``;
Twilio answers with a redirect to its media CDN. Only the configured hosts are contacted, at
every hop, and the body is cut off past ``max_bytes``.
https://www.twilio.com/docs/messaging/api/media-resource
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp

from channels._safe import allowed_url
from gateway.errors import PermanentDeliveryError, TransientDeliveryError
from gateway.fetchers import Fetched, Fetcher, register, store_bytes
from gateway.plugin import EnvVar, Number, Texts, Whole, table_keys

DEFAULT_HOSTS = ("api.twilio.com", "media.twiliocdn.com", "*.twiliocdn.com")
DEFAULT_TYPES = (
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "image/heic",
    "video/mp4",
    "video/3gpp",
    "audio/amr",
    "audio/mpeg",
)
_REDIRECTS = (301, 302, 303, 307, 308)


@register
class TwilioMedia(Fetcher):
    name = "twilio_media"
    known_options = table_keys(
        account_sid_env=EnvVar("TWILIO_ACCOUNT_SID"),
        auth_token_env=EnvVar("TWILIO_AUTH_TOKEN"),
        hosts=Texts(DEFAULT_HOSTS, nonempty=True),
        content_types=Texts(DEFAULT_TYPES, nonempty=True),
        max_bytes=Whole(5_242_880),
        timeout_seconds=Number(20.0),
    )

    # Whose hosts these are, for the refusal's reason.
    provider = "Twilio"

    def __init__(self, options: Mapping[str, Any]) -> None:
        super().__init__(options)
        self.hosts = tuple(options.get("hosts", DEFAULT_HOSTS))
        self.types = tuple(options.get("content_types", DEFAULT_TYPES))
        self.max_bytes = int(options.get("max_bytes", 5_242_880))
        self.timeout = aiohttp.ClientTimeout(total=float(options.get("timeout_seconds", 20)))
        self._session: aiohttp.ClientSession | None = None

    async def fetch(self, url: str, folder: Path) -> Fetched:
        """Follow ``url`` through at most three redirects, every hop on an allowed host."""
        auth = self.credentials()
        try:
            for _ in range(4):
                self._check_host(url)
                async with self.session().get(url, auth=auth, allow_redirects=False) as resp:
                    if resp.status in _REDIRECTS and resp.headers.get("Location"):
                        # Credentials go only to Twilio's API, never to a CDN it points at.
                        url, auth = urljoin(url, resp.headers["Location"]), None
                        continue
                    return await self._read(resp, folder)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise TransientDeliveryError(f"media not fetched: {exc!r}") from exc
        raise PermanentDeliveryError("media URL redirects too often")

    def credentials(self) -> aiohttp.BasicAuth | None:
        """What the first hop is fetched with: the account's SID and token."""
        return aiohttp.BasicAuth(self.secret("account_sid"), self.secret("auth_token"))

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _check_host(self, url: str) -> None:
        if not allowed_url(url, self.hosts):
            host = urlsplit(url).hostname if url.isascii() else "?"
            raise PermanentDeliveryError(f"media host {host!r} is not one of {self.provider}'s")

    async def _read(self, resp: aiohttp.ClientResponse, folder: Path) -> Fetched:
        if resp.status >= 400:
            # A timeout or a rate limit may pass; any other refusal will not (errors.py).
            transient = resp.status in (408, 429) or resp.status >= 500
            error = TransientDeliveryError if transient else PermanentDeliveryError
            raise error(f"media fetch answered {resp.status}", status=resp.status)
        content_type = resp.content_type or "application/octet-stream"
        if content_type not in self.types:
            raise PermanentDeliveryError(f"media type {content_type} is not accepted")
        if (resp.content_length or 0) > self.max_bytes:
            raise PermanentDeliveryError(f"media larger than {self.max_bytes} bytes")
        body = await _read_at_most(resp, self.max_bytes)
        if resp.content_length is not None and len(body) != resp.content_length:
            raise TransientDeliveryError(
                f"media cut short: {len(body)} of {resp.content_length} bytes"
            )
        return await asyncio.to_thread(store_bytes, body, content_type, folder)


async def _read_at_most(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    """The whole body, however many pieces it comes in; past ``limit`` bytes it is refused."""
    body = bytearray()
    async for chunk in resp.content.iter_chunked(65536):
        body += chunk
        if len(body) > limit:
            raise PermanentDeliveryError(f"media larger than {limit} bytes")
    return bytes(body)
