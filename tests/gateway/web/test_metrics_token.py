"""``/metrics`` behind a bearer token when ``server.metrics_token_env`` names one."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.runtime import Runtime
from tests.support import folder_only, make_settings, merge, serve


def guarded(root: Path, database_url: str) -> Runtime:
    overrides = merge(folder_only(root), {"server": {"metrics_token_env": "METRICS_TOKEN"}})
    return Runtime(make_settings(root, database_url, overrides))


async def test_metrics_needs_the_token_when_one_is_configured(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("METRICS_TOKEN", "t0ken-for-prometheus")
    async with serve(guarded(tmp_path, database_url)) as client:
        bare = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        odd = await client.get("/metrics", headers={"Authorization": "Bearer ééé"})
        right = await client.get(
            "/metrics", headers={"Authorization": "Bearer t0ken-for-prometheus"}
        )
        assert [bare.status, wrong.status, odd.status] == [401, 401, 401]
        assert bare.headers["WWW-Authenticate"].startswith("Bearer")
        assert (await bare.json())["error"] == "unauthorized"
        assert right.status == 200
        assert "gateway_inbound_total" in await right.text()


async def test_a_named_but_unset_token_keeps_metrics_closed(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("METRICS_TOKEN", raising=False)
    async with serve(guarded(tmp_path, database_url)) as client:
        assert (await client.get("/metrics", headers={"Authorization": "Bearer "})).status == 401
        assert (await client.get("/healthz")).status == 200


async def test_without_a_token_metrics_stay_open(tmp_path: Path, database_url: str) -> None:
    runtime = Runtime(make_settings(tmp_path, database_url, folder_only(tmp_path)))
    async with serve(runtime) as client:
        assert (await client.get("/metrics")).status == 200
