"""Drop folder: one JSON file per request, the way many legacy CRMs import.

Each request becomes ``<path>/<tracking_number>.json`` holding ``request_to_dict`` (indented,
sorted keys, UTF-8, mode 0640). The file appears atomically: it is written to a hidden temporary
file in the same folder (``.<tracking_number>.*.tmp``, which importers should skip), flushed and
fsynced, then hard-linked into place, which fails rather than replace a file already there, and
the folder is fsynced so the new name survives a power cut.

A file already under that name is replaced (atomically, by rename) only when it holds this same
request (the gateway id inside it): a re-delivery updates its own file, never adds one. A file of
any other request, or one the gateway did not write, is never touched: the delivery fails
permanently with the reason, so the job is dead-lettered for staff and the request stays in the
database. Where the file system has no hard links, the name is checked just before the rename.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import os
import re
import tempfile
from pathlib import Path

from gateway.connectors import Connector, register
from gateway.errors import PermanentDeliveryError, TransientDeliveryError
from gateway.plugin import Text, table_keys
from gateway.record_json import request_to_dict
from gateway.records import CaseRef, ServiceRequest

log = logging.getLogger(__name__)

DEFAULT_PATH = "var/cases"
FILE_MODE = 0o640
# A tracking number becomes a file name, so it may not carry a path separator or a dot.
_SAFE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Errors that retrying cannot fix without someone changing the folder or its permissions.
_PERMANENT_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR})
# What link() says on a file system without hard links.
_NO_HARD_LINKS = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK})


class FileClash(Exception):
    """The file name is taken by another request's file, or by a file we did not write."""

    def __init__(self, owner: str | None) -> None:
        super().__init__(owner)
        self.owner = owner


@register
class FolderConnector(Connector):
    """Writes each request as a JSON file into a folder."""

    name = "folder"

    known_options = table_keys(path=Text(DEFAULT_PATH, nonempty=True))

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
        filename = f"{name}.json"
        try:
            target = await asyncio.to_thread(
                write_exclusively, self.folder, filename, body, request.id
            )
        except FileClash as clash:
            raise PermanentDeliveryError(
                _clash_reason(self.folder, filename, request, clash)
            ) from clash
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


def write_exclusively(folder: Path, filename: str, body: bytes, request_id: str) -> Path:
    """Write ``folder/filename`` for request ``request_id``: readers see none of it or all of it.

    Raises ``FileClash`` (and leaves the file as it was) when the name holds another file.
    """
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / filename
    tmp = _write_temporary(folder, filename, body)
    try:
        _put_in_place(tmp, target, request_id)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(folder)
    return target


def _write_temporary(folder: Path, filename: str, body: bytes) -> Path:
    """The body in a durable hidden file beside its final name."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{filename}.", suffix=".tmp")
    try:
        # Readable by the importer's group, never by everyone: the file holds residents' contacts.
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def _put_in_place(tmp: Path, target: Path, request_id: str) -> None:
    """Give ``tmp`` the name ``target``: a free name, or the file of this same request."""
    try:
        # link() creates the name only if it is free, so it can replace no file.
        os.link(tmp, target)
        return
    except FileExistsError:
        owner = _owner(target)
        if owner != request_id:
            raise FileClash(owner) from None
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
        # No hard links on this file system: the name is checked just before the rename.
        if target.exists() and (owner := _owner(target)) != request_id:
            raise FileClash(owner) from exc
    os.replace(tmp, target)


def _owner(path: Path) -> str | None:
    """The gateway id of the request in file ``path``; None when it holds no request of ours.

    A file taken away meanwhile (an importer) raises ``FileNotFoundError``: worth a retry.
    """
    try:
        data = json.loads(path.read_bytes())
    except (PermissionError, IsADirectoryError):
        return None
    except ValueError:
        # Not JSON, or not UTF-8 (UnicodeDecodeError is a ValueError).
        return None
    owner = data.get("id") if isinstance(data, dict) else None
    return owner if isinstance(owner, str) else None


def _clash_reason(folder: Path, filename: str, request: ServiceRequest, clash: FileClash) -> str:
    if clash.owner is None:
        held = "a file this gateway did not write"
        fix = "move that file away and replay this job, or file this request by hand"
    else:
        held = f"request {clash.owner}"
        fix = (
            "two requests have one tracking number (a new database without a new "
            "tracking.series?), so file this one by hand"
        )
    return (
        f"folder: {filename} in {folder} already holds {held}, so request {request.id} was not "
        f"written and that file was left untouched: {fix}"
    )


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
