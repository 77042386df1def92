"""The Nominatim geocoder against a loopback server speaking /search?format=jsonv2."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.geocoding import NominatimGeocoder
from normalizer.geo import PlaceQuery

RESULT = {
    "place_id": 1,
    "lat": "41.4832070",
    "lon": "-71.3126740",
    "display_name": "280, Spring Street, Newport, Rhode Island, 02840, United States",
    "importance": 0.6,
    "address": {"postcode": "02840"},
}


@pytest.fixture
async def nominatim() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []

    async def search(request: web.Request) -> web.Response:
        seen.append({**request.query, "ua": request.headers.get("User-Agent")})
        if request.query.get("q", "").startswith("slow"):
            await asyncio.sleep(2)
        if request.query.get("q", "").startswith("broken"):
            return web.Response(status=503)
        if request.query.get("q", "").startswith("nowhere"):
            return web.json_response([])
        return web.json_response([RESULT])

    app = web.Application()
    app.router.add_get("/search", search)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("")), seen
    await server.close()


async def test_address_is_found_with_bounded_jsonv2_query(
    nominatim: tuple[str, list[dict[str, Any]]],
) -> None:
    url, seen = nominatim
    geocoder = NominatimGeocoder(
        url, user_agent="test-agent", countrycodes="us", viewbox="-71.4,41.4,-71.2,41.6"
    )
    try:
        found = await geocoder.geocode(PlaceQuery("Spring St", number=280))
    finally:
        await geocoder.close()
    assert found is not None
    assert (found.lat, found.long, found.zipcode, found.source) == (
        41.483207,
        -71.312674,
        "02840",
        "nominatim",
    )
    assert seen[0]["format"] == "jsonv2" and seen[0]["bounded"] == "1"
    assert seen[0]["q"] == "280 Spring St" and seen[0]["ua"] == "test-agent"
    assert seen[0]["countrycodes"] == "us"


@pytest.mark.parametrize("street", ["nowhere", "broken"])
async def test_no_result_or_server_error_is_none(
    nominatim: tuple[str, list[dict[str, Any]]], street: str
) -> None:
    geocoder = NominatimGeocoder(nominatim[0])
    try:
        assert await geocoder.geocode(PlaceQuery(street)) is None
    finally:
        await geocoder.close()


async def test_timeout_is_none(nominatim: tuple[str, list[dict[str, Any]]]) -> None:
    geocoder = NominatimGeocoder(nominatim[0], timeout_s=0.2)
    try:
        assert await geocoder.geocode(PlaceQuery("slow")) is None
    finally:
        await geocoder.close()
