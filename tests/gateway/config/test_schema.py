"""The one schema of ``config/gateway.toml``: it and the file agree key for key, every table is
strict (a misspelling of any key is refused with the right "did you mean"), and every kind of key
refuses a value of another kind, each problem at its exact key path."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from gateway.config.checks import config_schema
from gateway.config.settings import MESSAGE_KEYS
from gateway.config.toml import EnvVar, Flag, Key, MapOf, Number, Table, Text, Texts, Whole
from tests.gateway.config.support import (
    Entry,
    all_problems,
    at,
    entries,
    misspellings,
    renamed,
    replaced,
    repo_document,
    write_document,
)

DOCUMENT = repo_document()
ENTRIES = list(entries(DOCUMENT))
MISSPELLED = [(e, wrong) for e in ENTRIES for wrong in misspellings(e.parts[-1], e.siblings)]


def declared(table: Table, parts: tuple[str, ...] = ()) -> set[str]:
    """Every key path a schema declares; a ``MapOf``'s own names are the operator's."""
    found = set()
    for name, key in table.keys.items():
        where = (*parts, name)
        found.add(".".join(where))
        if isinstance(key, Table):
            found |= declared(key, where)
    return found


def test_the_schema_and_the_file_have_the_same_keys() -> None:
    in_file = {e.path for e in ENTRIES if not e.path.startswith("messages.")}
    assert sorted(declared(config_schema()) - in_file) == [], "declared but not documented"
    assert sorted(in_file - declared(config_schema())) == [], "documented but not declared"


def test_every_language_documents_every_message() -> None:
    languages = DOCUMENT["messages"]
    assert set(languages) == {"en", "es"}
    for language, templates in languages.items():
        assert sorted(templates) == sorted(MESSAGE_KEYS), language


def test_the_file_passes_its_own_schema() -> None:
    assert config_schema().check(DOCUMENT, "") == []


def test_the_file_is_valid_as_check_config_sees_it(tmp_path: Path) -> None:
    assert all_problems(write_document(tmp_path, DOCUMENT)) == []


@pytest.mark.parametrize(
    ("entry", "wrong"), MISSPELLED, ids=[f"{e.path}->{w}" for e, w in MISSPELLED]
)
def test_a_misspelled_key_is_refused_naming_the_key_it_meant(
    tmp_path: Path, entry: Entry, wrong: str
) -> None:
    path = write_document(tmp_path, renamed(DOCUMENT, entry.parts, wrong))
    where = ".".join((*entry.parts[:-1], wrong))
    (message,) = at(all_problems(path), where)
    assert f"did you mean `{entry.parts[-1]}`?" in message
    assert message.startswith("unknown")


def test_the_misspellings_reach_every_key() -> None:
    reached = {e.path for e, _ in MISSPELLED}
    assert reached == {e.path for e in ENTRIES}


@pytest.mark.parametrize(
    ("parts", "meant"),
    [
        (("sever",), "server"),
        (("outbox", "retyr"), "retry"),
        (("normalizer", "geocodr"), "geocoder"),
        (("channels", "twilio_smss"), "twilio_sms"),
        (("notifiers", "e-mail"), "email"),
    ],
    ids=lambda v: ".".join(v) if isinstance(v, tuple) else v,
)
def test_an_unknown_table_is_refused(tmp_path: Path, parts: tuple[str, ...], meant: str) -> None:
    path = write_document(tmp_path, replaced(DOCUMENT, parts, {"enabled": True}))
    (message,) = at(all_problems(path), ".".join(parts))
    assert f"did you mean `{meant}`?" in message


def test_an_unknown_table_with_no_close_name_lists_the_known_ones(tmp_path: Path) -> None:
    path = write_document(tmp_path, replaced(DOCUMENT, ("xyzzy",), {"sunny": True}))
    (message,) = at(all_problems(path), "xyzzy")
    assert message.startswith("unknown table; known: gateway, server, database")


# A value of another kind for each kind of key, and what the problem says it must be.
WRONG: Mapping[type[Key], tuple[Any, str]] = {
    Flag: ("yes", "must be true or false, not 'yes'"),
    Whole: ("ten", "must be an integer "),
    Number: ("fast", "must be a "),
    Text: (42, "must be a string in quotes, not 42"),
    EnvVar: (["TOKEN"], "must be a string in quotes, not ['TOKEN']"),
    Texts: ("one", "must be a list of strings, not 'one'"),
    Table: (5, "must be a table, not 5"),
    MapOf: ("batch", "must be a table, not 'batch'"),
}
PER_KIND = 6


def sample() -> list[Entry]:
    """Up to ``PER_KIND`` keys of each kind, spread over the whole file."""
    chosen: list[Entry] = []
    for kind in WRONG:
        of_kind = [e for e in ENTRIES if type(e.key) is kind]
        step = max(1, len(of_kind) // PER_KIND)
        chosen += of_kind[::step][:PER_KIND]
    return chosen


SAMPLE = sample()


def test_the_sample_covers_every_kind_of_key() -> None:
    assert {type(e.key) for e in SAMPLE} == set(WRONG)
    assert {type(e.key) for e in ENTRIES} <= set(WRONG)


@pytest.mark.parametrize("entry", SAMPLE, ids=[e.path for e in SAMPLE])
def test_a_value_of_the_wrong_kind_is_refused_at_its_key(tmp_path: Path, entry: Entry) -> None:
    value, expected = WRONG[type(entry.key)]
    path = write_document(tmp_path, replaced(DOCUMENT, entry.parts, value))
    messages = at(all_problems(path), entry.path)
    assert any(m.startswith(expected) for m in messages), messages
