"""``outbox`` and ``inbound``: what staff look at and replay from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.config.settings import Settings
from gateway.ingest.reprocess import dismiss, reprocess_message
from gateway.log import mask_address
from gateway.outbox import jobs
from gateway.store import inbound, received
from gateway.store.database import make_engine

TIME = "%Y-%m-%d %H:%M:%S"


def _about(listed: jobs.Listed) -> str:
    """What a job is for: its request's tracking number, or whom a notification goes to."""
    job = listed.job
    if listed.tracking_number:
        return listed.tracking_number
    purpose = str(job.payload.get("purpose") or job.kind)
    to = job.payload.get("to")
    return f"{purpose} to {mask_address(str(to))}" if to else purpose


async def cmd_outbox_list(args: argparse.Namespace, settings: Settings) -> int:
    async def body(engine: AsyncEngine) -> int:
        rows = await jobs.listing(engine, state=args.state, kind=args.kind, limit=args.limit)
        if not rows:
            print("no jobs" + (f" in state {args.state}" if args.state else ""))
            return 0
        print(
            f"{'ID':>6}  {'STATE':<9} {'KIND':<7} {'TARGET':<12} {'TRIES':>5}  "
            f"{'NEXT (UTC)':<19}  FOR / LAST ERROR"
        )
        for listed in rows:
            j = listed.job
            print(
                f"{j.id:>6}  {j.state:<9} {j.kind:<7} {j.target:<12} {j.attempts:>5}  "
                f"{j.next_attempt_at.strftime(TIME)}  {_about(listed)}  {j.last_error or ''}"
            )
        return 0

    return await _with_engine(settings, body)


async def cmd_outbox_show(args: argparse.Namespace, settings: Settings) -> int:
    async def body(engine: AsyncEngine) -> int:
        listed = await jobs.get_listed(engine, args.id)
        if listed is None:
            print(f"error: there is no outbox job {args.id}", file=sys.stderr)
            return 1
        j = listed.job
        payload = dict(j.payload)
        if "to" in payload:
            payload["to"] = mask_address(str(payload["to"]))
        fields = {
            "job": j.id,
            "for": _about(listed),
            "kind": j.kind,
            "target": j.target,
            "state": j.state,
            "attempts": j.attempts,
            "created (UTC)": j.created_at.strftime(TIME),
            "next attempt (UTC)": j.next_attempt_at.strftime(TIME),
            "idempotency key": j.idempotency_key,
            "remote id": j.remote_id or "-",
            "last error": j.last_error or "-",
            # A notification's body is for the resident, not the terminal.
            "payload": json.dumps({k: v for k, v in payload.items() if k != "body"}),
        }
        width = max(map(len, fields))
        for name, value in fields.items():
            print(f"{name:<{width}}  {value}")
        return 0

    return await _with_engine(settings, body)


async def cmd_outbox_retry(args: argparse.Namespace, settings: Settings) -> int:
    async def body(engine: AsyncEngine) -> int:
        wanted = sorted(set(args.ids))
        known = await jobs.states_of(engine, wanted)
        for job_id in wanted:
            if job_id not in known:
                print(f"error: there is no outbox job {job_id}", file=sys.stderr)
            elif known[job_id] == jobs.DONE:
                print(f"error: outbox job {job_id} is done already", file=sys.stderr)
        count = await jobs.retry(engine, wanted, now=datetime.now(UTC))
        print(f"{count} job(s) due now")
        return 0 if count == len(wanted) else 1

    return await _with_engine(settings, body)


async def cmd_outbox_retry_dead(args: argparse.Namespace, settings: Settings) -> int:
    async def body(engine: AsyncEngine) -> int:
        count = await jobs.retry(engine, None, now=datetime.now(UTC))
        print(f"{count} dead job(s) due now")
        return 0

    return await _with_engine(settings, body)


async def cmd_inbound_list(args: argparse.Namespace, settings: Settings) -> int:
    async def body(engine: AsyncEngine) -> int:
        rows = await received.list_inbound(engine, flagged_only=args.unparsed, limit=args.limit)
        if not rows:
            print("no messages flagged for staff" if args.unparsed else "no stored messages")
            return 0
        print(f"{'ID':>6}  {'STATE':<9} {'CHANNEL':<13} {'RECEIVED (UTC)':<19}  PROVIDER ID  ERROR")
        for r in rows:
            when = r.received_at.strftime(TIME)
            print(
                f"{r.id:>6}  {r.state:<9} {r.channel:<13} {when}  {r.provider_id}  {r.error or ''}"
            )
        return 0

    return await _with_engine(settings, body)


async def cmd_inbound_show(args: argparse.Namespace, settings: Settings) -> int:
    async def body(engine: AsyncEngine) -> int:
        async with engine.connect() as conn:
            shown = await received.get_shown(conn, args.id)
        if shown is None:
            print(f"error: there is no stored message {args.id}", file=sys.stderr)
            return 1
        s, env = shown.summary, shown.raw.envelope
        fields = {
            "message": s.id,
            "channel": s.channel,
            "state": s.state,
            "received (UTC)": s.received_at.strftime(TIME),
            "provider id": s.provider_id,
            "sender": mask_address(shown.sender),
            "request": shown.tracking_number or "-",
            "error": s.error or "-",
            "arrived at": env.public_url,
            "headers": ", ".join(sorted(env.headers)),
            "raw body": f"{len(env.raw_body)} bytes" + ("" if args.raw else " (--raw prints it)"),
        }
        width = max(map(len, fields))
        for name, value in fields.items():
            print(f"{name:<{width}}  {value}")
        if args.raw:
            sys.stdout.write(env.raw_body.decode("utf-8", "replace") + "\n")
        return 0

    return await _with_engine(settings, body)


async def cmd_inbound_reprocess(args: argparse.Namespace, settings: Settings) -> int:
    async def body(engine: AsyncEngine) -> int:
        if args.all_unparsed:
            flagged = await received.list_inbound(engine, flagged_only=True, limit=100_000)
            ids = [r.id for r in flagged if r.state == inbound.UNPARSED]
        else:
            ids = [args.id]
        failures = 0
        for inbound_id in ids:
            outcome = await reprocess_message(engine, settings, inbound_id)
            failures += not outcome.ok
            print(f"{inbound_id}: {outcome.text}")
        # The running worker finds them at its next poll (this is another process).
        return 1 if failures else 0

    return await _with_engine(settings, body)


async def cmd_inbound_dismiss(args: argparse.Namespace, settings: Settings) -> int:
    async def body(engine: AsyncEngine) -> int:
        outcome = await dismiss(engine, args.id, by=args.by, reason=args.reason)
        print(f"{args.id}: {outcome.text}", file=sys.stdout if outcome.ok else sys.stderr)
        return 0 if outcome.ok else 1

    return await _with_engine(settings, body)


async def _with_engine(settings: Settings, body: Callable[[AsyncEngine], Awaitable[int]]) -> int:
    """Run ``body`` on the database's engine, disposed of afterwards; no other part is built."""
    engine = make_engine(settings.database_url)
    try:
        return await body(engine)
    finally:
        await engine.dispose()
