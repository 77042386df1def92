"""``run``, ``web``, ``worker``, ``smtp`` and ``migrate``: the gateway's processes (Procfile)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from typing import Any

from aiohttp import web

from gateway.config.settings import Settings
from gateway.ingest.smtp import serve_smtp
from gateway.runtime import Runtime
from gateway.store.migrate import upgrade
from gateway.web.app import create_app

log = logging.getLogger(__name__)


async def with_runtime(settings: Settings, body: Callable[[Runtime], Awaitable[int]]) -> int:
    """Run ``body`` with this process's parts, closed afterwards whatever happens."""
    runtime = Runtime(settings)
    try:
        return await body(runtime)
    finally:
        await runtime.close()


Role = Callable[[asyncio.Event], Coroutine[Any, Any, Any]]


async def _until_stopped(settings: Settings, *roles: Role) -> None:
    """Run ``roles`` until SIGTERM or SIGINT (or one of them ends), then stop them gracefully.

    Each role is told through the ``stopping`` event and finishes what it has in progress:
    the web server stops listening and answers the requests it has, the SMTP listener greets new
    sessions with 421 and lets those in a transaction end, the worker ends its intake batch and
    delivery round. After ``[server] shutdown_seconds`` what is left is cancelled (a delivery
    round gives its jobs back), so the process always exits in bounded time.
    """
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    running = [asyncio.ensure_future(role(stopping)) for role in roles]
    signalled = asyncio.ensure_future(stopping.wait())
    await asyncio.wait([*running, signalled], return_when=asyncio.FIRST_COMPLETED)
    # A role that ended by itself (a failure) stops the others too.
    stopping.set()
    grace = settings.server.shutdown_seconds
    log.info("gateway.stopping", extra={"within_seconds": grace})
    _, late = await asyncio.wait(running, timeout=grace)
    for task in late:
        task.cancel()
    if late:
        log.warning("gateway.stop_cut_off", extra={"roles": len(late)})
        # Their clean-up: a delivery round giving its jobs back, servers closing.
        await asyncio.wait(late, timeout=5)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.remove_signal_handler(sig)
    for task in running:
        if task.done() and not task.cancelled() and task.exception():
            raise task.exception()  # type: ignore[misc]
    log.info("gateway.stopped")


async def _serve_web(runtime: Runtime, stopping: asyncio.Event) -> None:
    server = runtime.settings.server
    # aiohttp's graceful shutdown: stop listening, let handlers finish, then cancel them.
    runner = web.AppRunner(
        create_app(runtime), access_log=None, shutdown_timeout=server.shutdown_seconds
    )
    await runner.setup()
    try:
        await web.TCPSite(runner, server.host, server.port).start()
        log.info("web.listening", extra={"host": server.host, "port": server.port})
        await stopping.wait()
    finally:
        await runner.cleanup()


async def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    await upgrade(settings.database_url)

    async def body(runtime: Runtime) -> int:
        roles: list[Role] = [partial(_serve_web, runtime), runtime.work]
        if settings.smtp.enabled:
            roles.append(partial(serve_smtp, runtime))
        await _until_stopped(settings, *roles)
        return 0

    return await with_runtime(settings, body)


async def cmd_web(args: argparse.Namespace, settings: Settings) -> int:
    async def body(runtime: Runtime) -> int:
        await _until_stopped(settings, partial(_serve_web, runtime))
        return 0

    return await with_runtime(settings, body)


async def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    async def body(runtime: Runtime) -> int:
        await _until_stopped(settings, runtime.work)
        return 0

    return await with_runtime(settings, body)


async def cmd_smtp(args: argparse.Namespace, settings: Settings) -> int:
    async def body(runtime: Runtime) -> int:
        await _until_stopped(settings, partial(serve_smtp, runtime))
        return 0

    return await with_runtime(settings, body)


async def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    await upgrade(settings.database_url)
    print("database is at the newest schema")
    return 0
