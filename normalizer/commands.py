"""Carrier keywords and 311 commands in a text message: STOP / START / HELP / STATUS.

Carrier opt-out keywords follow the CTIA and Twilio lists (STOP, STOPALL, UNSUBSCRIBE, CANCEL,
END, QUIT; START, YES, UNSTOP; HELP, INFO); the whole message must be the keyword, so "stop the
flooding" is a report, not an opt-out. Spanish residents get the same commands in Spanish.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

STOP = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "PARAR", "ALTO"})
START = frozenset({"START", "YES", "UNSTOP", "INICIO", "COMENZAR"})
HELP = frozenset({"HELP", "INFO", "AYUDA"})
STATUS = frozenset({"STATUS", "ESTADO"})
# A tracking number: 6-8 characters from the unambiguous alphabet (no 0/O, no 1/I).
_TRACKING = re.compile(r"^[2-9A-HJ-NP-Z]{6,8}$")


@dataclass(frozen=True, slots=True)
class Command:
    """``kind`` is "stop", "start", "help" or "status"; ``argument`` a tracking number."""

    kind: str
    argument: str | None = None


def parse_command(text: str) -> Command | None:
    """The command ``text`` is, or None when it is anything else (a report, an answer)."""
    words = _fold(text).split()
    if not words or len(words) > 2:
        return None
    head = words[0]
    if len(words) == 1:
        for kind, keywords in (("stop", STOP), ("start", START), ("help", HELP)):
            if head in keywords:
                return Command(kind)
    if head in STATUS:
        argument = words[1] if len(words) == 2 else None
        if argument is not None and not _TRACKING.match(argument):
            return None
        return Command("status", argument)
    return None


def _fold(text: str) -> str:
    """Upper case without accents or punctuation around the words: "Stop." is STOP."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^\w\s]", " ", plain).upper()
