"""Open311 GeoReport v2 server: every endpoint in JSON and XML against the shared fixtures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest

from gateway.runtime import Runtime
from tests.channels.conftest import inbound_rows
from tests.conftest import SHARED_FIXTURES
from tests.gateway.web.support import JURISDICTION, as_text, new_key, open311_overrides, xml_data
from tests.support import FORM, serve

FIXTURES = SHARED_FIXTURES / "open311"
BASE = "/open311/v2"
FORMATS = ["json", "xml"]


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def post_form(key: str, **changes: str | None) -> str:
    """The fixture's POST body with ``api_key`` and any field changed (None drops it)."""
    pairs = parse_qsl((FIXTURES / "post_service_request.form").read_text().strip())
    pairs = [(k, key if k == "api_key" else v) for k, v in pairs]
    pairs = [(k, value) for k, v in pairs if (value := changes.get(k, v)) is not None]
    known = {k for k, _ in pairs}
    pairs += [(k, v) for k, v in changes.items() if k not in known and v is not None]
    return urlencode(pairs)


async def read(resp: Any, fmt: str) -> Any:
    text = await resp.text()
    if fmt == "xml":
        assert resp.content_type == "text/xml"
        assert text.startswith('<?xml version="1.0" encoding="utf-8"?>')
        return xml_data(text)
    assert resp.content_type == "application/json"
    return json.loads(text)


def expect(data: Any, fmt: str) -> Any:
    return as_text(data) if fmt == "xml" else data


@pytest.fixture
def channel_config(tmp_path: Path) -> dict[str, Any]:
    return open311_overrides(tmp_path)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_services_list_matches_the_fixture(runtime: Runtime, fmt: str) -> None:
    async with serve(runtime) as client:
        resp = await client.get(f"{BASE}/services.{fmt}", params={"jurisdiction_id": JURISDICTION})
        assert resp.status == 200
        assert await read(resp, fmt) == expect(fixture("services.json"), fmt)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_service_definition_matches_the_fixture(runtime: Runtime, fmt: str) -> None:
    async with serve(runtime) as client:
        resp = await client.get(f"{BASE}/services/pothole.{fmt}")
        assert resp.status == 200
        body = await read(resp, fmt)
    assert body == expect(fixture("service_definition_pothole.json"), fmt)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_unknown_service_is_the_specs_404(runtime: Runtime, fmt: str) -> None:
    async with serve(runtime) as client:
        resp = await client.get(f"{BASE}/services/streetsweeping.{fmt}")
        assert resp.status == 404
        assert await read(resp, fmt) == expect(fixture("error_404.json"), fmt)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_unknown_jurisdiction_is_404(runtime: Runtime, fmt: str) -> None:
    async with serve(runtime) as client:
        resp = await client.get(f"{BASE}/services.{fmt}", params={"jurisdiction_id": "x.org"})
        assert resp.status == 404
        assert (await read(resp, fmt))[0]["code"] == expect(404, fmt)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_bad_api_key_is_the_specs_403_and_stores_nothing(runtime: Runtime, fmt: str) -> None:
    await new_key(runtime)
    async with serve(runtime) as client:
        for key in ("wrong-key", ""):
            resp = await client.post(
                f"{BASE}/requests.{fmt}", data=post_form(key), headers={"Content-Type": FORM}
            )
            assert resp.status == 403
            assert await read(resp, fmt) == expect(fixture("error_403.json"), fmt)
        assert await inbound_rows(runtime) == []


@pytest.mark.parametrize("fmt", FORMATS)
async def test_post_is_stored_once_without_its_key_and_answered(runtime: Runtime, fmt: str) -> None:
    key = await new_key(runtime)
    headers = {"Content-Type": FORM, "Idempotency-Key": "kiosk-0001"}
    async with serve(runtime) as client:
        first = await client.post(f"{BASE}/requests.{fmt}", data=post_form(key), headers=headers)
        retry = await client.post(f"{BASE}/requests.{fmt}", data=post_form(key), headers=headers)
        assert first.status == retry.status == 200
        body, again = await read(first, fmt), await read(retry, fmt)
        rows = await inbound_rows(runtime)
    assert body == again
    assert list(body[0]) == list(fixture("post_service_request_response.json")[0])
    assert len(rows) == 1
    assert key.encode() not in rows[0].raw_body
    message = rows[0].message
    assert message["channel"] == "open311"
    assert message["declared"]["service_code"] == "pothole"
    assert message["declared"]["attributes"] == {
        "SIZE": "large",
        "LOCATION_IN_ROAD": "crosswalk",
        "NEAR": ["manhole", "utility_patch"],
        "DEPTH_IN": "5",
    }
    assert message["location"]["lat"] == pytest.approx(41.483207)
    assert message["sender"] == "sam.rivera@example.com"


@pytest.mark.parametrize("fmt", FORMATS)
async def test_batch_service_answers_a_token_that_resolves(runtime: Runtime, fmt: str) -> None:
    key = await new_key(runtime)
    form = post_form(key, service_code="abandoned_vehicle")
    async with serve(runtime) as client:
        resp = await client.post(
            f"{BASE}/requests.{fmt}", data=form, headers={"Content-Type": FORM}
        )
        assert resp.status == 200
        body = await read(resp, fmt)
        assert list(body[0]) == list(fixture("post_service_request_response_token.json")[0])
        token = body[0]["token"]
        resolved = await read(await client.get(f"{BASE}/tokens/{token}.{fmt}"), fmt)
        missing = await client.get(f"{BASE}/tokens/nope.{fmt}")
    assert list(resolved[0]) == list(fixture("get_token_response.json")[0])
    assert resolved[0]["token"] == token
    assert len(resolved[0]["service_request_id"]) == 6
    assert missing.status == 404


