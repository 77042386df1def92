"""What a finished or dead job leaves on its request's history, per kind of job."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.outbox.jobs import DELIVER, Job
from gateway.records import Status
from gateway.store import requests


async def record_done(
    conn: AsyncConnection,
    job: Job,
    remote_id: str | None,
    token: str | None,
    suppressed: bool,
) -> None:
    """A delivery files the case id on the request; a notification is noted in its history."""
    if job.request_id is None:
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
    detail = {"channel": job.target, "purpose": job.payload.get("purpose"), "reason": reason}
    await requests.add_event(conn, job.request_id, "notify_failed", detail=detail)
