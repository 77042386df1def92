"""``POST /webhooks/case-status`` in the order a CRM's retries really arrive: a change older than
the last one (by ``updated_at``) does not reopen a closed request; a newer one does. The request
is filed with the loopback CRM and the resident's messages go out to the loopback Twilio API, as
in ``test_case_status``, whose fixtures these are."""

from __future__ import annotations

from gateway.records import Status
from tests.gateway.web import test_case_status as case_status
from tests.gateway.web.test_case_status import (
    RESIDENT,
    Filed,
    change,
    changes,
    current,
    post,
    settle,
)

# The filed request and its loopback Twilio API, as test_case_status sets them up (the CRM is
# the shared `crm` fixture).
twilio, filed = case_status.twilio, case_status.filed


async def test_a_late_retry_of_an_older_change_does_not_reopen_a_closed_request(
    filed: Filed,
) -> None:
    request = filed.request
    opened = change(request, "in_progress", "Crew 7 assigned", "2025-10-14T15:00:00Z")
    closed = change(request, "closed", "Pothole filled", "2025-10-14T16:00:00Z")
    answers = []
    for payload in (opened, closed, opened):
        resp = await post(filed.client, payload)
        assert resp.status == 200
        answers.append((await resp.json())["changed"])
        await settle(filed.runtime)
    assert answers == [True, True, False]
    assert (await current(filed.runtime, request.id)).status is Status.CLOSED
    assert [e["status"] for e in await changes(filed.runtime, request.id)] == ["open", "closed"]
    assert [b.split(" is now ")[1] for b in filed.twilio.bodies_to(RESIDENT)] == [
        "being worked on. Crew 7 assigned",
        "resolved. Pothole filled",
    ]


async def test_a_newer_change_reopens_a_closed_request(filed: Filed) -> None:
    request = filed.request
    closed = change(request, "closed", "Pothole filled", "2025-10-14T16:00:00Z")
    reopened = change(request, "reopened", "It sank again", "2025-10-15T08:00:00Z")
    for payload in (closed, reopened):
        assert (await post(filed.client, payload)).status == 200
        await settle(filed.runtime)
    assert (await current(filed.runtime, request.id)).status is Status.OPEN
    assert filed.twilio.bodies_to(RESIDENT)[-1].endswith("is now being worked on. It sank again")
