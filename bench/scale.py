"""Scale-out benchmark on PostgreSQL: ingest and delivery throughput with 1 and with 2 processes
of each role, and the ratio.

For each size, a fresh database: ``n`` ``python -m gateway web`` processes take signed SMS
webhooks (pre-signed, 32 concurrent, spread over the processes) with no worker running, which
gives ingest req/s; then ``n`` ``python -m gateway worker`` processes start and file everything
with a CRM on loopback (the tests' fake, answering at once), which gives deliveries/s from the
workers' start to the last case. The load generator shares the machine's cores with the
gateway, so on a 2-core machine the ratio shows contention as much as scaling.

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/scale.py
        [--messages 1500] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.config.settings import normalize_database_url  # noqa: E402
from gateway.store.migrate import upgrade  # noqa: E402
from tests.conftest import _create_postgres_database, _drop_postgres_database  # noqa: E402
from tests.fakes.crm import FakeCrm  # noqa: E402
from tests.support import twilio_headers, write_config  # noqa: E402
from tests.system.process import WEBHOOK_SECRET, Gateway, bodies, free_port  # noqa: E402

Signed = tuple[str, bytes, dict[str, str]]


async def ingest(requests: list[Signed], concurrency: int) -> tuple[int, float]:
    """POST every request, ``concurrency`` at a time; returns the 2xx count and seconds."""
    queue = list(reversed(requests))
    ok = 0

    async def sender(session: aiohttp.ClientSession) -> None:
        nonlocal ok
        while queue:
            url, body, headers = queue.pop()
            async with session.post(url, data=body, headers=headers) as resp:
                await resp.read()
                ok += 200 <= resp.status < 300

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        began = time.perf_counter()
        await asyncio.gather(*(sender(session) for _ in range(concurrency)))
        return ok, time.perf_counter() - began


async def one_size(size: int, messages: int, concurrency: int) -> tuple[float, float]:
    """Ingest req/s and deliveries/s with ``size`` web and ``size`` worker processes."""
    name, raw = await _create_postgres_database()
    crm = FakeCrm()
    await crm.start()
    crm.webhook_secret = WEBHOOK_SECRET
    processes: list[Gateway] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            url = normalize_database_url(raw, root)
            await upgrade(url)
            write_config(
                root,
                {
                    "outbox": {"poll_interval_seconds": 0.1, "batch_size": 50},
                    "connectors": {
                        "folder": {"enabled": False},
                        "webhook": {"enabled": True, "url": crm.webhook_url},
                    },
                    "smtp": {"enabled": False},
                },
            )
            webs = [Gateway(root, free_port(), url, "web", f"web{i}") for i in range(size)]
            processes += webs
            await asyncio.gather(*(w.start() for w in webs))
            signed = []
            for i, body in enumerate(bodies(messages).values()):
                target = f"http://127.0.0.1:{webs[i % size].port}/webhooks/twilio/sms"
                signed.append((target, body, twilio_headers(target, body)))
            ok, seconds = await ingest(signed, concurrency)
            if ok != messages:
                raise SystemExit(f"only {ok} of {messages} webhooks were acknowledged")
            workers = [Gateway(root, free_port(), url, "worker", f"w{i}") for i in range(size)]
            processes += workers
            await asyncio.gather(*(w.start() for w in workers))
            # Timed from the first case, so that the workers' start-up is not counted.
            began = await _when(lambda: len(crm.cases) >= 1)
            delivered = await _when(lambda: len(crm.cases) >= messages) - began
            if len(crm.cases) != messages:
                raise SystemExit(f"{len(crm.cases)} cases for {messages} messages")
            await asyncio.gather(*(p.stop() for p in processes))
            return messages / seconds, messages / delivered
    finally:
        await asyncio.gather(*(p.stop() for p in processes), return_exceptions=True)
        await crm.close()
        await _drop_postgres_database(name)


async def _when(condition: Callable[[], bool]) -> float:
    """The moment ``condition`` first holds, polled (the fake CRM offers nothing to wait on)."""
    while not condition():  # noqa: ASYNC110 - a count in another object, not an event
        await asyncio.sleep(0.01)
    return time.perf_counter()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1500)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    if not os.environ.get("TEST_DATABASE_URL"):
        print("skipped: bench/scale.py needs PostgreSQL; set TEST_DATABASE_URL")
        return
    cores = os.cpu_count()
    print(f"{args.messages} signed SMS, {args.concurrency} concurrent, PostgreSQL, {cores} cores")
    figures = {}
    for size in (1, 2):
        figures[size] = await one_size(size, args.messages, args.concurrency)
        ingest_rate, delivery_rate = figures[size]
        print(
            f"{size} web + {size} worker: ingest {ingest_rate:7.0f} req/s, "
            f"delivery (intake + CRM) {delivery_rate:6.0f} /s"
        )
    print(
        f"ratio 2/1: ingest {figures[2][0] / figures[1][0]:.2f}, "
        f"delivery {figures[2][1] / figures[1][1]:.2f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
