"""The signed JSON webhook connector against the fake CRM's ``/cases`` receiver."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import time

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.connectors import load_all
from gateway.connectors.webhook import WebhookConnector, encode_body, sign, verify
from gateway.errors import PermanentDeliveryError
from gateway.record_json import request_to_dict
from gateway.records import ServiceRequest
from tests.fakes.crm import FakeCrm
from tests.gateway.connectors.conftest import WEBHOOK_SECRET, webhook_options


async def test_submit_posts_the_record_and_returns_the_case_id(
    crm: FakeCrm, webhook: WebhookConnector, pothole: ServiceRequest
) -> None:
    ref = await webhook.submit(pothole, "key-1")
    assert ref.case_id in crm.cases
    received = dict(crm.cases[str(ref.case_id)])
    assert received.pop("idempotency_key") == "key-1"
    assert received == json.loads(json.dumps(request_to_dict(pothole)))


async def test_a_receiver_with_another_secret_rejects_it_permanently(
    crm: FakeCrm, webhook: WebhookConnector, pothole: ServiceRequest
) -> None:
    crm.webhook_secret = "someone-elses-secret"
    with pytest.raises(PermanentDeliveryError) as caught:
        await webhook.submit(pothole, "key-1")
    assert caught.value.status == 401
    assert "bad_signature" in caught.value.reason
    assert crm.cases == {}


async def test_same_idempotency_key_twice_makes_one_case(
    crm: FakeCrm, webhook: WebhookConnector, pothole: ServiceRequest
) -> None:
    first = await webhook.submit(pothole, "key-same")
    second = await webhook.submit(pothole, "key-same")
    assert first == second
    assert len(crm.cases) == 1
    assert crm.posts == 2


async def test_anonymous_reporter_contact_never_leaves(
    crm: FakeCrm, webhook: WebhookConnector, pothole: ServiceRequest
) -> None:
    anonymous = dataclasses.replace(
        pothole, reporter=dataclasses.replace(pothole.reporter, anonymous=True)
    )
    ref = await webhook.submit(anonymous, "key-anon")
    sent = json.dumps(crm.cases[str(ref.case_id)])
    for secret in ("+14015550123", "sam.rivera@example.com", "Sam Rivera"):
        assert secret not in sent
    assert crm.cases[str(ref.case_id)]["reporter"]["anonymous"] is True


async def test_signature_is_verifiable_by_a_receiver_with_the_documented_recipe(
    secrets_env: None, pothole: ServiceRequest
) -> None:
    seen: list[tuple[bytes, dict[str, str]]] = []

    async def receive(request: web.Request) -> web.Response:
        seen.append((await request.read(), dict(request.headers)))
        return web.json_response({"id": 4711}, status=201)

    app = web.Application()
    app.router.add_post("/crm", receive)
    async with TestServer(app, host="127.0.0.1") as server:
        connector = WebhookConnector(webhook_options_for(str(server.make_url("/crm"))))
        try:
            ref = await connector.submit(pothole, "key-doc")
        finally:
            await connector.close()
    assert ref.case_id == "4711"
    body, headers = seen[0]
    digest = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Gateway-Signature"] == f"sha256={digest}"
    assert headers["Idempotency-Key"] == "key-doc"
    assert abs(int(headers["X-Gateway-Timestamp"]) - time.time()) < 60
    assert headers["Content-Type"].startswith("application/json")
    assert body == encode_body(pothole)


def webhook_options_for(url: str) -> dict[str, object]:
    return {"url": url, "secret_env": "TEST_WEBHOOK_SECRET", "timeout_seconds": 2}


async def test_empty_2xx_answer_is_delivered_without_a_case_id(
    crm: FakeCrm, webhook: WebhookConnector, pothole: ServiceRequest
) -> None:
    crm.serve_next(b"", 204)
    ref = await webhook.submit(pothole, "key")
    assert ref.case_id is None
    assert ref.token is None


def test_sign_and_verify_round_trip() -> None:
    body = b'{"tracking_number":"K7M2QX"}'
    header = sign("s3cret", body)
    assert header.startswith("sha256=")
    assert verify("s3cret", body, header)
    assert not verify("s3cret", body + b" ", header)
    assert not verify("other", body, header)
    assert not verify("s3cret", body, None)


def test_registered_and_validates_its_options(crm: FakeCrm) -> None:
    assert load_all()["webhook"] is WebhookConnector
    problems = WebhookConnector.validate({"url": "ftp://crm.example.org/"}, env={})
    assert sorted(p.path for p in problems) == [
        "connectors.webhook.secret_env",
        "connectors.webhook.url",
    ]
    good = webhook_options(crm)
    assert WebhookConnector.validate(good, env={"TEST_WEBHOOK_SECRET": "x"}) == []
