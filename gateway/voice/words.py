"""The few words a caller answers the flow's questions with, in the languages it speaks."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

_YES = frozenset({"yes", "yeah", "yep", "correct", "right", "sure", "ok", "okay", "si", "claro"})
_YES |= {"correcto", "exacto", "eso"}
_NO = frozenset({"no", "nope", "wrong", "incorrect", "incorrecto", "equivocado"})
_OPERATOR = frozenset(
    {"operator", "agent", "person", "representative", "human", "operadora", "operador"}
) | {"agente", "persona", "representante"}
_REPEAT = frozenset({"repeat", "again", "repetir", "repita", "otra"})
_LANGUAGES = {"en": ("english", "ingles"), "es": ("espanol", "spanish")}


def _words(speech: str) -> set[str]:
    """Lower-cased words without accents ("Sí." -> {"si"})."""
    plain = unicodedata.normalize("NFKD", speech.lower())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return set(re.findall(r"[a-z]+", plain))


def is_yes(speech: str, digits: str) -> bool:
    """Pressed 1 or said yes (and not no)."""
    words = _words(speech)
    return digits == "1" or (bool(words & _YES) and not words & _NO)


def is_no(speech: str, digits: str) -> bool:
    """Pressed 2 or said no."""
    return digits == "2" or bool(_words(speech) & _NO)


def is_operator(speech: str, digits: str) -> bool:
    """Pressed 0 or asked for a person."""
    return digits == "0" or bool(_words(speech) & _OPERATOR)


def is_repeat(speech: str, digits: str) -> bool:
    """Pressed 1 or asked to hear it again."""
    return digits == "1" or bool(_words(speech) & _REPEAT)


def heard_language(speech: str, digits: str, languages: Sequence[str]) -> str | None:
    """The language chosen by its number in ``languages`` or by its name."""
    if digits.isdigit() and 1 <= int(digits) <= len(languages):
        return languages[int(digits) - 1]
    words = _words(speech)
    for language in languages:
        if words & set(_LANGUAGES.get(language, ())):
            return language
    return None
