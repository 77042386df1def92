"""HTTP plumbing shared by the HTTP connectors: one lazy session, a timeout on every call, and
the map from an answer's HTTP status to a transient or permanent delivery error.

400, 401, 403, 404, 422 (and the other 4xx and 3xx, which mean the configuration is wrong) are
permanent; 408, 425, 429 and every 5xx are transient, with the server's ``Retry-After`` (seconds
or an HTTP-date, RFC 9110 section 10.2.3) passed on to the outbox.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from multidict import CIMultiDict

from gateway.connectors import Connector
from gateway.errors import PermanentDeliveryError, TransientDeliveryError
from gateway.plugin import Number, table_keys

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0
USER_AGENT = "311-intake-gateway"
_TRANSIENT_4XX = frozenset({408, 425, 429})
_DETAIL_LIMIT = 300
# The keys every HTTP connector's table has.
HTTP_OPTIONS = table_keys(timeout_seconds=Number(DEFAULT_TIMEOUT))


@dataclass(frozen=True, slots=True)
class HttpReply:
    """What the server answered: status, headers and the whole body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class HttpConnector(Connector):
    """A connector that talks HTTP: one ``aiohttp.ClientSession``, made on first use."""

    known_options = HTTP_OPTIONS

    def __init__(self, options: Mapping[str, Any]) -> None:
        super().__init__(options)
        self._session: aiohttp.ClientSession | None = None

    @property
    def timeout_seconds(self) -> float:
        """Seconds one whole call (connect, send, read) may take."""
        return float(self.options.get("timeout_seconds", DEFAULT_TIMEOUT))

    def session(self) -> aiohttp.ClientSession:
        """The connector's one session, made lazily inside the running event loop."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout_seconds),
                headers={"User-Agent": USER_AGENT},
            )
        return self._session

    async def request(self, method: str, url: str, **kwargs: Any) -> HttpReply:
        """Send one request and read the whole answer; network trouble is a transient error."""
        try:
            async with self.session().request(method, url, allow_redirects=False, **kwargs) as resp:
                body = await resp.read()
                return HttpReply(resp.status, CIMultiDict(resp.headers), body)
        except TimeoutError as exc:
            raise TransientDeliveryError(
                f"{self.name}: no answer within {self.timeout_seconds:g}s"
            ) from exc
        except aiohttp.ClientError as exc:
            raise TransientDeliveryError(
                f"{self.name}: connection failed: {type(exc).__name__}"
            ) from exc

    def check_status(self, reply: HttpReply, describe: Callable[[bytes], str]) -> None:
        """Raise the delivery error a non-2xx answer means; ``describe`` renders the error body."""
        if 200 <= reply.status < 300:
            return
        detail = describe(reply.body)
        reason = f"{self.name} answered HTTP {reply.status}" + (f": {detail}" if detail else "")
        log.warning("connector.rejected", extra={"connector": self.name, "status": reply.status})
        if reply.status >= 500 or reply.status in _TRANSIENT_4XX:
            retry_after = parse_retry_after(reply.headers.get("Retry-After"))
            raise TransientDeliveryError(reason, status=reply.status, retry_after=retry_after)
        raise PermanentDeliveryError(reason, status=reply.status)

    def parse_json(self, reply: HttpReply) -> Any:
        """The 2xx body as JSON; garbage is transient (a proxy's error page, a CRM mid-deploy)."""
        try:
            return json.loads(reply.body)
        except ValueError as exc:
            raise TransientDeliveryError(
                f"{self.name} answered HTTP {reply.status} with a body that is not JSON: "
                f"{snippet(reply.body)!r}",
                status=reply.status,
            ) from exc

    async def close(self) -> None:
        """Close the session, if one was made."""
        if self._session is not None:
            await self._session.close()
            self._session = None


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from ``Retry-After`` (delay-seconds or an HTTP-date); None if unusable."""
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def snippet(body: bytes) -> str:
    """The start of a body as one printable line, for an error message."""
    text = body.decode("utf-8", errors="replace")
    return " ".join(text.split())[:_DETAIL_LIMIT]
