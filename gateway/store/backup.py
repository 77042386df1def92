"""A consistent copy of the SQLite database while the gateway runs, with SQLite's online backup
API (https://www.sqlite.org/backup.html) through ``sqlite3.Connection.backup``.

The copy is taken in one step, inside one read transaction: in WAL mode a reader sees one
snapshot and blocks no writer, so the web, SMTP and worker processes go on storing messages while
the copy holds the database exactly as it was at one commit. It is written beside the target,
checked (``PRAGMA integrity_check``), made a single self-contained file (rollback journal, no
``-wal``) and only then renamed into place, so a failed backup never leaves a half copy at PATH.
PostgreSQL is backed up with its own tools (``pg_dump``, continuous archiving): see the README.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupRefused(Exception):
    """The backup cannot be made as asked; the message is one sentence for the operator."""


@dataclass(frozen=True, slots=True)
class Copy:
    """A finished, checked copy: where, how big, and what it holds."""

    path: Path
    size: int
    requests: int
    messages: int


def sqlite_file(url: str) -> Path:
    """The database file a SQLite URL names; ``BackupRefused`` for any other database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise BackupRefused(
            f"backup copies a SQLite database and this one is {parsed.get_backend_name()}: use "
            "pg_dump or continuous archiving (README, Retention and backups)"
        )
    if not parsed.database or parsed.database == ":memory:":
        raise BackupRefused("an in-memory SQLite database has no file to back up")
    return Path(parsed.database)


def backup_sqlite(source: Path, target: Path, *, force: bool = False) -> Copy:
    """Copy the database at ``source`` to ``target`` while others write to it; the checked copy.

    Refused (``BackupRefused``) when ``source`` is missing, ``target`` is ``source`` or, unless
    ``force``, already exists.
    """
    if not source.is_file():
        raise BackupRefused(f"there is no database file at {source}")
    if target.exists() and target.resolve() == source.resolve():
        raise BackupRefused("the backup cannot be the database itself")
    if target.exists() and not force:
        raise BackupRefused(f"{target} exists already (--force replaces it)")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    _remove(partial)
    try:
        _copy(source, partial)
        requests, messages = _check(partial)
        os.replace(partial, target)
    finally:
        _remove(partial)
    return Copy(target, target.stat().st_size, requests, messages)


def _copy(source: Path, partial: Path) -> None:
    # Only read from: a WAL reader needs the shared -shm index, so it opens as the gateway does.
    live = sqlite3.connect(source, timeout=30)
    copy = sqlite3.connect(partial)
    try:
        # pages=-1: every page in one step, so in one read transaction and one snapshot; a copy
        # made in several steps restarts whenever another connection writes, which under steady
        # traffic could be for ever.
        live.backup(copy, pages=-1)
        copy.execute("PRAGMA journal_mode=DELETE")
    finally:
        copy.close()
        live.close()


def _check(partial: Path) -> tuple[int, int]:
    """The copy's integrity, then its request and stored message counts."""
    copy = sqlite3.connect(partial)
    try:
        verdict = [row[0] for row in copy.execute("PRAGMA integrity_check")]
        if verdict != ["ok"]:
            raise BackupRefused(f"the copy failed its integrity check: {'; '.join(verdict[:3])}")
        requests = copy.execute("SELECT count(*) FROM service_requests").fetchone()[0]
        messages = copy.execute("SELECT count(*) FROM inbound_messages").fetchone()[0]
    finally:
        copy.close()
    return int(requests), int(messages)


def _remove(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + "-journal")):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()
