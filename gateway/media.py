"""Photos residents sent, kept under their SHA-256 in ``gateway.media_folder`` and served at
``/media/<sha256><extension>`` so that the city's case system and its crews can open them.

The name is the content's own hash: unguessable without the photo, and the same photo is one
file however often it arrives. Only names of that shape are served, from that folder only, with
``nosniff`` and a sandboxing CSP so that an uploaded file can never run as a page. A request
filed while ``server.public_url`` is set carries these links instead of the provider's, which a
case system usually cannot open (Twilio's need the account's credentials).
"""

from __future__ import annotations

import asyncio
import dataclasses
import mimetypes
import re
from pathlib import Path

from aiohttp import web

from gateway.records import Media, ServiceRequest

ROUTE = "/media/{name}"
_NAME = re.compile(r"^[0-9a-f]{64}\.[a-z0-9]{1,5}$")
# Shown in the browser; anything else is offered as a download.
_INLINE = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
# A stored photo never changes under its name.
_MAX_AGE = 365 * 24 * 3600
_EXTENSIONS = {"image/jpeg": ".jpg", "image/heic": ".heic", "image/heif": ".heif"}


def extension_for(content_type: str) -> str:
    """The file extension a stored copy of this type gets (".bin" when unknown)."""
    kind = content_type.split(";")[0].strip().lower()
    return _EXTENSIONS.get(kind) or mimetypes.guess_extension(kind) or ".bin"


def media_link(media: Media, public_url: str) -> str | None:
    """The link to give a case system: ours for a stored copy when the gateway has a public
    address, else the provider's own URL (or nothing)."""
    if public_url and media.sha256 and media.path:
        return public_url + ROUTE.format(name=Path(media.path).name)
    return media.url


def with_media_links(request: ServiceRequest, public_url: str) -> ServiceRequest:
    """The request as filed: every stored photo's URL replaced by its public link."""
    if not public_url or not any(m.sha256 and m.path for m in request.media):
        return request
    media = tuple(dataclasses.replace(m, url=media_link(m, public_url)) for m in request.media)
    return dataclasses.replace(request, media=media)


class MediaFiles:
    """``GET /media/{name}``: a stored photo by its hash name, or 404."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(ROUTE, self.serve)

    async def serve(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        path = self.folder / name
        # The pattern admits no separator or dot-dot; the file must be a plain file here.
        if not _NAME.match(name) or not await asyncio.to_thread(path.is_file):
            raise web.HTTPNotFound(text="no such photo")
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        disposition = "inline" if content_type in _INLINE else "attachment"
        return web.FileResponse(
            path,
            headers={
                "Content-Type": content_type,
                "Content-Disposition": disposition,
                "Cache-Control": f"public, max-age={_MAX_AGE}, immutable",
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'; sandbox",
            },
        )
