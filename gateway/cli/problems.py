"""What an operator's mistake looks like from the command line: one sentence and the fix.

A database that is not there, not reachable or not migrated, and a port already taken, are the
operator's to fix, not our bugs: they get one line on stderr and exit code 2, never a traceback.
Anything else is a bug and keeps its traceback (masked like every log line).
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from gateway.config.settings import Settings
from gateway.store.database import make_engine
from gateway.store.migrate import current_revision, head_revision
from gateway.store.series import SeriesMismatch
from gateway.store.worker_lock import WorkerAlreadyRunning

MIGRATE = "run `gateway migrate` (or `make run`, which migrates first)"


def shown_url(url: str) -> str:
    """The database URL without its password, for a message to the operator."""
    return make_url(url).render_as_string(hide_password=True)


async def schema_problem(settings: Settings) -> str | None:
    """Why this database cannot serve a command yet, or None when it is at the newest schema."""
    if (missing := _missing_sqlite_file(settings.database_url)) is not None:
        return f"there is no database at {missing} yet: {MIGRATE}"
    engine = make_engine(settings.database_url)
    try:
        current = await current_revision(engine)
    finally:
        await engine.dispose()
    expected = head_revision()
    if current is None:
        return f"the database {shown_url(settings.database_url)} has no schema yet: {MIGRATE}"
    if current != expected:
        return (
            f"the database {shown_url(settings.database_url)} is at migration {current}, "
            f"this code expects {expected}: {MIGRATE}"
        )
    return None


def _missing_sqlite_file(url: str) -> str | None:
    # Connecting would create an empty file; a missing one means "never migrated".
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return None if Path(str(parsed.database)).exists() else str(parsed.database)


def explain(exc: BaseException, settings: Settings) -> str | None:
    """The operator's sentence for ``exc``, or None when it is not an operator's mistake."""
    where = shown_url(settings.database_url)
    if isinstance(exc, SeriesMismatch | WorkerAlreadyRunning):
        # Their own message is the sentence: what is wrong and the fix.
        return str(exc)
    if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
        return (
            f"the port is already in use ({exc.strerror}): stop the other process, "
            "or set PORT / SMTP_PORT (server.port, smtp.port) to a free one"
        )
    causes = list(_chain(exc))
    names = {type(c).__name__ for c in causes}
    cause = causes[-1]
    name = type(cause).__name__
    if any("no such table" in str(c) for c in causes) or "UndefinedTableError" in names:
        return f"the database {where} is missing tables: {MIGRATE}"
    if "unable to open database file" in str(cause):
        return (
            f"the database {where} cannot be opened: check that its folder exists and is writable"
        )
    if any(isinstance(c, ConnectionError | socket.gaierror) for c in causes) or (
        names & _UNREACHABLE
    ):
        return (
            f"the database {where} cannot be reached ({name}): check that it runs and that "
            "DATABASE_URL names the right host, port, database and user"
        )
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, the driver's error inside it, and what caused that, outermost first."""
    seen: BaseException | None = exc
    while seen is not None:
        yield seen
        inner = seen.orig if isinstance(seen, DBAPIError) else None
        seen = inner if isinstance(inner, BaseException) else seen.__cause__


# asyncpg's own errors for a server that is there but will not have us.
_UNREACHABLE = frozenset(
    {
        "InvalidCatalogNameError",
        "InvalidPasswordError",
        "CannotConnectNowError",
        "InvalidAuthorizationSpecificationError",
    }
)
