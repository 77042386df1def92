"""``python -m gateway api-key``: made and revoked as a process; the key works once, then not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from gateway.store.database import make_engine
from gateway.store.schema import api_keys
from gateway.web import keys
from tests.gateway.cli.conftest import Gateway
from tests.gateway.web.support import open311_overrides

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def project_config(tmp_path: Path) -> dict[str, Any]:
    return open311_overrides(tmp_path)


async def test_create_prints_the_key_last_stores_a_hash_and_revoke_stops_it(
    gateway: Gateway,
) -> None:
    made = gateway.run("api-key", "create", "kiosk")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip().splitlines()[-1]
    assert len(key) >= 40
    engine = make_engine(gateway.database_url)
    try:
        async with engine.connect() as conn:
            row = (await conn.execute(select(api_keys))).one()
        assert row.name == "kiosk"
        assert row.key_hash == keys.hash_secret(key)
        assert key not in row.key_hash
        assert await keys.key_name(engine, key) == "kiosk"
        twice = gateway.run("api-key", "create", "kiosk")
        assert twice.returncode == 1
        assert "revoke it first" in twice.stderr
        revoked = gateway.run("api-key", "revoke", "kiosk")
        assert revoked.returncode == 0, revoked.stderr
        assert await keys.key_name(engine, key) is None
        again = gateway.run("api-key", "revoke", "kiosk")
        assert again.returncode == 1
        listing = gateway.run("api-key", "list")
        assert "kiosk" in listing.stdout and "revoked" in listing.stdout
        assert key not in listing.stdout
    finally:
        await engine.dispose()
