"""Ingest benchmark: signed Twilio SMS webhooks against the gateway and a no-op aiohttp handler.

Both run as subprocesses on loopback, one after the other: ``python -m gateway web`` on a fresh
SQLite file (WAL, durable commits) migrated by ``python -m gateway migrate``, and a tiny aiohttp app
answering the same route with fixed TwiML. Each gets a closed loop at a fixed concurrency, then an
open loop at a fixed rate with latency counted from each request's scheduled time. Every request
is a distinct SMS signed before timing starts. Targets (issue 3): ratio >= 0.5, p99 <= 50 ms.

    .venv/bin/python bench/ingest.py [--seconds 6] [--concurrency 32] [--rate 500] [--also-run]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import tomllib
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
import tomli_w
from aiohttp import web
from twilio.request_validator import RequestValidator

REPO = Path(__file__).resolve().parent.parent
FIXTURE = REPO.parent / "shared" / "fixtures" / "twilio" / "sms_inbound.form"
ROUTE = "/webhooks/twilio/sms"
FORM = "application/x-www-form-urlencoded"
TOKEN = "bench_auth_token_not_real_00000"
TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>ok</Message></Response>'
WARMUP_SECONDS = 1.0
# Requests signed per second of a closed phase: more than the no-op answers on a small machine.
MAX_RPS = 4000.0
Signed = tuple[bytes, dict[str, str]]


@dataclass
class Phase:
    """What one phase measured against one target."""

    target: str
    name: str
    latencies: list[float] = field(default_factory=list)
    failed: int = 0
    elapsed: float = 0.0
    kept_up: bool | None = None

    def add(self, ok: bool, latency: float) -> None:
        if ok:
            self.latencies.append(latency)
        else:
            self.failed += 1

    @property
    def ok(self) -> int:
        return len(self.latencies)

    def ms(self, q: float) -> float:
        """The ``q`` quantile of the latencies of 2xx answers, in milliseconds."""
        ordered = sorted(self.latencies) or [float("nan")]
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0


def signed_requests(url: str, count: int) -> list[Signed]:
    """``count`` distinct SMS bodies (a fresh MessageSid each), signed for ``url``."""
    template = FIXTURE.read_text()
    params = dict(parse_qsl(template, keep_blank_values=True))
    old_sid = params["MessageSid"]
    # Twilio repeats the message id as SmsMessageSid and SmsSid; all three change together.
    sid_keys = [k for k, v in params.items() if v == old_sid]
    validator = RequestValidator(TOKEN)
    signed = []
    for _ in range(count):
        sid = "SM" + uuid.uuid4().hex
        signature = validator.compute_signature(url, {**params, **dict.fromkeys(sid_keys, sid)})
        body = template.replace(old_sid, sid).encode()
        signed.append((body, {"X-Twilio-Signature": signature, "Content-Type": FORM}))
    return signed


async def post(
    session: aiohttp.ClientSession, url: str, req: Signed, since: float
) -> tuple[bool, float]:
    """Send one request; whether it got a 2xx, and the seconds since ``since``."""
    try:
        async with session.post(url, data=req[0], headers=req[1]) as resp:
            await resp.read()
            ok = 200 <= resp.status < 300
    except (aiohttp.ClientError, OSError):
        ok = False
    return ok, time.perf_counter() - since


async def closed_loop(
    session: aiohttp.ClientSession, url: str, pool: list[Signed], concurrency: int, seconds: float
) -> Phase:
    """``concurrency`` clients, each sending the next request as soon as the last is answered."""
    phase = Phase("", f"c={concurrency} closed")
    requests = iter(pool)
    started = time.perf_counter()

    async def client() -> None:
        while time.perf_counter() < started + seconds and (req := next(requests, None)):
            phase.add(*await post(session, url, req, time.perf_counter()))

    await asyncio.gather(*(client() for _ in range(concurrency)))
    phase.elapsed = time.perf_counter() - started
    return phase


async def open_loop(
    session: aiohttp.ClientSession, url: str, pool: list[Signed], rate: float, seconds: float
) -> Phase:
    """Requests sent on a fixed schedule whatever the answers; latency counts from the schedule."""
    phase = Phase("", f"{rate:g}/s open")
    started = time.perf_counter()
    tasks = []
    for i, req in enumerate(pool[: int(rate * seconds)]):
        due = started + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        tasks.append(asyncio.create_task(post(session, url, req, due)))
    for ok, latency in await asyncio.gather(*tasks):
        phase.add(ok, latency)
    phase.elapsed = time.perf_counter() - started
    # Kept up: every request answered, the last one within 100 ms of the schedule's end.
    phase.kept_up = phase.failed == 0 and phase.elapsed <= seconds + 0.1
    return phase


async def measure(name: str, base: str, opts: argparse.Namespace, max_rps: float) -> list[Phase]:
    """Warm up, then the closed and open phases against a server listening at ``base``."""
    url = base + ROUTE
    warm_pool = signed_requests(url, int(WARMUP_SECONDS * max_rps))
    closed_pool = signed_requests(url, int(opts.seconds * max_rps))
    open_pool = signed_requests(url, int(opts.seconds * opts.rate))
    connector = aiohttp.TCPConnector(limit=opts.concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        warm = await closed_loop(session, url, warm_pool, opts.concurrency, WARMUP_SECONDS)
        closed = await closed_loop(session, url, closed_pool, opts.concurrency, opts.seconds)
        await asyncio.sleep(0.5)
        opened = await open_loop(session, url, open_pool, opts.rate, opts.seconds)
    for phase in (warm, closed, opened):
        phase.target = name
    if closed.ok + closed.failed == len(closed_pool):
        print(f"note: {name} answered every pre-signed request before time was up")
    return [warm, closed, opened]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _anchor(node: Any) -> Any:
    """Files the config names under ``config/`` (catalog, phrases) are the checkout's."""
    if isinstance(node, dict):
        return {key: _anchor(value) for key, value in node.items()}
    return str(REPO / node) if isinstance(node, str) and node.startswith("config/") else node


