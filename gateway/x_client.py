"""tweepy's async client for the X API v2, as the X notifier and the X poller use it.

tweepy builds every URL on ``https://api.twitter.com``; with ``X_API_BASE_URL`` set (a loopback
fake, for testing, like ``TWILIO_API_BASE_URL``) its requests go to that host instead, by the
session it is given. Every call is bounded by the session's time limit.
"""

from __future__ import annotations

import os
from typing import Any

import aiohttp
import tweepy
from tweepy.asynchronous import AsyncClient
from yarl import URL

TWEEPY_HOST = "https://api.twitter.com"


class _Rehosted:
    """The session tweepy calls (it only ever calls ``request``), aimed at another host."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    def request(self, method: str, url: str | URL, **kwargs: Any) -> Any:
        return self.session.request(method, rehost(url, self.base), **kwargs)


def rehost(url: str | URL, base: str) -> str | URL:
    """``url`` with tweepy's host replaced by ``base``, its encoding kept."""
    text = str(url)
    if not text.startswith(TWEEPY_HOST):
        return url
    moved = base + text[len(TWEEPY_HOST) :]
    return URL(moved, encoded=True) if isinstance(url, URL) else moved


class XClient:
    """One tweepy ``AsyncClient`` and its aiohttp session, made on first use in the loop."""

    def __init__(
        self, credentials: dict[str, str | None], timeout: float, return_type: Any
    ) -> None:
        self.credentials = credentials
        self.timeout = timeout
        self.return_type = return_type
        self._client: AsyncClient | None = None
        self._session: aiohttp.ClientSession | None = None

    def client(self) -> AsyncClient:
        if self._client is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
            client = AsyncClient(**self.credentials, return_type=self.return_type)
            base = os.environ.get("X_API_BASE_URL", "").rstrip("/")
            client.session = _Rehosted(self._session, base) if base else self._session
            self._client = client
        return self._client

    async def close(self) -> None:
        session, self._session, self._client = self._session, None, None
        if session is not None:
            await session.close()


def retry_after(exc: tweepy.TooManyRequests, now: float) -> float:
    """Seconds until X's ``x-rate-limit-reset`` (epoch seconds), at least one."""
    reset = exc.reset_time
    return max(1.0, float(reset) - now) if reset else 60.0
