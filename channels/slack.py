"""Slack: the Events API, the ``/311`` slash command, and interactivity (buttons, the form).

Every request is signed: https://api.slack.com/authentication/verifying-requests-from-slack,
checked with slack_sdk's ``SignatureVerifier`` (which also refuses a timestamp older than five
minutes). Bolt's ``AsyncApp`` routes the three request URLs in front of the ingest core
(``gateway.ingest.slack``); this module only verifies and parses. Payloads:
events https://api.slack.com/apis/events-api (``message.im``, ``app_mention``, the
``message_changed``, ``message_deleted`` and ``file_share`` subtypes), slash commands
https://api.slack.com/interactivity/slash-commands, ``block_actions`` and ``view_submission``
https://api.slack.com/reference/interaction-payloads.

A DM or a mention is known by its team, channel and ``ts`` (Slack's own identity of a message,
which a retried event repeats, so it is stored once, and by which a thread, an edit or a
deletion names it); other events by their ``event_id``; commands and interactions by their
``trigger_id``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

from slack_sdk.signature import SignatureVerifier

from channels import Ack, Channel, StoredMessage, WebhookRequest, register
from channels._slack.payloads import (
    FORM_CALLBACK,
    JSON_TYPE,
    bot_user,
    chat_place,
    files_of,
    form_submission,
    id_of,
)
from gateway.errors import BadSignature, MalformedPayload
from gateway.plugin import EnvVar, Text, table_keys
from gateway.records import ChatPlace, Declared, InboundMessage

# Message subtypes that carry a resident's own words; every other subtype (joins, topics,
# bots, pins...) is kept but never acted on.
_WORDS = frozenset({"", "file_share", "thread_broadcast"})
_MENTION = re.compile(r"^\s*(<@[UW][A-Z0-9]+>[\s,:]*)+")
_DELIVERED_AS_MENTION = "channel message: only mentions of the app are taken"


@register
class Slack(Channel):
    name = "slack"
    # Three request URLs (events, commands, interactivity), served by gateway.ingest.slack.
    route = None
    routes = (
        "/webhooks/slack/events",
        "/webhooks/slack/commands",
        "/webhooks/slack/interactivity",
    )
    content_types = (JSON_TYPE, "application/x-www-form-urlencoded")
    reply_via = "slack"
    converses = True
    media_fetcher = "slack_files"
    # ``bot_token_env`` is read by the front for the one call it makes itself (``views.open``).
    known_options = table_keys(
        signing_secret_env=EnvVar("SLACK_SIGNING_SECRET"),
        bot_token_env=EnvVar("SLACK_BOT_TOKEN"),
        command=Text("/311"),
    )

    @cached_property
    def verifier(self) -> SignatureVerifier:
        return SignatureVerifier(self.secret("signing_secret"))

    def verify(self, req: WebhookRequest) -> None:
        timestamp = req.header("X-Slack-Request-Timestamp")
        signature = req.header("X-Slack-Signature")
        if not timestamp or not signature:
            raise BadSignature("X-Slack-Signature or X-Slack-Request-Timestamp is missing")
        if not self.verifier.is_valid(req.body, timestamp, signature):
            raise BadSignature("X-Slack-Signature does not match, or the timestamp is stale")

    @property
    def command(self) -> str:
        return str(self.options.get("command", "/311"))

    def parse(self, req: WebhookRequest) -> list[InboundMessage]:
        if req.header("Content-Type").startswith(JSON_TYPE):
            return [self._event(req)]
        form = req.form
        if "payload" in form:
            return [self._interaction(req, _json(form["payload"]))]
        if form.get("command"):
            return [self._command(req, form)]
        raise MalformedPayload("neither an event, a command nor an interaction payload")

    def acknowledge(self, req: WebhookRequest, stored: Sequence[StoredMessage]) -> Ack:
        first = stored[0]
        is_command = not req.header("Content-Type").startswith(JSON_TYPE) and "command" in req.form
        if not is_command or first.message.auto_reply:
            # Events and interactions want an empty 200; a bare /311 answers with its form.
            return Ack("", content_type="text/plain")
        say = self.context.message
        values = {"city": self.context.city_name, "tracking_number": first.tracking_number}
        parts = [say("emergency", first.language, **values)] if first.emergency else []
        # An answer to our question is no new report: it gets no tracking number of its own.
        if first.command is None and not first.continues:
            parts.append(say("received", first.language, **values))
        if not parts:
            # STATUS and the like are answered by DM, through the outbox.
            return Ack("", content_type="text/plain")
        return Ack(json.dumps({"response_type": "ephemeral", "text": " ".join(parts)}))

    def _event(self, req: WebhookRequest) -> InboundMessage:
        body = _mapping(req.json(), "body")
        if body.get("type") != "event_callback":
            raise MalformedPayload(f"unexpected Events API type {body.get('type')!r}")
        event = _mapping(body.get("event"), "event")
        kind = str(event.get("type", ""))
        extra = {"kind": "event", "event_id": str(body.get("event_id", "")), "event": kind}
        if kind not in ("message", "app_mention"):
            return InboundMessage(
                self.name, id_of(body), "", raw=req.body, auto_reply=f"event {kind}", extra=extra
            )
        subtype = str(event.get("subtype", ""))
        team = str(body.get("team_id") or event.get("team") or "")
        if subtype == "message_changed":
            return self._changed(req, team, event, extra)
        if subtype == "message_deleted":
            return self._deleted(req, team, event, extra)
        return self._message(req, body, team, event, extra)

    def _message(
        self,
        req: WebhookRequest,
        body: Mapping[str, Any],
        team: str,
        event: Mapping[str, Any],
        extra: dict[str, str],
    ) -> InboundMessage:
        subtype = str(event.get("subtype", ""))
        place = chat_place(team, event)
        why = ""
        ours = bot_user(body)
        if event.get("bot_id") or subtype == "bot_message" or (ours and event.get("user") == ours):
            why = "bot_message"
        elif subtype not in _WORDS:
            why = f"subtype {subtype}"
        elif event.get("type") == "message" and event.get("channel_type") not in ("im", None):
            why = _DELIVERED_AS_MENTION
        sender = str(event.get("user") or event.get("bot_id") or "")
        if not sender:
            raise MalformedPayload("the message names no user")
        return InboundMessage(
            channel=self.name,
            provider_id=id_of(body),
            sender=sender,
            text=_words(str(event.get("text", ""))),
            media=files_of(event.get("files")),
            raw=req.body,
            chat=place,
            auto_reply=why,
            extra={**extra, "channel_type": str(event.get("channel_type", ""))},
        )

    def _changed(
        self, req: WebhookRequest, team: str, event: Mapping[str, Any], extra: dict[str, str]
    ) -> InboundMessage:
        new = _mapping(event.get("message"), "event.message")
        channel = str(event.get("channel", ""))
        place = chat_place(team, {**new, "channel": channel})
        return InboundMessage(
            channel=self.name,
            provider_id=f"{team}:{channel}:{event.get('ts')}",
            sender=str(new.get("user") or new.get("bot_id") or ""),
            text=_words(str(new.get("text", ""))),
            raw=req.body,
            # The edited message is named by its own ts; answers go to its thread.
            chat=ChatPlace(
                channel, place.thread, f"{team}:{channel}:{new.get('ts')}", change="edited"
            ),
            auto_reply="bot_message" if new.get("bot_id") else "",
            extra=extra,
        )

    def _deleted(
        self, req: WebhookRequest, team: str, event: Mapping[str, Any], extra: dict[str, str]
    ) -> InboundMessage:
        old = event.get("previous_message")
        user = str(old.get("user") or "") if isinstance(old, Mapping) else ""
        channel = str(event.get("channel", ""))
        return InboundMessage(
            channel=self.name,
            provider_id=f"{team}:{channel}:{event.get('ts')}",
            sender=user,
            raw=req.body,
            chat=ChatPlace(
                channel, "", f"{team}:{channel}:{event.get('deleted_ts')}", change="deleted"
            ),
            extra=extra,
        )

    def _command(self, req: WebhookRequest, form: Mapping[str, str]) -> InboundMessage:
        if form.get("command") != self.command:
            raise MalformedPayload(f"unknown command {form.get('command')!r}")
        trigger, user = form.get("trigger_id", ""), form.get("user_id", "")
        if not trigger or not user:
            raise MalformedPayload("trigger_id or user_id is missing")
        text = form.get("text", "").strip()
        return InboundMessage(
            channel=self.name,
            provider_id=f"command:{trigger}",
            sender=user,
            sender_name=form.get("user_name", ""),
            text=text,
            raw=req.body,
            # A bare /311 opens the report form; what the resident submits there is the report.
            auto_reply="" if text else "opens the report form",
            extra={"kind": "command", "channel_id": form.get("channel_id", "")},
        )

    def _interaction(self, req: WebhookRequest, payload: Mapping[str, Any]) -> InboundMessage:
        kind = payload.get("type")
        user = _mapping(payload.get("user"), "user")
        trigger = str(payload.get("trigger_id", ""))
        if not user.get("id") or not trigger:
            raise MalformedPayload("the interaction names no user or trigger_id")
        sender = str(user["id"])
        if kind == "view_submission":
            view = _mapping(payload.get("view"), "view")
            if view.get("callback_id") != FORM_CALLBACK:
                raise MalformedPayload(f"unknown view {view.get('callback_id')!r}")
            text, declared, location, media = form_submission(view)
            return InboundMessage(
                channel=self.name,
                provider_id=f"view:{view.get('id') or trigger}",
                sender=sender,
                raw=req.body,
                text=text,
                declared=declared,
                location=location,
                media=media,
                extra={"kind": "form"},
            )
        if kind != "block_actions":
            raise MalformedPayload(f"unexpected interaction type {kind!r}")
        return self._choice(req, sender, trigger, payload)

    def _choice(
        self, req: WebhookRequest, sender: str, trigger: str, payload: Mapping[str, Any]
    ) -> InboundMessage:
        actions = payload.get("actions")
        if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
            raise MalformedPayload("block_actions holds no action")
        action = actions[0]
        number, _, code = str(action.get("value", "")).partition(":")
        container = payload.get("container")
        container = container if isinstance(container, Mapping) else {}
        label = action.get("text")
        return InboundMessage(
            channel=self.name,
            provider_id=f"action:{trigger}",
            sender=sender,
            raw=req.body,
            text=str(label.get("text", "")) if isinstance(label, Mapping) else "",
            declared=Declared(service_code=code),
            chat=ChatPlace(
                conversation=str(container.get("channel_id", "")),
                thread=str(container.get("thread_ts", "")),
                change="choice",
                tracking_number=number,
            ),
            extra={"kind": "action", "action_id": str(action.get("action_id", ""))},
        )


def _words(text: str) -> str:
    """The resident's words: a leading mention of the app dropped, Slack's escapes undone."""
    text = _MENTION.sub("", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def _json(text: str) -> Mapping[str, Any]:
    try:
        return _mapping(json.loads(text), "payload")
    except ValueError as exc:
        raise MalformedPayload(f"payload is not valid JSON: {exc}") from exc


def _mapping(value: object, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MalformedPayload(f"{name} is not an object")
    return value
