"""Account Activity webhook events: mentions (``tweet_create_events``) and DMs.

Data objects: https://developer.x.com/en/docs/x-api/enterprise/account-activity-api/guides/account-activity-data-objects
Tweets are v1.1 objects (https://developer.x.com/en/docs/x-api/v1/data-dictionary/object-model/tweet,
``coordinates`` GeoJSON ``[long, lat]``, deprecated ``geo`` ``[lat, long]``); DMs are message
create objects (https://developer.x.com/en/docs/x-api/v1/direct-messages/sending-and-receiving/guides/message-create-object).
Every other event (likes, follows, typing) holds nothing for the gateway.
"""

from __future__ import annotations

from typing import Any

from channels._x import cut, dm_address, geojson_point, legacy_geo, place_point, post_address
from gateway.errors import MalformedPayload
from gateway.records import InboundMessage, Location, MailThread, Media


def parse_activity(payload: Any, channel: str, raw: bytes) -> list[InboundMessage]:
    """The residents' mentions and DMs in one delivery, oldest first; the city's own skipped."""
    if not isinstance(payload, dict):
        raise MalformedPayload("an Account Activity delivery is a JSON object")
    city = str(payload.get("for_user_id") or "")
    if not city:
        raise MalformedPayload("for_user_id is missing")
    blocked = str(payload.get("user_has_blocked", "false")).lower() == "true"
    messages: list[InboundMessage] = []
    for tweet in _list(payload, "tweet_create_events"):
        found = _mention(tweet, city, channel, raw)
        if found is not None and not blocked:
            messages.append(found)
    users = _obj(payload.get("users"))
    for event in _list(payload, "direct_message_events"):
        dm = _direct_message(event, city, users, channel, raw)
        if dm is not None:
            messages.append(dm)
    return sorted(messages, key=lambda m: int(m.provider_id))


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(payload: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = payload.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise MalformedPayload(f"{key} must be a list of objects")
    return value


def _id(obj: dict[str, Any], what: str) -> str:
    value = str(obj.get("id_str") or obj.get("id") or "")
    if not value.isdigit():
        raise MalformedPayload(f"{what} has no id")
    return value


def _mention(tweet: dict[str, Any], city: str, channel: str, raw: bytes) -> InboundMessage | None:
    tweet_id = _id(tweet, "a tweet_create_event")
    user = tweet.get("user")
    if not isinstance(user, dict):
        raise MalformedPayload(f"tweet {tweet_id} has no user")
    author = _id(user, f"tweet {tweet_id}'s user")
    # Our own posts (the city's replies) and retweets of a mention are not reports.
    if author == city or "retweeted_status" in tweet:
        return None
    full = _obj(tweet.get("extended_tweet")) or tweet
    text = str(full.get("full_text") or tweet.get("text") or "")
    entities = full.get("entities") or {}
    photos = (full.get("extended_entities") or {}).get("media") or entities.get("media") or []
    spans = [tuple(m["indices"]) for m in entities.get("user_mentions") or [] if _is(m, city)]
    spans += [tuple(m["indices"]) for m in photos if isinstance(m.get("indices"), list)]
    shown = full.get("display_text_range")
    if isinstance(shown, list) and len(shown) == 2:
        spans += [(0, shown[0]), (shown[1], len(text))]
    reply_to = str(tweet.get("in_reply_to_status_id_str") or "")
    place = _obj(tweet.get("place"))
    return InboundMessage(
        channel=channel,
        provider_id=tweet_id,
        sender=post_address(author),
        text=cut(text, [(int(a), int(b)) for a, b, *_ in spans]),
        media=tuple(_photo(m) for m in photos if m.get("type") == "photo"),
        location=_where(tweet, place),
        raw=raw,
        sender_name=str(user.get("name") or ""),
        # A root post is a conversation of its own; a reply names the post it answers.
        thread=MailThread(in_reply_to=(reply_to,)) if reply_to else MailThread((), (tweet_id,)),
        extra=_extra(str(user.get("screen_name") or ""), place.get("full_name"), tweet),
    )


def _is(mention: dict[str, Any], city: str) -> bool:
    same = str(mention.get("id_str") or mention.get("id")) == city
    return same and isinstance(mention.get("indices"), list)


def _where(tweet: dict[str, Any], place: dict[str, Any]) -> Location | None:
    """Exact coordinates first (GeoJSON, then the legacy pair), else a tagged point of interest."""
    found = geojson_point(tweet.get("coordinates")) or legacy_geo(tweet.get("geo"))
    if found is not None or not place:
        return found
    box = (place.get("bounding_box") or {}).get("coordinates") or [[]]
    return place_point(str(place.get("full_name") or ""), str(place.get("place_type")), box[0])


def _photo(media: dict[str, Any]) -> Media:
    url = str(media.get("media_url_https") or media.get("media_url") or "")
    return Media(content_type=_image_type(url), url=url or None)


def _image_type(url: str) -> str:
    return "image/png" if url.lower().endswith(".png") else "image/jpeg"


def _extra(username: str, place: object, tweet: dict[str, Any]) -> dict[str, str]:
    extra = {"x_username": username, "x_lang": str(tweet.get("lang") or "")}
    if place:
        extra["x_place"] = str(place)
    return {k: v for k, v in extra.items() if v}


def _direct_message(
    event: dict[str, Any], city: str, users: dict[str, Any], channel: str, raw: bytes
) -> InboundMessage | None:
    if event.get("type") != "message_create":
        return None
    event_id = _id(event, "a direct_message_event")
    create = event.get("message_create")
    if not isinstance(create, dict) or not str(create.get("sender_id") or "").isdigit():
        raise MalformedPayload(f"DM event {event_id} has no message_create.sender_id")
    sender = str(create["sender_id"])
    # AAA also delivers the DMs the city's account sends.
    if sender == city:
        return None
    data = create.get("message_data") or {}
    text = str(data.get("text") or "")
    attached = (data.get("attachment") or {}).get("media") or {}
    media: tuple[Media, ...] = ()
    if attached.get("type") == "photo":
        media = (_photo(attached),)
        text = text.replace(str(attached.get("url") or "\0"), "").strip()
    user = _obj(users.get(sender))
    return InboundMessage(
        channel=channel,
        provider_id=event_id,
        sender=dm_address(sender),
        text=text,
        media=media,
        raw=raw,
        sender_name=str(user.get("name") or ""),
        extra={"x_username": str(user.get("screen_name") or "")} if user else {},
    )
