"""Photos on a provider's public CDN: fetched like Twilio's media (allowed hosts at every hop,
size, type, time) but with no credentials, since the URL itself is the permission."""

from __future__ import annotations

from typing import Any, ClassVar

import aiohttp

from gateway.fetchers.twilio_media import TwilioMedia
from gateway.plugin import Number, Texts, Whole, table_keys

IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")


class PublicMedia(TwilioMedia):
    """A fetcher of one provider's public media; a subclass names its hosts and types."""

    default_hosts: ClassVar[tuple[str, ...]] = ()
    default_types: ClassVar[tuple[str, ...]] = IMAGE_TYPES

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Its config table, with its own hosts and types as the defaults.
        cls.known_options = table_keys(
            hosts=Texts(cls.default_hosts, nonempty=True),
            content_types=Texts(cls.default_types, nonempty=True),
            max_bytes=Whole(5_242_880),
            timeout_seconds=Number(20.0),
        )

    def __init__(self, options: dict[str, object]) -> None:
        defaults = {"hosts": self.default_hosts, "content_types": self.default_types}
        super().__init__({**defaults, **options})

    def credentials(self) -> aiohttp.BasicAuth | None:
        return None
