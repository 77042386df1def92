"""SQLite's online backup while another connection writes: the copy is one consistent snapshot
(every transaction in it whole), checked, self-contained, and refused where it cannot be made."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from gateway.store.backup import BackupRefused, backup_sqlite, sqlite_file

# Enough pages that the copy takes a while, so the writer really writes while it runs.
PREFILL_ROWS = 3000
RAW = b"x" * 16_384


def fill(path: Path) -> None:
    """Stored messages enough to make the database tens of megabytes."""
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO inbound_messages (channel, provider_id, received_at, sender, raw_body,"
            " headers, public_url, state) VALUES ('twilio_sms', ?, '2026-01-01 00:00:00', '',"
            " ?, '{}', '', 'processed')",
            [(f"fill-{i}", RAW) for i in range(PREFILL_ROWS)],
        )


class Writer(threading.Thread):
    """Another connection committing two rows per transaction, as fast as it can."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.commits = 0
        self.stop = threading.Event()

    def run(self) -> None:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        try:
            while not self.stop.is_set():
                n = self.commits
                db.execute("BEGIN IMMEDIATE")
                for side in ("a", "b"):
                    db.execute(
                        "INSERT INTO rate_limits (key, window_start, count) "
                        "VALUES (?, '2026-01-01 00:00:00', ?)",
                        (f"{side}-{n}", n),
                    )
                db.execute("COMMIT")
                self.commits += 1
        finally:
            db.close()


@contextmanager
def writing(path: Path) -> Iterator[Writer]:
    writer = Writer(path)
    writer.start()
    while writer.commits < 20:
        time.sleep(0.005)
    try:
        yield writer
    finally:
        writer.stop.set()
        writer.join(10)


def test_a_backup_during_writes_is_one_consistent_snapshot(sqlite_url: str, tmp_path: Path) -> None:
    live = sqlite_file(sqlite_url)
    fill(live)
    target = tmp_path / "backups" / "gateway-copy.db"
    with writing(live) as writer:
        started = writer.commits
        copy = backup_sqlite(live, target)
        finished = writer.commits
    assert finished > started, "the writer did not write during the backup"
    assert copy.path == target and copy.size == target.stat().st_size
    assert copy.messages == PREFILL_ROWS and copy.requests == 0
    with sqlite3.connect(target) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        sides = dict(db.execute("SELECT substr(key, 1, 1), count(*) FROM rate_limits GROUP BY 1"))
    # Every transaction is in the copy whole or not at all, from one moment during the backup.
    assert sides["a"] == sides["b"]
    assert started <= sides["a"] <= finished
    assert not list(tmp_path.joinpath("backups").glob(".*partial*"))
    with sqlite3.connect(live) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_an_existing_target_is_kept_unless_forced(sqlite_url: str, tmp_path: Path) -> None:
    live = sqlite_file(sqlite_url)
    target = tmp_path / "copy.db"
    target.write_bytes(b"an older backup")
    with pytest.raises(BackupRefused, match="exists already"):
        backup_sqlite(live, target)
    assert target.read_bytes() == b"an older backup"
    assert backup_sqlite(live, target, force=True).messages == 0
    with pytest.raises(BackupRefused, match="the database itself"):
        backup_sqlite(live, live, force=True)


def test_only_a_sqlite_file_can_be_backed_up(tmp_path: Path) -> None:
    with pytest.raises(BackupRefused, match="pg_dump"):
        sqlite_file("postgresql+asyncpg://gateway@db.example.org/gateway")
    with pytest.raises(BackupRefused, match="in-memory"):
        sqlite_file("sqlite+aiosqlite:///:memory:")
    missing = make_url(f"sqlite+aiosqlite:///{tmp_path / 'none.db'}").database
    assert missing is not None
    with pytest.raises(BackupRefused, match="no database file"):
        backup_sqlite(Path(missing), tmp_path / "copy.db")
