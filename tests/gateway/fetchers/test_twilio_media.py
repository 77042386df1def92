"""The twilio_media fetcher against the loopback Twilio fake and a second loopback CDN host."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.errors import PermanentDeliveryError, TransientDeliveryError
from gateway.fetchers.twilio_media import TwilioMedia
from tests.fakes.twilio_api import FakeTwilioApi
from tests.gateway.fetchers.conftest import API_HOST, CDN_HOST, MESSAGE, MediaCdn, Seen

MakeFetcher = Callable[..., TwilioMedia]

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 16
PNG = b"\x89PNG\r\n\x1a\n" + b"pothole " * 512


def stored(folder: Path) -> list[Path]:
    """Every file the fetcher left in ``folder``."""
    return sorted(folder.iterdir()) if folder.exists() else []


async def test_photo_is_stored_under_its_sha256_with_type_and_size(
    twilio: FakeTwilioApi, cdn: MediaCdn, make_fetcher: MakeFetcher, tmp_path: Path
) -> None:
    twilio.media = {"ME1": ("image/jpeg", JPEG)}
    folder = tmp_path / "media"
    fetched = await make_fetcher().fetch(twilio.media_url(MESSAGE, "ME1"), folder)
    digest = hashlib.sha256(JPEG).hexdigest()
    assert fetched.sha256 == digest
    assert fetched.path == str(folder / f"{digest}.jpg")
    assert (fetched.content_type, fetched.size) == ("image/jpeg", len(JPEG))
    assert Path(fetched.path).read_bytes() == JPEG
    assert stored(folder) == [folder / f"{digest}.jpg"]


async def test_the_same_photo_twice_is_one_file(
    twilio: FakeTwilioApi, cdn: MediaCdn, make_fetcher: MakeFetcher, tmp_path: Path
) -> None:
    twilio.media = {"ME1": ("image/png", PNG), "ME2": ("image/png", PNG)}
    fetcher = make_fetcher()
    first = await fetcher.fetch(twilio.media_url(MESSAGE, "ME1"), tmp_path)
    again = await fetcher.fetch(twilio.media_url(MESSAGE, "ME2"), tmp_path)
    assert first == again
    assert stored(tmp_path) == [Path(first.path)]
    assert first.path.endswith(".png")


async def test_a_photo_arriving_in_pieces_is_stored_whole(
    twilio: FakeTwilioApi, cdn: MediaCdn, make_fetcher: MakeFetcher, tmp_path: Path
) -> None:
    twilio.media = {"ME1": ("image/jpeg", JPEG)}
    cdn.pieces = 4
    fetched = await make_fetcher().fetch(twilio.media_url(MESSAGE, "ME1"), tmp_path)
    assert fetched.size == len(JPEG)
    assert fetched.sha256 == hashlib.sha256(JPEG).hexdigest()
    assert Path(fetched.path).read_bytes() == JPEG


async def test_credentials_go_to_twilio_and_never_to_the_cdn(
    twilio: FakeTwilioApi, cdn: MediaCdn, make_fetcher: MakeFetcher, tmp_path: Path
) -> None:
    twilio.media = {"ME1": ("image/jpeg", JPEG)}
    await make_fetcher().fetch(twilio.media_url(MESSAGE, "ME1"), tmp_path)
    # The fake answers a media URL without the account's basic auth with 401, not a redirect.
    media_path = f"/2010-04-01/Accounts/{twilio.account_sid}/Messages/{MESSAGE}/Media/ME1"
    assert twilio.media_requests == [media_path]
    assert cdn.seen == [Seen("/cdn/ME1", None)]


async def test_wrong_credentials_are_permanent_and_reach_no_cdn(
    twilio: FakeTwilioApi,
    cdn: MediaCdn,
    make_fetcher: MakeFetcher,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    twilio.media = {"ME1": ("image/jpeg", JPEG)}
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "not_the_token")
    with pytest.raises(PermanentDeliveryError) as caught:
        await make_fetcher().fetch(twilio.media_url(MESSAGE, "ME1"), tmp_path)
    assert caught.value.status == 401
    assert cdn.seen == []
    assert stored(tmp_path) == []


@pytest.mark.parametrize(
    "disguise",
    [
        lambda url: url.replace(API_HOST, "localhost"),
        lambda url: url.replace(API_HOST, CDN_HOST),
        lambda url: url.replace(f"//{API_HOST}", f"//{API_HOST}@localhost"),
        lambda url: url.replace("http://", "ftp://"),
    ],
    ids=["other_name", "cdn_host_not_listed", "userinfo_trick", "other_scheme"],
)
async def test_url_on_a_host_not_twilios_is_refused_without_a_request(
    twilio: FakeTwilioApi,
    cdn: MediaCdn,
    make_fetcher: MakeFetcher,
    tmp_path: Path,
    disguise: Callable[[str], str],
) -> None:
    twilio.media = {"ME1": ("image/jpeg", JPEG)}
    url = disguise(twilio.media_url(MESSAGE, "ME1"))
    with pytest.raises(PermanentDeliveryError, match="is not one of Twilio's"):
        await make_fetcher(hosts=[API_HOST]).fetch(url, tmp_path)
    assert twilio.media_requests == []
    assert cdn.seen == []


async def test_redirect_to_a_host_not_listed_is_not_followed(
    twilio: FakeTwilioApi, cdn: MediaCdn, make_fetcher: MakeFetcher, tmp_path: Path
) -> None:
    twilio.media = {"ME1": ("image/jpeg", JPEG)}
    with pytest.raises(PermanentDeliveryError, match=f"'{CDN_HOST}' is not one of Twilio's"):
        await make_fetcher(hosts=[API_HOST]).fetch(twilio.media_url(MESSAGE, "ME1"), tmp_path)
    assert len(twilio.media_requests) == 1
    assert cdn.seen == []


@pytest.mark.parametrize("pieces", [1, 4], ids=["declared_length", "chunked"])
async def test_oversize_body_is_permanent_and_stores_nothing(
    twilio: FakeTwilioApi,
    cdn: MediaCdn,
    make_fetcher: MakeFetcher,
    tmp_path: Path,
    pieces: int,
) -> None:
    twilio.media = {"ME1": ("image/png", PNG)}
    cdn.pieces = pieces
    fetcher = make_fetcher(max_bytes=len(PNG) - 1)
    with pytest.raises(PermanentDeliveryError, match=f"larger than {len(PNG) - 1} bytes"):
        await fetcher.fetch(twilio.media_url(MESSAGE, "ME1"), tmp_path)
    assert stored(tmp_path) == []


async def test_a_body_exactly_at_the_cap_is_accepted(
    twilio: FakeTwilioApi, cdn: MediaCdn, make_fetcher: MakeFetcher, tmp_path: Path
) -> None:
    twilio.media = {"ME1": ("image/png", PNG)}
    fetched = await make_fetcher(max_bytes=len(PNG)).fetch(
        twilio.media_url(MESSAGE, "ME1"), tmp_path
    )
    assert fetched.size == len(PNG)


@pytest.mark.parametrize("content_type", ["text/html", "image/svg+xml", "application/pdf"])
async def test_type_not_allowed_is_permanent_and_stores_nothing(
    twilio: FakeTwilioApi,
    cdn: MediaCdn,
    make_fetcher: MakeFetcher,
    tmp_path: Path,
    content_type: str,
) -> None:
    twilio.media = {"ME1": (content_type, b"<svg onload=alert(1)>")}
    with pytest.raises(
        PermanentDeliveryError, match=re.escape(f"type {content_type} is not accepted")
    ):
        await make_fetcher().fetch(twilio.media_url(MESSAGE, "ME1"), tmp_path)
    assert stored(tmp_path) == []


async def test_the_allowlist_comes_from_the_options(
    twilio: FakeTwilioApi, cdn: MediaCdn, make_fetcher: MakeFetcher, tmp_path: Path
) -> None:
    twilio.media = {"ME1": ("image/jpeg", JPEG)}
    with pytest.raises(PermanentDeliveryError, match="image/jpeg is not accepted"):
        await make_fetcher(content_types=["image/png"]).fetch(
            twilio.media_url(MESSAGE, "ME1"), tmp_path
        )


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_cdn_5xx_is_transient(
    twilio: FakeTwilioApi,
    cdn: MediaCdn,
    make_fetcher: MakeFetcher,
    tmp_path: Path,
    status: int,
) -> None:
    twilio.media = {"ME1": ("image/jpeg", JPEG)}
    cdn.status = status
    with pytest.raises(TransientDeliveryError) as caught:
        await make_fetcher().fetch(twilio.media_url(MESSAGE, "ME1"), tmp_path)
    assert caught.value.status == status
    assert stored(tmp_path) == []


@pytest.mark.parametrize(
    "status",
    [
        401,
        403,
        # errors.py and STYLE.md: 400 and 422 are permanent too (they were retried once).
        400,
        422,
    ],
)
async def test_cdn_refusal_is_permanent(
    twilio: FakeTwilioApi,
    cdn: MediaCdn,
    make_fetcher: MakeFetcher,
    tmp_path: Path,
    status: int,
) -> None:
    twilio.media = {"ME1": ("image/jpeg", JPEG)}
    cdn.status = status
    with pytest.raises(PermanentDeliveryError) as caught:
        await make_fetcher().fetch(twilio.media_url(MESSAGE, "ME1"), tmp_path)
    assert caught.value.status == status


async def test_media_twilio_no_longer_has_is_permanent_404(
    twilio: FakeTwilioApi, cdn: MediaCdn, make_fetcher: MakeFetcher, tmp_path: Path
) -> None:
    with pytest.raises(PermanentDeliveryError) as caught:
        await make_fetcher().fetch(twilio.media_url(MESSAGE, "ME404"), tmp_path)
    assert caught.value.status == 404
    assert cdn.seen == []


async def test_a_stalled_cdn_is_transient_after_the_timeout(
    twilio: FakeTwilioApi, cdn: MediaCdn, make_fetcher: MakeFetcher, tmp_path: Path
) -> None:
    twilio.media = {"ME1": ("image/jpeg", JPEG)}
    cdn.stalling = True
    with pytest.raises(TransientDeliveryError, match="media not fetched"):
        await make_fetcher(timeout_seconds=0.3).fetch(twilio.media_url(MESSAGE, "ME1"), tmp_path)
    assert len(cdn.seen) == 1


async def test_twilio_unreachable_is_transient(
    twilio: FakeTwilioApi, make_fetcher: MakeFetcher, tmp_path: Path
) -> None:
    url = twilio.media_url(MESSAGE, "ME1")
    await twilio.close()
    with pytest.raises(TransientDeliveryError, match="media not fetched"):
        await make_fetcher().fetch(url, tmp_path)
