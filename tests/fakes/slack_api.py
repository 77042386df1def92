"""Slack's Web API on loopback, the part the gateway uses, and Slack's request signing.

Methods are ``POST``/``GET {base}/api/<method>`` with ``Authorization: Bearer <bot token>``;
every answer is 200 with ``{"ok": true, ...}`` or ``{"ok": false, "error": "..."}``, and a rate
limit is 429 with ``Retry-After`` (https://api.slack.com/web). ``chat.postMessage``
(https://api.slack.com/methods/chat.postMessage), ``views.open``
(https://api.slack.com/methods/views.open), ``files.info``
(https://api.slack.com/methods/files.info) and a file's ``url_private_download``, which needs
the same bearer token. The SDK is pointed here with ``AsyncWebClient(base_url=...)`` through
``SLACK_API_BASE_URL``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web
from slack_sdk.signature import SignatureVerifier

SIGNING_SECRET = "fixture_signing_secret_not_real_0"
BOT_TOKEN = "xoxb-fixture-bot-token-not-real"


def slack_headers(
    body: bytes, *, secret: str = SIGNING_SECRET, timestamp: int | None = None, json: bool = True
) -> dict[str, str]:
    """The headers Slack sends with ``body``, signed with slack_sdk's own signature code."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    kind = "application/json" if json else "application/x-www-form-urlencoded"
    return {
        "Content-Type": kind,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
    }


class FakeSlackApi:
    """A real aiohttp server standing in for slack.com/api and files.slack.com."""

    def __init__(self, token: str = BOT_TOKEN) -> None:
        self.token = token
        self.posted: list[dict[str, Any]] = []
        self.views: list[dict[str, Any]] = []
        self.file_requests: list[str] = []
        # File id -> (mimetype, bytes).
        self.files: dict[str, tuple[str, bytes]] = {}
        self.hang = False
        self.rate_limited = False
        self.base_url = ""
        self._runner: web.AppRunner | None = None
        self._counter = 0

    async def start(self) -> str:
        """Serve on a free loopback port; the Web API's base URL (for ``SLACK_API_BASE_URL``)."""
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._method)
        app.router.add_get("/files-pri/{file}/download/{name}", self._download)
        # A stalled answer (``hang``) must not hold the shutdown for long.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        return f"{self.base_url}/api/"

    async def close(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    def texts_in(self, channel: str) -> list[str]:
        """Every message text posted in ``channel``, in order."""
        return [m["text"] for m in self.posted if m["channel"] == channel]

    async def _method(self, request: web.Request) -> web.Response:
        if self.hang:
            await asyncio.sleep(3600)
        if self.rate_limited:
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "7"}
            )
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        args = await _arguments(request)
        handlers = {
            "chat.postMessage": self._post,
            "views.open": self._open,
            "files.info": self._info,
        }
        handler = handlers.get(request.match_info["method"])
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        return web.json_response(handler(args))

    def _post(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("channel") or not (args.get("text") or args.get("blocks")):
            return {"ok": False, "error": "no_text"}
        self._counter += 1
        ts = f"{1760460000 + self._counter}.000100"
        self.posted.append({**args, "ts": ts})
        return {"ok": True, "channel": args["channel"], "ts": ts, "message": {"text": args["text"]}}

    def _open(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        view = args.get("view")
        if not isinstance(view, dict) or view.get("type") != "modal":
            return {"ok": False, "error": "invalid_arguments"}
        self.views.append(args)
        return {"ok": True, "view": {**view, "id": f"V{len(self.views):08d}"}}

    def _info(self, args: dict[str, Any]) -> dict[str, Any]:
        file_id = str(args.get("file", ""))
        if file_id not in self.files:
            return {"ok": False, "error": "file_not_found"}
        mimetype, body = self.files[file_id]
        url = f"{self.base_url}/files-pri/T07QK9W3NPT-{file_id}/download/{file_id}.bin"
        file = {"id": file_id, "mimetype": mimetype, "size": len(body)}
        return {"ok": True, "file": {**file, "url_private_download": url, "url_private": url}}

    async def _download(self, request: web.Request) -> web.Response:
        self.file_requests.append(request.path)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            # Slack answers an unauthenticated file URL with its sign-in page.
            return web.Response(text="<html>sign in</html>", content_type="text/html")
        file_id = request.match_info["file"].rsplit("-", 1)[-1]
        if file_id not in self.files:
            return web.Response(status=404)
        mimetype, body = self.files[file_id]
        return web.Response(body=body, content_type=mimetype)


async def _arguments(request: web.Request) -> dict[str, Any]:
    """A method's arguments: JSON, a form, or the query string, as the SDK sends them."""
    if request.content_type == "application/json":
        data = await request.json()
        return dict(data) if isinstance(data, dict) else {}
    if request.method == "POST":
        return {k: str(v) for k, v in (await request.post()).items()}
    return dict(request.query)
