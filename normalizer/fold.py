"""Text folding shared by the matchers: lower case, no accents, word tokens."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

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
