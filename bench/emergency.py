"""Emergency detector cost per message, beside the cost of merely splitting the same text.

Prints microseconds per message for ``detect_emergency`` over the Newport history and over the
emergency test lists (tests/normalizer/emergency_cases/), the baseline ``text.lower().split()``
over the same texts in the same run, and their ratio. The first pass (every word new to the
detector, so typos are looked up) is reported apart; the others are the best of several passes,
since a shared machine adds noise only upward. Word splitting (``fold.tokens``) is shown apart:
triage and the pipeline detect the language first, which splits the same text and caches it.
Single process, one core.
"""

from __future__ import annotations

import csv
import sys
import time
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from normalizer.emergency import compile_phrases, detect_emergency  # noqa: E402
from normalizer.fold import tokens  # noqa: E402

HISTORY = ROOT.parent / "shared" / "data" / "311_samples" / "newport_ri_seeclickfix.csv"
CASES = ROOT / "tests" / "normalizer" / "emergency_cases"
PASSES = 7


def read_lines(path: Path) -> list[str]:
    """A case file's messages: one a line, # comments and blank lines left out."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def best_pass(texts: Sequence[str], work: Callable[[str], object]) -> float:
    """The fastest of several passes over the texts, in microseconds per message."""
    best = float("inf")
    for _ in range(PASSES):
        started = time.perf_counter()
        for text in texts:
            work(text)
        best = min(best, time.perf_counter() - started)
    return best / len(texts) * 1e6


def main() -> None:
    """Compile the config, time a cold pass, then the detector and the baseline per corpus."""
    with (ROOT / "config" / "emergency.toml").open("rb") as fh:
        table = tomllib.load(fh)
    started = time.perf_counter()
    phrases = compile_phrases(table)
    print(f"compile_ms: {(time.perf_counter() - started) * 1e3:.1f}")
    with HISTORY.open(newline="", encoding="utf-8") as fh:
        newport = [row["text"] for row in csv.DictReader(fh)]
    written = [line for path in sorted(CASES.glob("*.txt")) for line in read_lines(path)]
    corpora = {"newport": newport, "case_lists": written, "all": newport + written}
    started = time.perf_counter()
    for text in corpora["all"]:
        detect_emergency(text, phrases)
    cold = (time.perf_counter() - started) / len(corpora["all"]) * 1e6
    print(f"cold_first_pass_us_per_msg: {cold:.2f}")
    for name, texts in corpora.items():
        detector = best_pass(texts, lambda t: detect_emergency(t, phrases))
        # Word splitting alone, uncached: the share of the detector's time that language
        # detection already pays for the same text in triage and in the pipeline.
        splitting = best_pass(texts, tokens)
        baseline = best_pass(texts, lambda t: t.lower().split())
        print(
            f"{name}: messages={len(texts)} detector_us_per_msg={detector:.2f} "
            f"of_which_word_splitting_us={splitting:.2f} "
            f"baseline_lower_split_us_per_msg={baseline:.2f} ratio={detector / baseline:.1f}x"
        )


if __name__ == "__main__":
    main()
