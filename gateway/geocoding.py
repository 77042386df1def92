"""Nominatim-compatible HTTP geocoder (``GET /search?format=jsonv2``), the production
implementation of ``normalizer.geo.Geocoder``. See https://nominatim.org/release-docs/latest/api/Search/
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp

from gateway.records import Location
from normalizer.geo import PlaceQuery

log = logging.getLogger(__name__)


class NominatimGeocoder:
    """Search a Nominatim server, bounded to the city's viewbox and country."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 5.0,
        user_agent: str = "intake-gateway-311",
        countrycodes: str = "",
        viewbox: str = "",
        city: str = "",
    ) -> None:
        self.url = url.rstrip("/") + "/search"
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        # Nominatim's usage policy requires an identifying User-Agent.
        self.headers = {"User-Agent": user_agent, "Accept": "application/json"}
        self.countrycodes = countrycodes
        self.viewbox = viewbox
        self.city = city
        self._session: aiohttp.ClientSession | None = None

    async def geocode(self, query: PlaceQuery) -> Location | None:
        """The best match for the query, or None (also on timeouts and server errors)."""
        params = self._params(query)
        try:
            session = self._client()
            async with session.get(self.url, params=params, headers=self.headers) as resp:
                if resp.status != 200:
                    log.warning("geocoder.http_error", extra={"status": resp.status})
                    return None
                results = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("geocoder.failed", extra={"error": type(exc).__name__})
            return None
        return _first_location(results, query)

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    def _params(self, query: PlaceQuery) -> dict[str, str]:
        text = query.describe()
        params = {"q": f"{text}, {self.city}" if self.city else text, "format": "jsonv2"}
        params["limit"] = "1"
        if self.countrycodes:
            params["countrycodes"] = self.countrycodes
        if self.viewbox:
            params["viewbox"] = self.viewbox
            params["bounded"] = "1"
        return params


def _first_location(results: Any, query: PlaceQuery) -> Location | None:
    """The first result as a Location; a street-only query is less sure than an address."""
    if not isinstance(results, list) or not results or not isinstance(results[0], dict):
        return None
    best = results[0]
    try:
        lat, lon = float(best["lat"]), float(best["lon"])
    except (KeyError, TypeError, ValueError):
        return None
    precise = query.number is not None or query.cross_street is not None
    importance = float(best.get("importance") or 0.5)
    return Location(
        lat=lat,
        long=lon,
        address=str(best.get("display_name") or query.describe()),
        zipcode=(best.get("address") or {}).get("postcode"),
        source="nominatim",
        confidence=round(min(1.0, 0.5 + importance / 2) if precise else 0.4, 3),
    )
