"""Photos sent on Messenger: an ``image`` attachment's ``payload.url`` on Meta's CDN.

The URL is signed by Meta and expires after a while, so the photo is copied at once; it needs no
credentials. Only Meta's CDN hosts are contacted, at every redirect.
https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/messages
"""

from __future__ import annotations

from gateway.fetchers import register
from gateway.fetchers.public_media import PublicMedia

META_HOSTS = ("*.fbcdn.net", "*.fbsbx.com")


@register
class MessengerMedia(PublicMedia):
    """No login: the same limits as Twilio's media, on Meta's hosts only."""

    name = "messenger_media"
    provider = "Meta"
    default_hosts = META_HOSTS
