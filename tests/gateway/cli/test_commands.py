"""The command table: every command names a handler that exists, with the shape it is run with,
and the job names it offers are the outbox's own."""

from __future__ import annotations

import argparse
import inspect

import pytest

from gateway.cli.commands import JOB_KINDS, JOB_STATES, build_parser, resolve
from gateway.outbox import jobs


def leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every runnable command line's words, e.g. ``("outbox", "list")``."""
    found: list[tuple[str, ...]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += leaves(child, (*path, name))
    return found or [path]


COMMANDS = leaves(build_parser())


def test_the_table_has_every_group() -> None:
    firsts = {words[0] for words in COMMANDS}
    assert {"run", "worker", "outbox", "inbound", "api-key", "train-classifier"} <= firsts
    assert len(COMMANDS) >= 20


@pytest.mark.parametrize("words", COMMANDS, ids=" ".join)
def test_every_command_resolves_to_a_handler_of_its_kind(words: tuple[str, ...]) -> None:
    parser = build_parser()
    defaults = _defaults(parser, words)
    if words == ("check-config",):
        assert "handler" not in defaults  # answered by the dispatcher itself
        return
    handler = resolve(str(defaults["handler"]))
    standalone = defaults.get("standalone", False)
    assert inspect.iscoroutinefunction(handler) is not standalone, words
    assert len(inspect.signature(handler).parameters) == (1 if standalone else 2), words


def test_the_job_names_offered_are_the_outboxs() -> None:
    assert JOB_STATES == (jobs.PENDING, jobs.IN_FLIGHT, jobs.DONE, jobs.DEAD)
    assert JOB_KINDS == (jobs.DELIVER, jobs.NOTIFY, jobs.FETCH)


def _defaults(parser: argparse.ArgumentParser, words: tuple[str, ...]) -> dict[str, object]:
    """The defaults the leaf command ``words`` sets, found without running it."""
    current = parser
    for word in words:
        (sub,) = (a for a in current._actions if isinstance(a, argparse._SubParsersAction))
        current = sub.choices[word]
    return dict(current._defaults)
