"""The mistakes a city's operator made, each refused by ``check-config`` and at start-up with its
key path and the fix, instead of "configuration is valid" and a default silently used."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.config.settings import OutboxSettings, load_settings
from gateway.connectors.webhook import WebhookConnector
from gateway.errors import TransientDeliveryError
from gateway.notifiers.email import EmailNotifier
from gateway.outbox import jobs
from gateway.outbox.replies import enqueue_notification
from gateway.outbox.worker import OutboxWorker
from gateway.records import Notification, Reporter, ServiceRequest
from gateway.store.database import make_engine
from gateway.store.requests import insert_request
from tests.fakes.smtp_sink import smtp_sink
from tests.gateway.config.support import (
    all_problems,
    at,
    renamed,
    replaced,
    repo_document,
    write_document,
)

DOCUMENT = repo_document()
# A relay URL without its scheme, holding a password that no message may repeat.
SCHEMELESS_RELAY = "relay-user:hunter2-relay@relay.city.gov:587"


@pytest.mark.parametrize(
    ("parts", "typed", "meant"),
    [
        (("channels", "sendgrid", "enabled"), "enable", "enabled"),
        (("server", "public_url"), "public_ur", "public_url"),
        (("server",), "sever", "server"),
        (("gateway", "city_name"), "city_nam", "city_name"),
        (("channels", "twilio_sms", "auth_token_env"), "auth_token_evn", "auth_token_env"),
        (("channels", "smtp", "domains"), "domain", "domains"),
        (("outbox", "poll_interval_seconds"), "poll_intervall_seconds", "poll_interval_seconds"),
        (("outbox", "retry", "horizon_hours"), "horizon_hour", "horizon_hours"),
        (
            ("outbox", "circuit_breaker", "failure_threshold"),
            "failure_treshold",
            "failure_threshold",
        ),
        (("conversation", "expiry_hours"), "expiry_hour", "expiry_hours"),
        (("channels", "web_form", "max_photos"), "max_photo", "max_photos"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_the_reported_misspelling_is_refused(
    tmp_path: Path, parts: tuple[str, ...], typed: str, meant: str
) -> None:
    path = write_document(tmp_path, renamed(DOCUMENT, parts, typed))
    where = ".".join((*parts[:-1], typed))
    (message,) = at(all_problems(path), where)
    assert message.endswith(f"did you mean `{meant}`?")


def test_enable_true_no_longer_leaves_the_channel_silently_off(tmp_path: Path) -> None:
    data = replaced(DOCUMENT, ("channels", "sendgrid"), {"enable": True})
    problems = all_problems(write_document(tmp_path, data))
    assert [str(p) for p in problems] == [
        "channels.sendgrid.enable: unknown key; did you mean `enabled`?"
    ]


def test_domains_as_a_string_is_refused_not_split_into_letters(tmp_path: Path) -> None:
    data = replaced(DOCUMENT, ("channels", "smtp", "domains"), "city.gov")
    path = write_document(tmp_path, data)
    problems = all_problems(path)
    assert [str(p) for p in problems] == [
        "channels.smtp.domains: must be a list of strings, not 'city.gov'"
    ]
    # The list it should be passes.
    fixed = replaced(DOCUMENT, ("channels", "smtp", "domains"), ["city.gov"])
    assert all_problems(write_document(tmp_path, fixed)) == []


@pytest.mark.parametrize("section", ["channels", "notifiers"])
def test_a_number_written_without_quotes_is_refused(tmp_path: Path, section: str) -> None:
    data = replaced(DOCUMENT, (section, "twilio_sms", "number"), 4015550100)
    (message,) = at(all_problems(write_document(tmp_path, data)), f"{section}.twilio_sms.number")
    assert message == "must be a string in quotes, not 4015550100"


def test_a_number_without_its_country_code_is_refused(tmp_path: Path) -> None:
    data = replaced(DOCUMENT, ("channels", "twilio_sms", "number"), "4015550100")
    (message,) = at(all_problems(write_document(tmp_path, data)), "channels.twilio_sms.number")
    assert message.startswith("must be an E.164 number like '+14015550100'")


@pytest.mark.parametrize(
    ("channel", "variable"),
    [("sendgrid", "SENDGRID_INBOUND_AUTH"), ("postmark", "POSTMARK_INBOUND_AUTH")],
)
@pytest.mark.parametrize("value", ["nocolon", ":only-a-password", "only-a-user:"])
def test_basic_auth_without_user_and_password_is_named_without_its_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, channel: str, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    data = replaced(DOCUMENT, ("channels", channel, "enabled"), True)
    problems = all_problems(write_document(tmp_path, data))
    (message,) = at(problems, f"channels.{channel}.basic_auth_env")
    assert message.startswith(f"{variable} must be user:password")
    assert value.strip(":") not in str(problems)
    monkeypatch.setenv(variable, "sendgrid:s3cret")
    assert all_problems(write_document(tmp_path, data)) == []


def email_enabled(tmp_path: Path) -> Path:
    return write_document(tmp_path, replaced(DOCUMENT, ("notifiers", "email", "enabled"), True))


@pytest.mark.parametrize(
    "relay", [SCHEMELESS_RELAY, "relay.city.gov", "http://relay.city.gov", "smtp://:25"]
)
def test_check_config_names_a_relay_url_without_smtp_scheme_or_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, relay: str
) -> None:
    monkeypatch.setenv("SMTP_RELAY_URL", relay)
    problems = all_problems(email_enabled(tmp_path))
    (message,) = at(problems, "notifiers.email")
    assert message.startswith("SMTP_RELAY_URL must start with smtp:// or smtps://")
    assert "hunter2" not in str(problems)


def test_an_unset_relay_is_no_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Replies wait in the outbox until the relay is set: that is documented, not a mistake.
    monkeypatch.delenv("SMTP_RELAY_URL", raising=False)
    assert all_problems(email_enabled(tmp_path)) == []
    monkeypatch.setenv("SMTP_RELAY_URL", "smtps://user:pass@relay.city.gov:465")
    assert all_problems(email_enabled(tmp_path)) == []


async def test_a_relay_url_without_a_scheme_is_transient_at_send_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SMTP_RELAY_URL", SCHEMELESS_RELAY)
    note = Notification("email", "dana@example.org", "Thanks", "confirmation", thread={})
    with pytest.raises(TransientDeliveryError) as caught:
        await EmailNotifier({"from_address": "311@city.example"}).send(note, "k")
    assert "SMTP_RELAY_URL must start with smtp://" in caught.value.reason
    assert "hunter2" not in caught.value.reason


def resident_request() -> ServiceRequest:
    return ServiceRequest(
        id="req-K7M2QX",
        tracking_number="K7M2QX",
        channel="smtp",
        channel_message_id="<first-report@example.org>",
        received_at=datetime.now(UTC),
        reporter=Reporter(email="dana@example.org", address="dana@example.org"),
        description="Pothole",
        original_text="Pothole",
    )


async def only_job(engine: AsyncEngine) -> jobs.Job:
    (job,) = await jobs.list_jobs(engine)
    return job


async def test_a_schemeless_relay_leaves_the_residents_email_pending_until_it_is_fixed(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(database_url)
    note = Notification("email", "dana@example.org", "Thanks", "confirmation", "req-K7M2QX")
    worker = OutboxWorker(
        engine,
        {},
        OutboxSettings(),
        notifiers={"email": EmailNotifier({"from_address": "311@city.example"})},
    )
    try:
        async with engine.begin() as conn:
            await insert_request(conn, resident_request())
            await enqueue_notification(conn, note, key="confirmation-req-K7M2QX")
        monkeypatch.setenv("SMTP_RELAY_URL", SCHEMELESS_RELAY)
        assert await worker.run_once() == 1
        waiting = await only_job(engine)
        assert (waiting.state, waiting.attempts) == (jobs.PENDING, 1)
        assert waiting.last_error is not None and "SMTP_RELAY_URL" in waiting.last_error
        assert "hunter2" not in waiting.last_error
        # The operator fixes the variable; the job goes out on its next try.
        async with smtp_sink() as sink:
            monkeypatch.setenv("SMTP_RELAY_URL", sink.url)
            await jobs.retry(engine, [waiting.id], now=datetime.now(UTC))
            assert await worker.run_once() == 1
        sent = await only_job(engine)
    finally:
        await engine.dispose()
    assert sent.state == jobs.DONE
    assert [envelope.rcpt_tos for envelope, _ in sink.received] == [["dana@example.org"]]


async def test_a_config_fault_found_at_send_time_is_retried_not_dead(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The webhook's secret is unset when the worker sends: the operator's to fix, so it waits.
    monkeypatch.delenv("CASE_WEBHOOK_SECRET", raising=False)
    options: dict[str, Any] = {"url": "http://127.0.0.1:9/", "secret_env": "CASE_WEBHOOK_SECRET"}
    connector = WebhookConnector(options)
    engine = make_engine(database_url)
    worker = OutboxWorker(engine, {"webhook": connector}, OutboxSettings())
    try:
        async with engine.begin() as conn:
            await insert_request(conn, resident_request())
            await jobs.enqueue(
                conn, [jobs.delivery("req-K7M2QX", "webhook")], now=datetime.now(UTC)
            )
        assert await worker.run_once() == 1
        job = await only_job(engine)
    finally:
        await connector.close()
        await engine.dispose()
    assert job.state == jobs.PENDING
    assert job.last_error is not None
    assert "connectors.webhook.secret_env: CASE_WEBHOOK_SECRET is not set" in job.last_error


def test_a_database_url_sqlalchemy_cannot_parse_is_named_without_its_value(
    tmp_path: Path,
) -> None:
    path = write_document(tmp_path, DOCUMENT)
    env = {"DATABASE_URL": "postgresql//gateway:pa55word@db.city.gov/gateway"}
    _, problems = load_settings(path, env=env)
    (message,) = at(problems, "database.url")
    assert message.startswith("DATABASE_URL (which wins over this key) is not a sqlite:///")
    assert "pa55word" not in str(problems)


@pytest.mark.parametrize("url", ["mysql://gateway@db/gateway", "not a url"])
def test_a_database_url_of_another_kind_in_the_file_is_refused(tmp_path: Path, url: str) -> None:
    data = replaced(DOCUMENT, ("database", "url"), url)
    _, problems = load_settings(write_document(tmp_path, data), env={})
    assert at(problems, "database.url") == [
        "must be a sqlite:/// or postgresql:// URL (or set DATABASE_URL)"
    ]


@pytest.mark.parametrize(("name", "key"), [("PORT", "server.port"), ("SMTP_PORT", "smtp.port")])
def test_a_port_variable_that_is_not_a_port_is_refused(tmp_path: Path, name: str, key: str) -> None:
    _, problems = load_settings(write_document(tmp_path, DOCUMENT), env={name: "80a"})
    assert at(problems, key) == [
        f"{name} (which wins over this key) must be a port number from 1 to 65535"
    ]
