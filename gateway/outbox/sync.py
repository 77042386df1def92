"""Status sync: ask each connector that can for case changes, and record them on the requests.

A status change becomes a ``status_changed`` event on the request, in the same transaction as the
new status; telling the resident about it hangs off that event. A new note with the same status
("Crew on site now") is news too: it is recorded and told once per distinct note. An update older
than the last one recorded (by the case system's ``updated_at``) changes nothing, so a late retry
never reopens a closed request.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.config.settings import Settings
from gateway.connectors import Connector
from gateway.errors import DeliveryError
from gateway.outbox.replies import enqueue_reply
from gateway.records import CaseUpdate, ServiceRequest, Status
from gateway.store import requests
from gateway.store.schema import service_requests, sync_cursors

log = logging.getLogger(__name__)

# Ask again for a little before the last cursor: case systems' clocks and commits lag.
_OVERLAP = timedelta(minutes=5)
_FIRST_LOOKBACK = timedelta(days=1)
# Case-system statuses that mean the work is done (GeoReport v2 says "closed").
_CLOSED = {"closed", "resolved", "completed", "done"}


class StatusSync:
    """Polls ``fetch_updates`` on every connector that implements it."""

    def __init__(
        self, engine: AsyncEngine, connectors: Mapping[str, Connector], settings: Settings
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.connectors = {n: c for n, c in connectors.items() if c.can_fetch_updates}

    async def run_forever(self, interval_seconds: float) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("sync.round_failed")
            await asyncio.sleep(interval_seconds)

    async def run_once(self) -> int:
        """One pass over every connector; returns how many updates were recorded."""
        changed = 0
        for name, connector in self.connectors.items():
            await self._resolve_tokens(name, connector)
            started = datetime.now(UTC)
            async with self.engine.connect() as conn:
                since = await _cursor(conn, name) or started - _FIRST_LOOKBACK
            try:
                updates = await connector.fetch_updates(since - _OVERLAP)
            except DeliveryError as exc:
                log.warning("sync.failed", extra={"connector": name, "reason": exc.reason})
                continue
            async with self.engine.begin() as conn:
                for update in updates:
                    changed += await apply_update(conn, self.settings, name, update)
                await _save_cursor(conn, name, started)
        return changed

    async def _resolve_tokens(self, name: str, connector: Connector) -> None:
        """Batch case systems answer with a token; the case id comes later."""
        c = service_requests.c
        query = select(c.id, c.case_token).where(c.case_token.is_not(None), c.case_id.is_(None))
        async with self.engine.connect() as conn:
            waiting = list(await conn.execute(query.limit(100)))
        for row in waiting:
            try:
                case_id = await connector.resolve_token(row.case_token)
            except DeliveryError as exc:
                log.warning("sync.token_failed", extra={"connector": name, "reason": exc.reason})
                return
            if case_id:
                async with self.engine.begin() as conn:
                    await requests.record_case(conn, row.id, case_id=case_id, token=None)
                    await requests.add_event(
                        conn,
                        row.id,
                        "case_id_known",
                        detail={"connector": name, "case_id": case_id},
                    )


async def apply_update(
    conn: AsyncConnection, settings: Settings, source: str, update: CaseUpdate
) -> int:
    """Record one case change on its request; 1 when it was news (a status or a note)."""
    c = service_requests.c
    row = (await conn.execute(select(c.id).where(c.case_id == update.case_id))).first()
    if row is None:
        return 0
    request = await requests.get_request(conn, row.id)
    assert request is not None  # noqa: S101 - the row was just read in this transaction.
    return int(await change_status(conn, settings, request, update, source))


async def change_status(
    conn: AsyncConnection,
    settings: Settings,
    request: ServiceRequest,
    update: CaseUpdate,
    source: str,
) -> bool:
    """Record the case system's update and tell the resident, once per new status or new note.

    True when it was recorded; False for a repeat, or for an update older than the last one."""
    status = Status.CLOSED if update.status.lower() in _CLOSED else Status.OPEN
    earlier = [e for e in await requests.events(conn, request.id) if e["kind"] == "status_changed"]
    when, latest = _aware(update.updated_at), _latest_update(earlier)
    if when is not None and latest is not None and when < latest:
        log.info("sync.stale_update", extra={"request_id": request.id, "source": source})
        return False
    new_status = request.status is not status
    known_notes = {(e["detail"] or {}).get("note") for e in earlier}
    if not new_status and (not update.note or update.note in known_notes):
        return False
    if new_status:
        await requests.set_status(conn, request.id, status.value)
    detail = {
        "source": source,
        "case_status": update.status,
        "note": update.note,
        "updated_at": when.isoformat() if when else None,
    }
    await requests.add_event(conn, request.id, "status_changed", status=status.value, detail=detail)
    if new_status:
        key = f"{status.value}-{detail['updated_at'] or datetime.now(UTC).isoformat()}"
    else:
        # Once per distinct note, even when two deliveries of it race each other.
        key = f"{status.value}-note-{hashlib.sha256(str(update.note).encode()).hexdigest()[:16]}"
    await _tell(conn, settings, request, status, update.note, key)
    return True


async def _tell(
    conn: AsyncConnection,
    settings: Settings,
    request: ServiceRequest,
    status: Status,
    note: str | None,
    key: str,
) -> None:
    """Queue the resident's message about the update, in their language, under ``key``."""
    await enqueue_reply(
        conn,
        settings,
        request,
        "status",
        "status_changed",
        key=key,
        status=settings.message(f"status_{status.value}", request.reporter.language),
        note=f" {note}" if note else "",
    )


def _aware(moment: datetime | None) -> datetime | None:
    """A case system's time with its zone; one given without a zone is taken as UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _latest_update(events: Sequence[Mapping[str, Any]]) -> datetime | None:
    """The newest case-system time among the request's recorded updates, if any gave one."""
    times = [
        _aware(datetime.fromisoformat(str(e["detail"]["updated_at"])))
        for e in events
        if (e["detail"] or {}).get("updated_at")
    ]
    return max((t for t in times if t is not None), default=None)


async def _cursor(conn: AsyncConnection, connector: str) -> datetime | None:
    query = select(sync_cursors.c.synced_until).where(sync_cursors.c.connector == connector)
    value: datetime | None = (await conn.execute(query)).scalar_one_or_none()
    return value


async def _save_cursor(conn: AsyncConnection, connector: str, until: datetime) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(sync_cursors).values(connector=connector, synced_until=until)
    statement = statement.on_conflict_do_update(
        index_elements=["connector"], set_={"synced_until": until}
    )
    await conn.execute(statement)
