"""Replies on X: a public reply under the resident's post, or a direct message.

``POST /2/tweets`` (``reply.in_reply_to_tweet_id``) and ``POST
/2/dm_conversations/with/:participant_id/messages``, through tweepy's async client with the city
account's OAuth 1.0a user context (https://docs.x.com/x-api/posts/manage-tweets/introduction,
https://docs.x.com/x-api/direct-messages/manage/introduction). ``X_API_BASE_URL`` points it at
another host, for testing.

A public reply never carries personal data or a description: it is the city's own short text
with the tracking number and an invitation to DM (``public_reply``, ``public_status``), or a
follow-up question, which names no one (with the tracking number, since X refuses a post that
repeats an earlier one). Everything else goes by DM.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import aiohttp
import tweepy
from tweepy.asynchronous import AsyncClient

from gateway.errors import PermanentDeliveryError, TransientDeliveryError
from gateway.notifiers import Notifier, register
from gateway.plugin import EnvVar, MapOf, Number, Text, table_keys
from gateway.records import Notification
from gateway.x_client import XClient, retry_after

# What a public reply says: in the resident's language, English when it has none.
PUBLIC_REPLY = {
    "en": "Thanks, we got your report. Tracking number {tracking_number}. "
    "Send us a DM for anything more.",
    "es": "Gracias, recibimos su reporte. Número de seguimiento {tracking_number}. "
    "Envíenos un DM para cualquier otra cosa.",
}
PUBLIC_STATUS = {
    "en": "Report {tracking_number} has an update. Send us a DM with STATUS {tracking_number} "
    "to read it.",
    "es": "El reporte {tracking_number} tiene novedades. Envíenos un DM con STATUS "
    "{tracking_number} para leerlas.",
}
# X counts a post's length in characters; a longer one is refused.
MAX_POST = 280
DM, POST = "dm:", "post:"


def _has_number(template: str) -> str | None:
    if "{tracking_number}" in template:
        return None
    return "must contain {tracking_number}"


@register
class XNotifier(Notifier):
    name = "x"
    known_options = table_keys(
        consumer_key_env=EnvVar("X_CONSUMER_KEY"),
        consumer_secret_env=EnvVar("X_CONSUMER_SECRET"),
        access_token_env=EnvVar("X_ACCESS_TOKEN"),
        access_token_secret_env=EnvVar("X_ACCESS_TOKEN_SECRET"),
        status_via=Text("reply", choices=("reply", "dm")),
        public_reply=MapOf(Text(nonempty=True, shape=_has_number)),
        public_status=MapOf(Text(nonempty=True, shape=_has_number)),
        timeout_seconds=Number(10.0),
    )

    def __init__(self, options: Mapping[str, Any]) -> None:
        super().__init__(options)
        self.timeout = float(options.get("timeout_seconds", 10))
        self.api: XClient | None = None

    def client(self) -> AsyncClient:
        if self.api is None:
            keys = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
            credentials: dict[str, str | None] = {key: self.secret(key) for key in keys}
            self.api = XClient(credentials, self.timeout, tweepy.Response)
        return self.api.client()

    async def send(self, note: Notification, idempotency_key: str) -> str | None:
        """Post the public reply or send the DM that ``note`` calls for; the post or event id."""
        kind, _, user_id = note.to.partition(":")
        if not user_id.isdigit() or f"{kind}:" not in (DM, POST):
            raise PermanentDeliveryError(f"not an X address: {note.to[:8]}…")
        try:
            async with asyncio.timeout(self.timeout):
                if self._by_dm(note, kind):
                    sent = await self.client().create_direct_message(
                        participant_id=user_id, text=note.body, user_auth=True
                    )
                    return str(sent.data["dm_event_id"])
                reply_to = note.thread.get("in_reply_to", "")
                if not reply_to.isdigit():
                    raise PermanentDeliveryError("no post to reply to")
                posted = await self.client().create_tweet(
                    text=self.public_text(note), in_reply_to_tweet_id=reply_to, user_auth=True
                )
                return str(posted.data["id"])
        except tweepy.TooManyRequests as exc:
            wait = retry_after(exc, time.time())
            raise TransientDeliveryError("X rate limit", status=429, retry_after=wait) from exc
        except tweepy.HTTPException as exc:
            raise _failure(exc) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientDeliveryError(f"X unreachable: {exc!r}") from exc

    def _by_dm(self, note: Notification, kind: str) -> bool:
        """A DM for DM residents; for posters, a status change when configured so, and what
        names no request of theirs (the answer to a STATUS they posted: it is kept private)."""
        if f"{kind}:" == DM:
            return True
        if note.purpose == "question":
            return False
        if not note.thread.get("tracking_number"):
            return True
        return note.purpose == "status" and self.options.get("status_via") == "dm"

    def public_text(self, note: Notification) -> str:
        """What may be said in public: a question or the 911 notice as written, else the city's
        own short text."""
        number = note.thread.get("tracking_number", "")
        if note.purpose in ("question", "emergency"):
            # Both are the city's own words, naming nobody; the 911 notice must be read as it
            # is. X refuses a post whose text repeats an earlier one: the number makes each
            # unique.
            ref = f" ({number})" if number else ""
            return note.body[: MAX_POST - len(ref)] + ref
        language = note.thread.get("language", "en")
        key, defaults = (
            ("public_status", PUBLIC_STATUS)
            if note.purpose == "status"
            else ("public_reply", PUBLIC_REPLY)
        )
        texts = {**defaults, **dict(self.options.get(key) or {})}
        template = str(texts.get(language) or texts["en"])
        return template.replace("{tracking_number}", number)[:MAX_POST]

    async def close(self) -> None:
        if self.api is not None:
            await self.api.close()


def _failure(exc: tweepy.HTTPException) -> Exception:
    """X's answer as ours: its 5xx are worth retrying, its 4xx are not."""
    status = int(getattr(exc.response, "status", 0) or 0)
    reason = f"X answered {status}: {'; '.join(map(str, exc.api_messages))[:200]}"
    if status >= 500:
        return TransientDeliveryError(reason, status=status)
    return PermanentDeliveryError(reason, status=status)
