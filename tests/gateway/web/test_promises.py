"""The pages promise a message only when the notifier that would carry it is enabled.

With the email (or SMS) notifier on, the confirmation page and /history say the message is being
sent to the masked address and goes out within a minute, never that it arrived; with it off,
they say to keep the number because this system cannot email (or text) yet. Each case in English
and Spanish, over real HTTP; the log says "queued", with whether the notifier is on.
"""

from __future__ import annotations

import html
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from gateway.runtime import Runtime
from gateway.store.schema import outbox
from tests.channels.test_web_form import multipart, open_form, report
from tests.gateway.web.support import form_overrides, hidden
from tests.support import make_settings, merge, serve

EMAIL = "Sam.Rivera@Example.com"
PHONE = "(401) 555-0142"
ENGLISH = {
    ("email", True): "We are sending a confirmation to s***@example.com. It should go out within "
    "a minute; we will also email you there when the status changes.",
    ("email", False): "Keep this number: we cannot email you from this system yet. To follow "
    "your request, look the number up under “Check a request”.",
    ("twilio_sms", True): "We will text ***0142 when the status changes.",
    ("twilio_sms", False): "Keep this number: we cannot text you from this system yet. To "
    "follow your request, look the number up under “Check a request”.",
}
SPANISH = {
    ("email", True): "Le estamos enviando una confirmación a s***@example.com.",
    ("email", False): "Guarde este número: todavía no podemos enviarle correos",
    ("twilio_sms", True): "Le enviaremos un mensaje de texto a ***0142",
    ("twilio_sms", False): "Guarde este número: todavía no podemos enviarle mensajes de texto",
}
# What a page must never say: that a message went, or arrived.
UNTRUE = ("We sent", "on its way", "Le enviamos una confirmación", "arrived")


def gateway_with(root: Path, database_url: str, *on: str) -> Runtime:
    """The web form, with the notifiers ``on`` enabled and every other one off."""
    notifiers = {name: {"enabled": name in on} for name in ("email", "twilio_sms")}
    overrides = merge(form_overrides(root), {"notifiers": notifiers})
    return Runtime(make_settings(root, database_url, overrides))


@pytest.fixture(autouse=True)
def _twilio_account(monkeypatch: pytest.MonkeyPatch) -> None:
    # The SMS notifier names this variable; it is read only when a message is sent.
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "3" * 32)


