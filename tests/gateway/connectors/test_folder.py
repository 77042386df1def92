"""The drop-folder connector writes one JSON file per request, atomically."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
from pathlib import Path

import pytest

from gateway.connectors import load_all
from gateway.connectors.folder import FolderConnector
from gateway.errors import PermanentDeliveryError
from gateway.record_json import request_from_dict
from gateway.records import ServiceRequest


def names(folder: Path) -> list[str]:
    """Every entry of ``folder``, hidden temporary files included."""
    return sorted(p.name for p in folder.iterdir())


async def test_file_appears_with_the_record_and_no_temp_file(
    tmp_path: Path, pothole: ServiceRequest
) -> None:
    connector = FolderConnector({"path": str(tmp_path / "cases")})
    ref = await connector.submit(pothole, "key-1")
    assert ref.case_id == "K7M2QX"
    assert names(tmp_path / "cases") == ["K7M2QX.json"]
    written = json.loads((tmp_path / "cases" / "K7M2QX.json").read_text(encoding="utf-8"))
    assert request_from_dict(written) == pothole
    assert (tmp_path / "cases" / "K7M2QX.json").stat().st_mode & 0o777 == 0o640


async def test_redelivery_overwrites_the_same_file_with_the_same_bytes(
    tmp_path: Path, pothole: ServiceRequest
) -> None:
    connector = FolderConnector({"path": str(tmp_path)})
    await connector.submit(pothole, "key-1")
    first = (tmp_path / "K7M2QX.json").read_bytes()
    await connector.submit(pothole, "key-2")
    assert names(tmp_path) == ["K7M2QX.json"]
    assert (tmp_path / "K7M2QX.json").read_bytes() == first


async def test_default_folder_is_var_cases_under_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pothole: ServiceRequest
) -> None:
    monkeypatch.chdir(tmp_path)
    await FolderConnector({}).submit(pothole, "key")
    assert (tmp_path / "var" / "cases" / "K7M2QX.json").is_file()


async def test_a_reader_never_sees_a_partial_file(tmp_path: Path, pothole: ServiceRequest) -> None:
    connector = FolderConnector({"path": str(tmp_path)})
    target = tmp_path / "K7M2QX.json"
    await connector.submit(pothole, "key")
    stop = threading.Event()
    bad: list[str] = []

    def read_continuously() -> None:
        while not stop.is_set():
            text = target.read_text(encoding="utf-8")
            try:
                json.loads(text)
            except ValueError:
                bad.append(text[-40:])

    reader = threading.Thread(target=read_continuously)
    reader.start()
    try:
        for i in range(30):
            big = dataclasses.replace(pothole, description=f"{i} " + "x" * 400_000)
            await connector.submit(big, "key")
    finally:
        stop.set()
        await asyncio.to_thread(reader.join)
    assert bad == []
    assert names(tmp_path) == ["K7M2QX.json"]


async def test_tracking_number_that_is_not_a_file_name_is_permanent(
    tmp_path: Path, pothole: ServiceRequest
) -> None:
    connector = FolderConnector({"path": str(tmp_path)})
    with pytest.raises(PermanentDeliveryError, match="file name"):
        await connector.submit(dataclasses.replace(pothole, tracking_number="../evil"), "key")
    assert names(tmp_path) == []


async def test_folder_that_cannot_exist_is_permanent(
    tmp_path: Path, pothole: ServiceRequest
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    connector = FolderConnector({"path": str(tmp_path / "a-file" / "cases")})
    with pytest.raises(PermanentDeliveryError, match=r"cannot write K7M2QX\.json"):
        await connector.submit(pothole, "key")


def test_registered_and_validates_its_options() -> None:
    assert load_all()["folder"] is FolderConnector
    assert FolderConnector.validate({}, env={}) == []
    problems = FolderConnector.validate({"path": ""}, env={})
    assert [p.path for p in problems] == ["connectors.folder.path"]
