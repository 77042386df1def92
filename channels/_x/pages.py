"""API v2 pages the worker polls, parsed by tweepy's own models (``tweepy.Client`` builds the
same ``Response`` from them that ``get_users_mentions`` and ``get_direct_message_events`` return).

Mentions: https://docs.x.com/x-api/users/get-mentions (``geo.coordinates`` GeoJSON ``[long,
lat]``, ``geo.place_id`` into ``includes.places``, ``attachments.media_keys`` into
``includes.media``). DM events: https://docs.x.com/x-api/direct-messages/lookup/quickstart.
"""

from __future__ import annotations

from typing import Any

import tweepy

from channels._x import cut, dm_address, geojson_point, place_point, post_address
from gateway.errors import MalformedPayload
from gateway.records import InboundMessage, Location, MailThread, Media

# Used only for its response parser; it never makes a request.
_PARSER = tweepy.Client()


def _response(payload: Any, data_type: type) -> Any:
    if not isinstance(payload, dict) or not isinstance(payload.get("data", []), list):
        raise MalformedPayload("an API v2 page is an object whose data is a list")
    try:
        return _PARSER._construct_response(payload, data_type=data_type)
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedPayload(f"the page does not parse as X API v2: {exc!r}") from exc


def parse_mentions(payload: Any, city: str, channel: str, raw: bytes) -> list[InboundMessage]:
    """The residents' mentions on one page, oldest first; the city's own posts skipped."""
    page = _response(payload, tweepy.Tweet)
    includes = page.includes or {}
    users = {str(u.id): u for u in includes.get("users", [])}
    places = {str(p.id): p for p in includes.get("places", [])}
    media = {str(m.media_key): m for m in includes.get("media", [])}
    messages = []
    for tweet in page.data or []:
        author = str(tweet.author_id or "")
        retweet = any(r.type == "retweeted" for r in tweet.referenced_tweets or [])
        if not author or author == city or retweet:
            continue
        user = users.get(author)
        entities = tweet.entities or {}
        spans = [_span(m) for m in entities.get("mentions", []) if str(m.get("id")) == city]
        spans += [_span(u) for u in entities.get("urls", []) if u.get("media_key")]
        keys = (tweet.attachments or {}).get("media_keys", [])
        replied = [str(r.id) for r in tweet.referenced_tweets or [] if r.type == "replied_to"]
        messages.append(
            InboundMessage(
                channel=channel,
                provider_id=str(tweet.id),
                sender=post_address(author),
                text=cut(tweet.text, [s for s in spans if s is not None]),
                media=tuple(_photo(media[k]) for k in keys if _is_photo(media.get(k))),
                location=_where(tweet.geo, places),
                raw=raw,
                sender_name=str(user.name) if user else "",
                thread=MailThread(tuple(replied), (str(tweet.conversation_id or tweet.id),)),
                extra=_extra(user, tweet.lang, tweet.geo, places),
            )
        )
    return sorted(messages, key=lambda m: int(m.provider_id))


def parse_dm_events(payload: Any, city: str, channel: str, raw: bytes) -> list[InboundMessage]:
    """The residents' DMs on one page, oldest first; the city's own skipped."""
    page = _response(payload, tweepy.DirectMessageEvent)
    includes = page.includes or {}
    users = {str(u.id): u for u in includes.get("users", [])}
    media = {str(m.media_key): m for m in includes.get("media", [])}
    messages = []
    for event in page.data or []:
        sender = str(event.sender_id or "")
        if event.event_type != "MessageCreate" or not sender or sender == city:
            continue
        user = users.get(sender)
        keys = (event.attachments or {}).get("media_keys", [])
        photos = tuple(_photo(media[k]) for k in keys if _is_photo(media.get(k)))
        messages.append(
            InboundMessage(
                channel=channel,
                provider_id=str(event.id),
                sender=dm_address(sender),
                text=_without_links(event.text or "") if photos else event.text or "",
                media=photos,
                raw=raw,
                sender_name=str(user.name) if user else "",
                extra={"x_username": str(user.username)} if user else {},
            )
        )
    return sorted(messages, key=lambda m: int(m.provider_id))


def _span(entity: dict[str, Any]) -> tuple[int, int] | None:
    start, end = entity.get("start"), entity.get("end")
    return (start, end) if isinstance(start, int) and isinstance(end, int) else None


def _is_photo(media: Any) -> bool:
    return media is not None and media.type == "photo" and bool(media.url)


def _photo(media: Any) -> Media:
    url = str(media.url)
    return Media(content_type="image/png" if url.endswith(".png") else "image/jpeg", url=url)


def _without_links(text: str) -> str:
    """A DM's text without the t.co link X appends for its photo."""
    return " ".join(w for w in text.split() if not w.startswith("https://t.co/"))


def _where(geo: Any, places: dict[str, Any]) -> Location | None:
    """The exact point when the post has one, else its tagged place if that is a point of
    interest (v2's ``bbox`` is ``[west, south, east, north]``)."""
    if not isinstance(geo, dict):
        return None
    found = geojson_point(geo.get("coordinates"))
    place = places.get(str(geo.get("place_id")))
    if found is not None or place is None:
        return found
    bbox = (place.geo or {}).get("bbox") or []
    corners = [(bbox[0], bbox[1]), (bbox[2], bbox[3])] if len(bbox) == 4 else []
    return place_point(str(place.full_name), str(place.place_type), corners)


def _extra(user: Any, lang: Any, geo: Any, places: dict[str, Any]) -> dict[str, str]:
    extra = {"x_username": str(user.username) if user else "", "x_lang": str(lang or "")}
    place = places.get(str(geo.get("place_id"))) if isinstance(geo, dict) else None
    if place is not None:
        extra["x_place"] = str(place.full_name)
    return {k: v for k, v in extra.items() if v}
