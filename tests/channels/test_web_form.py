"""The web form over real HTTP without JavaScript: CSRF, honeypot, rate limit, photos, errors."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData
from sqlalchemy import select

from gateway.runtime import Runtime
from gateway.store.schema import outbox
from tests.channels.conftest import inbound_rows
from tests.gateway.web.support import form_overrides, form_runtime, hidden
from tests.support import serve

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def channel_config(tmp_path: Path) -> dict[str, Any]:
    return form_overrides(tmp_path, max_photo_bytes=2_000_000)


async def open_form(client: Any, lang: str = "en") -> tuple[str, str, str]:
    resp = await client.get("/report", params={"lang": lang})
    assert resp.status == 200
    html = await resp.text()
    return html, hidden(html, "csrf_token"), hidden(html, "submission")


def report(csrf: str, submission: str, **fields: str) -> dict[str, str]:
    base = {
        "csrf_token": csrf,
        "submission": submission,
        "lang": "en",
        "description": "Big pothole in front of 280 Spring St, almost blew my tire",
        "service_code": "pothole",
        "attr-pothole-size": "large",
        "address": "280 Spring St",
        "name": "Sam Rivera",
        "email": "Sam.Rivera@Example.com",
        "phone": "",
        "website": "",
        "action": "send",
    }
    return {**base, **fields}


def multipart(fields: dict[str, str], photos: Sequence[tuple[str, bytes, str]] = ()) -> FormData:
    data = FormData()
    for key, value in fields.items():
        data.add_field(key, value)
    for name, body, content_type in photos:
        data.add_field("photos", body, filename=name, content_type=content_type)
    return data


async def test_every_service_and_label_in_both_languages(runtime: Runtime) -> None:
    async with serve(runtime) as client:
        english, _, _ = await open_form(client)
        spanish, _, _ = await open_form(client, "es")
        static = await client.get("/static/form.css")
        assert "max-age" in static.headers["Cache-Control"]
    for service in runtime.catalog.values():
        assert service.name("en") in english
        assert service.name("es") in spanish
    assert 'lang="es"' in spanish and "Reportar un problema" in spanish
    assert '<label for="description">' in english


async def test_posted_without_js_is_stored_once_and_shows_the_tracking_number(
    runtime: Runtime,
) -> None:
    async with serve(runtime) as client:
        _, csrf, submission = await open_form(client)
        fields = report(csrf, submission)
        first = await client.post("/report", data=multipart(fields, [("p.png", PNG, "image/png")]))
        again = await client.post("/report", data=multipart(fields))
        assert first.status == again.status == 200
        assert first.url == again.url
        page = await first.text()
        rows = await inbound_rows(runtime)
        async with runtime.engine.connect() as conn:
            jobs = list(await conn.execute(select(outbox)))
    assert len(rows) == 1
    number = str(first.url).split("/requests/")[1].split("?")[0]
    assert f'id="tracking-number">{number}<' in page
    message = rows[0].message
    assert message["channel"] == "web_form"
    assert message["sender"] == "sam.rivera@example.com"
    assert message["declared"]["service_code"] == "pothole"
    assert message["declared"]["attributes"] == {"size": "large"}
    assert message["declared"]["language"] == "en"
    assert message["location"]["address"] == "280 Spring St"
    assert message["media"][0]["size"] == len(PNG)
    assert Path(message["media"][0]["path"]).read_bytes() == PNG
    # One confirmation email, whatever the double submit.
    assert [(j.kind, j.target) for j in jobs] == [("notify", "email")]
    assert number in jobs[0].payload["body"]


async def test_without_the_csrf_cookie_is_refused_and_stores_nothing(
    runtime: Runtime, tmp_path: Path, database_url: str
) -> None:
    async with serve(runtime) as client:
        _, csrf, submission = await open_form(client)
        client.session.cookie_jar.clear()
        resp = await client.post("/report", data=multipart(report(csrf, submission)))
        forged = await client.post("/report", data=multipart(report("0" * 64, submission)))
        assert resp.status == forged.status == 403
        assert await inbound_rows(runtime) == []


async def test_honeypot_is_refused_and_stores_nothing(runtime: Runtime) -> None:
    async with serve(runtime) as client:
        _, csrf, submission = await open_form(client)
        fields = report(csrf, submission, website="http://spam.example")
        resp = await client.post("/report", data=multipart(fields))
        assert resp.status == 400
        assert await inbound_rows(runtime) == []


async def test_rate_limit_per_address(tmp_path: Path, database_url: str) -> None:
    runtime = form_runtime(tmp_path, database_url, submissions_per_window=2)
    async with serve(runtime) as client:
        statuses = []
        for _ in range(3):
            _, csrf, submission = await open_form(client)
            resp = await client.post("/report", data=multipart(report(csrf, submission)))
            statuses.append(resp.status)
        assert statuses == [200, 200, 429]
        assert len(await inbound_rows(runtime)) == 2


async def test_oversize_photo_keeps_what_was_typed(tmp_path: Path, database_url: str) -> None:
    runtime = form_runtime(tmp_path, database_url, max_photo_bytes=1_048_576)
    big = b"\xff\xd8" + b"\x00" * 1_100_000
    async with serve(runtime) as client:
        _, csrf, submission = await open_form(client)
        fields = report(csrf, submission, description="Tree limb down on Liberty St")
        resp = await client.post(
            "/report", data=multipart(fields, [("big.jpg", big, "image/jpeg")])
        )
        assert resp.status == 413
        html = await resp.text()
        assert await inbound_rows(runtime) == []
    assert "Tree limb down on Liberty St" in html
    assert 'id="photos-error"' in html and 'aria-invalid="true"' in html
    assert 'value="sam.rivera@example.com"' in html.lower()


async def test_errors_are_tied_to_their_fields_and_keep_the_text(runtime: Runtime) -> None:
    async with serve(runtime) as client:
        _, csrf, submission = await open_form(client)
        fields = report(csrf, submission, email="", phone="not a phone", address="")
        resp = await client.post("/report", data=multipart(fields))
        assert resp.status == 400
        html = await resp.text()
        assert await inbound_rows(runtime) == []
    assert 'aria-describedby="contact-hint phone-error"' in html
    assert 'href="#address"' in html
    assert "almost blew my tire</textarea>" in html
    assert f'name="submission" value="{submission}"' in html


async def test_anonymous_report_carries_no_contact(runtime: Runtime) -> None:
    async with serve(runtime) as client:
        _, csrf, submission = await open_form(client)
        fields = report(csrf, submission, anonymous="1", phone="401-555-0123")
        assert (await client.post("/report", data=multipart(fields))).status == 200
        async with runtime.engine.connect() as conn:
            jobs = list(await conn.execute(select(outbox)))
        message = (await inbound_rows(runtime))[0].message
    assert message["sender"] == ""
    assert message["declared"]["anonymous"] is True
    assert message["declared"]["email"] == "" and message["declared"]["phone"] == ""
    assert jobs == []


async def test_suggestion_with_and_without_javascript(runtime: Runtime) -> None:
    async with serve(runtime) as client:
        live = await client.get("/report/suggest", params={"text": "huge pothole", "lang": "es"})
        assert (await live.json())["services"][0] == {"code": "pothole", "name": "Bache"}
        _, csrf, submission = await open_form(client)
        fields = report(csrf, submission, service_code="", action="suggest")
        resp = await client.post("/report", data=multipart(fields))
        html = await resp.text()
        assert await inbound_rows(runtime) == []
    assert '<option value="pothole" selected>' in html


async def test_status_page_after_the_pipeline_and_for_unknown_numbers(runtime: Runtime) -> None:
    async with serve(runtime) as client:
        _, csrf, submission = await open_form(client)
        posted = await client.post("/report", data=multipart(report(csrf, submission)))
        number = str(posted.url).split("/requests/")[1].split("?")[0]
        await runtime.intake_worker().run_once()
        page = await client.get(f"/requests/{number.lower()}", params={"lang": "es"})
        unknown = await client.get("/requests/ZZZZZZ")
        lookup = await client.get("/requests", params={"number": number}, allow_redirects=False)
        assert page.status == 200
        html = await page.text()
        assert unknown.status == 404
        assert lookup.status == 303
    assert f"Solicitud {number}" in html
    assert "Bache" in html
