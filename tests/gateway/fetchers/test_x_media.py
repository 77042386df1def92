"""The x_media fetcher: public post photos copied with no credentials, from X's hosts only."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from gateway.errors import PermanentDeliveryError
from gateway.fetchers.x_media import XMedia

PHOTO = b"\xff\xd8\xff\xe0" + b"jpeg" * 100


@pytest.fixture
async def image_host() -> AsyncIterator[tuple[str, list[web.Request]]]:
    seen: list[web.Request] = []

    async def photo(request: web.Request) -> web.Response:
        seen.append(request)
        return web.Response(body=PHOTO, content_type="image/jpeg")

    app = web.Application()
    app.router.add_get("/media/{name}", photo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}", seen
    await runner.cleanup()


async def test_a_post_photo_is_stored_under_its_sha256_with_no_credentials(
    tmp_path: Path, image_host: tuple[str, list[web.Request]]
) -> None:
    base, seen = image_host
    fetcher = XMedia({"hosts": ["127.0.0.1"]})
    try:
        fetched = await fetcher.fetch(f"{base}/media/GZp7vQkXwAAr0Fx.jpg", tmp_path)
    finally:
        await fetcher.close()
    assert fetched.sha256 == hashlib.sha256(PHOTO).hexdigest()
    assert Path(fetched.path).read_bytes() == PHOTO
    assert "Authorization" not in seen[0].headers


async def test_only_xs_image_host_is_contacted_by_default(tmp_path: Path) -> None:
    fetcher = XMedia({})
    try:
        with pytest.raises(PermanentDeliveryError, match="is not one of X's"):
            await fetcher.fetch("http://127.0.0.1:9/media/a.jpg", tmp_path)
        # DM photos need the account's login: not fetched, kept as links for staff.
        with pytest.raises(PermanentDeliveryError, match=r"ton\.twitter\.com"):
            await fetcher.fetch("https://ton.twitter.com/1.1/ton/data/dm/1/2/a.jpg", tmp_path)
    finally:
        await fetcher.close()
