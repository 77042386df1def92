"""The gateway as a child process (``python -m gateway run``) and a stream of signed SMS webhooks
to send it, for the tests that kill or stop it mid-stream."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
import uuid
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import aiohttp

from tests.conftest import REPO_ROOT, SHARED_FIXTURES, TWILIO_TOKEN
from tests.fakes.crm import FakeCrm
from tests.support import twilio_headers

WEBHOOK_SECRET = "crash-test-secret-not-real"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def bodies(count: int) -> dict[str, bytes]:
    """``count`` distinct SMS webhooks, each with a marker the CRM's case will carry."""
    base = dict(parse_qsl((SHARED_FIXTURES / "twilio" / "sms_inbound.form").read_text(), True))
    out = {}
    for i in range(count):
        sid = "SM" + uuid.uuid4().hex
        form = {
            **base,
            "MessageSid": sid,
            "SmsSid": sid,
            "SmsMessageSid": sid,
            "Body": f"pothole marker-{i:04d} in front of 280 Spring St",
        }
        out[sid] = urlencode(form).encode()
    return out


class Gateway:
    """``python -m gateway <role>`` as a child process (``run``: web, SMTP and worker in one), on
    a SQLite file or any database URL; ``port`` is its web port (``web``, ``run``) or SMTP port
    (``smtp``)."""

    def __init__(
        self, root: Path, port: int, database: Path | str, role: str = "run", name: str = ""
    ) -> None:
        self.root, self.port, self.role = root, port, role
        url = database if isinstance(database, str) else f"sqlite:///{database}"
        self.log_path = root / f"{name or 'gateway'}.log"
        self.env = {
            **os.environ,
            "PORT": str(port),
            "SMTP_PORT": str(port if role == "smtp" else free_port()),
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "CASE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "DATABASE_URL": url,
            "GATEWAY_CONFIG": str(root / "config" / "gateway.toml"),
            "PYTHONPATH": str(REPO_ROOT),
        }
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Start the process; return once it serves (a worker: once it runs)."""
        log = self.log_path.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gateway", self.role, cwd=self.root, env=self.env,
            stdout=log, stderr=log,
        )  # fmt: skip
        if self.role == "worker":
            return
        if self.role == "smtp":
            await self._wait_for_smtp()
            return
        async with aiohttp.ClientSession() as session:
            for _ in range(400):
                try:
                    async with session.get(f"http://127.0.0.1:{self.port}/readyz") as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        raise AssertionError(f"the gateway's {self.role} did not become ready")

    async def _wait_for_smtp(self) -> None:
        for _ in range(400):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            return
        raise AssertionError("the gateway's SMTP listener did not start")

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def terminate(self, within: float) -> tuple[int, float]:
        """SIGTERM, as a Procfile host or systemd stops it; its exit code and seconds taken
        (killed, and the test failed, past ``within``)."""
        assert self.process is not None
        loop = asyncio.get_running_loop()
        began = loop.time()
        self.process.terminate()
        try:
            code = await asyncio.wait_for(self.process.wait(), within)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            stuck = f"the gateway did not stop within {within:g} s of SIGTERM"
            raise AssertionError(stuck) from None
        return code, loop.time() - began

    async def stop(self) -> None:
        if self.process and self.process.returncode is None:
            self.process.terminate()
            await asyncio.wait_for(self.process.wait(), 30)


async def send_all(
    url: str,
    pending: dict[str, bytes],
    acked: set[str],
    on_ack: asyncio.Event | None = None,
    after: int = 0,
) -> None:
    """POST every webhook, 8 at a time; record which ones got a 2xx; set ``on_ack`` once
    ``after`` of them have."""
    queue = list(pending.items())

    async def sender(session: aiohttp.ClientSession) -> None:
        while queue:
            sid, body = queue.pop()
            try:
                async with session.post(url, data=body, headers=twilio_headers(url, body)) as r:
                    if 200 <= r.status < 300:
                        acked.add(sid)
                        if on_ack and len(acked) >= after:
                            on_ack.set()
            except (aiohttp.ClientError, ConnectionError):
                pass

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(sender(session) for _ in range(8)))


def marker(text: str) -> str:
    """The ``marker-NNNN`` that ``bodies`` put in a message, read back from its case."""
    found = re.search(r"marker-\d{4}", text)
    assert found is not None, text
    return found.group(0)


async def delivery_in_flight(crm: FakeCrm) -> None:
    """Return once the CRM has a POST it has not answered yet."""
    while crm.posts <= len(crm.cases):
        await asyncio.sleep(0.005)


async def wait_for_cases(crm: FakeCrm, count: int) -> None:
    for _ in range(1200):
        if len(crm.cases) >= count:
            await asyncio.sleep(0.5)  # and no stragglers beyond that
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"only {len(crm.cases)} of {count} cases reached the CRM")
