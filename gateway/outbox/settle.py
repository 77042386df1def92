"""What a finished or dead job leaves on its request's history, per kind of job."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.outbox.jobs import DELIVER, FETCH, Job
from gateway.records import Media, Status
from gateway.store import requests


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a performed job came to: the far side's id, and what else its kind yields."""

    remote_id: str | None
    token: str | None = None
    suppressed: bool = False
    media: Media | None = None


async def record_done(conn: AsyncConnection, job: Job, outcome: Outcome) -> None:
    """A delivery files the case id; a fetch stores the photo; a notification is noted."""
    if job.request_id is None:
        return
    remote_id, token, suppressed = outcome.remote_id, outcome.token, outcome.suppressed
    if job.kind == FETCH and outcome.media is not None:
        await _store_media(conn, job.request_id, int(job.payload["index"]), outcome.media)
        return
    if job.kind == DELIVER:
        await requests.record_case(conn, job.request_id, case_id=remote_id, token=token)
        detail = {
            "connector": job.target,
            "case_id": remote_id,
            "token": token,
            "attempts": job.attempts,
        }
        await requests.add_event(
            conn, job.request_id, "delivered", status=Status.SUBMITTED.value, detail=detail
        )
        return
    kind = "notify_suppressed" if suppressed else "notified"
    detail = {
        "channel": job.target,
        "purpose": job.payload.get("purpose"),
        "provider_id": remote_id,
    }
    await requests.add_event(conn, job.request_id, kind, detail=detail)


async def _store_media(conn: AsyncConnection, request_id: str, index: int, media: Media) -> None:
    request = await requests.get_request(conn, request_id)
    if request is None or index >= len(request.media):
        return
    kept = list(request.media)
    kept[index] = dataclasses.replace(media, url=kept[index].url)
    await requests.update_request(conn, dataclasses.replace(request, media=tuple(kept)))
    detail = {
        "index": index,
        "sha256": media.sha256,
        "size": media.size,
        "content_type": media.content_type,
    }
    await requests.add_event(conn, request_id, "media_stored", detail=detail)


async def record_dead(conn: AsyncConnection, job: Job, reason: str) -> None:
    """A dead delivery fails its request; a dead notification is noted, the request goes on."""
    if job.request_id is None:
        return
    if job.kind == DELIVER:
        await requests.add_event(
            conn,
            job.request_id,
            "delivery_dead",
            status=Status.FAILED.value,
            detail={"connector": job.target, "reason": reason},
        )
        await requests.set_status(conn, job.request_id, Status.FAILED.value)
        return
    kind = "media_failed" if job.kind == FETCH else "notify_failed"
    detail = {"target": job.target, "purpose": job.payload.get("purpose"), "reason": reason}
    await requests.add_event(conn, job.request_id, kind, detail=detail)
