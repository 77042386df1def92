"""A resident's history: one-time code (SMS) or link (email), every channel, used only once."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import select

from gateway.runtime import Runtime
from gateway.store.schema import access_codes, outbox
from tests.channels.test_web_form import multipart, open_form, report
from tests.conftest import SHARED_FIXTURES
from tests.gateway.web.support import form_runtime, hidden
from tests.support import post_twilio, serve

SMS = SHARED_FIXTURES / "twilio" / "sms_inbound.form"
PHONE = "+14015550123"


async def file_on_form(client: Any, **fields: str) -> str:
    _, csrf, submission = await open_form(client)
    posted = await client.post("/report", data=multipart(report(csrf, submission, **fields)))
    assert posted.status == 200
    return str(posted.url).split("/requests/")[1].split("?")[0]


async def access_jobs(runtime: Runtime) -> list[Any]:
    async with runtime.engine.connect() as conn:
        rows = await conn.execute(select(outbox).where(outbox.c.kind == "notify"))
        return [r for r in rows if r.payload.get("purpose") == "access_code"]


async def ask(client: Any, contact: str) -> Any:
    html = await (await client.get("/history")).text()
    data = {"csrf_token": hidden(html, "csrf_token"), "lang": "en", "contact": contact}
    return await client.post("/history", data=data)


async def test_code_by_sms_lists_the_form_and_the_sms_request(runtime: Runtime) -> None:
    async with serve(runtime) as client:
        on_form = await file_on_form(client, email="", phone="(401) 555-0123")
        by_sms = (await (await post_twilio(client, SMS.read_bytes())).text()).split(
            "Tracking number "
        )[1][:6]
        while await runtime.intake_worker().run_once():
            pass
        sent = await ask(client, "401-555-0123")
        assert sent.status == 200
        page = await sent.text()
        [job] = await access_jobs(runtime)
        assert (job.target, job.payload["to"]) == ("twilio_sms", PHONE)
        sent_code = re.search(r"code is (\d{6})", job.payload["body"])
        assert sent_code is not None
        code = sent_code.group(1)
        fields = {
            "csrf_token": hidden(page, "csrf_token"),
            "lang": "en",
            "contact": hidden(page, "contact"),
            "ticket": hidden(page, "ticket"),
        }
        wrong = await client.post("/history/code", data={**fields, "code": "000000"[:6]})
        listed = await client.post("/history/code", data={**fields, "code": code})
        replay = await client.post("/history/code", data={**fields, "code": code})
        html = await listed.text()
        async with runtime.engine.connect() as conn:
            stored = list(await conn.execute(select(access_codes)))
    assert wrong.status == 403 or code == "000000"
    assert listed.status == 200
    assert on_form in html and by_sms in html
    assert "twilio_sms" in html and "web_form" in html
    assert replay.status == 403
    assert code not in stored[0].secret_hash


async def test_link_by_email_works_once_and_a_get_spends_nothing(runtime: Runtime) -> None:
    async with serve(runtime) as client:
        number = await file_on_form(client, email="sam.rivera@example.com")
        await runtime.intake_worker().run_once()
        assert (await ask(client, "Sam.Rivera@example.com")).status == 200
        [job] = await access_jobs(runtime)
        assert job.target == "email"
        sent_link = re.search(r"(/history/link/[^\s?]+)", job.payload["body"])
        assert sent_link is not None
        link = sent_link.group(1)
        confirm = await client.get(link)
        again = await client.get(link)
        page = await again.text()
        data = {"csrf_token": hidden(page, "csrf_token"), "lang": "en"}
        listed = await client.post(link, data=data)
        replay = await client.post(link, data=data)
        assert confirm.status == again.status == listed.status == 200
        assert number in await listed.text()
        assert replay.status == 403


async def test_unknown_contact_gets_the_same_page_and_no_message(runtime: Runtime) -> None:
    async with serve(runtime) as client:
        sent = await ask(client, "nobody@example.org")
        bad = await ask(client, "not a contact")
        assert sent.status == 200
        assert bad.status == 400
        assert await access_jobs(runtime) == []


async def test_history_requests_are_rate_limited(tmp_path: Path, database_url: str) -> None:
    runtime = form_runtime(tmp_path, database_url, access_requests_per_window=1)
    async with serve(runtime) as client:
        assert (await ask(client, "a@example.org")).status == 200
        assert (await ask(client, "b@example.org")).status == 429
