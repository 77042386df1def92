"""Filing a checked form: photos to the media folder, the answers through the inbound writer,
and, when the resident gave an email, a confirmation queued in the outbox.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from channels import ChannelContext, WebhookRequest
from channels.web_form import WebForm
from gateway.log import mask_address
from gateway.records import Notification
from gateway.replies import enqueue_notification
from gateway.runtime import Runtime
from gateway.store.inbound import Envelope, Receipt
from gateway.web.form_input import FormInput, Photo
from normalizer.contact import normalize_email, normalize_phone

log = logging.getLogger(__name__)

_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/heic": ".heic",
}


class FormFiler:
    def __init__(self, runtime: Runtime, media_dir: str) -> None:
        self.runtime = runtime
        self.media_dir = runtime.settings.base_dir / media_dir
        settings = runtime.settings
        self.channel = WebForm({}, ChannelContext(settings.city_name, settings.message))
        self.region = runtime.normalizer_settings.default_region

    async def file(self, found: FormInput, language: str, url: str) -> Receipt:
        """Store the report once per submission token; returns its receipt."""
        media = [await asyncio.to_thread(self._save, photo) for photo in found.photos]
        body = json.dumps(self.document(found, language, media), ensure_ascii=False).encode()
        headers = {"content-type": "application/json"}
        messages = self.channel.parse(WebhookRequest("POST", url, headers, body))
        receipts = await self.runtime.writer.store(
            Envelope(self.channel.name, body, headers, url), messages
        )
        self.runtime.pipeline_wake.set()
        log.info(
            "inbound.stored",
            extra={
                "channel": self.channel.name,
                "duplicate": receipts[0].duplicate,
                "sender": mask_address(messages[0].sender),
                "photos": len(media),
            },
        )
        return receipts[0]

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
        digest = hashlib.sha256(photo.data).hexdigest()
        path = self.media_dir / f"{digest}{_EXTENSIONS.get(photo.content_type, '.bin')}"
        if not path.exists():
            _write_atomically(path, photo.data)
        return {
            "content_type": photo.content_type,
            "path": str(path),
            "size": len(photo.data),
            "sha256": digest,
        }

    async def confirm(self, email: str, number: str, language: str, link: str) -> None:
        """Queue the confirmation email; once per tracking number whatever the retries."""
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


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".tmp")
    with temporary.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    temporary.replace(path)


def _number(text: str) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None
