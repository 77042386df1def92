"""Migrations: they build exactly the tables the code describes, and they can be undone."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from gateway.store.database import make_engine
from gateway.store.migrate import alembic_config, current_revision, head_revision
from gateway.store.schema import metadata


async def differences(url: str) -> list[Any]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
    finally:
        await engine.dispose()


async def test_migrated_schema_matches_the_models(database_url: str) -> None:
    assert await differences(database_url) == []
    engine = make_engine(database_url)
    try:
        assert await current_revision(engine) == head_revision()
    finally:
        await engine.dispose()


async def test_downgrade_to_nothing_and_up_again(database_url: str) -> None:
    config = alembic_config(database_url)
    await asyncio.to_thread(command.downgrade, config, "base")
    engine = make_engine(database_url)
    try:
        assert await current_revision(engine) is None
    finally:
        await engine.dispose()
    await asyncio.to_thread(command.upgrade, config, "head")
    assert await differences(database_url) == []
