"""Reading and checking the report form: multipart fields and photos within the configured limits.

Text parts come before the photos in the page, so an oversize photo still leaves every field the
resident typed to show again. Nothing is stored here; ``check`` returns the errors per field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

from channels._safe import coordinates
from gateway.config.web import FormSettings
from gateway.errors import MalformedPayload
from gateway.records import Service, ServiceAttribute
from gateway.web.i18n import Labels
from normalizer.contact import normalize_email, normalize_phone

_FIELD_LIMIT = 65_536
_SUBMISSION = re.compile(r"^[0-9a-f]{32}$")


class TooLarge(Exception):
    """The whole body is past any honest form's size."""


@dataclass
class Photo:
    filename: str
    content_type: str
    data: bytes


@dataclass
class FormInput:
    values: dict[str, Any] = field(default_factory=lambda: {"multi": {}})
    photos: list[Photo] = field(default_factory=list)
    photo_error: str | None = None

    def get(self, key: str) -> str:
        value = self.values.get(key, "")
        return value if isinstance(value, str) else ""


async def read_form(request: web.Request, limits: FormSettings) -> FormInput:
    """The fields and photos of a POSTed form (multipart, or urlencoded without photos)."""
    found = FormInput()
    if request.content_type != "multipart/form-data":
        for key, value in (await request.post()).items():
            if isinstance(value, str):
                _add(found, key, value)
        return found
    budget = limits.max_photos * limits.max_photo_bytes + 2 * _FIELD_LIMIT * 32
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        if part.filename is None:
            text = (await part.read_chunk(_FIELD_LIMIT)).decode("utf-8", "replace")
            budget -= len(text)
            _add(found, part.name or "", text)
            continue
        data, budget = await _read_photo(part, limits, budget)
        if data is None:
            found.photo_error = found.photo_error or "size"
        elif data:
            found.photos.append(Photo(part.filename, part.headers.get("Content-Type", ""), data))
    return found


async def _read_photo(
    part: BodyPartReader, limits: FormSettings, budget: int
) -> tuple[bytes | None, int]:
    """The photo's bytes, or None when it is too large (read to the end to keep the stream)."""
    data = bytearray()
    while chunk := await part.read_chunk(65_536):
        budget -= len(chunk)
        if budget < 0:
            raise TooLarge("the form is too large")
        if len(data) <= limits.max_photo_bytes:
            data += chunk
    if len(data) > limits.max_photo_bytes:
        return None, budget
    return bytes(data), budget


def _add(found: FormInput, key: str, value: str) -> None:
    # "multi" holds the multi-valued answers: a posted field of that name is no field of ours.
    if key == "multi":
        return
    if key.startswith("attr-"):
        found.values["multi"].setdefault(key, []).append(value)
    found.values[key] = value


def check(
    found: FormInput, catalog: Mapping[str, Service], limits: FormSettings, t: Labels
) -> dict[str, str]:
    """Errors per field id (the page ties each to its field); empty when the form is good."""
    errors: dict[str, str] = {}
    text = found.get("description").strip()
    if not text:
        errors["description"] = t("error_description")
    elif len(text) > limits.max_description_chars:
        errors["description"] = t("error_description_long", limit=limits.max_description_chars)
    code = found.get("service_code")
    service = catalog.get(code) if code else None
    if code and service is None:
        errors["service_code"] = t("error_service")
    if service is not None:
        for attribute in service.attributes:
            fid = f"attr-{service.code}-{attribute.code}"
            if problem := _attribute_error(attribute, found.values["multi"].get(fid, []), t):
                errors[fid] = problem
    needs_place = service.location_required if service is not None else False
    has_point = bool(found.get("lat") and found.get("long"))
    if has_point and not _on_earth(found):
        # A point past the poles or infinity would be acknowledged and then fail in the pipeline.
        errors["address"] = t("error_location")
        has_point = False
    if needs_place and not (found.get("address").strip() or has_point):
        errors["address"] = t("error_location")
    errors |= _contact_errors(found, t)
    errors |= _photo_errors(found, limits, t)
    return errors


def _attribute_error(attribute: ServiceAttribute, given: list[str], t: Labels) -> str | None:
    values = [v.strip() for v in given if v.strip()]
    question = attribute.descriptions.get(t.language) or attribute.descriptions.get("en", "")
    if not values:
        return t("error_attribute", question=question) if attribute.required else None
    keys = {v.key for v in attribute.values}
    if attribute.datatype.endswith("valuelist") and any(v not in keys for v in values):
        return t("error_attribute_value", question=question)
    if attribute.datatype == "number":
        try:
            float(values[0])
        except ValueError:
            return t("error_attribute_number", question=question)
    return None


def _on_earth(found: FormInput) -> bool:
    try:
        coordinates(found.get("lat"), found.get("long"))
    except MalformedPayload:
        return False
    return True


def _contact_errors(found: FormInput, t: Labels) -> dict[str, str]:
    if found.get("anonymous") == "1":
        return {}
    errors: dict[str, str] = {}
    email, phone = found.get("email").strip(), found.get("phone").strip()
    if email and normalize_email(email) is None:
        errors["email"] = t("error_email")
    if phone and normalize_phone(phone) is None:
        errors["phone"] = t("error_phone")
    if not email and not phone:
        errors["contact"] = t("error_contact")
    return errors


def _photo_errors(found: FormInput, limits: FormSettings, t: Labels) -> dict[str, str]:
    size = limits.max_photo_bytes // 1_048_576
    if found.photo_error == "size":
        return {"photos": t("error_photo_size", size=size)}
    if len(found.photos) > limits.max_photos:
        return {"photos": t("error_photo_count", count=limits.max_photos)}
    if any(p.content_type not in limits.photo_types for p in found.photos):
        return {"photos": t("error_photo_type")}
    return {}


def valid_submission(token: str) -> bool:
    """The form's idempotency token has the shape the server made."""
    return bool(_SUBMISSION.match(token))
