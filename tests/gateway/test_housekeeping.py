"""Spent rows go: old rate-limit windows, long-expired history codes, day-old webhook tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from gateway.housekeeping import sweep
from gateway.store.database import make_engine
from gateway.store.schema import access_codes, rate_limits
from gateway.store.tokens import claim_token

WINDOW = timedelta(hours=1)


async def test_sweep_drops_only_what_is_spent_and_is_idempotent(database_url: str) -> None:
    engine = make_engine(database_url)
    now = datetime.now(UTC)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                rate_limits.insert(),
                [
                    {"key": "old", "window_start": now - timedelta(days=3), "count": 9},
                    {"key": "current", "window_start": now - timedelta(minutes=5), "count": 2},
                ],
            )
            code = {"created_at": now - timedelta(days=5), "attempts": 0}
            await conn.execute(
                access_codes.insert(),
                [
                    {**code, "contact": "a@example.org", "secret_hash": "1" * 64,
                     "expires_at": now - timedelta(days=4)},
                    {**code, "contact": "b@example.org", "secret_hash": "2" * 64,
                     "expires_at": now + timedelta(minutes=10)},
                ],
            )  # fmt: skip
            assert await claim_token(conn, "mailgun", "old", b"x", now - timedelta(days=2))
            assert await claim_token(conn, "mailgun", "new", b"x", now)

        assert await sweep(engine, now, WINDOW) == {
            "rate_limits": 1,
            "access_codes": 1,
            "inbound_tokens": 1,
        }
        assert set((await sweep(engine, now, WINDOW)).values()) == {0}

        async with engine.connect() as conn:
            keys = (await conn.execute(select(rate_limits.c.key))).scalars().all()
            codes = await conn.scalar(select(func.count()).select_from(access_codes))
            # The fresh token is still remembered: replaying it with another body is refused.
            assert not await claim_token(conn, "mailgun", "new", b"other", now)
        assert keys == ["current"] and codes == 1
    finally:
        await engine.dispose()