@pytest.mark.parametrize("fmt", FORMATS)
async def test_missing_fields_are_the_specs_400(runtime: Runtime, fmt: str) -> None:
    key = await new_key(runtime)
    errors = fixture("error_400.json")
    cases = [
        (post_form(key, service_code=None), [errors[0]]),
        (post_form(key, lat=None, long=None, address_string=None), [errors[1]]),
        (post_form(key, **{"attribute[SIZE]": None}), [errors[2]]),
    ]
    async with serve(runtime) as client:
        for form, expected in cases:
            resp = await client.post(
                f"{BASE}/requests.{fmt}", data=form, headers={"Content-Type": FORM}
            )
            assert resp.status == 400
            assert await read(resp, fmt) == expect(expected, fmt)
        unknown = await client.post(
            f"{BASE}/requests.{fmt}",
            data=post_form(key, service_code="streetsweeping"),
            headers={"Content-Type": FORM},
        )
        assert unknown.status == 404
        assert await read(unknown, fmt) == expect(fixture("error_404.json"), fmt)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_get_requests_after_the_pipeline(runtime: Runtime, fmt: str) -> None:
    key = await new_key(runtime)
    async with serve(runtime) as client:
        posted = await client.post(
            f"{BASE}/requests.json", data=post_form(key), headers={"Content-Type": FORM}
        )
        number = (await posted.json())[0]["service_request_id"]
        assert await runtime.intake_worker().run_once() == 1
        listing = await read(await client.get(f"{BASE}/requests.{fmt}"), fmt)
        one = await read(await client.get(f"{BASE}/requests/{number}.{fmt}"), fmt)
        by_id = await read(
            await client.get(f"{BASE}/requests.{fmt}", params={"service_request_id": number}),
            fmt,
        )
        closed = await read(await client.get(f"{BASE}/requests.{fmt}?status=closed"), fmt)
        other = await read(await client.get(f"{BASE}/requests.{fmt}?service_code=noise"), fmt)
        missing = await client.get(f"{BASE}/requests/ZZZZZZ.{fmt}")
    fields = list(fixture("get_service_requests.json")[0])
    assert [list(r) for r in listing] == [fields]
    assert listing == one == by_id
    request = listing[0]
    assert request["service_request_id"] == number
    assert request["status"] == "open"
    assert request["service_code"] == "pothole"
    assert request["address"] == "280 Spring St, Newport, RI 02840"
    assert request["requested_datetime"].endswith("Z")
    assert closed == other == []
    assert missing.status == 404


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "query",
    [
        "start_date=yesterday",
        "end_date=2025-10-14T09:02:41",
        "start_date=2025-01-01T00:00:00Z&end_date=2025-12-31T00:00:00Z",
        "start_date=2025-10-14T00:00:00Z&end_date=2025-10-01T00:00:00Z",
        "status=pending",
        "page=0",
        "page=two",
        "page_size=0",
        "page_size=5000",
    ],
)
async def test_malformed_search_is_the_specs_400(runtime: Runtime, fmt: str, query: str) -> None:
    async with serve(runtime) as client:
        resp = await client.get(f"{BASE}/requests.{fmt}?{query}")
        assert resp.status == 400
        body = await read(resp, fmt)
    assert body[0]["code"] == expect(400, fmt)
    assert body[0]["description"]


async def test_date_window_filters_on_requested_datetime(runtime: Runtime) -> None:
    key = await new_key(runtime)
    async with serve(runtime) as client:
        await client.post(
            f"{BASE}/requests.json", data=post_form(key), headers={"Content-Type": FORM}
        )
        await runtime.intake_worker().run_once()
        old = await client.get(
            f"{BASE}/requests.json",
            params={"start_date": "2020-01-01T00:00:00Z", "end_date": "2020-02-01T00:00:00-05:00"},
        )
        recent = await client.get(f"{BASE}/requests.json", params={"status": "open"})
        assert await old.json() == []
        assert len(await recent.json()) == 1


async def test_pages_of_requests_neither_repeat_nor_skip(runtime: Runtime) -> None:
    key = await new_key(runtime)
    async with serve(runtime) as client:
        for n in range(5):
            await client.post(
                f"{BASE}/requests.json",
                data=post_form(key, description=f"pothole number {n}"),
                headers={"Content-Type": FORM},
            )
        await runtime.intake_worker().run_once()
        everything = await (await client.get(f"{BASE}/requests.json")).json()
        pages = [
            await (await client.get(f"{BASE}/requests.json?page={p}&page_size=2")).json()
            for p in (1, 2, 3, 4)
        ]
    assert [len(p) for p in pages] == [2, 2, 1, 0]
    paged = [r["service_request_id"] for page in pages for r in page]
    assert paged == [r["service_request_id"] for r in everything] and len(set(paged)) == 5


async def test_discovery_and_openapi(runtime: Runtime) -> None:
    async with serve(runtime) as client:
        discovery = await (await client.get("/open311/discovery.json")).json()
        xml = await read(await client.get("/open311/discovery.xml"), "xml")
        spec = await (await client.get("/openapi.json")).json()
    assert discovery["endpoints"][0]["url"].endswith("/open311/v2/")
    assert xml["endpoints"][0]["formats"] == ["text/xml", "application/json"]
    assert spec["openapi"].startswith("3.")
    for path in ("/healthz", "/metrics", "/report", "/webhooks/twilio/sms", "/history"):
        assert path in spec["paths"]
    assert f"{BASE}/requests.{{format}}" in spec["paths"]
