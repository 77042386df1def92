"""Voice benchmark: whole IVR calls of signed Twilio webhooks against ``python -m gateway web``.

The gateway runs as a subprocess on a fresh SQLite file (WAL, durable commits) with the voice
channel on and the Newport gazetteer, as ``bench/ingest.py`` runs it. First a phase of signed SMS
webhooks at the same concurrency measures the SMS acknowledgement; then ``--calls`` simulated
calls at once, ``--rounds`` times, each a full flow (greeting, language, the problem spoken, the
service confirmed, the place spoken and confirmed, no recording, caller ID, no text copy, the
tracking number, goodbye, the status callback). Every request is signed before timing starts.
Prints p50/p99 of the TwiML answer per step and its ratio to the SMS ack. Target (issue 15):
p99 <= 100 ms per step on SQLite.

    .venv/bin/python bench/voice.py [--calls 50] [--rounds 4]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import sys
import tempfile
import time
import tomllib
import uuid
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import aiohttp
import tomli_w
from twilio.request_validator import RequestValidator

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.ingest import (  # noqa: E402
    FORM,
    TOKEN,
    free_port,
    migrated_gateway,
    running,
    signed_requests,
)
from gateway.cli.normalizer import build_gazetteer_file  # noqa: E402

SHARED = REPO.parent / "shared"
TWILIO = SHARED / "fixtures" / "twilio"
ROUTE = "/webhooks/twilio/voice"
# (step name, fixture, changed fields); the query is the answer the webhook responds to.
STEPS: list[tuple[str, str, dict[str, str]]] = [
    ("greeting", "voice_incoming_call.form", {}),
    ("language", "voice_gather_digits.form", {"Digits": "1"}),
    ("problem", "voice_gather_speech.form", {}),
    ("service", "voice_gather_digits.form", {"Digits": "1"}),
    ("place", "voice_gather_speech.form", {"SpeechResult": "23 Warner Street"}),
    ("place_check", "voice_gather_digits.form", {"Digits": "1"}),
    ("record", "voice_gather_digits.form", {"Digits": "#"}),
    ("contact", "voice_gather_digits.form", {"Digits": "1"}),
    ("text_copy+file", "voice_gather_digits.form", {"Digits": "2"}),
    ("tracking", "voice_gather_digits.form", {"Digits": "2"}),
    ("status", "voice_incoming_call.form", {"CallStatus": "completed"}),
]
Signed = tuple[str, bytes, dict[str, str]]


def signed_call(base: str, sid: str) -> list[Signed]:
    """One call's webhooks, in order, each signed for the URL Twilio would post it to."""
    validator = RequestValidator(TOKEN)
    out = []
    for seq, (name, fixture, changes) in enumerate(STEPS):
        form = dict(parse_qsl((TWILIO / fixture).read_text(), keep_blank_values=True))
        form.update(changes, CallSid=sid)
        query = "?event=status" if name == "status" else (f"?seq={seq}" if seq else "")
        url = f"{base}{ROUTE}{query}"
        headers = {"X-Twilio-Signature": validator.compute_signature(url, form)}
        out.append((url, urlencode(form).encode(), {**headers, "Content-Type": FORM}))
    return out


async def one_call(
    session: aiohttp.ClientSession, call: list[Signed], times: dict[str, list[float]]
) -> int:
    """Post a call's webhooks one after the other; how many failed."""
    failed = 0
    for (name, _, _), (url, body, headers) in zip(STEPS, call, strict=True):
        started = time.perf_counter()
        async with session.post(url, data=body, headers=headers) as resp:
            text = await resp.text()
            ok = resp.status == 200 and text.startswith("<?xml")
        times[name].append(time.perf_counter() - started)
        failed += not ok
    return failed


