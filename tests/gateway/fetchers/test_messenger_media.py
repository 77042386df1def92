"""The messenger_media fetcher: photos from Meta's CDN only, with no credentials."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.errors import PermanentDeliveryError
from gateway.fetchers.messenger_media import MessengerMedia

IMAGE = Path(__file__).resolve().parents[2] / "fixtures" / "meta" / "messenger_image.json"


async def test_only_metas_cdn_is_contacted(tmp_path: Path) -> None:
    fetcher = MessengerMedia({})
    try:
        with pytest.raises(PermanentDeliveryError, match="is not one of Meta's"):
            await fetcher.fetch("http://127.0.0.1:9/photo.jpg", tmp_path)
        with pytest.raises(PermanentDeliveryError, match="is not one of Meta's"):
            await fetcher.fetch("https://fbcdn.net.example.org/photo.jpg", tmp_path)
    finally:
        await fetcher.close()
    assert fetcher.credentials() is None
    assert fetcher.hosts == ("*.fbcdn.net", "*.fbsbx.com")
    assert "scontent.xx.fbcdn.net" in IMAGE.read_text()
