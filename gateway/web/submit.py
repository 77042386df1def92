"""Filing a checked form: photos to the media folder, the answers through the ingest core,
and, when the resident gave an email, a confirmation queued in the outbox.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from typing import Any

from channels import ChannelContext, StoredMessage, WebhookRequest
from channels.web_form import WebForm
from gateway.fetchers import store_bytes
from gateway.ingest.core import storage_unavailable
from gateway.log import mask_email
from gateway.outbox.replies import enqueue_notification
from gateway.records import Notification
from gateway.runtime import Runtime
from gateway.web.form_input import FormInput, Photo
from normalizer.contact import normalize_email, normalize_phone

log = logging.getLogger(__name__)


class FormFiler:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.media_folder = runtime.settings.media_folder
        settings = runtime.settings
        self.channel = WebForm({}, ChannelContext(settings.city_name, settings.message))
        self.region = runtime.normalizer_settings.default_region

    async def file(self, found: FormInput, language: str, url: str) -> StoredMessage:
        """Store the report once per submission token, through the ingest core."""
        try:
            media = [await asyncio.to_thread(self._save, photo) for photo in found.photos]
        except OSError as exc:
            raise storage_unavailable(exc) from exc
        body = json.dumps(self.document(found, language, media), ensure_ascii=False).encode()
        headers = {"content-type": "application/json"}
        request = WebhookRequest("POST", url, headers, body)
        return (await self.runtime.ingest.take(self.channel, request))[0]

    def document(
        self, found: FormInput, language: str, media: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """The resident's answers as the JSON body the web_form channel parses."""
        code = found.get("service_code")
        service = self.runtime.catalog.get(code)
        attributes: dict[str, Any] = {}
        for a in service.attributes if service else ():
            given = [v for v in found.values["multi"].get(f"attr-{code}-{a.code}", []) if v]
            if given:
                attributes[a.code] = given if a.datatype == "multivaluelist" else given[0]
        anonymous = found.get("anonymous") == "1"
        return {
            "submission": found.get("submission"),
            "description": found.get("description").strip(),
            "service_code": code,
            "attributes": attributes,
            "address": found.get("address").strip(),
            "lat": _number(found.get("lat")),
            "long": _number(found.get("long")),
            "name": "" if anonymous else found.get("name").strip(),
            "email": "" if anonymous else (normalize_email(found.get("email")) or ""),
            "phone": "" if anonymous else (normalize_phone(found.get("phone"), self.region) or ""),
            "anonymous": anonymous,
            "language": language,
            "media": media,
        }

    def _save(self, photo: Photo) -> dict[str, Any]:
        # The message's media entry has the stored copy's fields, nothing more.
        return dataclasses.asdict(store_bytes(photo.data, photo.content_type, self.media_folder))

    async def confirm(
        self, email: str, number: str, language: str, link: str, *, notifier_on: bool
    ) -> None:
        """Queue the confirmation email; once per tracking number whatever the retries.

        Queued whether or not the email notifier is on: while it is off the message waits in
        the outbox, visible to staff, and the page says so instead of promising it."""
        settings = self.runtime.settings
        values = {"city": settings.city_name, "tracking_number": number, "link": link}
        note = Notification(
            channel="email",
            to=email,
            body=settings.message("web_form_received", language, **values),
            subject=settings.message("web_form_subject", language, **values),
            purpose="confirmation",
        )
        async with self.runtime.engine.begin() as conn:
            await enqueue_notification(conn, note, key=f"web-form-{number}")
        self.runtime.outbox_wake.set()
        log.info(
            "web_form.confirmation_queued",
            extra={"to": mask_email(email), "tracking_number": number, "notifier_on": notifier_on},
        )


def _number(text: str) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None
