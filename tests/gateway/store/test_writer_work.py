"""``InboundWriter.run``: other callers' writes share the writer's batches and commits."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store import voice_calls
from gateway.store.database import make_engine
from gateway.store.inbound import InboundWriter
from gateway.store.migrate import upgrade
from gateway.store.schema import voice_calls as calls_table


def call(sid: str) -> voice_calls.NewCall:
    return voice_calls.NewCall(
        sid, "+14015550136", "language", {}, "<Response/>", datetime.now(UTC)
    )


async def refuse(conn: AsyncConnection, items: list[str]) -> list[str]:
    if "bad" in items:
        raise ValueError("refused")
    return items


async def test_work_of_one_kind_is_done_together_and_a_bad_piece_fails_alone(
    database_url: str,
) -> None:
    await upgrade(database_url)
    engine = make_engine(database_url)
    writer = InboundWriter(engine)
    await writer.start()
    try:
        opened = await asyncio.gather(
            writer.run(voice_calls.start_calls, call("CA1")),
            writer.run(voice_calls.start_calls, call("CA2")),
            writer.run(voice_calls.start_calls, call("CA1")),
            writer.run(refuse, "good"),
            writer.run(refuse, "bad"),
            return_exceptions=True,
        )
    finally:
        await writer.stop()
    # The first ring of CA1 opens it, its retry does not; the bad piece fails only its caller.
    assert list(opened[:4]) == [True, True, False, "good"]
    assert isinstance(opened[4], ValueError)
    async with engine.connect() as conn:
        sids = sorted(r.call_sid for r in await conn.execute(select(calls_table.c.call_sid)))
    await engine.dispose()
    assert sids == ["CA1", "CA2"]


async def test_a_step_is_applied_once_whoever_answers_it(database_url: str) -> None:
    await upgrade(database_url)
    engine = make_engine(database_url)
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await voice_calls.start_calls(conn, [call("CA9")])
        step = voice_calls.Advance("CA9", 1, "problem", {"language": "en"}, "<Response/>", now)
        assert await voice_calls.advance_calls(conn, [step, step]) == [True, False]
        assert await voice_calls.advance_calls(conn, [step]) == [False]
        row = await voice_calls.get_call(conn, "CA9")
    await engine.dispose()
    assert row is not None and (row.seq, row.step) == (2, "problem")
