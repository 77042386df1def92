"""Logs never carry a resident's full phone number or email, tracebacks included."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest
from sqlalchemy import Column, MetaData, String, Table, insert
from sqlalchemy.exc import IntegrityError

from gateway.log import JsonFormatter, redact
from gateway.store.database import make_engine


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("Key (sender)=(+14015550142) already exists", "4015550142"),
        ("call (401) 555-0199 please", "555-0199"),
        ("from 4015550199", "4015550199"),
        ("to ana.lopez@example.org", "ana.lopez@"),
    ],
)
def test_redact_masks_contacts_in_free_text(text: str, hidden: str) -> None:
    assert hidden not in redact(text)


def test_redact_leaves_line_numbers_times_and_ids_alone() -> None:
    text = 'File "x.py", line 123, at 2026-12-01 21:45:34, request 32c603db24224f55'
    assert redact(text) == text


async def test_a_database_error_carries_no_parameters(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    table = Table("people", MetaData(), Column("phone", String, primary_key=True))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(table.metadata.create_all)
            await conn.execute(insert(table).values(phone="+14015550142"))
        with pytest.raises(IntegrityError) as caught:
            async with engine.begin() as conn:
                await conn.execute(insert(table).values(phone="+14015550142"))
    finally:
        await engine.dispose()
    assert "4015550142" not in str(caught.value)


def test_a_logged_traceback_is_masked() -> None:
    try:
        raise ValueError("cannot reach +14015550142 or ana@example.org")
    except ValueError:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    line = JsonFormatter().format(record)
    assert "4015550142" not in line and "ana@example.org" not in line
    assert "***0142" in json.loads(line)["exc"]
