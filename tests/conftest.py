"""Shared test settings and fixtures: fixture paths, databases (SQLite always, PostgreSQL when
``TEST_DATABASE_URL`` is set), the gateway's own config written for a test, and the fake CRM."""

from __future__ import annotations

import argparse
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from gateway.cli.normalizer import build_gazetteer_file
from gateway.config.settings import normalize_database_url
from gateway.store.migrate import upgrade
from tests.fakes.crm import FakeCrm

REPO_ROOT = Path(__file__).resolve().parent.parent
# ../shared sits beside the checkout on developer machines and in CI.
SHARED = Path(__file__).resolve().parents[2] / "shared"
SHARED_FIXTURES = SHARED / "fixtures"
SHARED_DATA = SHARED / "data"
TWILIO_TOKEN = "fixture_auth_token_not_real_0000"

BACKENDS = ["sqlite", "postgresql"]


def postgres_admin_url() -> str | None:
    """The PostgreSQL the tests may create databases in, from ``TEST_DATABASE_URL``."""
    return os.environ.get("TEST_DATABASE_URL") or None


async def _create_postgres_database() -> tuple[str, str]:
    admin = postgres_admin_url()
    assert admin is not None
    name = f"gw_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin.replace("+asyncpg", ""))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = admin.rsplit("/", 1)[0]
    return name, f"{base}/{name}"


async def _drop_postgres_database(name: str) -> None:
    admin = postgres_admin_url()
    assert admin is not None
    conn = await asyncpg.connect(admin.replace("+asyncpg", ""))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, migrated database: a SQLite file, and PostgreSQL when TEST_DATABASE_URL is set."""
    if request.param == "sqlite":
        url = normalize_database_url(f"sqlite:///{tmp_path / 'gateway.db'}", tmp_path)
        await upgrade(url)
        yield url
        return
    if postgres_admin_url() is None:
        pytest.skip("TEST_DATABASE_URL is not set")
    name, raw = await _create_postgres_database()
    url = normalize_database_url(raw, tmp_path)
    await upgrade(url)
    try:
        yield url
    finally:
        await _drop_postgres_database(name)


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    """A fresh, migrated SQLite file."""
    url = normalize_database_url(f"sqlite:///{tmp_path / 'gateway.db'}", tmp_path)
    await upgrade(url)
    return url


@pytest.fixture(autouse=True)
def _twilio_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TWILIO_TOKEN)


@pytest.fixture
async def crm() -> AsyncIterator[FakeCrm]:
    """The fake city CRM (GeoReport v2 and the case webhook) on a loopback port."""
    fake = FakeCrm()
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture(scope="session")
def newport_gazetteer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The city's streets from the Newport history, as README's "Teach it your city" builds
    them (``gateway build-gazetteer``); built once per run, for the tests that need places."""
    out = tmp_path_factory.mktemp("gazetteer") / "gazetteer.json"
    history = SHARED_DATA / "311_samples" / "newport_ri_seeclickfix.csv"
    assert build_gazetteer_file(argparse.Namespace(history=history, out=out, catalog=None)) == 0
    return out
