"""Replies on Slack: ``chat.postMessage`` with slack_sdk's ``AsyncWebClient``, in the thread.

https://api.slack.com/methods/chat.postMessage: ``channel`` is where the resident wrote (or their
user id, which posts in the app's DM with them), ``thread_ts`` the report's thread. A question
that offers services shows them as buttons (Block Kit ``actions``, https://api.slack.com/
reference/block-kit/block-elements#button) whose value is ``<tracking number>:<service code>``.
The Web API's address comes from ``SLACK_API_BASE_URL`` (default Slack's own), so a loopback
server can stand in. ``chat.postMessage`` has no idempotency key: a crash between the post and
its record can post a reply twice, never lose one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from gateway.errors import PermanentDeliveryError, TransientDeliveryError
from gateway.notifiers import Notifier, register
from gateway.plugin import EnvVar, Number, table_keys
from gateway.records import Notification

DEFAULT_API = "https://slack.com/api/"
# Slack's answers worth another try later; any other error will not pass by itself.
_TRANSIENT = frozenset({"ratelimited", "service_unavailable", "internal_error", "fatal_error"})
CHOICE_ACTION = "confirm_category"


def api_base_url() -> str:
    """The Web API's base URL, with the trailing slash the SDK joins method names to."""
    return os.environ.get("SLACK_API_BASE_URL", DEFAULT_API).rstrip("/") + "/"


@register
class SlackNotifier(Notifier):
    name = "slack"
    known_options = table_keys(
        bot_token_env=EnvVar("SLACK_BOT_TOKEN"), timeout_seconds=Number(10.0)
    )

    def __init__(self, options: Mapping[str, Any]) -> None:
        super().__init__(options)
        self._client: AsyncWebClient | None = None

    def client(self) -> AsyncWebClient:
        """The SDK client; retries are the outbox's, so the SDK's own are off."""
        if self._client is None:
            self._client = AsyncWebClient(
                token=self.secret("bot_token"),
                base_url=api_base_url(),
                timeout=int(float(self.options.get("timeout_seconds", 10))),
                retry_handlers=[],
            )
        return self._client

    async def send(self, note: Notification, idempotency_key: str) -> str | None:
        """Post ``note`` in the resident's thread (or their DM); the message's channel and ts."""
        channel = note.thread.get("conversation") or note.to
        extra: dict[str, Any] = {}
        if note.thread.get("thread_ts"):
            extra["thread_ts"] = note.thread["thread_ts"]
        if note.choices:
            extra["blocks"] = _buttons(note)
        try:
            answer = await self.client().chat_postMessage(channel=channel, text=note.body, **extra)
        except SlackApiError as exc:
            raise _failure(exc) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientDeliveryError(f"Slack unreachable: {exc!r}") from exc
        return f"{answer.get('channel', channel)}:{answer.get('ts', '')}"


def _buttons(note: Notification) -> list[dict[str, Any]]:
    """The question's text, then one button per service offered (at most three)."""
    number = note.thread.get("tracking_number", "")
    buttons = [
        {
            "type": "button",
            "action_id": CHOICE_ACTION if i == 0 else f"{CHOICE_ACTION}_{i + 1}",
            "text": {"type": "plain_text", "text": name[:75], "emoji": True},
            "value": f"{number}:{code}",
            **({"style": "primary"} if i == 0 else {}),
        }
        for i, (code, name) in enumerate(note.choices[:3])
    ]
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": note.body}},
        {"type": "actions", "block_id": "category_choice", "elements": buttons},
    ]


def _failure(exc: SlackApiError) -> Exception:
    """Slack's refusal as ours: rate limits and its own faults pass; the rest will not."""
    response = exc.response
    status = int(getattr(response, "status_code", 0) or 0)
    error = str(response.get("error", "")) if hasattr(response, "get") else ""
    reason = f"Slack error {error or status}"
    if status == 429 or status >= 500 or error in _TRANSIENT:
        retry = response.headers.get("Retry-After") if hasattr(response, "headers") else None
        after = float(retry) if retry and str(retry).isdigit() else None
        return TransientDeliveryError(reason, status=status or None, retry_after=after)
    return PermanentDeliveryError(reason, status=status or None)
