"""Recovery time after SIGKILL: how long after a restart every message acknowledged before the
kill is filed in the CRM, over repeated kill/restart cycles.

Each cycle: ``python -m gateway run`` on a fresh SQLite file takes a stream of signed SMS while
the CRM (the tests' loopback fake) holds the first batch of deliveries; once ``--kill-after``
are acknowledged and a delivery is held, the process is SIGKILLed, the CRM drops what it held
(as a case system rolls back a vanished client's transaction), and the gateway is started
again. The time counted runs from the restarted gateway answering ``/readyz`` to the last of the
acknowledged messages reaching the CRM. Target (issue 13): every cycle within 15 s.

    .venv/bin/python bench/recovery.py [--cycles 20] [--messages 150] [--kill-after 60]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.crm import FakeCrm  # noqa: E402
from tests.support import write_config  # noqa: E402
from tests.system.process import (  # noqa: E402
    WEBHOOK_SECRET,
    Gateway,
    bodies,
    delivery_in_flight,
    free_port,
    marker,
    send_all,
)


def markers(texts: Iterable[str]) -> set[str]:
    """The ``marker-NNNN`` each message carries, read from its texts."""
    return {marker(text) for text in texts}


async def one_cycle(messages: int, kill_after: int) -> tuple[int, float]:
    """One kill and restart; returns how many were acknowledged before the kill and the
    seconds from the restart to the last of them filed."""
    crm = FakeCrm()
    await crm.start()
    crm.webhook_secret = WEBHOOK_SECRET
    crm.hang_next(20, 60)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_config(
            root,
            {
                "outbox": {"poll_interval_seconds": 0.05},
                "connectors": {
                    "folder": {"enabled": False},
                    "webhook": {"enabled": True, "url": crm.webhook_url},
                },
                "smtp": {"enabled": False},
            },
        )
        gateway = Gateway(root, free_port(), root / "gateway.db")
        url = f"http://127.0.0.1:{gateway.port}/webhooks/twilio/sms"
        stream = bodies(messages)
        acked: set[str] = set()
        try:
            await gateway.start()
            enough = asyncio.Event()
            sending = asyncio.create_task(send_all(url, stream, acked, enough, kill_after))
            await enough.wait()
            await delivery_in_flight(crm)
            await gateway.kill()
            crm.abandon_held()
            await sending
            wanted = markers(stream[sid].decode() for sid in acked)
            await gateway.start()
            began = time.perf_counter()
            while not wanted <= markers(c["original_text"] for c in crm.cases.values()):  # noqa: ASYNC110
                await asyncio.sleep(0.02)
            return len(acked), time.perf_counter() - began
        finally:
            await gateway.stop()
            await crm.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--messages", type=int, default=150)
    parser.add_argument("--kill-after", type=int, default=60)
    args = parser.parse_args()
    times = []
    for cycle in range(1, args.cycles + 1):
        acked, seconds = await one_cycle(args.messages, args.kill_after)
        times.append(seconds)
        print(f"cycle {cycle:2d}: {acked} acknowledged, all filed {seconds:.2f} s after restart")
    median, worst = statistics.median(times), max(times)
    print(
        f"recovery over {len(times)} SIGKILL/restart cycles: median {median:.2f} s, "
        f"max {worst:.2f} s (target: every cycle within 15 s)"
    )


if __name__ == "__main__":
    asyncio.run(main())
