"""Normalizer throughput on one core, and training time on 10,000 resampled history rows.

Prints messages/s for the whole pipeline with a trained model and a gazetteer (also with every
message from a new phone number), a no-op pass over the same messages as a baseline, and their
ratio. Single process; BLAS/OpenMP limited to one thread. Targets: >= 2,000 messages/s,
training on 10,000 rows < 30 s.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# One core: numerical libraries must not spread the work over threads (set before numpy loads).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.cli.normalizer import HistoryRow, read_history  # noqa: E402
from gateway.config.catalog import load_catalog  # noqa: E402
from gateway.config.normalizer import (  # noqa: E402
    load_normalizer,
    save_model,
    write_gazetteer,
)
from gateway.config.normalizer_settings import NormalizerSettings  # noqa: E402
from gateway.records import InboundMessage, Service  # noqa: E402
from normalizer.category_model import TextModel, train_model  # noqa: E402
from normalizer.gazetteer import build_gazetteer, gazetteer_to_json  # noqa: E402
from normalizer.normalize import normalize  # noqa: E402

HISTORY = ROOT.parent / "shared" / "data" / "311_samples" / "newport_ri_seeclickfix.csv"
MESSAGES = 4000
TRAIN_ROWS = 10_000


async def run_pipeline(messages: list[InboundMessage], ctx: object) -> float:
    """Seconds to normalize every message."""
    now = datetime.now(UTC)
    started = time.perf_counter()
    for message in messages:
        await normalize(message, ctx, now=now)  # type: ignore[arg-type]
    return time.perf_counter() - started


async def run_baseline(messages: list[InboundMessage]) -> float:
    """Seconds for a no-op async pass that only touches each message's text."""
    started = time.perf_counter()
    total = 0
    for message in messages:
        total += len(message.text.strip())
        await asyncio.sleep(0)
    return time.perf_counter() - started


def load_context(rows: list[HistoryRow], catalog: tuple[Service, ...], model: TextModel) -> Any:
    """The pipeline's context, loaded the way the gateway loads it, from files."""
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        (base / "config").mkdir()
        (base / "config" / "emergency.toml").write_bytes(
            (ROOT / "config" / "emergency.toml").read_bytes()
        )
        save_model(model, base / "var" / "classifier.joblib")
        located = [
            (r.address, r.lat, r.long) for r in rows if r.lat is not None and r.long is not None
        ]
        gazetteer = build_gazetteer(located)
        write_gazetteer(gazetteer_to_json(gazetteer), base / "var" / "gazetteer.json")
        return load_normalizer(NormalizerSettings(), catalog, base)


def main() -> None:
    """Train, build, load, then time."""
    rng = random.Random(7)
    rows = read_history(HISTORY)
    catalog = load_catalog(ROOT / "config" / "services.toml")
    big = [rng.choice(rows) for _ in range(TRAIN_ROWS)]
    started = time.perf_counter()
    model = train_model([r.text for r in big], [r.category for r in big], catalog)
    train_s = time.perf_counter() - started
    ctx = load_context(rows, catalog, model)
    messages = [
        InboundMessage("twilio_sms", f"SM{i}", "+14015550123", text=rng.choice(rows).text)
        for i in range(MESSAGES)
    ]
    # Every message from a number not seen before: phone parsing is remembered per sender.
    strangers = [
        InboundMessage("twilio_sms", f"SN{i}", f"+1401555{i:04d}", text=m.text)
        for i, m in enumerate(messages)
    ]
    asyncio.run(run_pipeline(messages[:200], ctx))
    pipeline_s = asyncio.run(run_pipeline(messages, ctx))
    strangers_s = asyncio.run(run_pipeline(strangers, ctx))
    baseline_s = asyncio.run(run_baseline(messages))
    print(f"training rows: {TRAIN_ROWS}")
    print(f"training_s: {train_s:.2f}")
    print(f"baseline_msgs_per_s: {MESSAGES / baseline_s:.0f}")
    print(f"pipeline_new_senders_msgs_per_s: {MESSAGES / strangers_s:.0f}")
    print(f"pipeline_msgs_per_s: {MESSAGES / pipeline_s:.0f}")
    print(f"pipeline_vs_baseline: {pipeline_s / baseline_s:.1f}x slower")


if __name__ == "__main__":
    main()
