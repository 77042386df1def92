"""``python -m gateway``: run the processes, migrate, check the config, and inspect the queues."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from gateway import log as gateway_log
from gateway.cli import apikeys, normalizer, twilio
from gateway.config.checks import find_problems
from gateway.config.settings import Settings, load_settings
from gateway.ingest.reprocess import reprocess
from gateway.ingest.smtp import serve_smtp
from gateway.outbox import jobs
from gateway.runtime import Runtime
from gateway.store import received
from gateway.store.migrate import upgrade
from gateway.web.app import create_app

log = logging.getLogger(__name__)
Command = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the command; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    gateway_log.configure(args.log_level)
    if getattr(args, "standalone", None):
        return int(args.standalone(args))
    settings, problems = load_settings(args.config)
    if args.command == "check-config" or getattr(args, "strict", False):
        problems += find_problems(settings)
    if problems:
        for problem in problems:
            print(f"config error: {problem}", file=sys.stderr)
        return 2
    if args.command == "check-config":
        print("configuration is valid")
        return 0
    command: Command = args.handler
    return asyncio.run(command(args, settings))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gateway", description=__doc__)
    parser.add_argument("--config", type=Path, default=None, help="default: config/gateway.toml")
    parser.add_argument("--log-level", default="INFO")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, handler, help_text in (
        ("run", cmd_run, "web + SMTP + worker in one process (migrates first)"),
        ("web", cmd_web, "the HTTP server: webhooks, health, metrics"),
        ("worker", cmd_worker, "the pipeline, outbox deliveries and status sync"),
        ("smtp", cmd_smtp, "the SMTP listener"),
        ("migrate", cmd_migrate, "bring the database schema up to date"),
    ):
        sub.add_parser(name, help=help_text).set_defaults(handler=handler, strict=True)
    sub.add_parser("check-config", help="validate config, catalog and environment")
    _outbox_parsers(sub)
    _inbound_parsers(sub)
    _extra_parsers(sub)
    return parser


def _outbox_parsers(sub: Any) -> None:
    outbox = sub.add_parser("outbox", help="inspect and replay delivery jobs")
    osub = outbox.add_subparsers(dest="outbox_command", required=True)
    listing = osub.add_parser("list", help="jobs, newest first")
    listing.add_argument("--state", choices=[jobs.PENDING, jobs.IN_FLIGHT, jobs.DONE, jobs.DEAD])
    listing.add_argument("--kind", choices=[jobs.DELIVER, jobs.NOTIFY])
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(handler=cmd_outbox_list)
    again = osub.add_parser("retry", help="make jobs due now with a fresh retry horizon")
    again.add_argument("ids", type=int, nargs="+", metavar="ID")
    again.set_defaults(handler=cmd_outbox_retry)
    osub.add_parser("retry-dead", help="replay every dead job").set_defaults(
        handler=cmd_outbox_retry_dead
    )


def _inbound_parsers(sub: Any) -> None:
    inbound = sub.add_parser("inbound", help="inspect and reprocess stored raw messages")
    isub = inbound.add_subparsers(dest="inbound_command", required=True)
    listing = isub.add_parser("list", help="stored messages, newest first")
    listing.add_argument("--unparsed", action="store_true", help="only those flagged for staff")
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(handler=cmd_inbound_list)
    again = isub.add_parser("reprocess", help="parse stored raw messages again")
    target = again.add_mutually_exclusive_group(required=True)
    target.add_argument("id", type=int, nargs="?", metavar="ID")
    target.add_argument("--all-unparsed", action="store_true")
    again.set_defaults(handler=cmd_inbound_reprocess)


def _extra_parsers(sub: Any) -> None:
    """Commands other modules contribute, each with its own ``add_commands``."""
    twilio.add_commands(sub)
    apikeys.add_commands(sub)
    normalizer.add_commands(sub)


async def _with_runtime(settings: Settings, body: Callable[[Runtime], Awaitable[int]]) -> int:
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
    for task in done:
        if task is not stopper and task.exception():
            raise task.exception()  # type: ignore[misc]
    log.info("gateway.stopped")


async def _serve_web(runtime: Runtime) -> None:
    runner = web.AppRunner(create_app(runtime), access_log=None)
    await runner.setup()
    server = runtime.settings.server
    await web.TCPSite(runner, server.host, server.port).start()
    log.info("web.listening", extra={"host": server.host, "port": server.port})
    try:
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

    return await _with_runtime(settings, body)


async def cmd_web(args: argparse.Namespace, settings: Settings) -> int:
    async def body(runtime: Runtime) -> int:
        await _until_stopped(_serve_web(runtime))
        return 0

    return await _with_runtime(settings, body)


async def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    async def body(runtime: Runtime) -> int:
        await _until_stopped(runtime.work())
        return 0

    return await _with_runtime(settings, body)


async def cmd_smtp(args: argparse.Namespace, settings: Settings) -> int:
    async def body(runtime: Runtime) -> int:
        await _until_stopped(serve_smtp(runtime))
        return 0

    return await _with_runtime(settings, body)


async def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    await upgrade(settings.database_url)
    print("database is at the newest schema")
    return 0


async def cmd_outbox_list(args: argparse.Namespace, settings: Settings) -> int:
    async def body(runtime: Runtime) -> int:
        rows = await jobs.list_jobs(
            runtime.engine, state=args.state, kind=args.kind, limit=args.limit
        )
        print(
            f"{'ID':>6}  {'STATE':<9} {'KIND':<7} {'TARGET':<10} {'TRIES':>5}  "
            f"{'NEXT (UTC)':<19}  REQUEST / LAST ERROR"
        )
        for j in rows:
            when = j.next_attempt_at.strftime("%Y-%m-%d %H:%M:%S")
            print(
                f"{j.id:>6}  {j.state:<9} {j.kind:<7} {j.target:<10} {j.attempts:>5}  {when}  "
                f"{j.request_id or '-'} {j.last_error or ''}"
            )
        return 0

    return await _with_runtime(settings, body)


async def cmd_outbox_retry(args: argparse.Namespace, settings: Settings) -> int:
    async def body(runtime: Runtime) -> int:
        count = await jobs.retry(runtime.engine, args.ids, now=datetime.now(UTC))
        print(f"{count} job(s) due now")
        return 0 if count == len(set(args.ids)) else 1

    return await _with_runtime(settings, body)


async def cmd_outbox_retry_dead(args: argparse.Namespace, settings: Settings) -> int:
    async def body(runtime: Runtime) -> int:
        count = await jobs.retry(runtime.engine, None, now=datetime.now(UTC))
        print(f"{count} dead job(s) due now")
        return 0

    return await _with_runtime(settings, body)


async def cmd_inbound_list(args: argparse.Namespace, settings: Settings) -> int:
    async def body(runtime: Runtime) -> int:
        rows = await received.list_inbound(
            runtime.engine, flagged_only=args.unparsed, limit=args.limit
        )
        for r in rows:
            when = r.received_at.strftime("%Y-%m-%d %H:%M:%S")
            print(
                f"{r.id:>6}  {r.state:<9} {r.channel:<12} {when}  {r.provider_id}  {r.error or ''}"
            )
        return 0

    return await _with_runtime(settings, body)


async def cmd_inbound_reprocess(args: argparse.Namespace, settings: Settings) -> int:
    async def body(runtime: Runtime) -> int:
        if args.all_unparsed:
            ids = [
                r.id
                for r in await received.list_inbound(
                    runtime.engine, flagged_only=True, limit=100_000
                )
                if r.state == "unparsed"
            ]
        else:
            ids = [args.id]
        failures = 0
        for inbound_id in ids:
            outcome = await reprocess(runtime.engine, settings, inbound_id)
            failures += not outcome.startswith("parsed")
            print(f"{inbound_id}: {outcome}")
        runtime.intake_wake.set()
        return 1 if failures else 0

    return await _with_runtime(settings, body)
