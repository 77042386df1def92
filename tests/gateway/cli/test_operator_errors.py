"""An operator's mistake on the command line is one sentence naming the fix, never a traceback."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from gateway.outbox import jobs
from gateway.store.database import make_engine
from gateway.store.inbound import Envelope, insert_unparsed
from tests.gateway.cli.conftest import Gateway, project

pytestmark = pytest.mark.timeout(120)


def one_sentence(stderr: str) -> str:
    """The single ``error:`` line the CLI printed; fails on a traceback or on several lines."""
    lines = [line for line in stderr.splitlines() if not line.startswith("{")]
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize("command", [("outbox", "list"), ("inbound", "list"), ("api-key", "list")])
def test_a_command_on_a_fresh_clone_says_to_migrate_and_makes_no_empty_database(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    gateway = project(tmp_path)
    result = gateway.run(*command)
    assert result.returncode == 2
    sentence = one_sentence(result.stderr)
    assert "there is no database at" in sentence and "gateway migrate" in sentence
    assert not (tmp_path / "gateway.db").exists()


def test_an_unmigrated_database_says_to_migrate(tmp_path: Path) -> None:
    gateway = project(tmp_path)
    # An empty file, as an older clone that never migrated leaves behind.
    (tmp_path / "gateway.db").touch()
    result = gateway.run("outbox", "list")
    assert result.returncode == 2
    assert "has no schema yet" in one_sentence(result.stderr)


def test_a_database_that_cannot_be_reached_is_named_without_its_password(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    gateway = project(tmp_path)
    url = f"postgresql://ops:s3cret@127.0.0.1:{free_port}/city"
    result = gateway.run("inbound", "list", env={"DATABASE_URL": url})
    assert result.returncode == 2
    sentence = one_sentence(result.stderr)
    assert "cannot be reached" in sentence and "DATABASE_URL" in sentence
    assert "s3cret" not in result.stderr


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="TEST_DATABASE_URL is not set")
def test_a_postgresql_database_that_does_not_exist_is_one_sentence(tmp_path: Path) -> None:
    server = make_url(os.environ["TEST_DATABASE_URL"]).set(database="no_such_database_311")
    gateway = project(tmp_path)
    result = gateway.run("outbox", "list", env={"DATABASE_URL": server.render_as_string(False)})
    assert result.returncode == 2
    assert "InvalidCatalogNameError" in one_sentence(result.stderr)


def test_the_port_in_use_is_one_sentence(gateway: Gateway) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = gateway.run("web", env={"PORT": str(port), "HOST": "127.0.0.1"})
    assert result.returncode == 2
    assert "port is already in use" in one_sentence(result.stderr)


def test_retrying_a_job_that_does_not_exist_says_so(gateway: Gateway) -> None:
    result = gateway.run("outbox", "retry", "99999")
    assert result.returncode == 1
    assert "error: there is no outbox job 99999" in result.stderr


def test_empty_queues_say_they_are_empty_and_show_names_a_missing_id(gateway: Gateway) -> None:
    assert gateway.run("inbound", "list").stdout.strip() == "no stored messages"
    assert gateway.run("inbound", "list", "--unparsed").stdout.strip() == (
        "no messages flagged for staff"
    )
    assert gateway.run("outbox", "list").stdout.strip() == "no jobs"
    missing = gateway.run("inbound", "show", "7")
    assert (missing.returncode, missing.stderr.strip()) == (
        1,
        "error: there is no stored message 7",
    )
    missing = gateway.run("outbox", "show", "7")
    assert (missing.returncode, missing.stderr.strip()) == (1, "error: there is no outbox job 7")


async def test_show_prints_one_job_and_one_message_with_contacts_masked(gateway: Gateway) -> None:
    engine = make_engine(gateway.database_url)
    note = {"channel": "email", "to": "ana@example.org", "body": "secret words", "purpose": "code"}
    try:
        async with engine.begin() as conn:
            await jobs.enqueue(
                conn, [jobs.NewJob(jobs.NOTIFY, "email", "k-1", None, note)], now=datetime.now(UTC)
            )
            envelope = Envelope("twilio_sms", b"From=%2B14015550142", {}, "http://x/sms")
            stored = await insert_unparsed(conn, envelope, "MessageSid is missing")
        (job,) = await jobs.list_jobs(engine)
    finally:
        await engine.dispose()
    shown = gateway.run("outbox", "show", str(job.id))
    assert shown.returncode == 0, shown.stderr
    assert "code to a***@example.org" in shown.stdout
    assert "ana@example.org" not in shown.stdout and "secret words" not in shown.stdout
    message = gateway.run("inbound", "show", str(stored.inbound_id))
    assert message.returncode == 0, message.stderr
    assert "MessageSid is missing" in message.stdout and "19 bytes" in message.stdout
    assert "4015550142" not in message.stdout
    raw = gateway.run("inbound", "show", str(stored.inbound_id), "--raw")
    assert raw.stdout.rstrip().endswith("From=%2B14015550142")


async def test_a_flagged_message_is_dismissed_with_a_reason_and_leaves_the_list(
    gateway: Gateway,
) -> None:
    engine = make_engine(gateway.database_url)
    try:
        async with engine.begin() as conn:
            envelope = Envelope("twilio_sms", b"Body=no+sid", {}, "http://x/sms")
            stored = await insert_unparsed(conn, envelope, "MessageSid is missing")
    finally:
        await engine.dispose()
    refused = gateway.run("inbound", "dismiss", str(stored.inbound_id))
    assert refused.returncode == 2 and "--reason" in refused.stderr
    done = gateway.run(
        "inbound", "dismiss", str(stored.inbound_id), "--reason", "test traffic", "--by", "ana"
    )
    assert done.returncode == 0, done.stderr
    assert f"{stored.inbound_id}: dismissed (was unparsed)" in done.stdout
    assert gateway.run("inbound", "list", "--unparsed").stdout.strip() == (
        "no messages flagged for staff"
    )
    again = gateway.run("inbound", "dismiss", str(stored.inbound_id), "--reason", "twice")
    assert again.returncode == 1
