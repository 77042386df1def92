"""Facebook Messenger: messages to the city's Page, through the Meta Messenger Platform webhook.

Verification: Meta ``GET``s the callback URL with ``hub.mode=subscribe``, ``hub.verify_token``
(the token typed into the app's dashboard) and ``hub.challenge``, which is echoed back. Events
are ``POST``ed as JSON signed ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body
under the app secret>``.
https://developers.facebook.com/docs/messenger-platform/webhooks and
https://developers.facebook.com/docs/graph-api/webhooks/getting-started#event-notifications
Events: ``entry[].messaging[]``, each a ``message`` (``mid``, ``text``, ``attachments`` of type
``image`` or ``location``), a ``postback`` (a button's ``payload``), or something that holds
nothing for us (our own messages' echoes, deliveries, reads, reactions).
https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/messages and
https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/messaging_postbacks
A resident is ``psid:<page-scoped id>``, answered through the Send API (``gateway.notifiers.
messenger``) within Meta's 24-hour window.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import cached_property
from typing import Any, ClassVar

from channels import Ack, Channel, WebhookRequest, register
from gateway.errors import BadSignature, MalformedPayload
from gateway.plugin import EnvVar, Text, table_keys
from gateway.records import InboundMessage, Location, Media

SIGNATURE_HEADER = "X-Hub-Signature-256"
PSID = "psid:"


@register
class Messenger(Channel):
    name = "messenger"
    route: ClassVar[str | None] = "/webhooks/messenger"
    methods = ("GET", "POST")
    content_types = ("application/json",)
    reply_via = "messenger"
    converses = True
    may_hold_nothing = True
    # Meta's attachment URLs expire: photos are copied at once.
    media_fetcher = "messenger_media"
    known_options = table_keys(
        # The city's Page id, for the operator's reference (events name it as the recipient).
        page_id=Text(),
        # The app secret signs every POST; the verify token is the one typed into the app's
        # webhook settings, echoed in Meta's verification GET.
        app_secret_env=EnvVar("MESSENGER_APP_SECRET"),
        verify_token_env=EnvVar("MESSENGER_VERIFY_TOKEN"),
    )

    @cached_property
    def app_secret(self) -> str:
        return self.secret("app_secret")

    def challenge(self, req: WebhookRequest) -> Ack:
        if req.query.get("hub.mode") != "subscribe" or "hub.challenge" not in req.query:
            raise MalformedPayload("hub.mode=subscribe and hub.challenge are expected")
        token = req.query.get("hub.verify_token", "").encode()
        if not hmac.compare_digest(token, self.secret("verify_token").encode()):
            raise BadSignature("hub.verify_token does not match")
        return Ack(req.query["hub.challenge"], content_type="text/plain")

    def verify(self, req: WebhookRequest) -> None:
        given = req.header(SIGNATURE_HEADER)
        if not given:
            raise BadSignature(f"{SIGNATURE_HEADER} is missing")
        digest = hmac.new(self.app_secret.encode(), req.body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(given.encode(), f"sha256={digest}".encode()):
            raise BadSignature(f"{SIGNATURE_HEADER} does not match")

    def parse(self, req: WebhookRequest) -> list[InboundMessage]:
        payload = req.json()
        if not isinstance(payload, dict) or payload.get("object") != "page":
            raise MalformedPayload('a Messenger delivery is an object with "object": "page"')
        entries = payload.get("entry")
        if not isinstance(entries, list):
            raise MalformedPayload("entry must be a list")
        messages = []
        for entry in entries:
            for event in _objects(entry.get("messaging") if isinstance(entry, dict) else None):
                found = self._event(event, req.body)
                if found is not None:
                    messages.append(found)
        return messages

    def _event(self, event: dict[str, Any], raw: bytes) -> InboundMessage | None:
        sender = str((event.get("sender") or {}).get("id") or "")
        message, postback = event.get("message"), event.get("postback")
        if isinstance(message, dict):
            # Our own messages come back as echoes.
            if message.get("is_echo"):
                return None
            return self._message(sender, message, raw)
        if isinstance(postback, dict):
            # A button press: its payload is what the button says (STATUS, a choice).
            mid = postback.get("mid") or f"postback-{sender}-{event.get('timestamp')}"
            text = str(postback.get("payload") or postback.get("title") or "")
            return self._made(sender, str(mid), text, (), None, raw)
        return None

    def _message(self, sender: str, message: dict[str, Any], raw: bytes) -> InboundMessage:
        mid = message.get("mid")
        if not isinstance(mid, str) or not mid:
            raise MalformedPayload("a message has no mid")
        media, place = [], None
        for attachment in _objects(message.get("attachments")):
            payload = attachment.get("payload") or {}
            if attachment.get("type") == "image" and payload.get("url"):
                media.append(Media(content_type="image/jpeg", url=str(payload["url"])))
            elif attachment.get("type") == "location":
                place = _location(payload)
        quick = (message.get("quick_reply") or {}).get("payload")
        text = str(message.get("text") or quick or "")
        return self._made(sender, mid, text, tuple(media), place, raw)

    def _made(
        self,
        sender: str,
        mid: str,
        text: str,
        media: tuple[Media, ...],
        place: Location | None,
        raw: bytes,
    ) -> InboundMessage:
        if not sender.isdigit():
            raise MalformedPayload(f"message {mid[:40]} has no sender.id")
        return InboundMessage(
            channel=self.name,
            provider_id=mid,
            sender=f"{PSID}{sender}",
            text=text,
            media=media,
            location=place,
            raw=raw,
        )


def _objects(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise MalformedPayload("messaging and attachments must be lists of objects")
    return value


def _location(payload: dict[str, Any]) -> Location:
    """A shared location: ``payload.coordinates`` with ``lat`` and ``long``."""
    coords = payload.get("coordinates") or {}
    try:
        lat, long = float(coords["lat"]), float(coords["long"])
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedPayload("a location attachment has no coordinates.lat/long") from exc
    if not (-90 <= lat <= 90 and -180 <= long <= 180):
        raise MalformedPayload("a location attachment's coordinates are out of range")
    return Location(lat=lat, long=long, source="provider", confidence=1.0)
