"""The email notifier: replies in the resident's thread through the city's SMTP relay.

The relay is ``SMTP_RELAY_URL`` (``smtp://host:port``, ``smtp://user:password@host:587`` with
STARTTLS when offered, ``smtps://host:465``), sent with aiosmtplib. With no relay configured the
notifier sends nothing and says so: the job stays in the outbox, visible to staff, retried with
backoff, and goes out once the relay is set (until the retry horizon makes it dead; then
``outbox retry-dead`` replays it). A 5xx from the relay is permanent; anything else is retried.
"""

from __future__ import annotations

import logging
import os
from email.message import EmailMessage
from functools import cached_property
from urllib.parse import unquote, urlsplit

import aiosmtplib

from gateway.errors import PermanentDeliveryError, TransientDeliveryError
from gateway.log import mask_email
from gateway.notifiers import Notifier, register
from gateway.notifiers._mail_compose import Sender, compose_reply
from gateway.records import Notification

log = logging.getLogger(__name__)
RELAY_ENV = "SMTP_RELAY_URL"


@register
class EmailNotifier(Notifier):
    name = "email"

    @cached_property
    def sender(self) -> Sender:
        return Sender(
            address=str(self.options.get("from_address") or "311@localhost"),
            name=str(self.options.get("from_name") or ""),
            default_subject=str(self.options.get("default_subject") or "Your 311 request"),
        )

    async def send(self, note: Notification, idempotency_key: str) -> str | None:
        relay = os.environ.get(RELAY_ENV, "")
        if not relay:
            raise TransientDeliveryError(f"{RELAY_ENV} is not set; mail waits in the outbox")
        message = compose_reply(note, idempotency_key, self.sender)
        await self._deliver(message, relay)
        message_id = str(message["Message-ID"])
        log.info("email.sent", extra={"to": mask_email(note.to), "message_id": message_id})
        return message_id

    async def _deliver(self, message: EmailMessage, relay: str) -> None:
        url = urlsplit(relay)
        if url.scheme not in ("smtp", "smtps") or not url.hostname:
            raise PermanentDeliveryError(f"{RELAY_ENV} must be smtp://host:port or smtps://…")
        try:
            await aiosmtplib.send(
                message,
                hostname=url.hostname,
                port=url.port or (465 if url.scheme == "smtps" else 25),
                username=unquote(url.username) if url.username else None,
                password=unquote(url.password) if url.password else None,
                use_tls=url.scheme == "smtps",
                timeout=float(self.options.get("timeout_seconds", 30)),
            )
        except aiosmtplib.SMTPResponseException as exc:
            reason = f"the relay answered {exc.code}"
            if exc.code >= 500:
                raise PermanentDeliveryError(reason, status=exc.code) from exc
            raise TransientDeliveryError(reason, status=exc.code) from exc
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            if codes and min(codes) >= 500:
                raise PermanentDeliveryError(f"the relay refused the recipient: {codes}") from exc
            raise TransientDeliveryError(f"the relay deferred the recipient: {codes}") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise TransientDeliveryError(f"the relay failed: {type(exc).__name__}") from exc
