"""Slack files residents attach: looked up with ``files.info``, downloaded with the bot token.

https://api.slack.com/methods/files.info and https://api.slack.com/types/file: a file's
``url_private_download`` needs ``Authorization: Bearer <bot token>`` (scope ``files:read``).
``files.info`` is asked first, so that a file too large or of a type not accepted is refused
before any of it is downloaded, and a file deleted since is known as gone. Only the configured
hosts are contacted, and the body is cut off past ``max_bytes``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from gateway.errors import PermanentDeliveryError, TransientDeliveryError
from gateway.fetchers import Fetched, Fetcher, register, store_bytes
from gateway.notifiers.slack import api_base_url
from gateway.plugin import EnvVar, Number, Texts, Whole, table_keys

DEFAULT_HOSTS = ("files.slack.com",)
DEFAULT_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "image/heic", "video/mp4")
# https://files.slack.com/files-pri/T07QK9W3NPT-F07SA1GR4F1/download/img_4411.jpg
_FILE_ID = re.compile(r"/files-pri/[A-Z0-9]+-(F[A-Z0-9]+)/")


@register
class SlackFiles(Fetcher):
    name = "slack_files"
    known_options = table_keys(
        bot_token_env=EnvVar("SLACK_BOT_TOKEN"),
        hosts=Texts(DEFAULT_HOSTS, nonempty=True),
        content_types=Texts(DEFAULT_TYPES, nonempty=True),
        max_bytes=Whole(5_242_880),
        timeout_seconds=Number(20.0),
    )

    def __init__(self, options: Mapping[str, Any]) -> None:
        super().__init__(options)
        self.hosts = tuple(options.get("hosts", DEFAULT_HOSTS))
        self.types = tuple(options.get("content_types", DEFAULT_TYPES))
        self.max_bytes = int(options.get("max_bytes", 5_242_880))
        self.timeout = float(options.get("timeout_seconds", 20))
        self._session: aiohttp.ClientSession | None = None

    async def fetch(self, url: str, folder: Path) -> Fetched:
        """Check the file with ``files.info``, then download it with the bot token."""
        found = _FILE_ID.search(urlsplit(url).path)
        if found:
            url = await self._described(found.group(1))
        host = (urlsplit(url).hostname or "").lower()
        if urlsplit(url).scheme not in ("https", "http") or host not in self.hosts:
            raise PermanentDeliveryError(f"file host {host!r} is not Slack's")
        headers = {"Authorization": f"Bearer {self.secret('bot_token')}"}
        try:
            # The token goes to Slack's file host only: a redirect elsewhere is not followed.
            async with self.session().get(url, headers=headers, allow_redirects=False) as resp:
                return await self._read(resp, folder)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise TransientDeliveryError(f"file not fetched: {exc!r}") from exc

    async def _described(self, file_id: str) -> str:
        """The file's download URL, once its size and type are known to be acceptable."""
        client = AsyncWebClient(
            token=self.secret("bot_token"),
            base_url=api_base_url(),
            timeout=int(self.timeout),
            retry_handlers=[],
        )
        try:
            answer = await client.files_info(file=file_id)
        except SlackApiError as exc:
            error = exc.response.get("error", "") if hasattr(exc.response, "get") else ""
            status = int(getattr(exc.response, "status_code", 0) or 0)
            if status == 429 or status >= 500:
                raise TransientDeliveryError(f"files.info: {error or status}") from exc
            raise PermanentDeliveryError(f"files.info: {error or status}") from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise TransientDeliveryError(f"files.info unreachable: {exc!r}") from exc
        file = answer.get("file") or {}
        if str(file.get("mimetype", "")) not in self.types:
            raise PermanentDeliveryError(f"file type {file.get('mimetype')} is not accepted")
        if int(file.get("size") or 0) > self.max_bytes:
            raise PermanentDeliveryError(f"file larger than {self.max_bytes} bytes")
        return str(file.get("url_private_download") or file.get("url_private") or "")

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(total=self.timeout)
            self._session = aiohttp.ClientSession(timeout=timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _read(self, resp: aiohttp.ClientResponse, folder: Path) -> Fetched:
        if resp.status >= 300:
            transient = resp.status in (408, 429) or resp.status >= 500
            error = TransientDeliveryError if transient else PermanentDeliveryError
            raise error(f"file download answered {resp.status}", status=resp.status)
        content_type = resp.content_type or "application/octet-stream"
        if content_type not in self.types:
            raise PermanentDeliveryError(f"file type {content_type} is not accepted")
        if (resp.content_length or 0) > self.max_bytes:
            raise PermanentDeliveryError(f"file larger than {self.max_bytes} bytes")
        body = bytearray()
        async for chunk in resp.content.iter_chunked(65536):
            body += chunk
            if len(body) > self.max_bytes:
                raise PermanentDeliveryError(f"file larger than {self.max_bytes} bytes")
        return await asyncio.to_thread(store_bytes, bytes(body), content_type, folder)
