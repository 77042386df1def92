"""Replies on Facebook Messenger through the Send API: ``POST <api_base_url>/me/messages``.

``{"recipient": {"id": PSID}, "messaging_type": "RESPONSE", "message": {"text": …}}`` with the
Page access token; the answer is ``{"recipient_id", "message_id"}`` or Graph's error object.
https://developers.facebook.com/docs/messenger-platform/reference/send-api/
A Page may message a person only within 24 hours of their last message (the standard messaging
window, https://developers.facebook.com/docs/messenger-platform/policy/policy-overview): the
outbox checks it before sending (``reply_window``), and Meta's own refusal (error 10, subcode
2018278) is taken the same way: the message is kept for staff, not sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

import aiohttp

from gateway.errors import OutsideReplyWindow, PermanentDeliveryError, TransientDeliveryError
from gateway.notifiers import Notifier, register
from gateway.plugin import EnvVar, Number, Text, http_url, table_keys
from gateway.records import Notification

DEFAULT_API = "https://graph.facebook.com/v21.0"
PSID = "psid:"
# Graph errors worth retrying: temporary (2), throttled (4, 613), and Messenger's own limits.
_TRANSIENT_CODES = {1, 2, 4, 17, 341, 613}
_OUTSIDE_WINDOW = 2018278


@register
class MessengerNotifier(Notifier):
    name = "messenger"
    reply_window: ClassVar[timedelta | None] = timedelta(hours=24)
    known_options = table_keys(
        page_token_env=EnvVar("MESSENGER_PAGE_TOKEN"),
        api_base_url=Text(DEFAULT_API, shape=http_url),
        timeout_seconds=Number(10.0),
    )

    def __init__(self, options: Mapping[str, Any]) -> None:
        super().__init__(options)
        self.base = str(options.get("api_base_url") or DEFAULT_API).rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=float(options.get("timeout_seconds", 10)))
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def send(self, note: Notification, idempotency_key: str) -> str | None:
        """Send ``note`` as a response in the resident's conversation; Meta's message id."""
        psid = note.to.removeprefix(PSID)
        if not note.to.startswith(PSID) or not psid.isdigit():
            raise PermanentDeliveryError(f"not a Messenger address: {note.to[:8]}…")
        body = {
            "recipient": {"id": psid},
            "messaging_type": "RESPONSE",
            "message": {"text": note.body[:2000]},
        }
        params = {"access_token": self.secret("page_token")}
        try:
            async with self.session().post(
                f"{self.base}/me/messages", json=body, params=params
            ) as resp:
                answer = await resp.json(content_type=None)
                status = resp.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise TransientDeliveryError(f"Send API unreachable: {type(exc).__name__}") from exc
        if status < 300 and isinstance(answer, dict) and answer.get("message_id"):
            return str(answer["message_id"])
        raise _failure(status, answer)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def _failure(status: int, answer: Any) -> Exception:
    """Graph's error as ours (its message, never the token in the URL)."""
    error = answer.get("error", {}) if isinstance(answer, dict) else {}
    code, subcode = error.get("code"), error.get("error_subcode")
    reason = f"Send API {status}: {str(error.get('message', ''))[:200]} (code {code})"
    if subcode == _OUTSIDE_WINDOW:
        return OutsideReplyWindow(reason, status=status)
    if status >= 500 or status == 429 or code in _TRANSIENT_CODES:
        return TransientDeliveryError(reason, status=status)
    return PermanentDeliveryError(reason, status=status)
