"""One worker per SQLite database: an exclusive lock on a file beside the database file.

SQLite has one writer and no ``SKIP LOCKED``: two workers on one file take the same received
messages and file each twice (the second copy fails on its tracking number and is left
``failed``). The worker role therefore holds ``flock(LOCK_EX)`` on ``<database>.worker.lock``
for as long as it runs; a second worker is refused at start with the reason. The kernel drops
the lock when the process ends, however it ends, so a killed worker never blocks its successor.
PostgreSQL needs no lock: its workers share the work with ``SKIP LOCKED``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url

from gateway.errors import GatewayError

SUFFIX = ".worker.lock"


class WorkerAlreadyRunning(GatewayError):
    """Another worker holds this SQLite database's lock."""


def lock_path(database_url: str) -> Path | None:
    """The lock file for a SQLite database file; None for PostgreSQL or an in-memory database."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    database = Path(str(url.database))
    return database.with_name(database.name + SUFFIX)


@contextlib.contextmanager
def worker_lock(database_url: str) -> Iterator[bool]:
    """Hold the worker lock of ``database_url`` (SQLite only) while the block runs; yields True
    when this process is thereby the database's sole worker."""
    path = lock_path(database_url)
    if path is None:
        yield False
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WorkerAlreadyRunning(_refusal(path, _holder(fd))) from None
        # The holder's pid, for the next one's message; the lock itself is the flock.
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield True
    finally:
        # Closing the only descriptor releases the lock; the file stays (unlinking it would
        # let a newcomer lock a fresh file while the old holder still runs).
        os.close(fd)


def _holder(fd: int) -> str:
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return f" (pid {text})" if text.isdigit() else ""


def _refusal(path: Path, holder: str) -> str:
    database = path.with_name(path.name.removesuffix(SUFFIX))
    return (
        f"another worker{holder} is already running on the SQLite database {database}: SQLite "
        "has one writer, so a second worker would take the same messages and fail them; stop "
        "the other worker (or `run`), or move DATABASE_URL to PostgreSQL to run several"
    )
