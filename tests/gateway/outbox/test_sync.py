"""Status sync: a change made in the CRM lands on the request, once, with the city's note."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.config.settings import load_settings
from gateway.connectors.open311 import Open311Connector
from gateway.outbox import jobs
from gateway.outbox.sync import StatusSync
from gateway.outbox.worker import OutboxWorker
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


async def test_crm_status_change_is_recorded_once_with_its_note(
    engine: AsyncEngine, crm: FakeCrm, connector: Open311Connector
) -> None:
    (request_id,) = await seed(engine, 1)
    await OutboxWorker(engine, {"open311": connector}, fast_settings()).run_once()
    (case_id,) = crm.cases
    crm.set_status(case_id, "closed", "Pothole filled by crew 7")
    sync = StatusSync(engine, {"open311": connector}, SETTINGS)
    assert await sync.run_once() == 1
    assert await sync.run_once() == 0  # the same change is not recorded twice
    async with engine.connect() as conn:
        request = await requests.get_request(conn, request_id)
        history = await requests.events(conn, request_id)
    assert request is not None and request.status.value == "closed"
    change = history[-1]
    assert change["kind"] == "status_changed"
    assert change["detail"]["note"] == "Pothole filled by crew 7"


async def test_token_answer_is_resolved_into_the_case_id(
    engine: AsyncEngine, crm: FakeCrm, connector: Open311Connector
) -> None:
    (request_id,) = await seed(engine, 1)
    crm.answer_with_token(True)
    await OutboxWorker(engine, {"open311": connector}, fast_settings()).run_once()
    async with engine.connect() as conn:
        before = await requests.get_request(conn, request_id)
    assert before is not None and before.case_id is None
    await StatusSync(engine, {"open311": connector}, SETTINGS).run_once()
    async with engine.connect() as conn:
        after = await requests.get_request(conn, request_id)
    assert after is not None and after.case_id == next(iter(crm.cases))


async def test_status_change_is_told_to_the_resident_once_in_their_language(
    engine: AsyncEngine, crm: FakeCrm, connector: Open311Connector
) -> None:
    (request_id,) = await seed(engine, 1, language="es")
    await OutboxWorker(engine, {"open311": connector}, fast_settings()).run_once()
    (case_id,) = crm.cases
    crm.set_status(case_id, "closed", "Bache reparado")
    sync = StatusSync(engine, {"open311": connector}, SETTINGS)
    await sync.run_once()
    await sync.run_once()
    notes = await jobs.list_jobs(engine, kind=jobs.NOTIFY)
    assert len(notes) == 1
    (note,) = notes
    assert note.request_id == request_id and note.target == "twilio_sms"
    assert note.payload["to"] == "+14015550142"
    async with engine.connect() as conn:
        request = await requests.get_request(conn, request_id)
    assert request is not None
    expected = f"City of Example 311: el reporte {request.tracking_number} ahora está resuelto."
    assert note.payload["body"] == expected + " Bache reparado"
