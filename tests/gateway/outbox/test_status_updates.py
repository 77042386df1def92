"""``change_status`` (status sync and the case-status webhook): a new note with the same status is
news, recorded and told once; an update older than the last one recorded changes nothing, so a
late retry never reopens a closed request; a newer one still does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.config.settings import load_settings
from gateway.connectors.open311 import Open311Connector
from gateway.outbox import jobs
from gateway.outbox.sync import StatusSync, change_status
from gateway.outbox.worker import OutboxWorker
from gateway.records import CaseUpdate, ServiceRequest, Status
from gateway.store import requests
from tests.conftest import REPO_ROOT
from tests.fakes.crm import FakeCrm
from tests.gateway.outbox.conftest import fast_settings, seed

SETTINGS, _ = load_settings(REPO_ROOT / "config" / "gateway.toml", env={})


@pytest.fixture
async def connector(crm: FakeCrm) -> AsyncIterator[Open311Connector]:
    connector = Open311Connector({"endpoint": crm.open311_endpoint})
    yield connector
    await connector.close()


async def history(engine: AsyncEngine, request_id: str) -> list[tuple[str | None, str | None]]:
    async with engine.connect() as conn:
        events = await requests.events(conn, request_id)
    return [(e["status"], e["detail"]["note"]) for e in events if e["kind"] == "status_changed"]


async def told(engine: AsyncEngine) -> list[str]:
    notes = await jobs.list_jobs(engine, kind=jobs.NOTIFY)
    return [n.payload["body"].split(" is now ")[1] for n in reversed(notes)]


async def get(engine: AsyncEngine, request_id: str) -> ServiceRequest:
    async with engine.connect() as conn:
        request = await requests.get_request(conn, request_id)
    assert request is not None
    return request


async def apply(engine: AsyncEngine, request_id: str, update: CaseUpdate) -> bool:
    async with engine.begin() as conn:
        request = await requests.get_request(conn, request_id)
        assert request is not None
        return await change_status(conn, SETTINGS, request, update, "status_webhook")


def at(hour: int, *, zone: bool = True) -> datetime:
    moment = datetime(2025, 10, 14, hour, 0)
    return moment.replace(tzinfo=UTC) if zone else moment


async def test_polled_same_status_new_note_is_recorded_and_told_once(
    engine: AsyncEngine, crm: FakeCrm, connector: Open311Connector
) -> None:
    (request_id,) = await seed(engine, 1)
    await OutboxWorker(engine, {"open311": connector}, fast_settings()).run_once()
    (case_id,) = crm.cases
    sync = StatusSync(engine, {"open311": connector}, SETTINGS)
    crm.set_status(case_id, "open", "Crew 7 assigned")
    assert await sync.run_once() == 1
    crm.set_status(case_id, "open", "Crew on site now")
    assert await sync.run_once() == 1
    # Each poll asks again for a little before its cursor: the same update comes back, unchanged.
    assert await sync.run_once() == 0
    assert await history(engine, request_id) == [
        ("open", "Crew 7 assigned"),
        ("open", "Crew on site now"),
    ]
    assert await told(engine) == [
        "being worked on. Crew 7 assigned",
        "being worked on. Crew on site now",
    ]


async def test_a_note_already_told_or_no_note_with_the_same_status_is_not_news(
    engine: AsyncEngine,
) -> None:
    (request_id,) = await seed(engine, 1)
    assert await apply(engine, request_id, CaseUpdate("C-1", "in_progress", "Crew 7", at(9)))
    again = [
        CaseUpdate("C-1", "in_progress", "Crew 7", at(9)),  # the same call, retried
        CaseUpdate("C-1", "on_hold", "Crew 7", at(10)),  # another open-like status, same note
        CaseUpdate("C-1", "in_progress", None, at(11)),  # no note at all
    ]
    assert [await apply(engine, request_id, u) for u in again] == [False, False, False]
    assert await history(engine, request_id) == [("open", "Crew 7")]
    assert len(await told(engine)) == 1


@pytest.mark.parametrize("zone", [True, False], ids=["with-zone", "without-zone"])
async def test_a_stale_update_does_not_reopen_a_closed_request(
    engine: AsyncEngine, zone: bool
) -> None:
    (request_id,) = await seed(engine, 1)
    assert await apply(engine, request_id, CaseUpdate("C-1", "in_progress", "Crew 7", at(15)))
    assert await apply(engine, request_id, CaseUpdate("C-1", "closed", "Filled", at(16)))
    # The CRM's first call, retried late (or reordered), with a new note to make it look new.
    stale = CaseUpdate("C-1", "in_progress", "Crew 7 on the way", at(14, zone=zone))
    assert await apply(engine, request_id, stale) is False
    assert (await get(engine, request_id)).status is Status.CLOSED
    assert await history(engine, request_id) == [("open", "Crew 7"), ("closed", "Filled")]
    assert await told(engine) == ["being worked on. Crew 7", "resolved. Filled"]


async def test_a_newer_update_still_reopens(engine: AsyncEngine) -> None:
    (request_id,) = await seed(engine, 1)
    assert await apply(engine, request_id, CaseUpdate("C-1", "closed", "Filled", at(16)))
    assert await apply(engine, request_id, CaseUpdate("C-1", "reopened", "Sank again", at(17)))
    assert (await get(engine, request_id)).status is Status.OPEN
    assert await told(engine) == ["resolved. Filled", "being worked on. Sank again"]
