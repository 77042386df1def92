"""``run``, ``web``, ``worker``, ``smtp`` and ``migrate``: the gateway's processes (Procfile)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from aiohttp import web

from gateway.config.settings import Settings
from gateway.ingest.smtp import serve_smtp
from gateway.runtime import Runtime
from gateway.store.migrate import upgrade
from gateway.web.app import create_app

log = logging.getLogger(__name__)


def add_commands(sub: Any) -> None:
    """Register the process commands; all but ``run`` and ``migrate`` need a migrated schema."""
    for name, handler, help_text, schema in (
        ("run", cmd_run, "web + SMTP + worker in one process (migrates first)", "migrates"),
        ("web", cmd_web, "the HTTP server: webhooks, pages, health, metrics", "needed"),
        ("worker", cmd_worker, "intake, outbox deliveries and status sync", "needed"),
        ("smtp", cmd_smtp, "the SMTP listener", "needed"),
        ("migrate", cmd_migrate, "bring the database schema up to date", "migrates"),
    ):
        parser = sub.add_parser(name, help=help_text)
        parser.set_defaults(handler=handler, strict=True, schema=schema)


async def with_runtime(settings: Settings, body: Callable[[Runtime], Awaitable[int]]) -> int:
    """Run ``body`` with this process's parts, closed afterwards whatever happens."""
    runtime = Runtime(settings)
    try:
        return await body(runtime)
    finally:
        await runtime.close()


async def _until_stopped(*tasks: Coroutine[Any, Any, Any]) -> None:
    """Run ``tasks`` until SIGTERM or SIGINT, then cancel them."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    running = [asyncio.ensure_future(t) for t in tasks]
    stopper = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait([*running, stopper], return_when=asyncio.FIRST_COMPLETED)
    for task in [*running, stopper]:
        task.cancel()
    # Let the cancelled tasks finish their clean-up (closing servers, releasing connections).
    await asyncio.wait(running, timeout=10)
    for task in done:
        if task is not stopper and not task.cancelled() and task.exception():
            raise task.exception()  # type: ignore[misc]
    log.info("gateway.stopped")


async def _serve_web(runtime: Runtime) -> None:
    runner = web.AppRunner(create_app(runtime), access_log=None)
    await runner.setup()
    server = runtime.settings.server
    try:
        await web.TCPSite(runner, server.host, server.port).start()
        log.info("web.listening", extra={"host": server.host, "port": server.port})
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


async def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    await upgrade(settings.database_url)

    async def body(runtime: Runtime) -> int:
        tasks = [_serve_web(runtime), runtime.work()]
        if settings.smtp.enabled:
            tasks.append(serve_smtp(runtime))
        await _until_stopped(*tasks)
        return 0

    return await with_runtime(settings, body)


async def cmd_web(args: argparse.Namespace, settings: Settings) -> int:
    async def body(runtime: Runtime) -> int:
        await _until_stopped(_serve_web(runtime))
        return 0

    return await with_runtime(settings, body)


async def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    async def body(runtime: Runtime) -> int:
        await _until_stopped(runtime.work())
        return 0

    return await with_runtime(settings, body)


async def cmd_smtp(args: argparse.Namespace, settings: Settings) -> int:
    async def body(runtime: Runtime) -> int:
        await _until_stopped(serve_smtp(runtime))
        return 0

    return await with_runtime(settings, body)


async def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    await upgrade(settings.database_url)
    print("database is at the newest schema")
    return 0
