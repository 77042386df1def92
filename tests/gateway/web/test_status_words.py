"""One word per status, wherever a resident reads it: the status page, the history page, the
answer to STATUS by text message and the Open311 status (the spec's open / closed), in English
and Spanish. The words are the config's ``[messages.<language>] status_*``."""

from __future__ import annotations

import dataclasses
import html
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from sqlalchemy import select

from gateway.records import Reporter, Status
from gateway.runtime import Runtime
from gateway.store import requests
from gateway.store.schema import outbox
from gateway.tracking import tracking_number_for
from tests.channels.test_web_form import multipart, open_form, report
from tests.conftest import SHARED_FIXTURES
from tests.gateway.outbox.conftest import sample_request
from tests.gateway.web.support import form_overrides, hidden
from tests.support import make_settings, merge, post_twilio, serve

EMAIL = "sam.rivera@example.com"
TEXTER = "+14015550123"
STATUS_QUERY = SHARED_FIXTURES / "twilio" / "sms_status_query.form"
LANGUAGES = ("en", "es")


@pytest.fixture
async def runtime(tmp_path: Path, database_url: str) -> Runtime:
    """The form and the Open311 server on; one request in each status in each language."""
    overrides = merge(form_overrides(tmp_path), {"channels": {"open311": {"enabled": True}}})
    runtime = Runtime(make_settings(tmp_path, database_url, overrides))
    async with runtime.engine.begin() as conn:
        for serial, (lang, status) in enumerate(
            [(lang, status) for lang in LANGUAGES for status in Status], start=1000
        ):
            request = dataclasses.replace(
                sample_request(serial, lang),
                tracking_number=tracking_number_for(serial),
                status=status,
                reporter=Reporter(email=EMAIL, address=EMAIL, language=lang),
            )
            await requests.insert_request(conn, request)
    return runtime


def numbers(lang: str) -> dict[Status, str]:
    return {
        status: tracking_number_for(1000 + LANGUAGES.index(lang) * len(Status) + i)
        for i, status in enumerate(Status)
    }


async def status_page_word(client: Any, number: str, lang: str) -> str:
    page = await (await client.get(f"/requests/{number}", params={"lang": lang})).text()
    found = re.search(r'<dd id="status">([^<]*)</dd>', page)
    assert found, page
    return html.unescape(found.group(1))


async def history_words(client: Any, runtime: Runtime, lang: str) -> dict[str, str]:
    """Each request's status word on the history page, opened with the emailed one-time link."""
    ask = await (await client.get("/history", params={"lang": lang})).text()
    token = {"csrf_token": hidden(ask, "csrf_token"), "lang": lang}
    assert (await client.post("/history", data={**token, "contact": EMAIL})).status == 200
    async with runtime.engine.connect() as conn:
        rows = list(await conn.execute(select(outbox).order_by(outbox.c.id.desc())))
    link = re.search(r"(/history/link/[^\s?]+)", rows[0].payload["body"])
    assert link
    listed = await (await client.post(link.group(1), data=token)).text()
    pairs = re.findall(r">([A-Z0-9]{6})</a>.*?<strong>([^<]*)</strong>", listed, re.S)
    return {number: html.unescape(word) for number, word in pairs}


async def status_reply_word(client: Any, runtime: Runtime, number: str, serial: int) -> str:
    """The word in the answer to ``STATUS <number>`` by text message."""
    form = dict(parse_qsl(STATUS_QUERY.read_text(), keep_blank_values=True))
    sid = f"SM{serial:032x}"
    body = urlencode({**form, "Body": f"STATUS {number}", "MessageSid": sid, "SmsSid": sid})
    assert (await post_twilio(client, body.encode())).status == 200
    while await runtime.intake_worker().run_once():
        pass
    async with runtime.engine.connect() as conn:
        rows = list(await conn.execute(select(outbox).where(outbox.c.kind == "notify")))
    (answer,) = [r.payload["body"] for r in rows if r.idempotency_key.endswith(f"status-{sid}")]
    assert answer.startswith(("Report ", "Reporte ")), answer
    return str(answer.split(": ", 1)[1].removesuffix("."))


async def open311_status(client: Any, number: str) -> str:
    resp = await client.get(f"/open311/v2/requests/{number}.json")
    assert resp.status == 200
    return str((await resp.json())[0]["status"])


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_every_status_has_one_word_on_every_page_and_message(
    runtime: Runtime, lang: str
) -> None:
    async with serve(runtime) as client:
        listed = await history_words(client, runtime, lang)
        seen: dict[Status, dict[str, str]] = {}
        for serial, (status, number) in enumerate(numbers(lang).items(), start=1):
            seen[status] = {
                "status page": await status_page_word(client, number, lang),
                "history page": listed[number],
                "STATUS reply": (await status_reply_word(client, runtime, number, serial)),
                "open311": await open311_status(client, number),
            }
    for status, where in seen.items():
        word = runtime.settings.message(f"status_{status.value}", lang)
        assert where["status page"] == where["history page"] == word[:1].upper() + word[1:]
        assert where["STATUS reply"] == word, (status, where)
        # GeoReport v2 knows two states; the closed one is the one we call closed.
        assert where["open311"] == ("closed" if status is Status.CLOSED else "open")
    # One word per status: no two statuses read alike.
    assert len({where["status page"] for where in seen.values()}) == len(Status)


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_the_confirmation_page_says_received_as_the_status_page_does(
    runtime: Runtime, lang: str
) -> None:
    async with serve(runtime) as client:
        _, csrf, submission = await open_form(client, lang)
        posted = await client.post("/report", data=multipart(report(csrf, submission, lang=lang)))
        page = await posted.text()
        received = await status_page_word(client, numbers(lang)[Status.RECEIVED], lang)
    # Before the intake has made the request, the page still names its status with the word.
    found = re.search(r'<span id="status">([^<]*)</span>', page)
    assert found, page
    assert html.unescape(found.group(1)) == received
