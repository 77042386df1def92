"""Tracking series on real databases: a deployment's next database never repeats a number of its
first, a database refuses a config naming another series, and migrating keeps issued numbers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from gateway.config.settings import normalize_database_url
from gateway.records import InboundMessage
from gateway.runtime import Runtime
from gateway.store import series as series_store
from gateway.store.database import make_engine
from gateway.store.inbound import Envelope, InboundWriter, Receipt, insert_messages
from gateway.store.migrate import alembic_config, upgrade
from gateway.store.schema import inbound_messages, service_requests, tracking_series
from gateway.store.series import SeriesMismatch, ensure_series
from gateway.tracking import tracking_number_for
from tests.conftest import _create_postgres_database, _drop_postgres_database
from tests.support import folder_only, make_settings

PER_DATABASE = 3000
ENVELOPE = Envelope("twilio_sms", b"raw", {"content-type": "x"}, "http://x/")


@pytest.fixture
async def next_database_url(database_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """A second, new database of the same kind: what a deployment moves to (ids from 1 again)."""
    if database_url.startswith("sqlite"):
        url = normalize_database_url(f"sqlite:///{tmp_path / 'next.db'}", tmp_path)
        await upgrade(url)
        yield url
        return
    name, raw = await _create_postgres_database()
    url = normalize_database_url(raw, tmp_path)
    await upgrade(url)
    try:
        yield url
    finally:
        await _drop_postgres_database(name)


def sms(i: int) -> InboundMessage:
    return InboundMessage(
        channel="twilio_sms", provider_id=f"SM{i:032x}", sender="+14015550142", text=f"hole {i}"
    )


async def issue(url: str, series: int, count: int = PER_DATABASE) -> list[Receipt]:
    """``count`` messages stored through the real writer of a process configured for ``series``."""
    engine = make_engine(url)
    writer = InboundWriter(engine, series=series)
    await writer.start()
    try:
        chunks = [[sms(i) for i in range(start, start + 500)] for start in range(0, count, 500)]
        stored = await asyncio.gather(*(writer.store(ENVELOPE, chunk) for chunk in chunks))
    finally:
        await writer.stop()
        await engine.dispose()
    return [receipt for chunk in stored for receipt in chunk]


async def test_the_next_database_of_a_deployment_never_repeats_a_number_of_the_first(
    database_url: str, next_database_url: str
) -> None:
    first = await issue(database_url, series=0)
    # The deployment moves to a new database, with the next series as the README says.
    second = await issue(next_database_url, series=1)
    # The new database's ids start again at 1: the very ids the first database numbered.
    assert sorted(r.inbound_id for r in first) == sorted(r.inbound_id for r in second)
    assert min(r.inbound_id for r in second) == 1
    first_numbers = {r.tracking_number for r in first}
    second_numbers = {r.tracking_number for r in second}
    assert len(first_numbers) == len(second_numbers) == PER_DATABASE
    assert first_numbers.isdisjoint(second_numbers)
    # Without the series the same ids would have repeated every number (the reported bug).
    assert {tracking_number_for(r.inbound_id) for r in second} == first_numbers


async def test_each_database_records_the_series_it_first_served_with(
    database_url: str, next_database_url: str
) -> None:
    await issue(database_url, series=0, count=1)
    await issue(next_database_url, series=1, count=1)
    for url, expected in ((database_url, 0), (next_database_url, 1)):
        engine = make_engine(url)
        try:
            async with engine.connect() as conn:
                assert await series_store.bound_series(conn) == expected
        finally:
            await engine.dispose()


async def test_a_database_made_for_another_series_refuses_to_start(
    tmp_path: Path, database_url: str
) -> None:
    engine = make_engine(database_url)
    try:
        assert await ensure_series(engine, 1) == 1
        # The config still names series 0 (the default): web, smtp and worker all refuse.
        runtime = Runtime(make_settings(tmp_path, database_url, folder_only(tmp_path)))
        with pytest.raises(SeriesMismatch) as refused:
            await runtime.writer.start()
        assert str(refused.value).startswith("tracking.series: is 0, but the database ")
        assert "was made for series 1, which it keeps for its life" in str(refused.value)
        assert "set tracking.series = 1" in str(refused.value)
        with pytest.raises(SeriesMismatch):
            await runtime.work()
        await runtime.close()
        # A config naming a series this database was not made for (raised for a new database
        # that DATABASE_URL does not name yet) is refused too, and the database keeps its own.
        raised = Runtime(make_settings(tmp_path, database_url, {"tracking": {"series": 2}}))
        with pytest.raises(SeriesMismatch, match="a new series needs a new, empty database"):
            await raised.writer.start()
        await raised.close()
        async with engine.connect() as conn:
            assert await series_store.bound_series(conn) == 1
    finally:
        await engine.dispose()


async def test_processes_starting_together_on_a_new_database_agree_on_one_series(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    try:
        assert await asyncio.gather(*(ensure_series(engine, 4) for _ in range(5))) == [4] * 5
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.select(tracking_series))).all()
        assert [(r.id, r.series) for r in rows] == [(1, 4)]
    finally:
        await engine.dispose()


async def test_a_request_gets_the_number_its_acknowledgement_gave_in_a_later_series(
    tmp_path: Path, database_url: str
) -> None:
    overrides = {**folder_only(tmp_path), "tracking": {"series": 3}}
    runtime = Runtime(make_settings(tmp_path, database_url, overrides))
    await runtime.writer.start()
    try:
        receipts = await runtime.writer.store(ENVELOPE, [sms(1), sms(2)])
        assert await runtime.intake_worker().run_once() == 2
        async with runtime.engine.connect() as conn:
            filed = await conn.execute(sa.select(service_requests.c.tracking_number))
            numbers = sorted(row.tracking_number for row in filed)
    finally:
        await runtime.writer.stop()
        await runtime.close()
    assert numbers == sorted(r.tracking_number for r in receipts)
    assert numbers == sorted(tracking_number_for(r.inbound_id, 3) for r in receipts)
    assert all(len(n) == 7 for n in numbers)


async def test_the_config_key_names_the_series(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path, database_url, {"tracking": {"series": 2}})
    runtime = Runtime(settings)
    try:
        assert runtime.tracking_series == 2
        await runtime.writer.start()
        (receipt,) = await runtime.writer.store(ENVELOPE, [sms(1)])
        assert receipt.tracking_number == tracking_number_for(receipt.inbound_id, 2)
    finally:
        await runtime.writer.stop()
        await runtime.close()
    # The same database under a config left at series 0 is refused.
    other = Runtime(make_settings(tmp_path / "other", database_url, {"tracking": {"series": 0}}))
    with pytest.raises(SeriesMismatch):
        await other.writer.start()
    await other.close()


async def test_migrating_a_database_that_issued_numbers_keeps_them(database_url: str) -> None:
    config = alembic_config(database_url)
    await asyncio.to_thread(command.downgrade, config, "base")
    await asyncio.to_thread(command.upgrade, config, "0004")
    engine = make_engine(database_url)
    try:
        async with engine.begin() as conn:
            # A message stored before series existed: the old code acknowledged it as 4W3K74.
            await conn.execute(
                sa.insert(inbound_messages).values(
                    id=1,
                    channel="twilio_sms",
                    provider_id="SMold",
                    received_at=datetime.now(UTC),
                    raw_body=b"raw",
                    headers={},
                    state="processed",
                )
            )
        await asyncio.to_thread(command.upgrade, config, "head")
        async with engine.begin() as conn:
            assert await series_store.bound_series(conn) == 0
            (old,) = await insert_messages(
                conn, ENVELOPE, [InboundMessage("twilio_sms", "SMold", "")]
            )
            (new,) = await insert_messages(conn, ENVELOPE, [sms(7)])
        assert (old.inbound_id, old.tracking_number, old.duplicate) == (1, "4W3K74", True)
        assert new.tracking_number == tracking_number_for(new.inbound_id, 0)
        assert len(new.tracking_number) == 6
        with pytest.raises(SeriesMismatch):
            await ensure_series(engine, 1)
    finally:
        await engine.dispose()


async def test_a_new_database_waits_for_its_series_until_it_first_serves(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            assert await series_store.bound_series(conn) is None
        assert await ensure_series(engine, 5) == 5
    finally:
        await engine.dispose()
