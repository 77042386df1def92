"""SMTP benchmark: 100 kB messages over real SMTP, our listener against a null aiosmtpd handler.

Both servers run as subprocesses of this script, started the same way (``asyncio`` server with
aiosmtpd's protocol on loopback): ours stores every message durably in a fresh SQLite file (WAL)
before its 250; the null handler answers 250 at once. The client keeps ``--concurrency``
connections busy for ``--seconds`` each, and counts messages/s and the time from MAIL FROM to
the 250 after DATA. Target (issue 6): ours / null >= 0.5 in messages/s.

    .venv/bin/python bench/smtp.py [--seconds 6] [--concurrency 8] [--size 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiosmtplib

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


async def serve(kind: str, port: int, database: Path) -> None:
    """The server side, in its own process."""
    from aiosmtpd.smtp import SMTP, Envelope, Session

    from gateway.config.settings import PluginSettings, Settings, normalize_database_url
    from gateway.ingest.smtp import start_smtp
    from gateway.runtime import Runtime
    from gateway.store.migrate import upgrade

    if kind == "ours":
        url = normalize_database_url(f"sqlite:///{database}", REPO)
        await upgrade(url)
        options = {"domains": ["localhost"], "max_message_bytes": 2_000_000}
        channels = {"smtp": PluginSettings("smtp", True, options)}
        runtime = Runtime(Settings(base_dir=REPO, database_url=url, channels=channels))
        await start_smtp(runtime, "127.0.0.1", port)
    else:

        class Null:
            async def handle_DATA(self, server: SMTP, session: Session, env: Envelope) -> str:
                return "250 OK"

        def protocol() -> SMTP:
            return SMTP(Null(), hostname="localhost", data_size_limit=2_000_000)

        await asyncio.get_running_loop().create_server(protocol, "127.0.0.1", port)
    await asyncio.Event().wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def message(size: int) -> bytes:
    head = (
        f"From: Dana <dana@example.org>\r\nTo: 311@localhost\r\nSubject: Pothole\r\n"
        f"Message-ID: <{uuid.uuid4().hex}@bench.example>\r\n\r\n"
    ).encode()
    line = b"There is a deep pothole on Elm Street near the corner of 5th Avenue.....\r\n"
    return head + line * (size // len(line))


async def worker(port: int, size: int, until: float, latencies: list[float]) -> None:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=30)
    await client.connect()
    while time.perf_counter() < until:
        body = message(size)
        started = time.perf_counter()
        await client.sendmail("dana@example.org", ["311@localhost"], body)
        latencies.append(time.perf_counter() - started)
    await client.quit()


async def wait_listening(port: int, deadline: float = 30.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        return
    raise RuntimeError(f"nothing listens on {port}")


async def measure(kind: str, args: argparse.Namespace, database: Path) -> tuple[float, float, int]:
    port = free_port()
    command = [
        sys.executable,
        __file__,
        "--serve",
        kind,
        "--port",
        str(port),
        "--db",
        str(database),
    ]
    server = await asyncio.create_subprocess_exec(*command)
    try:
        await wait_listening(port)
        latencies: list[float] = []
        until = time.perf_counter() + args.seconds
        started = time.perf_counter()
        await asyncio.gather(
            *(worker(port, args.size, until, latencies) for _ in range(args.concurrency))
        )
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), 10)
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else float("nan")
    return len(latencies) / elapsed, p99, len(latencies)


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "bench.db"
        null_rate, null_p99, _ = await measure("null", args, database)
        our_rate, our_p99, sent = await measure("ours", args, database)
        with sqlite3.connect(database) as conn:
            stored = conn.execute("SELECT count(*) FROM inbound_messages").fetchone()[0]
    print(
        f"{args.size // 1000} kB messages, {args.concurrency} connections, {args.seconds:g} s each"
    )
    print(f"null aiosmtpd : {null_rate:8.1f} msgs/s   p99 time-to-250 {null_p99 * 1000:7.1f} ms")
    print(f"our listener  : {our_rate:8.1f} msgs/s   p99 time-to-250 {our_p99 * 1000:7.1f} ms")
    print(f"stored rows   : {stored} of {sent} answered 250")
    print(f"ratio ours/null: {our_rate / null_rate:.2f} (target >= 0.5)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--serve", choices=["ours", "null"])
    parser.add_argument("--port", type=int)
    parser.add_argument("--db", type=Path)
    parsed = parser.parse_args()
    if parsed.serve:
        asyncio.run(serve(parsed.serve, parsed.port, parsed.db))
    else:
        asyncio.run(main(parsed))
