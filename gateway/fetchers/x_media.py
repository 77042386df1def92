"""Photos of X posts: ``media_url_https`` (v1.1) or the media ``url`` (v2) on X's image host.

Post photos on ``pbs.twimg.com`` are public: no credentials are sent. DM photos live on
``ton.twitter.com`` and need the account's OAuth 1.0a user context, which this fetcher does not
hold: they are not among the default hosts, so their jobs end dead with the reason and the URL
stays on the request for staff.
https://developer.x.com/en/docs/x-api/v1/data-dictionary/object-model/entities#media
"""

from __future__ import annotations

from gateway.fetchers import register
from gateway.fetchers.public_media import PublicMedia

X_HOSTS = ("pbs.twimg.com",)


@register
class XMedia(PublicMedia):
    """No login: the same limits as Twilio's media, on X's hosts only."""

    name = "x_media"
    provider = "X"
    default_hosts = X_HOSTS
