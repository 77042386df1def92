"""The fake CRM also runs as its own process, dumping its state to a file after every change."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from gateway.connectors.open311 import Open311Connector
from gateway.records import ServiceRequest
from tests.conftest import REPO_ROOT


async def test_standalone_fake_crm_serves_and_dumps_state(
    tmp_path: Path, secrets_env: None, pothole: ServiceRequest
) -> None:
    state = tmp_path / "crm.json"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.crm",
        "--port",
        "0",
        "--state",
        str(state),
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode().strip()
        assert line.startswith("ready http://127.0.0.1:")
        endpoint = line.removeprefix("ready ") + "/open311/v2/"
        connector = Open311Connector({"endpoint": endpoint, "timeout_seconds": 5})
        try:
            first = await connector.submit(pothole, "key-1")
            again = await connector.submit(pothole, "key-1")
        finally:
            await connector.close()
        assert first == again
        dumped = json.loads(state.read_text())
        assert dumped["posts"] == 2
        assert list(dumped["cases"]) == [first.case_id]
        assert dumped["cases"][first.case_id]["idempotency_key"] == "key-1"
    finally:
        proc.kill()
        await proc.wait()
