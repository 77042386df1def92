"""Text folding shared by the matchers: lower case, no accents, word tokens."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import TypeVar, cast

V = TypeVar("V")

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


@lru_cache(maxsize=65536)
def fold_word(word: str) -> str:
    """One word folded: lower case without accents, so "Señal" and "senal" meet."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def fold(text: str) -> str:
    """The whole text folded the same way as ``fold_word``."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokens(text: str) -> list[str]:
    """Folded word tokens; apostrophes stay inside words ("don't")."""
    return _WORD.findall(fold(text).replace("\u2019", "'"))


@lru_cache(maxsize=16)
def text_tokens(text: str) -> tuple[str, ...]:
    """``tokens`` of a whole message, remembered briefly: several steps read the same text."""
    return tuple(tokens(text))


def stem(word: str) -> str:
    """A crude plural strip, enough to let "potholes" meet "pothole" in any Latin script."""
    if len(word) > 4 and word.endswith("es") and word[-3] in "sxz":
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def lookup_all(keys: Sequence[str], cache: Mapping[str, V], compute: Callable[[str], V]) -> list[V]:
    """``cache[key]`` for every key, computing the missing ones (``compute`` may remember them).

    The look-ups run in C; per-message word loops in Python are most of a step's cost."""
    found = list(map(cache.get, keys))
    if None in found:
        return [compute(k) if v is None else v for k, v in zip(keys, found, strict=True)]
    return cast(list[V], found)
