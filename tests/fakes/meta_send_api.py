"""Meta's Send API on loopback: ``POST /me/messages?access_token=…`` as the Messenger Platform
documents it (https://developers.facebook.com/docs/messenger-platform/reference/send-api/).

Answers ``{"recipient_id", "message_id"}``; a wrong token is Graph's OAuthException (190); a
person whose 24-hour window is closed (``closed``) gets error 10, subcode 2018278.
"""

from __future__ import annotations

import itertools
from typing import Any

from aiohttp import web


class FakeSendApi:
    """A real aiohttp server standing in for graph.facebook.com."""

    def __init__(self, page_token: str) -> None:
        self.page_token = page_token
        self.sent: list[dict[str, Any]] = []
        self.closed: set[str] = set()
        self.down = False
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/v21.0/me/messages", self._send)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/v21.0"
        return self.base_url

    async def close(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    def texts_to(self, psid: str) -> list[str]:
        return [m["message"]["text"] for m in self.sent if m["recipient"]["id"] == psid]

    async def _send(self, request: web.Request) -> web.Response:
        if self.down:
            return _error(500, 2, "An unexpected error has occurred. Please retry your request.")
        if request.query.get("access_token") != self.page_token:
            return _error(400, 190, "Invalid OAuth access token.", kind="OAuthException")
        body = await request.json()
        psid = str(body.get("recipient", {}).get("id", ""))
        if not psid or not body.get("message", {}).get("text"):
            return _error(400, 100, "(#100) The parameter recipient is required")
        if psid in self.closed:
            return _error(
                400, 10, "(#10) This message is sent outside of allowed window.", subcode=2018278
            )
        self.sent.append(body)
        return web.json_response({"recipient_id": psid, "message_id": f"m_fake{next(self._ids)}"})


def _error(
    status: int, code: int, message: str, *, kind: str = "OAuthException", subcode: int = 0
) -> web.Response:
    error: dict[str, Any] = {"message": message, "type": kind, "code": code, "fbtrace_id": "Fx1"}
    if subcode:
        error["error_subcode"] = subcode
    return web.json_response({"error": error}, status=status)
