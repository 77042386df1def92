"""The Slack front: bolt's ``AsyncApp`` routes Slack's three request URLs to the ingest core.

Bolt does what it does: it checks the signature and its five-minute window (401, nothing
stored), answers ``url_verification`` and ``ssl_check``, matches each request to its listener
(events, the ``/311`` command, button presses, the report form's submission) and turns the
listener's ``ack`` into the answer, through ``slack_bolt.adapter.aiohttp``. Every listener's ack
function is the same: hand the raw request to ``IngestCore.take`` (the channel verifies and
parses, the core stores durably) and only then ack, so Slack's 200 always follows the commit.
``AsyncApp(process_before_response=True)`` is what makes bolt wait for it. The core checks the
signature again with the channel's own ``verify`` (slack_sdk's ``SignatureVerifier``), as it does
for every channel; bolt's refusals are counted with the core's. The request side of the adapter
is ours: the body is read under the gateway's size limit (413) and content types (415) first,
and a body bolt cannot parse is handed to the core directly (400, kept for staff).

A bare ``/311`` makes the one outbound call of the request path, after the store: ``views.open``
with the command's ``trigger_id``, which Slack voids three seconds after the command, so it
cannot wait for the outbox. Everything else a resident hears leaves through the outbox.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from channels import WebhookRequest
from channels.slack import Slack
from gateway.config.settings import ServerSettings
from gateway.errors import BadSignature, IngestError
from gateway.ingest.core import STORAGE_ERRORS, IngestCore
from gateway.ingest.http import error_response, read_request
from gateway.ingest.slack_form import report_form
from gateway.notifiers.slack import api_base_url
from gateway.records import Service
from gateway.store import requests

log = logging.getLogger(__name__)

# views.open must land within the trigger's three seconds, after the store.
_OPEN_TIMEOUT = 1.5
_CONTEXT_KEY = "gateway_request"


class SlackFront:
    """The aiohttp handler of the Slack channel's three routes, with bolt inside."""

    def __init__(
        self,
        channel: Slack,
        core: IngestCore,
        server: ServerSettings,
        catalog: list[Service],
        engine: AsyncEngine,
    ) -> None:
        self.channel = channel
        self.core = core
        self.server = server
        self.catalog = catalog
        self.engine = engine
        self.client = AsyncWebClient(
            token=channel.secret("bot_token"), base_url=api_base_url(), retry_handlers=[]
        )
        self.bolt = AsyncApp(
            signing_secret=channel.secret("signing_secret"),
            client=self.client,
            # No auth.test on the request path: the token is ours, one workspace, and the
            # channel itself recognises (and keeps, unanswered) the app's own posts.
            authorize=_authorize_with(self.client),
            ignoring_self_events_enabled=False,
            process_before_response=True,
            # Bolt's own sentences, under a name of their own (at start it says that the token
            # in SLACK_BOT_TOKEN is left to the client and the authorize step above).
            logger=logging.getLogger(f"{__name__}.bolt"),
        )

        # Bolt hands a listener the arguments its parameters name (so not a bound method).
        async def take(ack: Any, context: Any, body: dict[str, Any]) -> BoltResponse | None:
            return await self._take(ack, context, body)

        self.bolt.event(re.compile(".*"))(take)
        self.bolt.command(channel.command)(take)
        self.bolt.action(re.compile(".*"))(take)
        self.bolt.view_submission(re.compile(".*"))(take)

    def add_routes(self, app: web.Application) -> None:
        for route in self.channel.routes:
            app.router.add_post(route, self.handle)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        try:
            req = await read_request(request, self.channel, self.server)
        except IngestError as exc:
            self.core.rejected(self.channel, exc)
            return _no_retry(error_response(exc.status, exc.code, exc.reason))
        try:
            bolt_request = AsyncBoltRequest(
                body=req.body.decode("utf-8", errors="replace"),
                query=request.query_string,
                headers=dict(request.headers),
                context={_CONTEXT_KEY: (req, started)},
            )
        except ValueError:
            # Bolt cannot route what it cannot read: the core checks the signature, keeps the
            # raw bytes for staff and names the fault (the channel's parse fails the same way).
            return _no_retry(await self._unreadable(req, started))
        answer = await to_aiohttp_response(await self.bolt.async_dispatch(bolt_request))
        if answer.status >= 500:
            # Bolt failed on a payload it did not expect, perhaps before any listener ran: the
            # core takes the request itself (it stores a message once, however often it is
            # handed one), so the answer is the core's and the message is kept.
            log.warning("slack.bolt_failed", extra={"status": answer.status})
            return _no_retry(await self._unreadable(req, started))
        if answer.status == 401:
            # Bolt's refusal of the signature or of a stale timestamp, before the core saw it.
            self.core.rejected(self.channel, BadSignature("refused by bolt's request verification"))
        return _no_retry(answer)

    async def _unreadable(self, req: WebhookRequest, started: float) -> web.Response:
        """The core's own answer to a request bolt could not route."""
        try:
            stored = await self.core.take(self.channel, req, started)
        except IngestError as exc:
            return error_response(exc.status, exc.code, exc.reason)
        # Stored and parsed after all: it is acted on like any other, so it is acknowledged.
        ack = self.channel.acknowledge(req, stored)
        return web.Response(text=ack.body, status=ack.status, content_type=ack.content_type)

    async def _take(self, ack: Any, context: Any, body: dict[str, Any]) -> BoltResponse | None:
        """Store, then ack; a refusal is answered in the gateway's error shape, with its status."""
        req, started = context[_CONTEXT_KEY]
        try:
            stored = await self.core.take(self.channel, req, started)
        except IngestError as exc:
            answer = self.channel.reject(req, exc)
            reason = json.dumps({"error": exc.code, "reason": exc.reason})
            return BoltResponse(
                status=exc.status,
                body=answer.body if answer else reason,
                headers={"content-type": "application/json"},
            )
        if body.get("command") and not body.get("text", "").strip() and not stored[0].duplicate:
            failed = await self._open_form(body)
            if failed:
                await ack({"response_type": "ephemeral", "text": failed})
                return None
        answer = self.channel.acknowledge(req, stored)
        await ack(json.loads(answer.body) if answer.body else "")
        return None

    async def language_of(self, user: str) -> str:
        """The language of the resident's latest report; English for a first one."""
        async with self.engine.connect() as conn:
            latest = await requests.latest_for(conn, user)
        return latest.reporter.language if latest is not None else "en"

    async def _open_form(self, body: dict[str, Any]) -> str | None:
        """Open the report form for a bare /311; what to tell the resident if it did not open."""
        user = str(body.get("user_id", ""))
        try:
            language = await asyncio.wait_for(self.language_of(user), 0.5)
        except (*STORAGE_ERRORS, TimeoutError) as exc:
            # The form in English beats no form: the trigger will not wait.
            log.warning("slack.language_unknown", extra={"error": type(exc).__name__})
            language = "en"
        view = report_form(self.catalog, language)
        try:
            async with asyncio.timeout(_OPEN_TIMEOUT):
                await self.client.views_open(trigger_id=str(body.get("trigger_id")), view=view)
        except (SlackApiError, TimeoutError, aiohttp.ClientError) as exc:
            log.warning("slack.form_not_opened", extra={"error": type(exc).__name__})
            return f"The report form could not open. Type {self.channel.command} and your report."
        return None


def _authorize_with(client: AsyncWebClient) -> Callable[..., Awaitable[AuthorizeResult]]:
    """Bolt's authorize step without a call to Slack: one workspace, one configured token."""

    async def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token=client.token)

    return authorize


def _no_retry(response: web.Response) -> web.Response:
    """A refusal (4xx) would be refused again: ``X-Slack-No-Retry`` tells Slack not to retry.
    A 503 (the database could not store it) is left for Slack's retries."""
    if 400 <= response.status < 500:
        response.headers["X-Slack-No-Retry"] = "1"
    return response
