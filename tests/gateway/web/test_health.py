"""Operations endpoints: /healthz, /readyz, /metrics, and the JSON error shape on unknown routes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from gateway.config.settings import normalize_database_url
from gateway.outbox import jobs
from gateway.records import Reporter, ServiceRequest
from gateway.runtime import Runtime
from gateway.store.migrate import head_revision
from gateway.store.requests import insert_request
from gateway.store.schema import outbox
from tests.conftest import SHARED_FIXTURES
from tests.support import folder_only, make_settings, post_twilio, serve, twilio_headers

SMS = SHARED_FIXTURES / "twilio" / "sms_inbound.form"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def runtime_for(root: Path, database_url: str) -> Runtime:
    return Runtime(make_settings(root, database_url, folder_only(root)))


async def scrape(client: TestClient[Any, Any]) -> Samples:
    """Every sample /metrics exposes, keyed by name and labels."""
    resp = await client.get("/metrics")
    assert resp.status == 200
    assert resp.content_type == "text/plain"
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(await resp.text())
        for s in family.samples
    }


def sample(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_healthz_is_200(tmp_path: Path, database_url: str) -> None:
    async with serve(runtime_for(tmp_path, database_url)) as client:
        resp = await client.get("/healthz")
        assert resp.status == 200
        assert await resp.json() == {"status": "ok"}


async def test_readyz_is_200_on_a_migrated_database(tmp_path: Path, database_url: str) -> None:
    async with serve(runtime_for(tmp_path, database_url)) as client:
        resp = await client.get("/readyz")
        assert resp.status == 200
        assert await resp.json() == {"status": "ready", "migration": head_revision()}


async def test_readyz_is_503_naming_the_migration_mismatch_when_unmigrated(
    tmp_path: Path,
) -> None:
    # A database file nobody migrated: reachable, but not the schema this code expects.
    url = normalize_database_url(f"sqlite:///{tmp_path / 'unmigrated.db'}", tmp_path)
    async with serve(runtime_for(tmp_path, url)) as client:
        resp = await client.get("/readyz")
        assert resp.status == 503
        body = await resp.json()
        health = await client.get("/healthz")
        assert health.status == 200
    assert body == {
        "status": "unavailable",
        "migrations": {"current": None, "expected": head_revision()},
    }


async def test_metrics_count_inbound_by_channel_and_outcome(
    tmp_path: Path, database_url: str
) -> None:
    body = SMS.read_bytes()
    async with serve(runtime_for(tmp_path, database_url)) as client:
        # The registry is the process's: compare with what earlier tests left behind.
        before = await scrape(client)
        assert (await post_twilio(client, body)).status == 200
        assert (await post_twilio(client, body)).status == 200
        forged = twilio_headers(str(client.make_url("/webhooks/twilio/sms")), body, token="x")
        assert (await client.post("/webhooks/twilio/sms", data=body, headers=forged)).status == 403
        after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    inbound = "gateway_inbound_total"
    assert delta(inbound, channel="twilio_sms", outcome="stored") == 1
    assert delta(inbound, channel="twilio_sms", outcome="duplicate") == 1
    assert delta(inbound, channel="twilio_sms", outcome="bad_signature") == 1
    # Only acknowledged requests are timed, each in one bucket of the histogram.
    assert delta("gateway_ack_seconds_count", channel="twilio_sms") == 2
    assert delta("gateway_ack_seconds_bucket", channel="twilio_sms", le="+Inf") == 2
    assert delta("gateway_ack_seconds_sum", channel="twilio_sms") > 0


async def test_metrics_show_outbox_depth_by_state(tmp_path: Path, database_url: str) -> None:
    runtime = runtime_for(tmp_path, database_url)
    now = datetime.now(UTC)
    request_ids = [uuid.uuid4().hex for _ in range(3)]
    async with runtime.engine.begin() as conn:
        for serial, request_id in enumerate(request_ids):
            await insert_request(
                conn,
                ServiceRequest(
                    id=request_id,
                    tracking_number=f"MET{serial:03d}",
                    channel="twilio_sms",
                    channel_message_id=f"SM{request_id}",
                    received_at=now,
                    reporter=Reporter(address="+14015550123"),
                    description="Streetlight out",
                    original_text="Streetlight out",
                ),
            )
            await jobs.enqueue(conn, [jobs.delivery(request_id, "folder")], now=now)
        dead = outbox.c.request_id == request_ids[0]
        await conn.execute(update(outbox).where(dead).values(state=jobs.DEAD))
    async with serve(runtime) as client:
        samples = await scrape(client)
    depth = {state: sample(samples, "gateway_outbox_jobs", state=state)
             for state in (jobs.PENDING, jobs.IN_FLIGHT, jobs.DONE, jobs.DEAD)}  # fmt: skip
    assert depth == {jobs.PENDING: 2, jobs.IN_FLIGHT: 0, jobs.DONE: 0, jobs.DEAD: 1}


async def test_unknown_route_is_a_json_404_never_html(tmp_path: Path, database_url: str) -> None:
    async with serve(runtime_for(tmp_path, database_url)) as client:
        missing = await client.get("/no/such/page", headers={"Accept": "text/html"})
        wrong_method = await client.get("/webhooks/twilio/sms")
        assert missing.status == 404
        assert missing.content_type == "application/json"
        assert await missing.json() == {"error": "not_found", "reason": "Not Found"}
        assert wrong_method.status == 405
        assert wrong_method.content_type == "application/json"
        assert await wrong_method.json() == {
            "error": "method_not_allowed",
            "reason": "Method Not Allowed",
        }