async def sms_phase(
    session: aiohttp.ClientSession, base: str, clients: int, count: int
) -> list[float]:
    """``clients`` concurrent senders of ``count`` signed SMS each; the ack times."""
    url = base + "/webhooks/twilio/sms"
    pool = signed_requests(url, clients * count)
    times: list[float] = []

    async def sender(mine: list[tuple[bytes, dict[str, str]]]) -> None:
        for body, headers in mine:
            started = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as resp:
                await resp.read()
            times.append(time.perf_counter() - started)

    await asyncio.gather(*(sender(pool[i::clients]) for i in range(clients)))
    return times


def ms(values: list[float], q: float) -> float:
    ordered = sorted(values) or [float("nan")]
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def voice_config(root: Path, gazetteer: Path) -> None:
    path = root / "config" / "gateway.toml"
    data = tomllib.loads(path.read_text())
    data["channels"]["twilio_voice"]["enabled"] = True
    data["normalizer"]["gazetteer"] = str(gazetteer)
    path.write_text(tomli_w.dumps(data))


async def main(opts: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="gateway-voice-bench-") as tmp:
        root = Path(tmp)
        gazetteer = root / "gazetteer.json"
        history = SHARED / "data" / "311_samples" / "newport_ri_seeclickfix.csv"
        namespace = argparse.Namespace(history=history, out=gazetteer, catalog=None)
        with contextlib.redirect_stdout(sys.stderr):
            build_gazetteer_file(namespace)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        gateway = [sys.executable, "-m", "gateway", "--log-level", "WARNING"]
        env = await asyncio.to_thread(migrated_gateway, root / "gw", port, gateway)
        voice_config(root / "gw", gazetteer)
        times: dict[str, list[float]] = {name: [] for name, _, _ in STEPS}
        failed = 0
        connector = aiohttp.TCPConnector(limit=opts.calls)
        async with (
            running([*gateway, "web"], root / "gw", env, base + "/readyz"),
            aiohttp.ClientSession(connector=connector) as session,
        ):
            await sms_phase(session, base, opts.calls, 4)  # warm-up
            sms = await sms_phase(session, base, opts.calls, 20)
            for _ in range(opts.rounds):
                calls = [signed_call(base, "CA" + uuid.uuid4().hex) for _ in range(opts.calls)]
                results = await asyncio.gather(*(one_call(session, c, times) for c in calls))
                failed += sum(results)
        with contextlib.closing(sqlite3.connect(root / "gw" / "gateway.db")) as db:
            filed = db.execute(
                "SELECT count(*) FROM voice_calls WHERE outcome = 'completed'"
            ).fetchone()[0]
    report(times, sms, opts, failed, filed)
    return 1 if failed or filed != opts.calls * opts.rounds else 0


def report(
    times: dict[str, list[float]],
    sms: list[float],
    opts: argparse.Namespace,
    failed: int,
    filed: int,
) -> None:
    calls = opts.calls * opts.rounds
    print(f"{opts.calls} concurrent calls x {opts.rounds} rounds, SQLite WAL synchronous=FULL")
    print(f"SMS ack ({len(sms)} webhooks, {opts.calls} at once): "
          f"p50 {ms(sms, 0.5):.1f} ms, p99 {ms(sms, 0.99):.1f} ms")  # fmt: skip
    print(f"\n{'step':<16} {'n':>5} {'p50 ms':>7} {'p99 ms':>7} {'p50/SMS':>8} {'p99/SMS':>8}")
    worst = 0.0
    for name, values in times.items():
        p50, p99 = ms(values, 0.5), ms(values, 0.99)
        worst = max(worst, p99)
        print(f"{name:<16} {len(values):>5} {p50:>7.1f} {p99:>7.1f} "
              f"{p50 / ms(sms, 0.5):>8.2f} {p99 / ms(sms, 0.99):>8.2f}")  # fmt: skip
    met = "met" if worst <= 100 else "MISSED"
    print(f"\nworst step p99 {worst:.1f} ms (target <= 100 ms: {met})")
    print(f"calls filed {filed} of {calls}; failed answers {failed}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=50, help="simultaneous calls")
    parser.add_argument("--rounds", type=int, default=4, help="rounds of simultaneous calls")
    return parser.parse_args()


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parse_args())))
