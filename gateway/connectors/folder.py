"""Drop folder: one JSON file per request, the way many legacy CRMs import.

Each request becomes ``<path>/<tracking_number>.json`` holding ``request_to_dict`` (indented,
sorted keys, UTF-8, mode 0640). The file appears atomically: it is written to a hidden temporary
file in the same folder (``.<tracking_number>.*.tmp``, which importers should skip), flushed and
fsynced, then renamed into place, and the folder is fsynced so the rename survives a power cut.
The same request always lands in the same file, so a re-delivery overwrites it, never adds one.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gateway.connectors import Connector, register
from gateway.errors import ConfigError, PermanentDeliveryError, TransientDeliveryError
from gateway.record_json import request_to_dict
from gateway.records import CaseRef, ServiceRequest

log = logging.getLogger(__name__)

DEFAULT_PATH = "var/cases"
FILE_MODE = 0o640
# A tracking number becomes a file name, so it may not carry a path separator or a dot.
_SAFE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Errors that retrying cannot fix without someone changing the folder or its permissions.
_PERMANENT_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR})


@register
class FolderConnector(Connector):
    """Writes each request as a JSON file into a folder."""

    name = "folder"

    @classmethod
    def validate(
        cls, options: Mapping[str, Any], env: Mapping[str, str] | None = None
    ) -> list[ConfigError]:
        """The base checks plus a non-empty string ``path``."""
        problems = super().validate(options, env)
        path = f"{cls.section}.{cls.name}"
        folder = options.get("path", DEFAULT_PATH)
        if not isinstance(folder, str) or not folder.strip():
            problems.append(ConfigError(f"{path}.path", "must be a folder path"))
        return problems

    @property
    def folder(self) -> Path:
        """Where the files go; relative paths are taken from the current directory."""
        return Path(str(self.options.get("path", DEFAULT_PATH)))

    async def submit(self, request: ServiceRequest, idempotency_key: str) -> CaseRef:
        """Write the request's file; its tracking number is the case id."""
        name = request.tracking_number
        if not _SAFE_NAME.fullmatch(name):
            raise PermanentDeliveryError(f"folder: {name!r} cannot be used as a file name")
        body = render(request)
        try:
            target = await asyncio.to_thread(write_atomically, self.folder, f"{name}.json", body)
        except OSError as exc:
            reason = f"folder: cannot write {name}.json in {self.folder}: {exc.strerror or exc}"
            if exc.errno in _PERMANENT_ERRNOS:
                raise PermanentDeliveryError(reason) from exc
            raise TransientDeliveryError(reason) from exc
        log.info(
            "connector.submitted",
            extra={"connector": self.name, "tracking_number": name, "file": str(target)},
        )
        return CaseRef(case_id=name)


def render(request: ServiceRequest) -> bytes:
    """The file's bytes: the same request always gives the same bytes."""
    text = json.dumps(request_to_dict(request), ensure_ascii=False, indent=2, sort_keys=True)
    return (text + "\n").encode("utf-8")


def write_atomically(folder: Path, filename: str, body: bytes) -> Path:
    """Write ``folder/filename`` so that readers see the old file or all of the new one."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / filename
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{filename}.", suffix=".tmp")
    try:
        # Readable by the importer's group, never by everyone: the file holds residents' contacts.
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(folder)
    return target


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
