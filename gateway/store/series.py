"""The database's tracking series: which numbers it hands out (``gateway.tracking``).

A database is bound to one series for its whole life: the config's ``tracking.series`` when it
first serves, or series 0 for a database that stored messages before series existed (migration
0005). From then on the config must name that series. A mismatch stops the process before it
hands out a number: either the database was made for another series (the config is wrong, or
``DATABASE_URL`` names another deployment's database), or the config names a series this
database was not made for. Two processes binding a new database at once agree on one row.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.errors import ConfigError
from gateway.store.schema import tracking_series
from gateway.tracking import MAX_SERIES

log = logging.getLogger(__name__)

KEY = "tracking.series"
_ROW = 1


class SeriesMismatch(ConfigError):
    """The database was made for another tracking series than the config names."""

    def __init__(self, message: str) -> None:
        super().__init__(KEY, message)


async def bound_series(conn: AsyncConnection) -> int | None:
    """The series this database hands out, or None before it first served."""
    query = select(tracking_series.c.series).where(tracking_series.c.id == _ROW)
    value = (await conn.execute(query)).scalar_one_or_none()
    return None if value is None else int(value)


async def series_or_default(conn: AsyncConnection) -> int:
    """The database's series; 0 (the numbering from before series) while it has none yet."""
    return await bound_series(conn) or 0


async def bind_series(conn: AsyncConnection, series: int, now: datetime) -> int:
    """Bind the database to ``series`` unless it has one; returns the series it has."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(tracking_series)
        .values(id=_ROW, series=series, bound_at=now)
        .on_conflict_do_nothing(index_elements=["id"])
    )
    await conn.execute(statement)
    query = select(tracking_series.c.series).where(tracking_series.c.id == _ROW)
    return int((await conn.execute(query)).scalar_one())


async def ensure_series(engine: AsyncEngine, configured: int) -> int:
    """Check the database's series against the config's (binding a new database to it).

    Raises ``SeriesMismatch`` with the sentence for the operator. A database without the table
    (not migrated yet) is left to the schema checks (``/readyz``, the CLI's), which refuse it.
    """
    if not 0 <= configured <= MAX_SERIES:
        raise ConfigError(KEY, f"must be an integer from 0 to {MAX_SERIES}, not {configured}")
    async with engine.begin() as conn:
        if not await conn.run_sync(_has_table):
            return configured
        bound = await bind_series(conn, configured, datetime.now(UTC))
    if bound != configured:
        raise SeriesMismatch(_mismatch(engine, bound, configured))
    log.info("tracking.series", extra={"series": bound})
    return bound


def _has_table(sync: Connection) -> bool:
    return bool(inspect(sync).has_table(tracking_series.name))


def _mismatch(engine: AsyncEngine, bound: int, configured: int) -> str:
    where = make_url(engine.url).render_as_string(hide_password=True)
    if configured > bound:
        # Most likely the series was raised for a new database that DATABASE_URL does not name.
        return (
            f"is {configured}, but the database {where} was made for series {bound}: a new "
            "series needs a new, empty database, so point DATABASE_URL at it (or set "
            f"tracking.series = {bound} to go on with this database)"
        )
    return (
        f"is {configured}, but the database {where} was made for series {bound}, which it "
        f"keeps for its life: set tracking.series = {bound} (or point DATABASE_URL at the "
        f"database made for series {configured})"
    )