def migrated_gateway(root: Path, port: int, gateway: list[str]) -> dict[str, str]:
    """Write ``root/config/gateway.toml`` as the tests do, migrate with the CLI; the env to run."""
    with (REPO / "config" / "gateway.toml").open("rb") as handle:
        data = _anchor(tomllib.load(handle))
    data["server"]["host"] = "127.0.0.1"
    data["smtp"]["enabled"] = False
    data["connectors"]["folder"]["path"] = str(root / "cases")
    (root / "config").mkdir(parents=True)
    (root / "config" / "gateway.toml").write_text(tomli_w.dumps(data))
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{root / 'gateway.db'}",
        "PORT": str(port),
        "TWILIO_AUTH_TOKEN": TOKEN,
        # The checkout first, so the gateway imports from it whatever the working directory.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    migrated = subprocess.run([*gateway, "migrate"], cwd=root, env=env, capture_output=True)
    if migrated.returncode:
        sys.stderr.write(migrated.stderr.decode()[-3000:])
        raise SystemExit("python -m gateway migrate failed")
    return env


@contextlib.asynccontextmanager
async def running(args: list[str], root: Path, env: dict[str, str], ready: str) -> Any:
    """A server process until the block ends; its output goes to ``root/server.log``."""
    with (root / "server.log").open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            *args, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(300):
                if proc.returncode is not None:
                    break
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with session.get(ready) as resp:
                        if resp.status == 200:
                            break
                await asyncio.sleep(0.1)
            else:
                proc.kill()
                await proc.wait()
        if proc.returncode is not None:
            sys.stderr.write((root / "server.log").read_text()[-3000:])
            raise SystemExit(f"{args[1:]} did not become ready at {ready}")
        yield
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def bench_noop(root: Path, opts: argparse.Namespace) -> list[Phase]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = [sys.executable, __file__, "--serve-noop", str(port)]
    async with running(args, root, dict(os.environ), base + ROUTE):
        return await measure("no-op", base, opts, MAX_RPS)


