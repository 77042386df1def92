"""The web process: every channel's webhook, health, readiness and metrics (aiohttp)."""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from channels.slack import Slack
from gateway import metrics
from gateway import notifiers as notifier_registry
from gateway.errors import IngestError
from gateway.ingest.http import WebhookHandler, error_response
from gateway.ingest.slack import SlackFront
from gateway.media import MediaFiles
from gateway.outbox import jobs
from gateway.runtime import Runtime
from gateway.store.migrate import current_revision, head_revision
from gateway.web.case_status import ROUTE as STATUS_ROUTE
from gateway.web.case_status import StatusWebhook
from gateway.web.routes import setup as setup_web

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
RUNTIME = web.AppKey("runtime", Runtime)


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render every failure in the gateway's one error shape; a 500 is always our bug."""
    # No page or API takes a NUL in its URL, and PostgreSQL refuses one in any text it is given.
    if "%00" in request.raw_path:
        return error_response(400, "malformed_payload", "the URL holds a NUL character")
    try:
        return await handler(request)
    except IngestError as exc:
        return error_response(exc.status, exc.code, exc.reason)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_response(exc.status, exc.reason.lower().replace(" ", "_"), exc.reason)
    except Exception:
        log.exception("http.internal_error", extra={"path": request.path})
        return error_response(500, "internal_error", "the gateway failed; this is our bug")


def create_app(runtime: Runtime) -> web.Application:
    """The aiohttp application for ``runtime``'s settings and enabled channels."""
    # The ingest handler enforces the body limit itself, to answer 413 in our error shape.
    app = web.Application(
        middlewares=[errors_middleware],
        client_max_size=runtime.settings.server.max_body_bytes + 1,
    )
    app[RUNTIME] = runtime
    for channel in runtime.channels():
        if isinstance(channel, Slack):
            catalog = list(runtime.catalog.values())
            front = SlackFront(
                channel, runtime.ingest, runtime.settings.server, catalog, runtime.engine
            )
            front.add_routes(app)
        if channel.route is None:
            continue
        answer = runtime.answerer(channel)
        handler = WebhookHandler(channel, runtime.ingest, runtime.settings.server, answer)
        for method in channel.methods:
            app.router.add_route(method, channel.route, handler.handle)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_view)
    MediaFiles(runtime.settings.media_folder).add_routes(app)
    if runtime.settings.status_webhook_secret_env:
        hook = StatusWebhook(runtime.engine, runtime.settings)
        app.router.add_post(STATUS_ROUTE, hook.handle)
    setup_web(app, runtime)
    for route in app.router.routes():
        # aiohttp answers "100 Continue" before any middleware or handler runs; this is the only
        # hook, and aiohttp has no public setter for a route added without it.
        route._expect_handler = expect_within_limit
    app.on_startup.append(_start_writer)
    app.on_startup.append(_warn_waiting_notifiers)
    app.on_cleanup.append(_stop_writer)
    return app


async def expect_within_limit(request: web.Request) -> web.StreamResponse | None:
    """``Expect: 100-continue``: a body over the limit gets 413 at once, never "100 Continue"
    (the client would then send it all, to be refused)."""
    limit = request.app[RUNTIME].settings.server.max_body_bytes
    refused = None
    if request.content_length is not None and request.content_length > limit:
        refused = error_response(
            413, "payload_too_large", f"body of {request.content_length} bytes exceeds {limit}"
        )
    elif request.headers.get("Expect", "").lower() != "100-continue":
        refused = error_response(417, "expectation_failed", "only Expect: 100-continue is known")
    if refused is not None:
        # The body was never asked for: the connection cannot carry another request.
        refused.force_close()
        return refused
    if request.version >= (1, 1):
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        # As aiohttp's own handler does: the 100 is not part of the answer's size.
        request.writer.output_size = 0
    return None


async def _start_writer(app: web.Application) -> None:
    runtime = app[RUNTIME]
    # The triage before every ack needs the language model: load it before the first request,
    # off the event loop, rather than during one.
    await asyncio.to_thread(lambda: runtime.normalizer_context)
    await runtime.writer.start()


async def _warn_waiting_notifiers(app: web.Application) -> None:
    await app[RUNTIME].warn_waiting_notifiers()


async def _stop_writer(app: web.Application) -> None:
    await app[RUNTIME].writer.stop()


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process answers."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: the database answers and its schema is the one this code expects.

    Ready or not, a notifier that is off while messages wait for it is named in ``warnings``:
    the process can serve, but those residents hear nothing until it is enabled."""
    runtime = request.app[RUNTIME]
    engine = runtime.engine
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        current = await current_revision(engine)
    except Exception as exc:
        log.warning("readyz.database_unreachable", extra={"error": repr(exc)})
        return web.json_response({"status": "unavailable", "database": "unreachable"}, status=503)
    expected = head_revision()
    if current != expected:
        body = {"status": "unavailable", "migrations": {"current": current, "expected": expected}}
        return web.json_response(body, status=503)
    ready: dict[str, object] = {"status": "ready", "migration": current}
    warnings = await _notifier_warnings(runtime)
    if warnings:
        ready["warnings"] = warnings
    return web.json_response(ready)


async def _notifier_warnings(runtime: Runtime) -> list[dict[str, object]]:
    """One warning per notifier that is off while messages wait for it."""
    waiting = await jobs.waiting_for_disabled(runtime.engine, list(runtime.notifiers()))
    return [
        {
            "notifier": name,
            "waiting": count,
            "reason": f"notifier {name} is not enabled; {count} message(s) wait in the outbox",
        }
        for name, count in sorted(waiting.items())
    ]


async def metrics_view(request: web.Request) -> web.Response:
    """Prometheus exposition, with the outbox depth and the messages waiting for a notifier that
    is off read fresh from the database."""
    runtime = request.app[RUNTIME]
    refused = _refuse_without_token(request, runtime.settings.server.metrics_token_env)
    if refused is not None:
        return refused
    try:
        for state, count in (await jobs.depth(runtime.engine)).items():
            metrics.OUTBOX_DEPTH.labels(state).set(count)
    except Exception:
        log.warning("metrics.outbox_depth_unavailable", exc_info=True)
    try:
        enabled = list(runtime.notifiers())
        waiting = await jobs.waiting_for_disabled(runtime.engine, enabled)
    except Exception:
        log.warning("metrics.notifications_waiting_unavailable", exc_info=True)
    else:
        # Every notifier that is off has a sample (0 when nothing waits), so an alert can fire.
        metrics.NOTIFICATIONS_WAITING.clear()
        for name in notifier_registry.load_all():
            if name not in enabled:
                metrics.NOTIFICATIONS_WAITING.labels(name).set(0)
        for name, count in waiting.items():
            metrics.NOTIFICATIONS_WAITING.labels(name).set(count)
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


def _refuse_without_token(request: web.Request, token_env: str) -> web.Response | None:
    """With ``server.metrics_token_env`` set, /metrics answers only its bearer token; while the
    variable it names is unset, nobody (closed, not open, by mistake)."""
    if not token_env:
        return None
    expected = os.environ.get(token_env, "")
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    # Compared as bytes: a header is any text, and compare_digest refuses non-ASCII str.
    if expected and hmac.compare_digest(given.encode(), expected.encode()):
        return None
    refused = error_response(401, "unauthorized", "/metrics needs its bearer token")
    refused.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return refused
