"""Twilio Messaging webhook: SMS, MMS and WhatsApp.

Request parameters: https://www.twilio.com/docs/messaging/guides/webhook-request
Signatures: https://www.twilio.com/docs/usage/webhooks/webhooks-security (validated with the
twilio SDK's ``RequestValidator``). The answer is TwiML built with ``MessagingResponse``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from functools import cached_property

from twilio.request_validator import RequestValidator, compare
from twilio.twiml.messaging_response import MessagingResponse

from channels import Ack, Channel, StoredMessage, WebhookRequest, register
from channels._safe import allowed_url, coordinates
from gateway.errors import BadSignature, MalformedPayload
from gateway.plugin import EnvVar, Text, Texts, e164, table_keys
from gateway.records import InboundMessage, Location, Media

# Provider details kept beside the text for staff.
_EXTRA_FIELDS = (
    "To",
    "WaId",
    "MessageType",
    "OptOutType",
    "FromCity",
    "FromState",
    "FromZip",
    "FromCountry",
    "NumSegments",
)

# Where Twilio's MediaUrl{N} point (the twilio_media fetcher's own list checks every redirect).
MEDIA_HOSTS = ("api.twilio.com", "media.twiliocdn.com", "*.twiliocdn.com")

_SIGNED = table_keys(auth_token_env=EnvVar("TWILIO_AUTH_TOKEN"))


class TwilioSigned(Channel):
    """Any Twilio webhook: a form body signed with the account's auth token."""

    content_types = ("application/x-www-form-urlencoded",)
    known_options = _SIGNED

    @cached_property
    def validator(self) -> RequestValidator:
        return RequestValidator(self.secret("auth_token"))

    def verify(self, req: WebhookRequest) -> None:
        signature = req.header("X-Twilio-Signature")
        if not signature:
            raise BadSignature("X-Twilio-Signature is missing")
        form = req.form
        # Twilio usually signs the URL exactly as we see it: one signature settles that case.
        # Otherwise the SDK's validate() tries the URL with and without its port, as Twilio may.
        if compare(self.validator.compute_signature(req.public_url, form), signature):
            return
        if not self.validator.validate(req.public_url, form, signature):
            raise BadSignature("X-Twilio-Signature does not match")


@register
class TwilioSms(TwilioSigned):
    name = "twilio_sms"
    route = "/webhooks/twilio/sms"
    reply_via = "twilio_sms"
    converses = True
    confirms_in_ack = True
    media_fetcher = "twilio_media"
    # ``number``: the city's number, E.164, for the operator's reference.
    known_options = table_keys(
        **_SIGNED, number=Text(shape=e164), media_hosts=Texts(MEDIA_HOSTS, nonempty=True)
    )

    def parse(self, req: WebhookRequest) -> list[InboundMessage]:
        form = req.form
        sid = form.get("MessageSid") or form.get("SmsMessageSid")
        if not sid:
            raise MalformedPayload("MessageSid is missing")
        sender = form.get("From", "")
        if not sender:
            raise MalformedPayload("From is missing")
        media = _media(form)
        hosts = tuple(self.options.get("media_hosts") or MEDIA_HOSTS)
        # Refused here, never queued for a fetch: a media URL is an SSRF surface (file://,
        # 127.0.0.1, the cloud's metadata address); the message itself is kept.
        safe = tuple(m for m in media if m.url and allowed_url(m.url, hosts))
        extra = {k: form[k] for k in _EXTRA_FIELDS if form.get(k)}
        if len(safe) < len(media):
            extra["media_refused"] = str(len(media) - len(safe))
        return [
            InboundMessage(
                channel=self.name,
                provider_id=sid,
                sender=sender,
                text=form.get("Body", ""),
                location=_pin(form),
                raw=req.body,
                # WhatsApp's display name for the sender.
                sender_name=form.get("ProfileName", ""),
                media=safe,
                extra=extra,
            )
        ]

    def acknowledge(self, req: WebhookRequest, stored: Sequence[StoredMessage]) -> Ack:
        reply = MessagingResponse()
        text = self._answer(stored[0])
        if text:
            reply.message(text)
        return Ack(str(reply), content_type="text/xml")

    def _answer(self, first: StoredMessage) -> str | None:
        """What the resident reads at once: 911 first, HELP, or the report's receipt."""
        say = functools.partial(
            self.context.message,
            language=first.language,
            city=self.context.city_name,
            tracking_number=first.tracking_number,
        )
        if first.command == "help":
            return say("help")
        if first.command is not None:
            # STOP and START are confirmed by Twilio itself; STATUS is answered after the ack.
            return None
        receipt = None if first.continues else say("received")
        if first.emergency:
            return " ".join(filter(None, [say("emergency"), receipt]))
        return receipt


def _media(form: dict[str, str]) -> tuple[Media, ...]:
    try:
        count = int(form.get("NumMedia") or 0)
    except ValueError as exc:
        raise MalformedPayload("NumMedia is not a number") from exc
    media = []
    for i in range(min(count, 10)):
        url = form.get(f"MediaUrl{i}")
        if not url:
            raise MalformedPayload(f"MediaUrl{i} is missing though NumMedia is {count}")
        content_type = form.get(f"MediaContentType{i}") or "application/octet-stream"
        media.append(Media(content_type=content_type, url=url))
    return tuple(media)


def _pin(form: dict[str, str]) -> Location | None:
    """A WhatsApp shared location, the most precise place a resident can give."""
    if not (form.get("Latitude") and form.get("Longitude")):
        return None
    lat, long = coordinates(form["Latitude"], form["Longitude"])
    address = form.get("Address") or form.get("Label") or None
    return Location(lat=lat, long=long, address=address, source="provider", confidence=1.0)
