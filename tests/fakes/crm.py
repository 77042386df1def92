"""A fake city CRM on loopback: GeoReport v2 under ``/open311/v2/`` and a webhook at ``/cases``.

It speaks the GeoReport v2 JSON contract (POST and GET ``requests.json``, GET
``requests/{id}.json``, GET ``tokens/{token}.json``, errors as ``[{"code", "description"}]``),
verifies the gateway's ``X-Gateway-Signature`` on ``/cases``, and honours ``Idempotency-Key``
(the same key gets the first answer again and makes no new case). Tests steer it with
``fail_next``, ``hang_next``, ``serve_next``, ``answer_with_token`` and ``set_status``.

Standalone: ``python -m tests.fakes.crm --port N [--state FILE]`` prints ``ready <url>`` and serves
until killed; ``--state`` rewrites FILE with ``{"cases", "posts"}`` after every change.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import itertools
import json
import os
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from gateway.rounds import first_set
from tests.fakes.georeport import (
    FORM_TYPE,
    Reply,
    case_view,
    error_response,
    form_fields,
    in_window,
    post_errors,
    respond,
    w3c,
)

NOTICE = "The city will review this request within 2 business days."


class FakeCrm:
    """A real aiohttp server standing in for a city's case system."""

    def __init__(self, *, state_file: Path | None = None) -> None:
        self.api_key: str | None = None  # None accepts any key
        self.webhook_secret: str | None = None  # None accepts unsigned posts
        self.jurisdiction_id: str | None = None  # None accepts any jurisdiction
        self.state_file = state_file
        self.cases: dict[str, dict[str, Any]] = {}
        self.posts = 0
        self.tokens: dict[str, str] = {}
        self.seen: list[tuple[str, str]] = []
        self._meta: dict[str, dict[str, Any]] = {}
        self._answers: dict[tuple[str, str], Reply] = {}
        self._failures: list[Reply] = []
        self._hangs: list[float] = []
        self._canned: list[tuple[str, Reply]] = []
        self._token_mode = False
        self._serial = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()
        # Set (and replaced) by abandon_held: the POSTs held until then end without a case.
        self._abandon = asyncio.Event()
        self.base_url = ""

    @property
    def open311_endpoint(self) -> str:
        return f"{self.base_url}/open311/v2/"

    @property
    def webhook_url(self) -> str:
        return f"{self.base_url}/cases"

    async def start(self, port: int = 0) -> str:
        """Listen on 127.0.0.1 (``port`` 0 picks a free one); the base URL."""
        app = web.Application()
        app.router.add_post("/open311/v2/requests.json", self._post_open311)
        app.router.add_get("/open311/v2/requests.json", self._get_requests)
        app.router.add_get("/open311/v2/requests/{id}.json", self._get_one)
        app.router.add_get("/open311/v2/tokens/{token}.json", self._get_token)
        app.router.add_post("/cases", self._post_webhook)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self.base_url

    async def close(self) -> None:
        """Stop serving; a hung answer ends at once with a 503."""
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def fail_next(
        self,
        n: int,
        status: int = 500,
        *,
        retry_after: str | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        """Answer the next ``n`` POSTs with ``status`` and a GeoReport error array."""
        errors = errors or [{"code": status, "description": f"fake CRM failure {status}"}]
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self._failures += [(status, json.dumps(errors).encode(), headers)] * n

    def hang_next(self, n: int, seconds: float) -> None:
        """The next ``n`` POSTs wait ``seconds`` before being handled (the case is still made)."""
        self._hangs += [seconds] * n

    def abandon_held(self) -> None:
        """End every POST now held by ``hang_next`` with a 503 and no case, as a case system
        rolls back the transaction of a client that went away; later POSTs are served at once
        (hangs still queued are dropped)."""
        self._hangs.clear()
        self._abandon.set()
        self._abandon = asyncio.Event()

    def serve_next(
        self, body: bytes, status: int = 200, *, method: str = "POST", content_type: str = ""
    ) -> None:
        """Answer the next ``method`` request with exactly ``body`` (fixture replay)."""
        headers = {"Content-Type": content_type or "application/json; charset=utf-8"}
        self._canned.append((method, (status, body, headers)))

    def answer_with_token(self, on: bool = True) -> None:
        """Answer GeoReport POSTs with a ``token`` (a batch service) instead of an id."""
        self._token_mode = on

    def set_status(self, case_id: str, status: str, note: str | None = None) -> None:
        """Change a case's status and notes, as city staff would; bumps ``updated_datetime``."""
        meta = self._meta[case_id]
        meta.update(status=status, status_notes=note, updated=datetime.now(UTC))
        self._dump()

    async def _intake(self, request: web.Request) -> Reply | None:
        """Count a POST, apply a hang, then a canned answer or a failure, if one is queued."""
        self.posts += 1
        self.seen.append(("POST", request.path_qs))
        self._dump()
        if self._hangs:
            seconds = self._hangs.pop(0)
            if await first_set(self._closing, self._abandon, within=seconds):
                return 503, b"[]", {}
        return self._take_canned("POST") or (self._failures.pop(0) if self._failures else None)

    def _take_canned(self, method: str) -> Reply | None:
        for i, (queued_method, reply) in enumerate(self._canned):
            if queued_method == method:
                del self._canned[i]
                return reply
        return None

    async def _post_open311(self, request: web.Request) -> web.Response:
        body = await request.read()
        early = await self._intake(request)
        if early:
            return respond(early)
        if not request.content_type.startswith("application/x-www-form-urlencoded"):
            return error_response(400, f"Content-Type must be {FORM_TYPE}")
        fields = form_fields(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        failure = post_errors(fields, self.api_key, self.jurisdiction_id)
        if failure:
            return respond(failure)
        return self._create("open311", request, fields, self._open311_answer)

    def _open311_answer(self, case_id: str, fields: dict[str, Any]) -> Reply:
        entry: dict[str, Any] = {"service_notice": NOTICE, "account_id": fields.get("account_id")}
        if self._token_mode:
            token = str(uuid.uuid4())
            self.tokens[token] = case_id
            entry = {"token": token, **entry}
        else:
            entry = {"service_request_id": case_id, **entry}
        return 200, json.dumps([entry]).encode(), {}

    async def _post_webhook(self, request: web.Request) -> web.Response:
        body = await request.read()
        early = await self._intake(request)
        if early:
            return respond(early)
        if self.webhook_secret is not None:
            expected = (
                "sha256=" + hmac.new(self.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
            )
            if not hmac.compare_digest(expected, request.headers.get("X-Gateway-Signature", "")):
                return respond((401, b'{"error": "bad_signature"}', {}))
        if not request.headers.get("X-Gateway-Timestamp", "").isdigit():
            return respond((400, b'{"error": "X-Gateway-Timestamp is missing"}', {}))
        try:
            record = json.loads(body)
        except ValueError:
            return respond((400, b'{"error": "body is not JSON"}', {}))
        return self._create("webhook", request, record, self._webhook_answer)

    def _webhook_answer(self, case_id: str, fields: dict[str, Any]) -> Reply:
        return 201, json.dumps({"case_id": case_id}).encode(), {}

    def _create(
        self,
        kind: str,
        request: web.Request,
        fields: dict[str, Any],
        answer: Callable[[str, dict[str, Any]], Reply],
    ) -> web.Response:
        """Make a case, or give the first answer again for a known ``Idempotency-Key``."""
        key = request.headers.get("Idempotency-Key")
        if key and (kind, key) in self._answers:
            return respond(self._answers[(kind, key)])
        case_id = f"CRM-{next(self._serial):06d}"
        now = datetime.now(UTC)
        self.cases[case_id] = {**fields, "idempotency_key": key}
        self._meta[case_id] = {"status": "open", "status_notes": None, "created": now}
        self._meta[case_id]["updated"] = now
        reply: Reply = answer(case_id, fields)
        if key:
            self._answers[(kind, key)] = reply
        self._dump()
        return respond(reply)

    async def _get_requests(self, request: web.Request) -> web.Response:
        self.seen.append(("GET", request.path_qs))
        canned = self._take_canned("GET")
        if canned:
            return respond(canned)
        query = request.query
        if self.jurisdiction_id and query.get("jurisdiction_id") != self.jurisdiction_id:
            return error_response(
                404, f"jurisdiction_id {query.get('jurisdiction_id')} was not found"
            )
        ids = [i for i in query.get("service_request_id", "").split(",") if i]
        try:
            chosen = ids or [
                cid
                for cid, meta in self._meta.items()
                if in_window(meta["created"], query.get("start_date"), query.get("end_date"))
            ]
        except ValueError as exc:
            return error_response(400, str(exc))
        status = query.get("status")
        views = [self._view(cid) for cid in chosen if cid in self.cases]
        return web.json_response([v for v in views if not status or v["status"] == status])

    async def _get_one(self, request: web.Request) -> web.Response:
        self.seen.append(("GET", request.path_qs))
        case_id = request.match_info["id"]
        if case_id not in self.cases:
            return error_response(404, f"service_request_id {case_id} was not found")
        return web.json_response([self._view(case_id)])

    async def _get_token(self, request: web.Request) -> web.Response:
        self.seen.append(("GET", request.path_qs))
        canned = self._take_canned("GET")
        if canned:
            return respond(canned)
        token = request.match_info["token"]
        if token not in self.tokens:
            return error_response(404, f"token {token} was not found")
        return web.json_response([{"service_request_id": self.tokens[token], "token": token}])

    def _view(self, case_id: str) -> dict[str, Any]:
        meta = self._meta[case_id]
        return case_view(
            case_id, self.cases[case_id], meta["status"], meta["status_notes"],
            w3c(meta["created"]), w3c(meta["updated"]),
        )  # fmt: skip

    def _dump(self) -> None:
        """Rewrite the state file atomically, if there is one."""
        if self.state_file is None:
            return
        tmp = self.state_file.with_name(self.state_file.name + ".tmp")
        tmp.write_text(json.dumps({"cases": self.cases, "posts": self.posts}))
        os.replace(tmp, self.state_file)


async def _serve(args: argparse.Namespace) -> None:
    crm = FakeCrm(state_file=Path(args.state) if args.state else None)
    crm.api_key = args.api_key
    crm.webhook_secret = args.webhook_secret
    crm.answer_with_token(args.token)
    url = await crm.start(args.port)
    sys.stdout.write(f"ready {url}\n")
    sys.stdout.flush()
    try:
        await asyncio.Event().wait()
    finally:
        await crm.close()


def main(argv: list[str] | None = None) -> None:
    """Run the fake CRM as its own process."""
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.crm", description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--state", help="file rewritten with cases and posts after each change")
    parser.add_argument("--api-key", default=os.environ.get("FAKE_CRM_API_KEY"))
    parser.add_argument("--webhook-secret", default=os.environ.get("FAKE_CRM_WEBHOOK_SECRET"))
    parser.add_argument("--token", action="store_true", help="answer POSTs with tokens")
    asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
