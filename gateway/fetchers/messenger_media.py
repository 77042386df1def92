"""Photos sent on Messenger: an ``image`` attachment's ``payload.url`` on Meta's CDN.

The URL is signed by Meta and expires after a while, so the photo is copied at once; it needs no
credentials. Only Meta's CDN hosts are contacted, at every redirect.
https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/messages
"""

from __future__ import annotations

import aiohttp

from gateway.fetchers import register
from gateway.fetchers.twilio_media import TwilioMedia
from gateway.plugin import Number, Texts, Whole, table_keys

META_HOSTS = ("*.fbcdn.net", "*.fbsbx.com")
META_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")


@register
class MessengerMedia(TwilioMedia):
    """The same limits as Twilio's media (hosts at every hop, size, type, time), no login."""

    name = "messenger_media"
    provider = "Meta"
    known_options = table_keys(
        hosts=Texts(META_HOSTS, nonempty=True),
        content_types=Texts(META_TYPES, nonempty=True),
        max_bytes=Whole(5_242_880),
        timeout_seconds=Number(20.0),
    )

    def __init__(self, options: dict[str, object]) -> None:
        super().__init__({"hosts": META_HOSTS, "content_types": META_TYPES, **options})

    def credentials(self) -> aiohttp.BasicAuth | None:
        return None
