"""Photos of X posts: ``media_url_https`` (v1.1) or the media ``url`` (v2) on X's image host.

Post photos on ``pbs.twimg.com`` are public: no credentials are sent. DM photos live on
``ton.twitter.com`` and need the account's OAuth 1.0a user context, which this fetcher does not
hold: they are not among the default hosts, so their jobs end dead with the reason and the URL
stays on the request for staff.
https://developer.x.com/en/docs/x-api/v1/data-dictionary/object-model/entities#media
"""

from __future__ import annotations

import aiohttp

from gateway.fetchers import register
from gateway.fetchers.twilio_media import TwilioMedia
from gateway.plugin import Number, Texts, Whole, table_keys

X_HOSTS = ("pbs.twimg.com",)
X_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")


@register
class XMedia(TwilioMedia):
    """The same limits as Twilio's media (hosts at every hop, size, type, time), no login."""

    name = "x_media"
    provider = "X"
    known_options = table_keys(
        hosts=Texts(X_HOSTS, nonempty=True),
        content_types=Texts(X_TYPES, nonempty=True),
        max_bytes=Whole(5_242_880),
        timeout_seconds=Number(20.0),
    )

    def __init__(self, options: dict[str, object]) -> None:
        super().__init__({"hosts": X_HOSTS, "content_types": X_TYPES, **options})

    def credentials(self) -> aiohttp.BasicAuth | None:
        return None
