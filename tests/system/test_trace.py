"""One trace through the logs: every line about a report, from its webhook to its delivery and the
message back to the resident, carries the report's tracking number as ``trace``."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gateway.log import JsonFormatter, tracing
from gateway.outbox import jobs
from gateway.runtime import Runtime
from tests.conftest import SHARED_FIXTURES
from tests.support import folder_only, make_settings, post_twilio, serve


@contextlib.contextmanager
def json_lines() -> Iterator[list[dict[str, Any]]]:
    """Every log line written inside the block, as the gateway's JSON formatter renders it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    lines: list[dict[str, Any]] = []
    try:
        yield lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        lines += [json.loads(line) for line in stream.getvalue().splitlines()]


async def test_a_report_is_one_trace_from_webhook_to_case(
    tmp_path: Path, database_url: str
) -> None:
    overrides = {**folder_only(tmp_path), "outbox": {"poll_interval_seconds": 0.05}}
    runtime = Runtime(make_settings(tmp_path, database_url, overrides))
    body = (SHARED_FIXTURES / "twilio" / "sms_inbound.form").read_bytes()
    with json_lines() as lines:
        async with serve(runtime) as client:
            worker = asyncio.create_task(runtime.work())
            try:
                resp = await post_twilio(client, body)
                number = re.search(r"Tracking number (\w+)", await resp.text())
                assert resp.status == 200 and number
                for _ in range(200):
                    if {j.state for j in await jobs.list_jobs(runtime.engine)} == {jobs.DONE}:
                        break
                    await asyncio.sleep(0.02)
                assert (tmp_path / "cases" / f"{number.group(1)}.json").exists()
            finally:
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
    traced = {line["event"] for line in lines if line.get("trace") == number.group(1)}
    # The ack, the intake's filing and the delivery, each logged by a different part.
    assert {"inbound.stored", "connector.submitted", "outbox.done"} <= traced, traced
    others = {line.get("trace") for line in lines if line["event"] in traced} - {number.group(1)}
    assert others == set(), "no line about this report names another trace"


def test_a_lines_own_trace_wins_and_the_block_ends_it() -> None:
    with json_lines() as lines:
        log = logging.getLogger("tests.trace")
        with tracing("4W3K74"):
            log.info("inside")
            log.info("own", extra={"trace": "7HX2QP"})
        log.info("after")
    assert [(line["event"], line.get("trace")) for line in lines] == [
        ("inside", "4W3K74"),
        ("own", "7HX2QP"),
        ("after", None),
    ]
