"""Replies by SMS and WhatsApp through Twilio's Messages API, with the twilio SDK's async client.

Messages resource: https://www.twilio.com/docs/messaging/api/message-resource. The API's base URL
comes from ``TWILIO_API_BASE_URL`` (default Twilio's own), so a loopback server can stand in.
Twilio's create call has no idempotency key: a crash between the send and its record can send a
reply twice, never lose one; the outbox keeps that window to one request.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from gateway.errors import PermanentDeliveryError, TransientDeliveryError
from gateway.notifiers import Notifier, register
from gateway.plugin import EnvVar, Number, Text, e164, http_url, table_keys
from gateway.records import Notification

DEFAULT_API = "https://api.twilio.com"
WHATSAPP = "whatsapp:"


@register
class TwilioSmsNotifier(Notifier):
    name = "twilio_sms"
    required_options = ("number",)
    known_options = table_keys(
        account_sid_env=EnvVar("TWILIO_ACCOUNT_SID"),
        auth_token_env=EnvVar("TWILIO_AUTH_TOKEN"),
        number=Text(shape=e164),
        status_callback=Text(shape=http_url),
        timeout_seconds=Number(10.0),
    )

    def __init__(self, options: Mapping[str, Any]) -> None:
        super().__init__(options)
        self._client: Client | None = None

    def client(self) -> Client:
        """The SDK client, made on first use inside the running event loop."""
        if self._client is None:
            timeout = float(self.options.get("timeout_seconds", 10))
            client = Client(
                self.secret("account_sid"),
                self.secret("auth_token"),
                http_client=AsyncTwilioHttpClient(timeout=timeout),
            )
            client.api.base_url = os.environ.get("TWILIO_API_BASE_URL", DEFAULT_API).rstrip("/")
            self._client = client
        return self._client

    async def send(self, note: Notification, idempotency_key: str) -> str | None:
        """Send ``note`` from the city's number (its WhatsApp sender for WhatsApp residents)."""
        sender = str(self.options["number"])
        if note.to.startswith(WHATSAPP):
            sender = WHATSAPP + sender
        extra: dict[str, Any] = {}
        if self.options.get("status_callback"):
            extra["status_callback"] = str(self.options["status_callback"])
        # The SDK's async client hands aiohttp no time limit of its own: ours bounds the call.
        timeout = float(self.options.get("timeout_seconds", 10))
        try:
            async with asyncio.timeout(timeout):
                message = await self.client().messages.create_async(
                    to=note.to, from_=sender, body=note.body, **extra
                )
        except TwilioRestException as exc:
            raise _failure(exc) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientDeliveryError(f"Twilio unreachable: {exc!r}") from exc
        return str(message.sid)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and isinstance(client.http_client, AsyncTwilioHttpClient):
            await client.http_client.close()


def _failure(exc: TwilioRestException) -> Exception:
    """Twilio's error as ours: its 429 and 5xx are worth retrying, its 4xx are not."""
    reason = f"Twilio error {exc.code}: {exc.msg}" if exc.code else f"Twilio: {exc.msg}"
    if exc.status == 429 or exc.status >= 500:
        return TransientDeliveryError(reason, status=exc.status)
    return PermanentDeliveryError(reason, status=exc.status)
