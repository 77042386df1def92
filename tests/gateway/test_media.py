"""Residents' photos reach the case system as links it can open: GET /media/<sha256>.<ext>."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from gateway.runtime import Runtime
from tests.channels.test_web_form import PNG, multipart, open_form, report
from tests.gateway.web.support import form_overrides
from tests.support import make_settings, merge, serve

PUBLIC = "https://311.example.gov"


def runtime_with(tmp_path: Path, database_url: str, public_url: str) -> Runtime:
    overrides = merge(form_overrides(tmp_path), {"server": {"public_url": public_url}})
    return Runtime(make_settings(tmp_path, database_url, overrides))


async def file_a_report_with_a_photo(runtime: Runtime, tmp_path: Path) -> dict[str, Any]:
    """Post the form with a photo, run the pipeline and the worker, read the filed case."""
    async with serve(runtime) as client:
        _, csrf, submission = await open_form(client)
        fields = report(csrf, submission)
        resp = await client.post("/report", data=multipart(fields, [("p.png", PNG, "image/png")]))
        assert resp.status == 200
        assert await runtime.intake_worker().run_once() == 1
        await runtime.outbox_worker().run_once()
        (case,) = (tmp_path / "cases").glob("*.json")
        return dict(json.loads(case.read_text()))


async def test_a_form_photo_is_filed_as_a_link_that_serves_it(
    tmp_path: Path, database_url: str
) -> None:
    runtime = runtime_with(tmp_path, database_url, PUBLIC)
    case = await file_a_report_with_a_photo(runtime, tmp_path)
    (media,) = case["media"]
    name = f"{hashlib.sha256(PNG).hexdigest()}.png"
    assert media["url"] == f"{PUBLIC}/media/{name}"
    async with serve(runtime_with(tmp_path, database_url, PUBLIC)) as client:
        resp = await client.get(f"/media/{name}")
        assert resp.status == 200
        assert await resp.read() == PNG
        assert resp.headers["Content-Type"] == "image/png"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in resp.headers["Content-Security-Policy"]
        assert "immutable" in resp.headers["Cache-Control"]


async def test_without_a_public_address_no_link_is_made_up(
    tmp_path: Path, database_url: str
) -> None:
    case = await file_a_report_with_a_photo(runtime_with(tmp_path, database_url, ""), tmp_path)
    (media,) = case["media"]
    assert media["url"] is None and media["sha256"] == hashlib.sha256(PNG).hexdigest()


async def test_only_hash_names_in_the_media_folder_are_served(
    tmp_path: Path, database_url: str
) -> None:
    runtime = runtime_with(tmp_path, database_url, PUBLIC)
    secret = tmp_path / "config" / "gateway.toml"
    assert secret.exists()
    (tmp_path / "media").mkdir()
    stray = tmp_path / "media" / "notes.txt"
    stray.write_text("not a photo")
    async with serve(runtime) as client:
        for path in (
            f"/media/{'0' * 64}.png",  # the right shape, no such photo
            "/media/notes.txt",  # a file there, but not a hash name
            "/media/..%2Fconfig%2Fgateway.toml",  # out of the folder
            f"/media/{'A' * 64}.png",  # upper case is not how hashes are written
        ):
            resp = await client.get(path)
            assert resp.status == 404, path
            assert "not a photo" not in await resp.text()
