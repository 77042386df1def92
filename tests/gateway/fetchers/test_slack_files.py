"""The slack_files fetcher: files.info first, then the download with the bot token, against the
loopback Web API fake; limits are kept before a byte is downloaded."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.errors import PermanentDeliveryError
from gateway.fetchers.slack_files import SlackFiles
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackApi

URL = "https://files.slack.com/files-pri/T07QK9W3NPT-F07SA1GR4F1/download/img_4411.jpg"
JPEG = b"\xff\xd8\xff\xe0" + b"wall" * 100


@pytest.fixture
async def slack(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeSlackApi]:
    api = FakeSlackApi()
    monkeypatch.setenv("SLACK_API_BASE_URL", await api.start())
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    yield api
    await api.close()


def fetcher(**options: object) -> SlackFiles:
    return SlackFiles({"bot_token_env": "SLACK_BOT_TOKEN", "hosts": ["127.0.0.1"], **options})


async def test_file_is_stored_under_its_hash(slack: FakeSlackApi, tmp_path: Path) -> None:
    slack.files = {"F07SA1GR4F1": ("image/jpeg", JPEG)}
    got = fetcher()
    try:
        fetched = await got.fetch(URL, tmp_path)
    finally:
        await got.close()
    assert fetched.sha256 == hashlib.sha256(JPEG).hexdigest()
    assert Path(fetched.path).read_bytes() == JPEG
    assert len(slack.file_requests) == 1


async def test_too_large_or_wrong_type_is_refused_before_downloading(
    slack: FakeSlackApi, tmp_path: Path
) -> None:
    slack.files = {"F07SA1GR4F1": ("image/jpeg", JPEG)}
    with pytest.raises(PermanentDeliveryError, match="larger"):
        await fetcher(max_bytes=100).fetch(URL, tmp_path)
    slack.files = {"F07SA1GR4F1": ("application/pdf", b"%PDF")}
    with pytest.raises(PermanentDeliveryError, match="not accepted"):
        await fetcher().fetch(URL, tmp_path)
    assert slack.file_requests == []


async def test_a_deleted_file_and_a_foreign_host_are_permanent(
    slack: FakeSlackApi, tmp_path: Path
) -> None:
    with pytest.raises(PermanentDeliveryError, match="file_not_found"):
        await fetcher().fetch(URL, tmp_path)
    with pytest.raises(PermanentDeliveryError, match="not Slack's"):
        await fetcher().fetch("http://169.254.169.254/latest/meta-data", tmp_path)
