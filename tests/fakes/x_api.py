"""X's API v2 on loopback: the part the gateway uses, as X documents it.

``GET /2/users/:id/mentions`` (``since_id``, ``pagination_token``, ``max_results``) and ``GET
/2/dm_events`` serve pages in the shape of the shared fixtures, newest first, with ``meta``
(``newest_id``, ``oldest_id``, ``next_token``, ``result_count``); ``POST /2/tweets`` and ``POST
/2/dm_conversations/with/:participant_id/messages`` answer 201 with ``data``. A 429 carries
``x-rate-limit-reset`` (epoch seconds), as X sends it.
https://docs.x.com/x-api/users/get-mentions, https://docs.x.com/x-api/direct-messages/lookup/quickstart,
https://docs.x.com/x-api/fundamentals/rate-limits
"""

from __future__ import annotations

import copy
import itertools
import json
import time
from typing import Any

from aiohttp import web

JSON = "application/json"


class FakeXApi:
    """A real aiohttp server standing in for api.x.com."""

    def __init__(self, mentions: dict[str, Any], dm_events: dict[str, Any]) -> None:
        # Everything X holds, newest first: each page is cut from these.
        self.mentions = list(mentions["data"])
        self.mention_includes = mentions.get("includes", {})
        self.dm_events = list(dm_events["data"])
        self.dm_includes = dm_events.get("includes", {})
        self.page_size = 100
        self.requests: list[tuple[str, dict[str, str], float]] = []
        self.posts: list[dict[str, Any]] = []
        self.dms: list[dict[str, Any]] = []
        # The next this many reads and posts answer 429, resetting this many seconds from then.
        self.limited = 0
        self.reset_after = 1
        self.down = False
        self._ids = itertools.count(1990000000000000000)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/2/users/{id}/mentions", self._mentions)
        app.router.add_get("/2/dm_events", self._dm_events)
        app.router.add_post("/2/tweets", self._tweet)
        app.router.add_post("/2/dm_conversations/with/{participant}/messages", self._dm)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self.base_url

    async def close(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    def gets(self, path: str) -> list[dict[str, str]]:
        """The query of every GET of ``path``, in order."""
        return [query for p, query, _ in self.requests if p == path]

    def _refuse(self) -> web.Response | None:
        if self.down:
            return web.json_response({"title": "Service Unavailable"}, status=503)
        if self.limited <= 0:
            return None
        self.limited -= 1
        reset = int(time.time()) + self.reset_after
        body = {"title": "Too Many Requests", "detail": "Too Many Requests", "status": 429}
        headers = {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)}
        return web.json_response(body, status=429, headers=headers)

    async def _mentions(self, request: web.Request) -> web.Response:
        self.requests.append((request.path, dict(request.query), time.time()))
        refused = self._refuse()
        if refused is not None:
            return refused
        since = int(request.query.get("since_id", "0"))
        newer = [t for t in self.mentions if int(t["id"]) > since]
        return self._page(request, newer, self.mention_includes, newest_oldest=True)

    async def _dm_events(self, request: web.Request) -> web.Response:
        self.requests.append((request.path, dict(request.query), time.time()))
        refused = self._refuse()
        if refused is not None:
            return refused
        return self._page(request, self.dm_events, self.dm_includes, newest_oldest=False)

    def _page(
        self, request: web.Request, items: list[Any], includes: Any, *, newest_oldest: bool
    ) -> web.Response:
        start = int(request.query.get("pagination_token", "0") or 0)
        size = min(self.page_size, int(request.query.get("max_results", "100")))
        page = items[start : start + size]
        meta: dict[str, Any] = {"result_count": len(page)}
        if page and newest_oldest:
            meta["newest_id"], meta["oldest_id"] = page[0]["id"], page[-1]["id"]
        if start + size < len(items):
            meta["next_token"] = str(start + size)
        body: dict[str, Any] = {"meta": meta}
        if page:
            body["data"] = page
            body["includes"] = copy.deepcopy(includes)
        return web.Response(text=json.dumps(body), content_type=JSON, charset="utf-8")

    async def _tweet(self, request: web.Request) -> web.Response:
        body = await request.json()
        refused = self._refuse()
        if refused is not None:
            return refused
        post_id = str(next(self._ids))
        self.posts.append({**body, "id": post_id})
        return web.json_response({"data": {"id": post_id, "text": body["text"]}}, status=201)

    async def _dm(self, request: web.Request) -> web.Response:
        body = await request.json()
        event, to = str(next(self._ids)), request.match_info["participant"]
        self.dms.append({**body, "to": to, "id": event})
        data = {"dm_conversation_id": f"1-{to}", "dm_event_id": event}
        return web.json_response({"data": data}, status=201)
