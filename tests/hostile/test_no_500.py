"""Each kind of request that once answered 500 (issue 20) answers a 4xx, or a 2xx where valid."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from channels import ChannelContext, WebhookRequest
from channels.web_form import WebForm
from gateway.connectors.webhook import SIGNATURE_HEADER, sign
from gateway.errors import MalformedPayload
from tests.channels.conftest import inbound_rows
from tests.channels.email_webhooks import basic_auth, mailgun_signed
from tests.gateway.web.support import hidden
from tests.hostile.conftest import STATUS_SECRET
from tests.support import FORM, twilio_headers

Client = TestClient[Any, Any]
DEEP_LIST = b"[" * 5000 + b"]" * 5000
DEEP_OBJECT = b'{"a":' * 5000 + b"1" + b"}" * 5000


def mailgun_form(**fields: str) -> dict[str, str]:
    base = {
        "recipient": "311@mg.city.example",
        "sender": "resident@example.org",
        "From": "Resident <resident@example.org>",
        "Subject": "Pothole",
        "body-plain": "A pothole at 280 Spring St",
        "Message-Id": "<m1@example.org>",
    }
    return mailgun_signed({**base, **fields})


def assert_4xx(status: int, allowed: tuple[int, ...] = (400, 403, 404, 413, 415)) -> None:
    assert status in allowed, status


@pytest.mark.parametrize(
    "headers",
    ["{}", '"text"', "[1, 2]", '[["a"]]', "[[1, 2, 3]]", "[null]", '{"a": "b"}', '[[["x"]]]'],
)
async def test_mailgun_message_headers_of_odd_shapes_are_not_a_500(
    client: Client, headers: str
) -> None:
    body = urlencode(mailgun_form(**{"message-headers": headers}))
    response = await client.post(
        "/webhooks/email/mailgun", data=body, headers={"Content-Type": FORM}
    )
    assert response.status in (200, 400), await response.text()


@pytest.mark.parametrize("field", ["signature", "timestamp", "token"])
async def test_mailgun_non_ascii_signature_fields_are_403(client: Client, field: str) -> None:
    fields = mailgun_form()
    fields[field] = "é" * 10
    response = await client.post(
        "/webhooks/email/mailgun", data=urlencode(fields), headers={"Content-Type": FORM}
    )
    assert response.status == 403, await response.text()


@pytest.mark.parametrize("body", [DEEP_LIST, DEEP_OBJECT])
async def test_deep_json_on_case_status_is_400(client: Client, body: bytes) -> None:
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(STATUS_SECRET, body)}
    response = await client.post("/webhooks/case-status", data=body, headers=headers)
    assert response.status == 400, await response.text()


@pytest.mark.parametrize("body", [DEEP_LIST, DEEP_OBJECT])
async def test_deep_json_on_postmark_is_400(client: Client, body: bytes) -> None:
    headers = {"Content-Type": "application/json", **basic_auth()}
    response = await client.post("/webhooks/email/postmark", data=body, headers=headers)
    assert response.status == 400, await response.text()


@pytest.mark.parametrize(
    "odd",
    [
        {"ToFull": -1},
        {"ToFull": "x"},
        {"ToFull": [1, None]},
        {"Headers": 5},
        {"Headers": "x"},
        {"Attachments": 3},
        {"Attachments": [{"Content": 5}]},
        {"OriginalRecipient": 7},
        {"From": ["a"]},
        {"TextBody": {"a": 1}},
        {"FromFull": 1},
    ],
)
async def test_postmark_fields_of_the_wrong_type_are_not_a_500(
    client: Client, odd: dict[str, Any]
) -> None:
    data = {
        "MessageID": "pm-odd",
        "From": "resident@example.org",
        "To": "311@inbound.city.example",
        "Subject": "Pothole",
        "TextBody": "A pothole at 280 Spring St",
        **odd,
    }
    headers = {"Content-Type": "application/json", **basic_auth()}
    response = await client.post("/webhooks/email/postmark", data=json.dumps(data), headers=headers)
    assert response.status in (200, 400), await response.text()


@pytest.mark.parametrize(
    "fields",
    [
        [("envelope", "[1]"), ("text", "hi"), ("from", "a@b.org")],
        [("envelope", '{"to": 5, "from": []}'), ("text", "hi"), ("from", "a@b.org")],
        [("envelope", '{"to": "x"}'), ("envelope", "{}"), ("text", "a"), ("text", "b")],
        [("headers", "\x00\x01: x\r\n\r\n"), ("from", "a@b.org"), ("from", "c@d.org")],
        [("envelope", "[" * 3000), ("text", "x")],
        [("envelope", "[" * 3000 + "]" * 3000), ("text", "x")],
    ],
)
async def test_sendgrid_odd_and_duplicate_fields_are_not_a_500(
    client: Client, fields: list[tuple[str, str]]
) -> None:
    form = aiohttp.FormData(default_to_multipart=True)
    for name, value in fields:
        form.add_field(name, value)
    response = await client.post("/webhooks/email/sendgrid", data=form, headers=basic_auth())
    assert response.status in (200, 400), await response.text()


async def test_non_ascii_csrf_token_is_refused_not_a_500(client: Client) -> None:
    page = await client.get("/report")
    submission = hidden(await page.text(), "submission")
    fields = {
        "csrf_token": "é" * 64,
        "submission": submission,
        "description": "A pothole at 280 Spring St",
        "service_code": "pothole",
        "action": "send",
    }
    response = await client.post("/report", data=fields)
    assert 400 <= response.status < 500, response.status


async def test_non_ascii_receipt_on_the_status_page_is_not_a_500(client: Client) -> None:
    response = await client.get("/requests/K7M2QX", params={"receipt": "ééé" * 20})
    assert response.status == 404


@pytest.mark.parametrize("number", ["\ud800", "K7M2QX\udfff", "\x00", "é" * 40])
async def test_case_status_with_a_lone_surrogate_tracking_number_is_not_a_500(
    client: Client, number: str
) -> None:
    body = json.dumps({"tracking_number": number, "status": "closed"}).encode()
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(STATUS_SECRET, body)}
    response = await client.post("/webhooks/case-status", data=body, headers=headers)
    assert response.status in (400, 404), await response.text()


@pytest.mark.parametrize("signature", ["sha256=é", "é" * 70, "sha256=" + "\u0663" * 64])
async def test_non_ascii_case_status_signature_is_403(client: Client, signature: str) -> None:
    body = b'{"tracking_number": "K7M2QX", "status": "closed"}'
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature}
    response = await client.post("/webhooks/case-status", data=body, headers=_latin1(headers))
    assert response.status == 403, await response.text()


def _latin1(headers: dict[str, str]) -> dict[str, str]:
    """Headers as a client puts non-ASCII on the wire: UTF-8 bytes, read back one per char."""
    return {k: v.encode("utf-8").decode("latin-1") for k, v in headers.items()}


@pytest.mark.parametrize(
    "query",
    [
        {"page_size": "\u0663"},
        {"page": "\u0661\u0662"},
        {"page_size": "²"},
        {"start_date": "9999-12-31T23:59:59Z"},
        {"end_date": "9999-12-31"},
        {"start_date": "0001-01-01", "end_date": "0001-01-02"},
        {"start_date": "0001-01-01T00:00:00Z"},
        {"start_date": "2025-01-01T00:00:00+23:59"},
        {f"k{i}": "v" for i in range(2000)},
        {"service_request_id": ",".join(["K7M2QX"] * 3000)},
    ],
    ids=lambda q: next(iter(q)),
)
async def test_open311_get_with_odd_queries_is_not_a_500(
    client: Client, query: dict[str, str]
) -> None:
    response = await client.get("/open311/v2/requests.json", params=query)
    assert response.status in (200, 400), await response.text()


@pytest.mark.parametrize("host", ["127.0.0.1:99999", "127.0.0.1:abc", "[::1", "a b", ":"])
async def test_twilio_with_an_odd_host_header_is_403_not_a_500(client: Client, host: str) -> None:
    body = b"MessageSid=SM1&From=%2B14015550142&Body=pothole"
    headers = {**twilio_headers(str(client.make_url("/webhooks/twilio/sms")), body), "Host": host}
    response = await client.post("/webhooks/twilio/sms", data=body, headers=headers)
    assert response.status in (400, 403), await response.text()


async def open_form(client: Client) -> dict[str, str]:
    page = await client.get("/report")
    html = await page.text()
    return {
        "csrf_token": hidden(html, "csrf_token"),
        "submission": hidden(html, "submission"),
        "description": "A pothole at 280 Spring St, it is deep",
        "service_code": "pothole",
        "address": "280 Spring St",
        "email": "sam@example.org",
        "attr-pothole-SIZE": "large",
        "attr-pothole-LOCATION_IN_ROAD": "travel_lane",
        "action": "send",
    }


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.mark.parametrize(
    "odd",
    [
        [("multi", "x")],
        [("multi", "x"), ("attr-pothole-size", "large")],
        [("attr-pothole-size", "large"), ("multi", "x")],
        [("", "x"), ("lang", "\x00"), ("lang", "zz")],
        [("service_code", "pothole"), ("service_code", "\ud800".encode("utf-8", "surrogatepass"))],
        [("description", b"\xff\xfe\x00")],
    ],
)
async def test_web_form_with_photos_and_odd_fields_is_not_a_500(
    client: Client, odd: list[tuple[str, Any]]
) -> None:
    fields = await open_form(client)
    form = aiohttp.FormData()
    for key, value in fields.items():
        form.add_field(key, value)
    for key, value in odd:
        form.add_field(key, value)
    form.add_field("photos", PNG, filename="../../p.png", content_type="image/png")
    form.add_field(
        "photos", b"GIF89a", filename="\u202e.gif", content_type='image/png; name="\u00e9"'
    )
    response = await client.post("/report", data=form, allow_redirects=False)
    assert response.status in (303, 400, 413), await response.text()


@pytest.mark.parametrize(
    ("lat", "long"),
    [("inf", "-71.3"), ("95", "-71.3"), ("1e308", "-71.3"), ("nan", "nan"), ("41.5", "-inf")],
)
async def test_web_form_coordinates_off_the_earth_are_400_and_not_filed(
    client: Client, runtime: Any, lat: str, long: str
) -> None:
    fields = {**await open_form(client), "lat": lat, "long": long}
    response = await client.post("/report", data=fields, allow_redirects=False)
    assert response.status == 400
    assert await inbound_rows(runtime) == []


async def test_web_form_coordinates_on_the_earth_are_filed(client: Client, runtime: Any) -> None:
    fields = {**await open_form(client), "lat": "41.49", "long": "-71.31"}
    response = await client.post("/report", data=fields, allow_redirects=False)
    assert response.status == 303
    (row,) = await inbound_rows(runtime)
    assert row.message["location"]["lat"] == 41.49


@pytest.mark.parametrize("lat", ["inf", "95", "1e308", "nan"])
async def test_web_form_document_off_the_earth_is_refused_at_parse(lat: str) -> None:
    document = {"submission": "s1", "description": "x", "lat": float(lat), "long": -71.3}
    req = WebhookRequest("POST", "http://x/", {}, json.dumps(document).encode())
    with pytest.raises(MalformedPayload, match="lat"):
        WebForm({}, ChannelContext("Newport", str)).parse(req)


@pytest.mark.parametrize(
    "url",
    [
        "/open311/v2/requests.json?service_code=a%00b",
        "/open311/v2/requests.json?service_request_id=K7M2QX%00",
        "/open311/v2/requests/K7M2QX%00.json",
        "/requests/K7M2QX%00",
        "/requests?number=%00",
    ],
)
async def test_a_nul_in_the_url_is_400_on_every_database(client: Client, url: str) -> None:
    response = await client.get(url)
    assert response.status == 400, await response.text()
