"""Twilio's Messages API on loopback: the part the gateway uses, as Twilio documents it.

``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` with HTTP basic auth (the account SID
and auth token), form fields ``To``, ``From``, ``Body``, ``StatusCallback``; answers 201 with the
message resource, or Twilio's error object ``{"code", "message", "more_info", "status"}``.
https://www.twilio.com/docs/messaging/api/message-resource
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

from aiohttp import web

UNSUBSCRIBED = 21610


class FakeTwilioApi:
    """A real aiohttp server standing in for api.twilio.com."""

    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.sent: list[dict[str, str]] = []
        self.attempts = 0
        self.down = False
        self.unsubscribed: set[str] = set()
        # Media by id; Twilio answers a media URL with a redirect to its CDN.
        self.media: dict[str, tuple[str, bytes]] = {}
        self.cdn_host = "127.0.0.1"
        self.media_requests: list[str] = []
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{account}/Messages.json", self._create)
        app.router.add_get(
            "/2010-04-01/Accounts/{account}/Messages/{message}/Media/{media}", self._media
        )
        app.router.add_get("/cdn/{media}", self._cdn)
        app.router.add_get("/2010-04-01/Accounts/{account}/Recordings/{recording}", self._recording)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def close(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    def media_url(self, message: str, media: str) -> str:
        """The URL Twilio would put in ``MediaUrl{N}`` for ``media``."""
        account = f"{self.base_url}/2010-04-01/Accounts/{self.account_sid}"
        return f"{account}/Messages/{message}/Media/{media}"

    async def _media(self, request: web.Request) -> web.Response:
        self.media_requests.append(request.path)
        if not self._authorized(request):
            return _error(401, 20003, "Authenticate")
        media = request.match_info["media"]
        if media not in self.media:
            return _error(404, 20404, "The requested resource was not found")
        port = request.url.port
        raise web.HTTPTemporaryRedirect(f"http://{self.cdn_host}:{port}/cdn/{media}")

    def recording_url(self, recording: str) -> str:
        """The URL Twilio would put in ``RecordingUrl`` for ``recording`` (no extension)."""
        return f"{self.base_url}/2010-04-01/Accounts/{self.account_sid}/Recordings/{recording}"

    async def _recording(self, request: web.Request) -> web.Response:
        """A call recording; ``.mp3`` asks for MP3 (https://www.twilio.com/docs/voice/api/recording)."""
        self.media_requests.append(request.path)
        if not self._authorized(request):
            return _error(401, 20003, "Authenticate")
        name = request.match_info["recording"]
        recording, _, extension = name.partition(".")
        if recording not in self.media or extension != "mp3":
            return _error(404, 20404, "The requested resource was not found")
        content_type, body = self.media[recording]
        return web.Response(body=body, content_type=content_type)

    async def _cdn(self, request: web.Request) -> web.Response:
        self.media_requests.append(request.path)
        # The CDN must never see the account's credentials.
        if "Authorization" in request.headers:
            return web.Response(status=400, text="credentials sent to the CDN")
        content_type, body = self.media[request.match_info["media"]]
        return web.Response(body=body, content_type=content_type)

    def bodies_to(self, number: str) -> list[str]:
        """Every message body sent to ``number``, in order."""
        return [m["Body"] for m in self.sent if m["To"] == number]

    async def _create(self, request: web.Request) -> web.Response:
        self.attempts += 1
        if self.down:
            return _error(503, 20500, "Service unavailable")
        if not self._authorized(request):
            return _error(401, 20003, "Authenticate")
        form = dict(await request.post())
        fields = {k: str(v) for k, v in form.items()}
        if fields.get("To") in self.unsubscribed:
            return _error(400, UNSUBSCRIBED, "Attempt to send to unsubscribed recipient")
        if not fields.get("To") or not fields.get("From") or not fields.get("Body"):
            return _error(400, 21602, "Message body and To/From are required")
        sid = "SM" + uuid.uuid4().hex
        self.sent.append({**fields, "sid": sid})
        return web.json_response(self._resource(sid, fields), status=201)

    def _authorized(self, request: web.Request) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {expected}"

    def _resource(self, sid: str, fields: dict[str, str]) -> dict[str, Any]:
        return {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": fields["To"],
            "from": fields["From"],
            "body": fields["Body"],
            "status": "queued",
            "num_segments": "1",
            "num_media": "0",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "price": None,
            "error_code": None,
            "error_message": None,
            "date_created": "Tue, 14 Oct 2025 12:00:00 +0000",
            "date_updated": "Tue, 14 Oct 2025 12:00:00 +0000",
            "date_sent": None,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
            "subresource_uris": {},
        }


def _error(status: int, code: int, message: str) -> web.Response:
    body = {
        "code": code,
        "message": message,
        "status": status,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
    }
    return web.Response(text=json.dumps(body), status=status, content_type="application/json")
