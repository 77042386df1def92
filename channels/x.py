"""X (formerly Twitter): mentions of the city's account and direct messages to it.

Two ways in, one channel ``x``, so that a post seen both ways is one message (its post id, or its
DM event id, is the provider id):

- **webhook**: the Account Activity (X Activity) webhook at ``/webhooks/x``. X proves the URL
  with a CRC ``GET ?crc_token=…``, answered ``{"response_token": "sha256=<base64 HMAC-SHA256 of
  the token under the consumer secret>"}``, and ``POST``s events signed
  ``x-twitter-webhooks-signature: sha256=<base64 HMAC-SHA256 of the body>``.
  https://developer.x.com/en/docs/x-api/enterprise/account-activity-api/guides/securing-webhooks
  and https://docs.x.com/x-api/webhooks/quickstart
- **polling**, for cities without webhook access: the worker fetches API v2 pages of mentions and
  DM events with tweepy (``gateway.ingest.x_poller``) and hands each page to the ingest core as
  an ``XPage`` request, stored raw like a webhook.

A resident is ``post:<user id>`` (answered by public reply) or ``dm:<user id>`` (by DM).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from functools import cached_property
from typing import Any, ClassVar
from urllib.parse import urlsplit

from channels import Ack, Channel, WebhookRequest, register
from channels._x.activity import parse_activity
from channels._x.pages import parse_dm_events, parse_mentions
from gateway.errors import BadSignature, ConfigError, MalformedPayload
from gateway.plugin import EnvVar, Key, Number, Text, Whole, table_keys
from gateway.records import InboundMessage

SIGNATURE_HEADER = "x-twitter-webhooks-signature"
MODES = ("webhook", "polling")


def _numeric(value: str) -> str | None:
    return None if value.isdigit() else f"must be the account's numeric user id, not {value!r}"


def sign(secret: str, message: bytes) -> str:
    """``sha256=`` and the base64 HMAC-SHA256 of ``message``: X's CRC answer and signature."""
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


@register
class X(Channel):
    name = "x"
    route: ClassVar[str | None] = "/webhooks/x"
    methods = ("GET", "POST")
    content_types = ("application/json",)
    reply_via = "x"
    converses = True
    media_fetcher = "x_media"
    # Likes, follows, typing indicators and the city's own posts hold nothing for us.
    may_hold_nothing = True
    # A reply's conversation_id is the post that started it: the report, when it was one.
    threads_by_first_post = True
    known_options = table_keys(
        mode=Text("webhook", choices=MODES),
        # The city's account: its numeric id (its own posts and DMs are skipped) and handle.
        user_id=Text(shape=_numeric),
        handle=Text(),
        # The app's consumer secret (API key secret): signs the CRC and every webhook POST.
        consumer_secret_env=EnvVar("X_CONSUMER_SECRET"),
        # Polling only: the app's bearer token reads mentions; DMs need the account's own
        # OAuth 1.0a user context (the consumer key with the access token and its secret).
        bearer_token_env=EnvVar("X_BEARER_TOKEN", optional=True),
        consumer_key_env=EnvVar("X_CONSUMER_KEY", optional=True),
        access_token_env=EnvVar("X_ACCESS_TOKEN", optional=True),
        access_token_secret_env=EnvVar("X_ACCESS_TOKEN_SECRET", optional=True),
        poll_seconds=Number(60.0),
        max_results=Whole(100, minimum=5, maximum=100),
        max_pages=Whole(10),
    )

    @classmethod
    def validate(
        cls,
        options: Mapping[str, Any],
        env: Mapping[str, str] | None = None,
        *,
        keys: Mapping[str, Key] | None = None,
    ) -> list[ConfigError]:
        """As any channel's, and polling needs the account's id and a way to read both sources:
        the bearer token or the user context for mentions, the user context for DMs."""
        env = os.environ if env is None else env
        problems = super().validate(options, env, keys=keys)
        if options.get("mode") != "polling":
            return problems
        path = f"{cls.section}.{cls.name}"
        if not options.get("user_id"):
            problems.append(ConfigError(f"{path}.user_id", "is required to poll"))
        declared = cls.table(keys).keys
        for key in ("consumer_key_env", "access_token_env", "access_token_secret_env"):
            name = str(options.get(key) or declared[key].default)
            if not env.get(name):
                problems.append(ConfigError(f"{path}.{key}", f"{name} must be set to poll"))
        return problems

    @cached_property
    def consumer_secret(self) -> str:
        return self.secret("consumer_secret")

    def challenge(self, req: WebhookRequest) -> Ack:
        token = req.query.get("crc_token", "")
        if not token:
            raise MalformedPayload("crc_token is missing")
        answer = {"response_token": sign(self.consumer_secret, token.encode())}
        return Ack(json.dumps(answer))

    def verify(self, req: WebhookRequest) -> None:
        given = req.header(SIGNATURE_HEADER)
        if not given:
            raise BadSignature(f"{SIGNATURE_HEADER} is missing")
        expected = sign(self.consumer_secret, req.body)
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise BadSignature(f"{SIGNATURE_HEADER} does not match")

    def parse(self, req: WebhookRequest) -> list[InboundMessage]:
        try:
            return self._parse(req)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            # A field of an unexpected kind (X's own shapes are checked as they are read).
            raise MalformedPayload(f"unexpected X payload: {exc!r}") from exc

    def _parse(self, req: WebhookRequest) -> list[InboundMessage]:
        # Pages the worker polled keep the API's URL, so that staff can parse them again too.
        path = urlsplit(req.public_url).path
        if path.startswith("/2/users/") and path.endswith("/mentions"):
            city = path.removeprefix("/2/users/").removesuffix("/mentions")
            return parse_mentions(req.json(), city, self.name, req.body)
        if path == "/2/dm_events":
            return parse_dm_events(req.json(), self.city_id, self.name, req.body)
        return parse_activity(req.json(), self.name, req.body)

    @property
    def city_id(self) -> str:
        city = str(self.options.get("user_id") or "")
        if not city:
            raise MalformedPayload("channels.x.user_id is needed to read a DM page")
        return city


class XPage(X):
    """A page the worker fetched itself from X's API over TLS with the account's credentials:
    no signature to check. Not registered, and so never served on a route."""

    route = None

    def verify(self, req: WebhookRequest) -> None:
        return None
