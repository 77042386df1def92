"""``purge`` and ``backup``: retention at once (what the worker does daily) and a consistent copy
of the SQLite database while the gateway runs."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

from gateway.config.settings import Settings
from gateway.retention import Purge, purge
from gateway.store.backup import BackupRefused, backup_sqlite, sqlite_file
from gateway.store.database import make_engine


async def cmd_purge(args: argparse.Namespace, settings: Settings) -> int:
    policy = settings.retention
    if not (policy.contact_days or policy.raw_days):
        print("retention.contact_days and retention.raw_days are 0: everything is kept for ever")
        return 0
    engine = make_engine(settings.database_url)
    try:
        done = await purge(engine, policy, datetime.now(UTC), dry_run=args.dry_run)
    finally:
        await engine.dispose()
    for line in _report(done, settings, dry_run=args.dry_run):
        print(line)
    return 0


def _report(done: Purge, settings: Settings, *, dry_run: bool) -> list[str]:
    """What went (or would go), with the tracking numbers of the requests it concerned."""
    verb = "would go" if dry_run else "went"
    policy = settings.retention
    lines = ["dry run: nothing was changed"] if dry_run else []
    if policy.contact_days:
        numbers = ", ".join(done.requests) or "none"
        rows = ", ".join(f"{table} {n}" for table, n in done.rows.items())
        lines += [
            f"closed requests whose contact details {verb} (last changed over "
            f"{policy.contact_days} days ago): {len(done.requests)}",
            f"  tracking numbers: {numbers}",
            f"  rows per table: {rows}",
            f"stored messages of no request whose sender {verb}: {done.spent_messages}",
            f"notifications of no request whose recipient {verb}: {done.spent_notifications}",
        ]
    else:
        lines.append("contact details are kept for ever (retention.contact_days = 0)")
    if policy.raw_days:
        lines.append(
            f"raw payloads (body and headers) that {verb} (received over {policy.raw_days} days "
            f"ago, work done, request closed or none): {done.raw_payloads}"
        )
    else:
        lines.append("raw payloads are kept for ever (retention.raw_days = 0)")
    return lines


async def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    target: Path = args.path
    try:
        source = sqlite_file(settings.database_url)
        copy = await asyncio.to_thread(backup_sqlite, source, target, force=args.force)
    except BackupRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"backed up {source} to {copy.path}: {copy.size} bytes, {copy.requests} requests, "
        f"{copy.messages} stored messages; integrity check ok"
    )
    return 0