async def bench_gateway(root: Path, role: str, opts: argparse.Namespace, rps: float) -> list[Phase]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    gateway = [sys.executable, "-m", "gateway", "--log-level", opts.log_level]
    env = await asyncio.to_thread(migrated_gateway, root, port, gateway)
    async with running([*gateway, role], root, env, base + "/readyz"):
        phases = await measure(f"gateway {role}", base, opts, rps)
    answered = sum(p.ok for p in phases)
    with contextlib.closing(sqlite3.connect(root / "gateway.db")) as db:
        stored = db.execute("SELECT count(*) FROM inbound_messages").fetchone()[0]
    verdict = "match" if stored == answered else "MISMATCH"
    print(f"gateway {role}: stored inbound rows {stored}, 2xx answers {answered} ({verdict})")
    if stored != answered:
        raise SystemExit(1)
    return phases


def report(noop: list[Phase], gateways: list[list[Phase]], rate: float) -> None:
    print(f"\n{'target':<12} {'phase':<14} {'ok':>7} {'failed':>6} {'req/s':>7} {'p50 ms':>7} "
          f"{'p99 ms':>7}  kept up")  # fmt: skip
    for p in [*noop[1:], *(p for g in gateways for p in g[1:])]:
        kept = {None: "", True: "yes", False: "NO"}[p.kept_up]
        print(f"{p.target:<12} {p.name:<14} {p.ok:>7} {p.failed:>6} {p.rate:>7.0f} "
              f"{p.ms(0.5):>7.1f} {p.ms(0.99):>7.1f}  {kept}")  # fmt: skip
    print()
    for _, closed, opened in gateways:
        ratio = closed.rate / noop[1].rate if noop[1].rate else 0.0
        met = "met" if ratio >= 0.5 else "MISSED"
        print(f"ratio {closed.target}/no-op throughput: {ratio:.2f} (target >= 0.5: {met})")
        met = "met" if opened.ms(0.99) <= 50 and opened.kept_up else "MISSED"
        print(f"p99 at {rate:g} req/s: {closed.target} {opened.ms(0.99):.1f} ms, "
              f"no-op {noop[2].ms(0.99):.1f} ms (target <= 50 ms, kept up: {met})")  # fmt: skip


def serve_noop(port: int) -> None:
    """The no-op server: reads the body and answers fixed TwiML; no verify, no store."""

    async def sms(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text=TWIML, content_type="text/xml")

    app = web.Application()
    # GET answers too, for the readiness poll.
    app.router.add_route("*", ROUTE, sms)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


async def main(opts: argparse.Namespace) -> int:
    print(
        f"signed Twilio SMS to {ROUTE}: {opts.seconds:g} s per phase, concurrency "
        f"{opts.concurrency}, open loop {opts.rate:g} req/s; SQLite WAL, synchronous=FULL"
    )
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as tmp:
        noop = await bench_noop(Path(tmp), opts)
        # Signing takes time too: the gateway gets enough requests to match the no-op, not more.
        rps = min(MAX_RPS, 1.1 * noop[1].rate + 100)
        roles = ["web", "run"] if opts.also_run else ["web"]
        gateways = [await bench_gateway(Path(tmp) / r, r, opts, rps) for r in roles]
    report(noop, gateways, opts.rate)
    failed = sum(p.failed for p in [*noop, *(p for g in gateways for p in g)])
    if failed:
        print(f"error: {failed} request(s) failed or got a non-2xx answer", file=sys.stderr)
    return 1 if failed else 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each phase")
    parser.add_argument("--concurrency", type=int, default=32, help="closed-loop clients")
    parser.add_argument("--rate", type=float, default=500.0, help="open-loop requests per second")
    parser.add_argument("--also-run", action="store_true", help="measure the `run` role too")
    parser.add_argument("--log-level", default="INFO", help="the gateway's log level")
    parser.add_argument("--serve-noop", type=int, metavar="PORT", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    options = parse_args()
    if options.serve_noop:
        serve_noop(options.serve_noop)
    else:
        raise SystemExit(asyncio.run(main(options)))
