"""Helpers for tests: write a gateway config, sign Twilio webhooks, run the app on loopback."""

from __future__ import annotations

import tomllib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import tomli_w
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from twilio.request_validator import RequestValidator

from gateway.config.settings import Settings, load_settings
from gateway.runtime import Runtime
from gateway.web.app import create_app
from tests.conftest import REPO_ROOT, TWILIO_TOKEN

FORM = "application/x-www-form-urlencoded"


def merge(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``overrides`` into a copy of ``base``."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def write_config(root: Path, overrides: Mapping[str, Any] | None = None) -> Path:
    """The repo's default config with ``overrides``, written to ``root/config/gateway.toml``."""
    with (REPO_ROOT / "config" / "gateway.toml").open("rb") as handle:
        data = tomllib.load(handle)
    data["gateway"]["catalog"] = str(REPO_ROOT / "config" / "services.toml")
    data["normalizer"]["emergency_phrases"] = str(REPO_ROOT / "config" / "emergency.toml")
    data = merge(data, overrides or {})
    path = root / "config" / "gateway.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tomli_w.dumps(data))
    return path


def make_settings(
    root: Path, database_url: str, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Settings for a test: defaults, ``overrides``, the given database; must be valid."""
    path = write_config(root, overrides)
    settings, problems = load_settings(path, env={"DATABASE_URL": database_url})
    assert not problems, problems
    return settings


def folder_only(root: Path) -> dict[str, Any]:
    """Config overrides that deliver to a drop folder under ``root``."""
    return {"connectors": {"folder": {"enabled": True, "path": str(root / "cases")}}}


def read_form(path: Path) -> bytes:
    """A fixture's exact body bytes."""
    return path.read_bytes()


def twilio_headers(url: str, body: bytes, token: str = TWILIO_TOKEN) -> dict[str, str]:
    """Headers Twilio would send for ``body`` posted to ``url``, signed with the SDK's signer."""
    params = dict(parse_qsl(body.decode(), keep_blank_values=True))
    signature = RequestValidator(token).compute_signature(url, params)
    return {"X-Twilio-Signature": signature, "Content-Type": f"{FORM}; charset=UTF-8"}


@asynccontextmanager
async def serve(runtime: Runtime) -> AsyncIterator[TestClient[Any, Any]]:
    """The gateway's app on a real loopback port, with a client for it."""
    client: TestClient[Any, Any] = TestClient(TestServer(create_app(runtime)))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()
        await runtime.close()


async def post_twilio(
    client: TestClient[Any, Any], body: bytes, path: str = "/webhooks/twilio/sms"
) -> ClientResponse:
    """POST a signed Twilio webhook to the running app."""
    url = str(client.make_url(path))
    return await client.post(path, data=body, headers=twilio_headers(url, body))
