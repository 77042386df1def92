"""The email notifier: replies in the resident's thread through the city's SMTP relay.

The relay is ``SMTP_RELAY_URL`` (``smtp://host:port``, ``smtp://user:password@host:587`` with
STARTTLS when offered, ``smtps://host:465``), sent with aiosmtplib. With no relay configured, or
one that is not such a URL, the notifier sends nothing and says so: the job stays in the outbox,
visible to staff, retried with backoff, and goes out once the relay is set right (until the retry
horizon makes it dead; then ``outbox retry-dead`` replays it). ``check-config`` names a malformed
relay before any mail waits for it. A 5xx from the relay is permanent; anything else is retried.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from email.message import EmailMessage
from functools import cached_property
from typing import Any
from urllib.parse import unquote, urlsplit

import aiosmtplib

from gateway.errors import ConfigError, PermanentDeliveryError, TransientDeliveryError
from gateway.log import mask_email
from gateway.notifiers import Notifier, register
from gateway.notifiers._mail_compose import Sender, compose_reply
from gateway.plugin import Key, Number, Text, email_address, table_keys
from gateway.records import Notification

log = logging.getLogger(__name__)
RELAY_ENV = "SMTP_RELAY_URL"
_RELAY_FORMS = "smtp://host:port, smtp://user:password@host:587 or smtps://host:465"


def relay_problem(url: str) -> str | None:
    """Why ``url`` cannot be the relay, as a sentence naming the variable and the fix but never
    the value (it may hold a password); None when it can."""
    try:
        parts = urlsplit(url)
        # Reading the port is what checks it: a port that is not a number raises here.
        _ = parts.port
    except ValueError:
        return f"{RELAY_ENV} has a port that is not a number: set it to {_RELAY_FORMS}"
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        return (
            f"{RELAY_ENV} must start with smtp:// or smtps:// and name the relay's host: "
            f"set it to {_RELAY_FORMS}"
        )
    return None


@register
class EmailNotifier(Notifier):
    name = "email"
    known_options = table_keys(
        from_address=Text("311@localhost", shape=email_address),
        from_name=Text(),
        default_subject=Text("Your 311 request"),
        timeout_seconds=Number(30.0),
    )

    @classmethod
    def validate(
        cls,
        options: Mapping[str, Any],
        env: Mapping[str, str] | None = None,
        *,
        keys: Mapping[str, Key] | None = None,
    ) -> list[ConfigError]:
        """As any notifier's, and the relay, when one is set, must be a relay URL. An unset
        relay is no mistake: replies wait for it in the outbox."""
        env = os.environ if env is None else env
        problems = super().validate(options, env, keys=keys)
        relay = env.get(RELAY_ENV, "")
        wrong = relay_problem(relay) if relay else None
        if wrong:
            problems.append(ConfigError(f"{cls.section}.{cls.name}", wrong))
        return problems

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
        # A configuration fault waits for its fix like an unset relay, never dead-letters mail.
        if wrong := relay_problem(relay):
            raise TransientDeliveryError(f"{wrong}; mail waits in the outbox")
        try:
            message = compose_reply(note, idempotency_key, self.sender)
            # Rendered now, not inside the send: a value no encoder accepts cannot heal.
            message.as_bytes()
        except (ValueError, TypeError) as exc:
            raise PermanentDeliveryError(f"the reply cannot be composed: {exc}") from exc
        await self._deliver(message, relay)
        message_id = str(message["Message-ID"])
        log.info("email.sent", extra={"to": mask_email(note.to), "message_id": message_id})
        return message_id

    async def _deliver(self, message: EmailMessage, relay: str) -> None:
        url = urlsplit(relay)
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
        except ValueError as exc:
            # An address no SMTP mailbox can be: every attempt would fail the same way.
            raise PermanentDeliveryError(f"the reply cannot be sent: {exc}") from exc
