"""The catalog read over the phone: keypad pages of services, speech hints, required questions."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from gateway.records import Service, ServiceAttribute
from gateway.voice.prompt import Prompt
from gateway.voice.state import Gathered

# Services per keypad page: 1 to 8, and 9 for the next page.
PAGE = 8
Say = Callable[..., str]


def page_of(catalog: Sequence[Service], g: Gathered) -> list[Service]:
    """The services on the caller's current page."""
    return list(catalog[g.page * PAGE : (g.page + 1) * PAGE])


def pages(catalog: Sequence[Service]) -> int:
    return -(-len(catalog) // PAGE)


def menu(catalog: Sequence[Service], g: Gathered, say: Say) -> tuple[str, ...]:
    """ "For pothole, press 1." for the page, and the way to the next one."""
    items = [
        say("menu_item", g, service=s.name(g.language), digit=i)
        for i, s in enumerate(page_of(catalog, g), start=1)
    ]
    more = (say("menu_more", g),) if len(catalog) > PAGE else ()
    return (*items, *more)


def hints(catalog: Sequence[Service], g: Gathered) -> tuple[str, ...]:
    """Speech recognition hints: the catalog's first keywords in the caller's language."""
    words = [k for s in catalog for k in s.keywords.get(g.language, ())[:4]]
    return tuple(dict.fromkeys(w for w in words if len(w) <= 100))[:100]


def questions(service: Service | None) -> list[ServiceAttribute]:
    """The service's required questions, in the catalog's order."""
    if service is None:
        return []
    return sorted((a for a in service.attributes if a.required), key=lambda a: a.order)


def question_prompt(question: ServiceAttribute, g: Gathered, say: Say) -> Prompt:
    """A required question; a list of values is answered on the keypad."""
    ask = question.descriptions.get(g.language) or question.descriptions.get("en", "")
    choices = tuple(
        say("menu_item", g, service=v.names.get(g.language) or v.key, digit=i)
        for i, v in enumerate(question.values, start=1)
    )
    return Prompt((ask, *choices), "speech dtmf", (), 1 if choices else None)
