"""Pieces of Slack payloads: a message's identity and thread, its files, the form's answers.

Files: https://api.slack.com/types/file (``url_private_download`` needs the bot token).
The form is a modal (https://api.slack.com/reference/surfaces/views) whose submission carries
``view.state.values[block_id][action_id]``; the ids below are the ones the front builds it with.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.errors import MalformedPayload
from gateway.records import ChatPlace, Declared, Location, Media

JSON_TYPE = "application/json"
FORM_CALLBACK = "report_form"
# Block ids of the report form; each block holds one input whose action id is its block id.
SERVICE, DESCRIPTION, ADDRESS, PHOTO, ANONYMOUS = (
    "service",
    "description",
    "address",
    "photo",
    "anonymous",
)
# Slack lists at most 10 files on a message; we keep as many as Twilio's MMS limit allows.
_MAX_FILES = 10


def id_of(body: Mapping[str, Any]) -> str:
    """A message to the app (a DM, a mention) by its team, channel and ``ts``; any other event
    by its ``event_id``. A channel's plain ``message`` event (when the app is subscribed to
    ``message.channels`` too) repeats a mention's ``ts``: it keeps its own id, so that it
    can never take the mention's place."""
    event = body.get("event")
    event = event if isinstance(event, Mapping) else {}
    team = body.get("team_id") or event.get("team") or ""
    to_app = event.get("type") == "app_mention" or (
        event.get("type") == "message" and event.get("channel_type") == "im"
    )
    if to_app and event.get("ts") and event.get("channel"):
        return f"{team}:{event['channel']}:{event['ts']}"
    event_id = body.get("event_id")
    if not event_id:
        raise MalformedPayload("event_id is missing")
    return str(event_id)


def bot_user(body: Mapping[str, Any]) -> str:
    """The app's own bot user, as the event's authorizations name it ("" when absent)."""
    for grant in body.get("authorizations") or ():
        if isinstance(grant, Mapping) and grant.get("is_bot"):
            return str(grant.get("user_id", ""))
    return ""


def chat_place(team: str, message: Mapping[str, Any]) -> ChatPlace:
    """Where to answer a message: in its thread, or in a thread of its own."""
    channel, ts = str(message.get("channel", "")), str(message.get("ts", ""))
    if not channel or not ts:
        raise MalformedPayload("the message has no channel or ts")
    root = str(message.get("thread_ts") or "")
    if root and root != ts:
        return ChatPlace(channel, root, parent_id=f"{team}:{channel}:{root}")
    return ChatPlace(channel, ts)


def files_of(files: object) -> tuple[Media, ...]:
    """The message's files as media to fetch (the bot token opens their private URLs)."""
    if not isinstance(files, list):
        return ()
    media = []
    for item in files[:_MAX_FILES]:
        if not isinstance(item, Mapping):
            raise MalformedPayload("a file is not an object")
        url = item.get("url_private_download") or item.get("url_private")
        if not url:
            # A file the event does not describe (``file_access: check_file_info``) is skipped:
            # staff see it in the raw message.
            continue
        size = item.get("size")
        media.append(
            Media(
                content_type=str(item.get("mimetype") or "application/octet-stream"),
                url=str(url),
                size=size if isinstance(size, int) else None,
            )
        )
    return tuple(media)


def form_submission(
    view: Mapping[str, Any],
) -> tuple[str, Declared, Location | None, tuple[Media, ...]]:
    """The report form's answers: the description, what was declared, the place, the photos."""
    state = view.get("state")
    values = state.get("values") if isinstance(state, Mapping) else None
    if not isinstance(values, Mapping):
        raise MalformedPayload("view.state.values is missing")

    def answer(block: str) -> Mapping[str, Any]:
        found = values.get(block)
        found = found.get(block) if isinstance(found, Mapping) else None
        return found if isinstance(found, Mapping) else {}

    description = str(answer(DESCRIPTION).get("value") or "").strip()
    if not description:
        raise MalformedPayload("the form has no description")
    option = answer(SERVICE).get("selected_option")
    code = str(option.get("value", "")) if isinstance(option, Mapping) else ""
    anonymous = bool(answer(ANONYMOUS).get("selected_options"))
    address = str(answer(ADDRESS).get("value") or "").strip()
    place = Location(address=address, source="resident") if address else None
    # The front opened the form in this language (``private_metadata``).
    language = str(view.get("private_metadata") or "")
    declared = Declared(service_code=code, anonymous=anonymous, language=language)
    return description, declared, place, files_of(answer(PHOTO).get("files"))
