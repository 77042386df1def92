"""Polling X, for cities without webhook access: the ingest core's pulling transport.

The worker reads the city account's mentions (``GET /2/users/:id/mentions``, from the newest id
stored, ``since_id``) and its DM events (``GET /2/dm_events``, newest first, until an event
already stored) with tweepy's async client, and hands each page's exact bytes to the ingest core
as an ``XPage`` request: stored raw, parsed, deduped by post and DM event id like a webhook's
delivery (a post seen both ways is one report). What a webhook's acknowledgement is to X, the
cursor is here: it moves (``gateway.store.cursors``) only once the pages are durably stored, so
a restart resumes where it stopped and never files a post twice. A 429 is honoured until X's
``x-rate-limit-reset``; any other failure waits for the next poll.
https://docs.x.com/x-api/users/get-mentions, https://docs.x.com/x-api/direct-messages/lookup/quickstart,
https://docs.x.com/x-api/fundamentals/rate-limits
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import tweepy
from sqlalchemy.ext.asyncio import AsyncEngine

from channels import Channel, WebhookRequest
from channels.x import XPage
from gateway.errors import ConfigError, IngestError
from gateway.ingest.core import IngestCore
from gateway.rounds import repeat_rounds
from gateway.store import cursors
from gateway.x_client import XClient

log = logging.getLogger(__name__)

MENTIONS, DM_EVENTS = "x:mentions", "x:dm_events"
# The fields the channel reads (shared fixtures' README: the request that produces each page).
MENTION_FIELDS: dict[str, Any] = {
    "expansions": [
        "author_id",
        "attachments.media_keys",
        "geo.place_id",
        "referenced_tweets.id",
        "referenced_tweets.id.author_id",
    ],
    "tweet_fields": [
        "created_at", "author_id", "conversation_id", "in_reply_to_user_id", "lang", "geo",
        "attachments", "entities", "referenced_tweets",
    ],
    "user_fields": ["name", "username", "location"],
    "place_fields": [
        "full_name", "id", "contained_within", "country", "country_code", "geo", "name",
        "place_type",
    ],
    "media_fields": ["url", "type", "width", "height", "alt_text"],
}  # fmt: skip
DM_FIELDS: dict[str, Any] = {
    "event_types": "MessageCreate",
    "dm_event_fields": [
        "id", "text", "event_type", "created_at", "dm_conversation_id", "sender_id", "attachments",
    ],
    "expansions": ["sender_id", "attachments.media_keys"],
    "user_fields": ["name", "username"],
    "media_fields": ["url", "type", "width", "height"],
}  # fmt: skip


class XPoller:
    """Reads the city account's new mentions and DMs into the ingest core, page by page."""

    def __init__(
        self,
        channel: Channel,
        core: IngestCore,
        engine: AsyncEngine,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.channel = XPage(channel.options, channel.context)
        self.core = core
        self.engine = engine
        self.clock = clock
        options = channel.options
        self.user_id = str(options.get("user_id") or "")
        if not self.user_id:
            raise ConfigError("channels.x.user_id", "is required to poll")
        self.poll_seconds = float(options.get("poll_seconds", 60))
        self.max_results = int(options.get("max_results", 100))
        self.max_pages = int(options.get("max_pages", 10))
        # Per source: no request before this time (X's rate-limit reset).
        self.resume_at: dict[str, float] = {}
        self.api: XClient | None = None

    def client(self) -> Any:
        if self.api is None:
            credentials = {
                key: self._optional_secret(key)
                for key in (
                    "bearer_token", "consumer_key", "consumer_secret", "access_token",
                    "access_token_secret",
                )
            }  # fmt: skip
            self.api = XClient(credentials, 30.0, aiohttp.ClientResponse)
        return self.api.client()

    def _optional_secret(self, key: str) -> str | None:
        name = self.channel.options.get(f"{key}_env")
        return os.environ.get(str(name)) if name else None

    async def run_forever(self) -> None:
        """Poll every ``poll_seconds`` until cancelled (a found page does not hurry the next)."""

        async def round_() -> int:
            await self.run_once()
            return 0

        await repeat_rounds(round_, asyncio.Event(), self.poll_seconds, "x_poller")

    async def run_once(self) -> int:
        """One poll of both sources; how many messages it stored (new or seen before)."""
        taken = 0
        sources: tuple[tuple[str, Callable[[], Awaitable[int]]], ...] = (
            (MENTIONS, self._mentions),
            (DM_EVENTS, self._dm_events),
        )
        for source, read in sources:
            if self.clock() < self.resume_at.get(source, 0.0):
                continue
            try:
                taken += await read()
            except tweepy.TooManyRequests as exc:
                reset = float(exc.reset_time) if exc.reset_time else self.clock() + 60
                self.resume_at[source] = reset
                log.warning(
                    "x_poller.rate_limited",
                    extra={"source": source, "wait_seconds": round(reset - self.clock(), 1)},
                )
            except (tweepy.TweepyException, aiohttp.ClientError, TimeoutError) as exc:
                log.warning("x_poller.failed", extra={"source": source, "error": repr(exc)[:200]})
            except IngestError as exc:
                # Kept for staff (unparsed) or not stored at all: the cursor stays, read again.
                log.warning("x_poller.not_taken", extra={"source": source, "error": exc.code})
        return taken

    async def _mentions(self) -> int:
        since = await self._position(MENTIONS)
        token, newest, taken = None, None, 0
        for _ in range(self.max_pages):
            params = {**MENTION_FIELDS, "max_results": self.max_results}
            params.update(
                {k: v for k, v in (("since_id", since), ("pagination_token", token)) if v}
            )
            bearer = self._optional_secret("bearer_token")
            response = await self.client().get_users_mentions(
                self.user_id, user_auth=bearer is None, **params
            )
            page, count = await self._take(response)
            taken += count
            meta = page.get("meta") or {}
            newest = newest or meta.get("newest_id")
            token = meta.get("next_token")
            # A first poll takes the newest page only: the gateway answers from now on.
            if not token or since is None:
                break
        else:
            log.warning("x_poller.backlog_left", extra={"source": MENTIONS})
        if newest:
            await self._move(MENTIONS, str(newest))
        return taken

    async def _dm_events(self) -> int:
        last = await self._position(DM_EVENTS)
        token, newest, taken = None, 0, 0
        for _ in range(self.max_pages):
            params = {**DM_FIELDS, "max_results": self.max_results}
            if token:
                params["pagination_token"] = token
            response = await self.client().get_direct_message_events(user_auth=True, **params)
            page, count = await self._take(response)
            taken += count
            ids = [int(event["id"]) for event in page.get("data") or []]
            newest = max([newest, *ids])
            token = (page.get("meta") or {}).get("next_token")
            # DM events come newest first and have no since_id: stop at one already stored.
            if not token or last is None or (ids and min(ids) <= int(last)):
                break
        if newest and (last is None or newest > int(last)):
            await self._move(DM_EVENTS, str(newest))
        return taken

    async def _take(self, response: aiohttp.ClientResponse) -> tuple[dict[str, Any], int]:
        """Hand one page's exact bytes to the ingest core; the page and its message count."""
        # tweepy read the body inside its own ``async with`` and released the connection; the
        # released response keeps those exact bytes (its ``read()`` now refuses).
        body = response._body
        if body is None:
            body = (await response.text()).encode()
        headers = {"content-type": response.headers.get("Content-Type", "application/json")}
        request = WebhookRequest("GET", str(response.url), headers, body)
        stored = await self.core.take(self.channel, request)
        return json.loads(body), len(stored)

    async def _position(self, source: str) -> str | None:
        async with self.engine.connect() as conn:
            return await cursors.position(conn, source)

    async def _move(self, source: str, to: str) -> None:
        async with self.engine.begin() as conn:
            await cursors.move(conn, source, to)

    async def close(self) -> None:
        if self.api is not None:
            await self.api.close()