def text_of(page: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', page)
    assert found, f"no #{element_id} in the page"
    return html.unescape(found.group(1))


async def file_report(client: Any, lang: str, **fields: str) -> Any:
    _, csrf, submission = await open_form(client, lang)
    posted = await client.post(
        "/report", data=multipart(report(csrf, submission, lang=lang, **fields))
    )
    assert posted.status == 200
    return posted


async def notify_jobs(runtime: Runtime) -> list[Any]:
    async with runtime.engine.connect() as conn:
        return list(await conn.execute(select(outbox).where(outbox.c.kind == "notify")))


CASES = [
    pytest.param("email", on, lang, id=f"email-{'on' if on else 'off'}-{lang}")
    for on in (True, False)
    for lang in ("en", "es")
] + [
    pytest.param("twilio_sms", on, lang, id=f"sms-{'on' if on else 'off'}-{lang}")
    for on in (True, False)
    for lang in ("en", "es")
]


@pytest.mark.parametrize(("notifier", "on", "lang"), CASES)
async def test_the_confirmation_says_what_will_happen_in_each_notifier_state(
    tmp_path: Path,
    database_url: str,
    caplog: pytest.LogCaptureFixture,
    notifier: str,
    on: bool,
    lang: str,
) -> None:
    runtime = gateway_with(tmp_path, database_url, *([notifier] if on else []))
    contact = (
        {"email": EMAIL, "phone": ""} if notifier == "email" else {"email": "", "phone": PHONE}
    )
    caplog.set_level(logging.INFO, logger="gateway.web.submit")
    async with serve(runtime) as client:
        posted = await file_report(client, lang, **contact)
        page = await posted.text()
        queued = await notify_jobs(runtime)
    said = text_of(page, "confirmation")
    if lang == "en":
        assert said == ENGLISH[(notifier, on)]
    else:
        assert said.startswith(SPANISH[(notifier, on)]), said
    assert not any(claim in page for claim in UNTRUE)
    if notifier == "email":
        # The confirmation is queued either way: it waits in the outbox while email is off.
        assert [(j.target, j.payload["purpose"]) for j in queued] == [("email", "confirmation")]
        (logged,) = [r for r in caplog.records if r.msg == "web_form.confirmation_queued"]
        assert (logged.notifier_on, logged.to) == (on, "s***@example.com")  # type: ignore[attr-defined]
    else:
        assert queued == []


async def test_an_anonymous_report_is_only_asked_to_keep_its_number(
    tmp_path: Path, database_url: str
) -> None:
    runtime = gateway_with(tmp_path, database_url, "email", "twilio_sms")
    async with serve(runtime) as client:
        page = await (await file_report(client, "en", email="", anonymous="1")).text()
    assert text_of(page, "confirmation") == "Keep this number to check the status."


async def test_a_link_naming_another_address_is_not_taken_as_a_receipt(
    tmp_path: Path, database_url: str
) -> None:
    runtime = gateway_with(tmp_path, database_url, "email")
    async with serve(runtime) as client:
        posted = await file_report(client, "en", email=EMAIL)
        path = posted.url.relative()
        forged = path.update_query({"to": "a***@attacker.example"})
        page = await (await client.get(forged)).text()
        genuine = await (await client.get(path)).text()
        not_ascii = await client.get(path.update_query({"receipt": "é"}))
    assert "attacker" not in page and 'id="confirmation"' not in page
    # Not a receipt, and not our bug: the request is not filed yet, so 404 as for any number.
    assert not_ascii.status == 404
    assert "s***@example.com" in text_of(genuine, "confirmation")


@pytest.mark.parametrize("on", [True, False], ids=["email-on", "email-off"])
async def test_the_form_promises_email_updates_only_when_email_is_on(
    tmp_path: Path, database_url: str, on: bool
) -> None:
    runtime = gateway_with(tmp_path, database_url, *(["email"] if on else []))
    async with serve(runtime) as client:
        english, _, _ = await open_form(client, "en")
        spanish, _, _ = await open_form(client, "es")
    hints = (text_of(english, "contact-hint"), text_of(spanish, "contact-hint"))
    if on:
        assert hints[0] == "Give an email to get a confirmation and updates. We never share it."
        assert hints[1].startswith("Deje un correo para recibir la confirmación")
    else:
        assert hints[0].startswith("This system cannot email you yet: keep the tracking number")
        assert hints[1].startswith("Este sistema todavía no puede enviarle correos")


HISTORY_EN = {
    ("email", True): "If we have requests for s***@example.com, we are sending a one-time link "
    "there. It should go out within a minute and works once, for 15 minutes.",
    ("email", False): "We cannot email you from this system yet, so no link is on its way. You "
    "can follow any one request with its tracking number under “Check a request”.",
    ("twilio_sms", True): "If we have requests for ***0142, we are sending a code there by text "
    "message. It should go out within a minute and works once, for 15 minutes.",
    ("twilio_sms", False): "We cannot text you from this system yet, so no code is on its way. "
    "You can follow any one request with its tracking number under “Check a request”.",
}
HISTORY_ES = {
    ("email", True): "Si tenemos solicitudes para s***@example.com, le estamos enviando ahí un "
    "enlace",
    ("email", False): "Todavía no podemos enviarle correos desde este sistema, así que no va "
    "ningún enlace en camino.",
    ("twilio_sms", True): "Si tenemos solicitudes para ***0142, le estamos enviando ahí un código",
    ("twilio_sms", False): "Todavía no podemos enviarle mensajes de texto desde este sistema, así "
    "que no va ningún código en camino.",
}


async def ask_history(client: Any, lang: str, contact: str) -> str:
    ask = await (await client.get("/history", params={"lang": lang})).text()
    data = {"csrf_token": hidden(ask, "csrf_token"), "lang": lang, "contact": contact}
    resp = await client.post("/history", data=data)
    assert resp.status == 200
    return str(await resp.text())


def notice(page: str) -> str:
    found = re.search(r'<p class="notice" role="status">([^<]*)</p>', page)
    assert found, page
    return html.unescape(found.group(1))


@pytest.mark.parametrize(("notifier", "on", "lang"), CASES)
async def test_history_says_whether_the_link_or_code_is_on_its_way(
    tmp_path: Path,
    database_url: str,
    caplog: pytest.LogCaptureFixture,
    notifier: str,
    on: bool,
    lang: str,
) -> None:
    runtime = gateway_with(tmp_path, database_url, *([notifier] if on else []))
    contact = (
        {"email": EMAIL, "phone": ""} if notifier == "email" else {"email": "", "phone": PHONE}
    )
    caplog.set_level(logging.INFO, logger="gateway.web.history")
    async with serve(runtime) as client:
        await file_report(client, lang, **contact)
        await runtime.intake_worker().run_once()
        known = await ask_history(client, lang, contact["email"] or contact["phone"])
        # A contact with no requests reads the very same words (masked alike).
        other = "sam.rivera@example.net" if notifier == "email" else "(401) 555-9142"
        unknown = await ask_history(client, lang, other)
        access = [j for j in await notify_jobs(runtime) if j.payload["purpose"] == "access_code"]
    said = notice(known)
    if lang == "en":
        assert said == HISTORY_EN[(notifier, on)]
    else:
        assert said.startswith(HISTORY_ES[(notifier, on)]), said
    masked = ("s***@example.com", "s***@example.net") if notifier == "email" else ("0142", "9142")
    assert notice(unknown) == said.replace(*masked)
    assert [j.target for j in access] == [notifier]
    (logged,) = [r for r in caplog.records if r.msg == "history.access_queued"]
    assert (logged.notifier, logged.notifier_on) == (notifier, on)  # type: ignore[attr-defined]
    assert not [r for r in caplog.records if r.msg == "history.access_sent"]


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        ((), ["We cannot email you a link from this system yet.",
              "We cannot text you a code from this system yet."]),
        (("email",), ["For an email, we send a one-time link.",
                      "We cannot text you a code from this system yet."]),
        (("email", "twilio_sms"), ["For an email, we send a one-time link.",
                                   "For a phone, we send a code by text message."]),
    ],
    ids=["both-off", "email-only", "both-on"],
)  # fmt: skip
async def test_the_history_page_says_which_ways_of_sending_are_on(
    tmp_path: Path, database_url: str, on: tuple[str, ...], expected: list[str]
) -> None:
    runtime = gateway_with(tmp_path, database_url, *on)
    async with serve(runtime) as client:
        page = await (await client.get("/history", params={"lang": "en"})).text()
    ways = re.search(r'<ul class="reach">(.*?)</ul>', page, re.S)
    assert ways, page
    assert [html.unescape(w) for w in re.findall(r"<li>([^<]*)</li>", ways.group(1))] == expected
    assert ("under “Check a request”" in html.unescape(page)) is (len(on) < 2)
