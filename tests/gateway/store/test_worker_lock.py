"""One worker per SQLite database: a second ``python -m gateway worker`` on the same file is
refused at start with the reason, and a worker that died (even by SIGKILL) blocks no successor."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from gateway.store.worker_lock import WorkerAlreadyRunning, lock_path, worker_lock
from tests.conftest import REPO_ROOT, TWILIO_TOKEN
from tests.support import folder_only, write_config

pytestmark = pytest.mark.timeout(180)

REFUSAL = "is already running on the SQLite database {database}: SQLite has one writer"


def database_of(url: str) -> Path:
    return Path(str(make_url(url).database))


class Workers:
    """``python -m gateway worker`` processes on one project folder and SQLite file."""

    def __init__(self, root: Path, url: str) -> None:
        self.root = root
        self.env = {
            **os.environ,
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "DATABASE_URL": url,
            "GATEWAY_CONFIG": str(write_config(root, folder_only(root))),
            "PYTHONPATH": str(REPO_ROOT),
        }
        self.started: list[asyncio.subprocess.Process] = []

    async def start(self) -> asyncio.subprocess.Process:
        # Output goes to a file: a pipe nobody reads could fill and stall the worker.
        with self.log(len(self.started)).open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "gateway",
                "worker",
                cwd=self.root,
                env=self.env,
                stdout=log,
                stderr=log,
            )
        self.started.append(process)
        return process

    def log(self, index: int) -> Path:
        return self.root / f"worker-{index}.log"

    def output(self, process: asyncio.subprocess.Process) -> str:
        return self.log(self.started.index(process)).read_text(errors="replace")

    async def stop_all(self) -> None:
        for process in self.started:
            if process.returncode is None:
                process.kill()
                await process.wait()


@pytest.fixture
async def workers(tmp_path: Path, sqlite_url: str) -> AsyncIterator[Workers]:
    group = Workers(tmp_path, sqlite_url)
    yield group
    await group.stop_all()


async def holder_of(workers: Workers, path: Path, process: asyncio.subprocess.Process) -> None:
    """Wait until ``process`` holds the lock (it writes its pid into the lock file)."""
    for _ in range(600):
        if path.exists() and path.read_text().strip() == str(process.pid):
            return
        if process.returncode is not None:
            raise AssertionError(f"the worker ended: {workers.output(process)[-2000:]}")
        await asyncio.sleep(0.1)
    raise AssertionError("the worker never took the lock")


async def test_a_second_worker_on_the_same_sqlite_file_is_refused_with_the_reason(
    workers: Workers, sqlite_url: str
) -> None:
    path = lock_path(sqlite_url)
    assert path is not None
    first = await workers.start()
    await holder_of(workers, path, first)
    second = await workers.start()
    await asyncio.wait_for(second.wait(), 90)
    assert second.returncode != 0
    sentence = REFUSAL.format(database=database_of(sqlite_url))
    err = workers.output(second)
    assert f"another worker (pid {first.pid}) {sentence}" in err
    assert "move DATABASE_URL to PostgreSQL to run several" in err
    # The first one was not disturbed, and still holds the lock.
    assert first.returncode is None
    assert path.read_text().strip() == str(first.pid)
    # Killed outright, it leaves no stale lock: the next worker starts at once.
    first.send_signal(signal.SIGKILL)
    await first.wait()
    third = await workers.start()
    await holder_of(workers, path, third)
    assert third.returncode is None


def test_the_lock_is_refused_across_processes_and_free_once_released(sqlite_url: str) -> None:
    probe = (
        "import sys\n"
        "from gateway.store.worker_lock import WorkerAlreadyRunning, worker_lock\n"
        "try:\n"
        "    with worker_lock(sys.argv[1]):\n"
        "        print('locked')\n"
        "except WorkerAlreadyRunning as exc:\n"
        "    print(exc)\n"
    )

    def other_process() -> str:
        done = subprocess.run(
            [sys.executable, "-c", probe, sqlite_url],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout.strip()

    with worker_lock(sqlite_url):
        refused = other_process()
    sentence = REFUSAL.format(database=database_of(sqlite_url))
    assert refused.startswith(f"another worker (pid {os.getpid()}) {sentence}")
    assert other_process() == "locked"


def test_a_second_lock_in_the_same_process_is_refused_too(sqlite_url: str) -> None:
    with worker_lock(sqlite_url), pytest.raises(WorkerAlreadyRunning), worker_lock(sqlite_url):
        pass
    with worker_lock(sqlite_url):
        pass


def test_postgresql_and_memory_databases_take_no_lock() -> None:
    assert lock_path("postgresql+asyncpg://gw@db.example/gateway") is None
    assert lock_path("sqlite+aiosqlite:///:memory:") is None
    assert lock_path("sqlite+aiosqlite:////srv/gw/gateway.db") == Path(
        "/srv/gw/gateway.db.worker.lock"
    )
