"""Fetcher tests: the loopback Twilio fake as api.twilio.com, and a second loopback host (its own
server on 127.0.0.2) standing in for Twilio's media CDN, which records what each request carried.

The fake answers a media URL with a redirect to ``http://{cdn_host}:{its own port}/cdn/{id}``, so
the CDN listens on the fake's port at another loopback address: a different host, a different
server. Linux routes all of 127.0.0.0/8 to loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import web

from gateway.fetchers.twilio_media import TwilioMedia
from tests.fakes.twilio_api import FakeTwilioApi

ACCOUNT = "AC" + "1" * 32
AUTH_TOKEN = "fetcher_auth_token_not_real_0000"
MESSAGE = "MM" + "2" * 32
API_HOST = "127.0.0.1"
CDN_HOST = "127.0.0.2"


@dataclass(frozen=True, slots=True)
class Seen:
    """One request the CDN received: its path and the Authorization header it carried."""

    path: str
    authorization: str | None


class MediaCdn:
    """A real aiohttp server serving the fake's media, as Twilio's CDN does after the redirect."""

    def __init__(self, api: FakeTwilioApi) -> None:
        self.api = api
        self.seen: list[Seen] = []
        # What the next answers look like: an error status, a body in pieces, a stall.
        self.status = 200
        self.pieces = 1
        self.stall = asyncio.Event()
        self.stalling = False
        self._runner: web.AppRunner | None = None

    async def start(self, host: str, port: int) -> None:
        app = web.Application()
        app.router.add_get("/cdn/{media}", self._serve)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()

    async def close(self) -> None:
        self.stall.set()
        if self._runner:
            await self._runner.cleanup()

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(Seen(request.path, request.headers.get("Authorization")))
        if self.stalling:
            await self.stall.wait()
        if self.status != 200:
            return web.Response(status=self.status, text="CDN trouble")
        content_type, body = self.api.media[request.match_info["media"]]
        if self.pieces == 1:
            return web.Response(body=body, content_type=content_type)
        # Chunked, without Content-Length, each piece flushed on its own: a body that arrives
        # over time, as a large photo does from a real CDN.
        resp = web.StreamResponse(headers={"Content-Type": content_type})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        size = -(-len(body) // self.pieces)
        # A fetcher that stops reading past its size cap hangs up mid-body, as it should.
        with contextlib.suppress(ConnectionResetError):
            for start in range(0, len(body), size):
                await resp.write(body[start : start + size])
                await asyncio.sleep(0.02)
            await resp.write_eof()
        return resp


@pytest.fixture
async def twilio(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeTwilioApi]:
    """The Twilio fake on 127.0.0.1; its media redirects go to the CDN host."""
    api = FakeTwilioApi(ACCOUNT, AUTH_TOKEN)
    await api.start()
    api.cdn_host = CDN_HOST
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    yield api
    await api.close()


@pytest.fixture
async def cdn(twilio: FakeTwilioApi) -> AsyncIterator[MediaCdn]:
    """The CDN on 127.0.0.2, at the port the fake's redirects name."""
    server = MediaCdn(twilio)
    port = urlsplit(twilio.base_url).port
    assert port is not None
    await server.start(CDN_HOST, port)
    yield server
    await server.close()


@pytest.fixture
async def make_fetcher() -> AsyncIterator[Callable[..., TwilioMedia]]:
    """Build ``TwilioMedia`` from ``[fetchers.twilio_media]``-shaped options; closed afterwards."""
    made: list[TwilioMedia] = []

    def build(**options: Any) -> TwilioMedia:
        fetcher = TwilioMedia(
            {
                "account_sid_env": "TWILIO_ACCOUNT_SID",
                "auth_token_env": "TWILIO_AUTH_TOKEN",
                "hosts": [API_HOST, CDN_HOST],
                "timeout_seconds": 2,
                **options,
            }
        )
        made.append(fetcher)
        return fetcher

    yield build
    for fetcher in made:
        await fetcher.close()
