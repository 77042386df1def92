"""What keeps the form honest: CSRF tokens, a per-address rate limit and a honeypot.

CSRF: the form page sets a random cookie (SameSite=Strict, HttpOnly) and embeds an HMAC of it;
a POST must carry both, and a cross-site page can read neither. The HMAC key comes from the
environment variable ``[channels.web_form] secret_env`` names; without it a per-process random key
is used (fine for ``make run``; several web processes need the variable set).

Rate limits: fixed windows counted in the database (so every web process shares them), keyed by
a hash of the client address: the address itself is never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from datetime import UTC, datetime, timedelta

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from channels._safe import same_secret
from gateway.config.settings import ServerSettings
from gateway.store.rate_limits import count_hit

log = logging.getLogger(__name__)

CSRF_COOKIE = "gw_csrf"
CSRF_FIELD = "csrf_token"
HONEYPOT_FIELD = "website"


class Csrf:
    def __init__(self, secret_env: str) -> None:
        secret = os.environ.get(secret_env, "")
        if not secret:
            log.warning("web.csrf_secret_missing", extra={"variable": secret_env})
        self.key = (secret or secrets.token_hex(32)).encode("utf-8")

    def cookie_value(self, request: web.Request) -> str:
        """The visitor's CSRF cookie, or a new one (set it with ``remember``)."""
        return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)

    def token(self, cookie: str) -> str:
        return hmac.new(
            self.key, cookie.encode("utf-8", "surrogatepass"), hashlib.sha256
        ).hexdigest()

    def remember(self, response: web.StreamResponse, cookie: str, secure: bool) -> None:
        response.set_cookie(
            CSRF_COOKIE, cookie, httponly=True, samesite="Strict", secure=secure, path="/"
        )

    def valid(self, request: web.Request, token: str) -> bool:
        """True when ``token`` is the HMAC of this visitor's cookie."""
        cookie = request.cookies.get(CSRF_COOKIE, "")
        return bool(cookie and token) and same_secret(token, self.token(cookie))


def client_address(request: web.Request, server: ServerSettings) -> str:
    """The resident's address: the proxy's X-Forwarded-For when the proxy is trusted."""
    if server.trust_proxy:
        forwarded = request.headers.get("X-Forwarded-For", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.remote or "unknown"


async def within_limit(
    engine: AsyncEngine, bucket: str, address: str, limit: int, window_seconds: int
) -> bool:
    """Count one more event for (bucket, address); False once the window's limit is passed."""
    if limit <= 0:
        return True
    key = hashlib.sha256(f"{bucket}\n{address}".encode()).hexdigest()
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        count = await count_hit(conn, key, now, timedelta(seconds=window_seconds))
    return count <= limit
