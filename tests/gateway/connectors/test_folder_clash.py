"""The drop folder never replaces a file it did not write for the same request: a name taken by
another request (or by a file of someone else's) is a permanent error, the file left byte for
byte, the job dead-lettered for staff and the request kept; a re-delivery still updates its own."""

from __future__ import annotations

import dataclasses
import errno
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.config.settings import OutboxSettings, RetrySettings
from gateway.connectors.folder import FolderConnector, render
from gateway.errors import PermanentDeliveryError
from gateway.outbox import jobs
from gateway.outbox.worker import OutboxWorker
from gateway.records import ServiceRequest, Status
from gateway.store import requests
from gateway.store.database import make_engine


def other_request(pothole: ServiceRequest) -> ServiceRequest:
    """An earlier resident's report that was given the same tracking number."""
    return dataclasses.replace(
        pothole,
        id="0000EARLIER0RESIDENT00000",
        description="Streetlight out in front of 12 Bellevue Ave",
        service_code="streetlight",
    )


def entries(folder: Path) -> list[str]:
    """Every entry of ``folder``, hidden temporary files included."""
    return sorted(p.name for p in folder.iterdir())


async def test_a_file_of_another_request_is_left_untouched_and_the_error_is_permanent(
    tmp_path: Path, pothole: ServiceRequest
) -> None:
    earlier = render(other_request(pothole))
    (tmp_path / "K7M2QX.json").write_bytes(earlier)
    connector = FolderConnector({"path": str(tmp_path)})
    with pytest.raises(PermanentDeliveryError) as refused:
        await connector.submit(pothole, "key-1")
    assert (tmp_path / "K7M2QX.json").read_bytes() == earlier
    assert entries(tmp_path) == ["K7M2QX.json"]
    reason = refused.value.reason
    assert "K7M2QX.json" in reason
    assert "already holds request 0000EARLIER0RESIDENT00000" in reason
    assert f"so request {pothole.id} was not written and that file was left untouched" in reason
    assert reason.endswith("so file this one by hand")


@pytest.mark.parametrize(
    "content",
    [b"CASE 4411 imported by the CRM\n", b'{"case": 4411}\n', b"\xff\xfe not utf-8", b"[1, 2]"],
    ids=["text", "json-without-id", "binary", "json-list"],
)
async def test_a_file_the_gateway_did_not_write_is_never_replaced(
    tmp_path: Path, pothole: ServiceRequest, content: bytes
) -> None:
    (tmp_path / "K7M2QX.json").write_bytes(content)
    with pytest.raises(PermanentDeliveryError, match="a file this gateway did not write") as no:
        await FolderConnector({"path": str(tmp_path)}).submit(pothole, "key-1")
    assert "move that file away and replay this job" in no.value.reason
    assert (tmp_path / "K7M2QX.json").read_bytes() == content
    assert entries(tmp_path) == ["K7M2QX.json"]


async def test_a_folder_under_the_name_is_a_permanent_clash_too(
    tmp_path: Path, pothole: ServiceRequest
) -> None:
    (tmp_path / "K7M2QX.json").mkdir()
    (tmp_path / "K7M2QX.json" / "inside.txt").write_text("the importer's")
    with pytest.raises(PermanentDeliveryError, match="a file this gateway did not write"):
        await FolderConnector({"path": str(tmp_path)}).submit(pothole, "key-1")
    assert (tmp_path / "K7M2QX.json" / "inside.txt").read_text() == "the importer's"
    assert entries(tmp_path) == ["K7M2QX.json"]


async def test_a_redelivery_of_the_same_request_replaces_its_own_file(
    tmp_path: Path, pothole: ServiceRequest
) -> None:
    connector = FolderConnector({"path": str(tmp_path)})
    await connector.submit(pothole, "key-1")
    updated = dataclasses.replace(pothole, description="Filled, but sinking again")
    ref = await connector.submit(updated, "key-1")
    assert ref.case_id == "K7M2QX"
    assert (tmp_path / "K7M2QX.json").read_bytes() == render(updated)
    assert (tmp_path / "K7M2QX.json").stat().st_mode & 0o777 == 0o640
    assert entries(tmp_path) == ["K7M2QX.json"]


async def test_without_hard_links_the_name_is_still_checked_before_the_rename(
    tmp_path: Path, pothole: ServiceRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_hard_links(src: object, dst: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_hard_links)
    connector = FolderConnector({"path": str(tmp_path / "new")})
    await connector.submit(pothole, "key-1")
    assert (tmp_path / "new" / "K7M2QX.json").read_bytes() == render(pothole)
    await connector.submit(pothole, "key-1")
    earlier = render(other_request(pothole))
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "K7M2QX.json").write_bytes(earlier)
    with pytest.raises(PermanentDeliveryError, match="already holds request 0000EARLIER"):
        await FolderConnector({"path": str(tmp_path / "taken")}).submit(pothole, "key-1")
    assert (tmp_path / "taken" / "K7M2QX.json").read_bytes() == earlier
    assert entries(tmp_path / "taken") == ["K7M2QX.json"]


async def test_through_the_outbox_the_clash_is_a_dead_job_and_the_request_is_kept(
    tmp_path: Path, database_url: str, pothole: ServiceRequest
) -> None:
    folder = tmp_path / "cases"
    folder.mkdir()
    earlier = render(other_request(pothole))
    (folder / "K7M2QX.json").write_bytes(earlier)
    engine = make_engine(database_url)
    connector = FolderConnector({"path": str(folder)})
    try:
        now = datetime.now(UTC)
        async with engine.begin() as conn:
            await requests.insert_request(conn, pothole)
            await jobs.enqueue(conn, [jobs.delivery(pothole.id, "folder")], now=now)
        quick = OutboxSettings(retry=RetrySettings(base_seconds=0.001, max_backoff_seconds=0.01))
        worker = OutboxWorker(engine, {"folder": connector}, quick)
        await worker.run_once()
        (job,) = await jobs.list_jobs(engine)
        async with engine.connect() as conn:
            kept = await requests.get_request(conn, pothole.id)
            history = await requests.events(conn, pothole.id)
    finally:
        await connector.close()
        await engine.dispose()
    assert job.state == jobs.DEAD
    assert job.attempts == 1
    assert job.last_error is not None
    assert "K7M2QX.json" in job.last_error
    assert "already holds request 0000EARLIER0RESIDENT00000" in job.last_error
    assert (folder / "K7M2QX.json").read_bytes() == earlier
    assert entries(folder) == ["K7M2QX.json"]
    assert kept is not None
    assert kept.description == pothole.description
    assert kept.status is Status.FAILED
    assert [e["kind"] for e in history][-1] == "delivery_dead"
