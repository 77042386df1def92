"""A resident's history on every channel, opened by a one-time link (email) or code (SMS).

No account, no password: ``POST /history`` queues the link or code when that contact has
requests (the page says the same either way, so it tells nobody whose contact is known), and
spending it lists every request whose normalized reporter email or E.164 phone matches. While
the notifier that would carry it is off, the page says that no link or code is on its way.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from gateway.log import mask_address
from gateway.outbox.replies import enqueue_notification
from gateway.records import Notification
from gateway.web import access
from gateway.web.guard import CSRF_FIELD, client_address, within_limit
from gateway.web.i18n import Labels, pick_language
from gateway.web.pages import Pages, Reach
from gateway.web.views import by_contact
from normalizer.contact import normalize_email, normalize_phone

log = logging.getLogger(__name__)


class History:
    def __init__(self, pages: Pages) -> None:
        self.pages = pages
        self.runtime = pages.runtime
        self.form = pages.form

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/history", self.ask)
        app.router.add_post("/history", self.send)
        app.router.add_post("/history/code", self.enter_code)
        app.router.add_get("/history/link/{token}", self.confirm_link)
        app.router.add_post("/history/link/{token}", self.use_link)

    def page(
        self, request: web.Request, lang: str, status: int = 200, **context: Any
    ) -> web.Response:
        return self.pages.render(request, "history.html", lang, status=status, **context)

    async def _posted(self, request: web.Request) -> tuple[dict[str, str], str]:
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        lang = pick_language(form.get("lang", ""), self.form.languages)
        if not self.pages.csrf.valid(request, form.get(CSRF_FIELD, "")):
            raise _Refused(
                self.page(request, lang, 403, step="ask", error=Labels(lang)("error_csrf"))
            )
        return form, lang

    async def ask(self, request: web.Request) -> web.Response:
        return self.page(request, self.pages.language(request), step="ask")

    async def send(self, request: web.Request) -> web.Response:
        try:
            form, lang = await self._posted(request)
        except _Refused as refused:
            return refused.response
        t = Labels(lang)
        raw = form.get("contact", "").strip()
        region = self.runtime.normalizer_settings.default_region
        contact = normalize_email(raw) if "@" in raw else normalize_phone(raw, region)
        reach = self.pages.reach(contact) if contact else None
        if contact is None or reach is None:
            return self.page(
                request, lang, 400, step="ask", contact=raw, error=t("history_error_contact")
            )
        address = client_address(request, self.runtime.settings.server)
        allowed = await within_limit(
            self.runtime.engine, "access", address,
            self.form.access_requests_per_window, self.form.rate_window_seconds,
        )  # fmt: skip
        if not allowed:
            return self.page(request, lang, 429, step="ask", contact=raw, error=t("error_rate"))
        ticket = await self._issue(request, contact, lang, reach)
        if "@" in contact:
            return self.page(request, lang, step="sent", message=self._queued(t, "email", reach))
        return self.page(
            request, lang, step="code", contact=contact, ticket=ticket,
            message=self._queued(t, "sms", reach),
        )  # fmt: skip

    def _queued(self, t: Labels, kind: str, reach: Reach) -> str:
        """What the page may say of a queued link or code: on its way only if its notifier is on."""
        if not reach.on:
            return t(f"history_sent_{kind}_off")
        minutes = self.form.access_code_minutes
        return t(f"history_sent_{kind}", address=reach.address, minutes=minutes)

    async def _issue(self, request: web.Request, contact: str, lang: str, reach: Reach) -> str:
        """Queue the link or code when ``contact`` has requests; the ticket for a code."""
        settings, minutes = self.runtime.settings, self.form.access_code_minutes
        async with self.runtime.engine.begin() as conn:
            if not await by_contact(conn, contact, limit=1):
                log.info("history.unknown_contact", extra={"contact": mask_address(contact)})
                return access.issue_code_ticket_only()
            if "@" in contact:
                issued = await access.issue_link(conn, contact, minutes)
                base = settings.server.public_url or str(
                    request.url.with_path("/").with_query(None)
                ).rstrip("/")
                link = f"{base}/history/link/{issued.secret}?lang={lang}"
                body = settings.message(
                    "access_link", lang, city=settings.city_name, link=link, minutes=minutes
                )
                subject = settings.message("access_link_subject", lang, city=settings.city_name)
                note = Notification(reach.notifier, contact, body, "access_code", subject=subject)
            else:
                issued = await access.issue_code(conn, contact, minutes)
                body = settings.message(
                    "access_code",
                    lang,
                    city=settings.city_name,
                    code=issued.secret,
                    minutes=minutes,
                )
                note = Notification(reach.notifier, contact, body, "access_code")
            await enqueue_notification(conn, note, key=f"access-{issued.id}")
        self.runtime.outbox_wake.set()
        # Queued, not sent: the notifier sends it, and only while it is enabled.
        log.info(
            "history.access_queued",
            extra={
                "contact": mask_address(contact),
                "notifier": reach.notifier,
                "notifier_on": reach.on,
            },
        )
        return issued.ticket

    async def enter_code(self, request: web.Request) -> web.Response:
        try:
            form, lang = await self._posted(request)
        except _Refused as refused:
            return refused.response
        contact = form.get("contact", "")
        good = await access.use_code(
            self.runtime.engine, contact, form.get("ticket", ""), form.get("code", ""),
            self.form.access_code_attempts,
        )  # fmt: skip
        if not good:
            return self.page(request, lang, 403, step="ask", error=Labels(lang)("history_bad"))
        return await self._list(request, lang, contact)

    async def confirm_link(self, request: web.Request) -> web.Response:
        # A GET spends nothing: mail scanners that open links must not use them up.
        token = request.match_info["token"]
        return self.page(request, self.pages.language(request), step="link", token=token)

    async def use_link(self, request: web.Request) -> web.Response:
        try:
            _, lang = await self._posted(request)
        except _Refused as refused:
            return refused.response
        contact = await access.use_link(self.runtime.engine, request.match_info["token"])
        if contact is None:
            return self.page(request, lang, 403, step="ask", error=Labels(lang)("history_bad"))
        return await self._list(request, lang, contact)

    async def _list(self, request: web.Request, lang: str, contact: str) -> web.Response:
        async with self.runtime.engine.connect() as conn:
            views = await by_contact(conn, contact)
        log.info("history.shown", extra={"contact": mask_address(contact), "count": len(views)})
        return self.page(request, lang, step="list", views=views)


class _Refused(Exception):
    def __init__(self, response: web.Response) -> None:
        super().__init__("refused")
        self.response = response
