"""Normalizer commands: train and evaluate the category model, build and evaluate the gazetteer.

History CSV columns: ``text,category,address,lat,long`` (others ignored; empty address or
coordinates tolerated). Evaluation uses a stratified 80/20 split with a fixed seed.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gateway.config.catalog import load_catalog
from gateway.config.normalizer import save_model, write_gazetteer
from gateway.records import Service
from normalizer.category_model import Analyzers, predict, train_model
from normalizer.classify import build_classifier, classify, map_labels
from normalizer.gazetteer import Gazetteer, build_gazetteer, gazetteer_to_json
from normalizer.geo import distance_m
from normalizer.location import StreetIndex, find_places

SEED = 42
WITHIN_M = 150.0
DEFAULT_CATALOG = Path("config/services.toml")


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One row of a city's request history."""

    text: str
    category: str
    address: str
    lat: float | None
    long: float | None


def read_history(path: Path) -> list[HistoryRow]:
    """Rows with text and category; coordinates kept when both parse."""
    rows: list[HistoryRow] = []
    with path.open(newline="", encoding="utf-8-sig") as fh:
        for record in csv.DictReader(fh):
            text, category = (record.get("text") or "").strip(), (record.get("category") or "")
            if text and category.strip():
                lat, lon = _float(record.get("lat")), _float(record.get("long"))
                ok = lat is not None and lon is not None
                address = (record.get("address") or "").strip()
                row = HistoryRow(text, category.strip(), address, lat if ok else None,
                                 lon if ok else None)  # fmt: skip
                rows.append(row)
    return rows


def split(rows: Sequence[HistoryRow]) -> tuple[list[HistoryRow], list[HistoryRow]]:
    """The stratified 80/20 split every evaluation uses (singleton categories train only)."""
    # scikit-learn takes seconds to import: the evaluations load it, not the command line.
    from sklearn.model_selection import train_test_split

    counts = Counter(r.category for r in rows)
    single = [r for r in rows if counts[r.category] < 2]
    many = [r for r in rows if counts[r.category] >= 2]
    train, test = train_test_split(
        many, test_size=0.2, random_state=SEED, stratify=[r.category for r in many]
    )
    return [*train, *single], list(test)


def train_classifier(args: argparse.Namespace) -> int:
    """Train on the whole history and save the model file."""
    rows = read_history(args.history)
    catalog = load_catalog(args.catalog)
    started = time.perf_counter()
    model = train_model([r.text for r in rows], [r.category for r in rows], catalog, seed=SEED)
    save_model(model, args.out)
    mapped = map_labels(model.labels, catalog)
    print(f"trained on {len(rows)} rows, {len(model.labels)} categories "
          f"in {time.perf_counter() - started:.1f}s -> {args.out}")  # fmt: skip
    for label in sorted(set(model.labels) - set(mapped)):
        print(f"warning: category {label!r} has no catalog service; add it to a service's aliases")
    return 0


def eval_classifier(args: argparse.Namespace) -> int:
    """Per-category and overall top-1/top-3 on the held-out 20%, keyword-only figure first."""
    catalog = load_catalog(args.catalog)
    train, test = split(read_history(args.history))
    model = train_model([r.text for r in train], [r.category for r in train], catalog, seed=SEED)
    _print_keyword_only(test, catalog)
    analyzers = Analyzers.of(model)
    hits1: Counter[str] = Counter()
    hits3: Counter[str] = Counter()
    for row in test:
        probs = predict(model, row.text, analyzers)
        ranked = [label for _, label in sorted(zip(probs, model.labels, strict=True), reverse=True)]
        hits1[row.category] += ranked[0] == row.category
        hits3[row.category] += row.category in ranked[:3]
    support = Counter(r.category for r in test)
    print(f"{'category':50} {'n':>4} {'top1':>6} {'top3':>6}")
    for category in sorted(support):
        n = support[category]
        print(f"{category[:50]:50} {n:>4} {hits1[category] / n:6.3f} {hits3[category] / n:6.3f}")
    print(f"model: trained on {len(train)} rows, evaluated on {len(test)}")
    print(f"top1: {sum(hits1.values()) / len(test):.3f}")
    print(f"top3: {sum(hits3.values()) / len(test):.3f}")
    return 0


