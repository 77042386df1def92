"""Inbound messages to and from the JSON column the intake worker reads."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from gateway.records import (
    CallStep,
    ChatPlace,
    Declared,
    DeliveryReceipt,
    InboundMessage,
    Location,
    MailThread,
    Media,
    Notification,
)


def message_to_json(message: InboundMessage) -> dict[str, Any]:
    """The parsed message without its raw bytes (those have their own column)."""
    data = {
        "channel": message.channel,
        "provider_id": message.provider_id,
        "sender": message.sender,
        "sender_name": message.sender_name,
        "text": message.text,
        "subject": message.subject,
        "media": [dataclasses.asdict(m) for m in message.media],
        "location": None if message.location is None else dataclasses.asdict(message.location),
        "declared": _asdict(message.declared),
        "thread": None if message.thread is None else _asdict(message.thread),
        "receipt": None if message.receipt is None else _asdict(message.receipt),
        "chat": None if message.chat is None else _asdict(message.chat),
        "auto_reply": message.auto_reply,
        "call": None if message.call is None else _asdict(message.call),
        "review": message.review,
        "extra": dict(message.extra),
    }
    return data


def _asdict(record: Any) -> dict[str, Any]:
    # Not dataclasses.asdict: a Mapping field (the form's answers) is kept as it is.
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}


def message_from_json(data: dict[str, Any], raw: bytes = b"") -> InboundMessage:
    """Rebuild the message the channel parsed."""
    if "declared" not in data:
        data = _from_strings(data)
    loc = data.get("location")
    thread, receipt = data.get("thread"), data.get("receipt")
    call, chat = data.get("call"), data.get("chat")
    return InboundMessage(
        channel=data["channel"],
        provider_id=data["provider_id"],
        sender=data.get("sender", ""),
        sender_name=data.get("sender_name", ""),
        text=data.get("text", ""),
        subject=data.get("subject"),
        media=tuple(Media(**m) for m in data.get("media", [])),
        location=Location(**loc) if loc else None,
        raw=raw,
        declared=Declared(**data.get("declared") or {}),
        thread=_thread(thread) if thread else None,
        receipt=DeliveryReceipt(**receipt) if receipt else None,
        chat=ChatPlace(**chat) if chat else None,
        auto_reply=data.get("auto_reply", ""),
        call=CallStep(**call) if call else None,
        review=data.get("review", ""),
        extra=dict(data.get("extra", {})),
    )


def _thread(data: Mapping[str, Any]) -> MailThread:
    return MailThread(
        in_reply_to=tuple(data.get("in_reply_to", ())),
        references=tuple(data.get("references", ())),
        plus_tag=data.get("plus_tag", ""),
    )


def _from_strings(data: dict[str, Any]) -> dict[str, Any]:
    """A message stored before the typed fields, when they were strings in ``extra``.

    Only what changes how a report is filed is read back; a provider's delivery receipt stored
    then is kept in ``extra`` for staff, unread.
    """
    extra = dict(data.get("extra") or {})
    attributes = json.loads(extra.pop("attributes", "") or "{}")
    declared = {k: extra.pop(k, "") for k in ("name", "email", "phone", "language")}
    declared |= {"service_code": extra.pop("service_code", ""), "attributes": attributes}
    declared["anonymous"] = extra.pop("anonymous", "") == "1"
    thread = {
        "in_reply_to": extra.pop("in_reply_to", "").split(),
        "references": extra.pop("references", "").split(),
        "plus_tag": extra.pop("plus_tag", ""),
    }
    auto = extra.pop("auto_reason", "") if extra.pop("auto", "") == "1" else ""
    email_like = any(thread.values())
    return {
        **data,
        "declared": declared,
        "thread": thread if email_like else None,
        "auto_reply": auto,
        "extra": extra,
    }


def notification_to_json(note: Notification) -> dict[str, Any]:
    """A notification as an outbox job's payload."""
    return {
        "channel": note.channel,
        "to": note.to,
        "body": note.body,
        "purpose": note.purpose,
        "request_id": note.request_id,
        "subject": note.subject,
        "thread": dict(note.thread),
        "choices": [list(choice) for choice in note.choices],
    }


def notification_from_json(data: dict[str, Any]) -> Notification:
    """The notification an outbox job carries."""
    choices = tuple((str(code), str(name)) for code, name in data.get("choices") or ())
    return Notification(**{**data, "thread": dict(data.get("thread") or {}), "choices": choices})