def _print_keyword_only(test: Sequence[HistoryRow], catalog: Sequence[Service]) -> None:
    """Catalog keywords alone, over rows whose category maps to a catalog service."""
    codes = map_labels(sorted({r.category for r in test}), catalog)
    keyword_only = build_classifier(catalog, None, threshold=0.0, keyword_weight=1.0)
    rows = [r for r in test if r.category in codes]
    if not rows:
        print("keyword-only: no category of this history maps to the catalog (aliases)")
        return
    results = [(classify(r.text, keyword_only), codes[r.category]) for r in rows]
    top1 = sum(c.service_code == want for c, want in results) / len(rows)
    top3 = sum(want in [code for code, _ in c.top] for c, want in results) / len(rows)
    print(f"keyword-only ({len(rows)} rows mapped to catalog codes): "
          f"top1 {top1:.3f} top3 {top3:.3f}")  # fmt: skip


def eval_location(args: argparse.Namespace) -> int:
    """Gazetteer from the 80% split; the 20% split's text only, scored against its lat/long."""
    train, test = split(read_history(args.history))
    # The rule of this evaluation: addresses and coordinates only, never the texts' words.
    gazetteer = _gazetteer(train, learn_from_texts=False)
    rows = [r for r in test if r.lat is not None and r.long is not None]
    if not rows:
        print("no held-out row has coordinates", file=sys.stderr)
        return 1
    streets = gazetteer.text_index()
    located = within = reachable = 0
    for row in rows:
        assert row.lat is not None and row.long is not None  # noqa: S101 - filtered above
        reachable += _reachable(row.text, gazetteer, streets, (row.lat, row.long))
        found = asyncio.run(_locate(row.text, gazetteer, streets))
        if found is not None:
            located += 1
            within += distance_m(found[0], found[1], row.lat, row.long) <= WITHIN_M
    print(f"rows with coordinates: {len(rows)}")
    # The ceiling: a perfect guess along the streets the texts name. A target above it needs a
    # richer history (more addresses), not a better reader.
    print(f"reachable_150m: {reachable / len(rows):.3f}")
    print(f"located: {located / len(rows):.3f}")
    print(f"precision_150m: {within / located if located else 0.0:.3f}")
    print(f"within_150m: {within / len(rows):.3f}")
    return 0


def _reachable(
    text: str, gazetteer: Gazetteer, streets: StreetIndex, truth: tuple[float, float]
) -> bool:
    """Whether any place the text names could be placed within WITHIN_M of the truth."""
    gaps = (gazetteer.closest_m(q, *truth) for q in find_places(text, streets, gazetteer.places))
    return any(gap is not None and gap <= WITHIN_M for gap in gaps)


async def _locate(
    text: str, gazetteer: Gazetteer, streets: StreetIndex
) -> tuple[float, float] | None:
    """The pipeline's own place search, on the gazetteer."""
    for query in find_places(text, streets, gazetteer.places)[:3]:
        found = await gazetteer.geocode(query)
        if found is not None and found.lat is not None and found.long is not None:
            return found.lat, found.long
    return None


def build_gazetteer_file(args: argparse.Namespace) -> int:
    """Build the gazetteer from the whole history's addresses and coordinates."""
    gazetteer = _gazetteer(read_history(args.history))
    write_gazetteer(gazetteer_to_json(gazetteer), args.out)
    print(f"gazetteer: {len(gazetteer.points)} streets, {len(gazetteer.crossings)} crossings, "
          f"{len(gazetteer.landmarks)} landmarks -> {args.out}")  # fmt: skip
    return 0


def _gazetteer(rows: Sequence[HistoryRow], *, learn_from_texts: bool = True) -> Gazetteer:
    # Addresses feed the streets; texts, when allowed, feed the learned landmarks.
    placed = [(r, r.lat, r.long) for r in rows if r.lat is not None and r.long is not None]
    texts = [(r.text, lat, lon) for r, lat, lon in placed] if learn_from_texts else []
    return build_gazetteer(((r.address, lat, lon) for r, lat, lon in placed if r.address), texts)


def _float(raw: str | None) -> float | None:
    try:
        return float(raw) if raw not in (None, "") else None
    except ValueError:
        return None
