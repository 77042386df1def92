"""The resident pages: the report form, its live suggestion, and the status page.

Every page works without JavaScript; ``static/form.js`` only adds the live suggestion, the
questions of the chosen service and "use my location". Labels come from ``gateway/web/i18n``;
the word for each status is the one the messages use (``[messages.<language>] status_*``).
A page promises a message only when the notifier that carries it is enabled.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from channels._safe import same_secret
from channels.web_form import WebForm
from gateway.config.web import FormSettings
from gateway.errors import IngestError
from gateway.ingest.http import public_url
from gateway.log import mask_address
from gateway.outbox.replies import reply_notifier
from gateway.records import ServiceRequest, Status
from gateway.runtime import Runtime
from gateway.web import form_input
from gateway.web.guard import CSRF_FIELD, HONEYPOT_FIELD, Csrf, client_address, within_limit
from gateway.web.i18n import Labels, catalogs, pick_language
from gateway.web.submit import FormFiler
from gateway.web.suggest import Suggester
from gateway.web.views import by_tracking_number

HERE = Path(__file__).resolve().parent
STATIC_MAX_AGE = 86_400


@dataclass(frozen=True, slots=True)
class Reach:
    """How a message would reach a resident: its notifier, the masked address, whether it is on."""

    notifier: str
    address: str
    on: bool


class Pages:
    def __init__(self, runtime: Runtime, form: FormSettings) -> None:
        self.runtime = runtime
        self.form = form
        self.csrf = Csrf(form.secret_env)
        self.filer = FormFiler(runtime)
        self.suggester = Suggester(runtime)
        digest = hashlib.sha256()
        for path in sorted((HERE / "static").iterdir()):
            digest.update(path.read_bytes())
        self.asset_version = digest.hexdigest()[:12]

    def language(self, request: web.Request, found: form_input.FormInput | None = None) -> str:
        wanted = found.get("lang") if found else request.query.get("lang", "")
        return pick_language(wanted, self.form.languages)

    def render(
        self, request: web.Request, name: str, lang: str, status: int = 200, **context: Any
    ) -> web.Response:
        """A page with the common context and a (possibly new) CSRF cookie."""
        cookie = self.csrf.cookie_value(request)
        languages = [(code, catalogs()[code]["language_name"]) for code in self.form.languages
                     if code in catalogs()]  # fmt: skip
        response = aiohttp_jinja2.render_template(
            name,
            request,
            {
                "lang": lang,
                "t": Labels(lang),
                "city": self.runtime.settings.city_name,
                "languages": languages,
                "asset_version": self.asset_version,
                "csrf_token": self.csrf.token(cookie),
                "service_name": lambda r: self.service_name(r, lang),
                "status_word": lambda s: self.status_word(s, lang),
                "notifiers_on": self.notifiers_on(),
                **context,
            },
            status=status,
        )
        self.csrf.remember(response, cookie, secure=request.secure)
        response.headers["Cache-Control"] = "no-store"
        return response

    def service_name(self, request: ServiceRequest, lang: str) -> str:
        """The request's service in the page's language, as the catalog names it."""
        service = self.runtime.catalog.get(request.service_code or "")
        return service.name(lang) if service else (request.service_name or "—")

    def status_word(self, status: Status | str, lang: str) -> str:
        """The one word for ``status``, as the messages say it, capitalised for a page."""
        word = self.runtime.settings.message(f"status_{Status(status).value}", lang)
        return word[:1].upper() + word[1:]

    def notifiers_on(self) -> frozenset[str]:
        """The notifiers this gateway sends with: a message for any other waits in the outbox."""
        return frozenset(self.runtime.notifiers())

    def reach(self, address: str) -> Reach | None:
        """How a form reporter at ``address`` (email or E.164 phone) would be told, if at all."""
        notifier = reply_notifier(WebForm.name, address) if address else None
        if notifier is None:
            return None
        return Reach(notifier, mask_address(address), notifier in self.notifiers_on())

    def receipt_mark(self, number: str, via: str = "", to: str = "") -> str:
        """Proof that this process filed ``number`` for a reporter reached ``via`` at ``to``."""
        mark = f"receipt:{number}:{via}:{to}".encode()
        return hmac.new(self.csrf.key, mark, "sha256").hexdigest()[:20]

    def form_page(
        self, request: web.Request, lang: str, found: form_input.FormInput, **extra: Any
    ) -> web.Response:
        services = [_service_view(s, lang) for s in self.runtime.catalog.values()]
        values = dict(found.values)
        values.setdefault("submission", secrets.token_hex(16))
        context = {
            "email_on": "email" in self.notifiers_on(),
            "services": services,
            "values": values,
            "submission": values["submission"],
            "errors": extra.pop("errors", {}),
            "max_chars": self.form.max_description_chars,
            "max_photos": self.form.max_photos,
            "max_photo_mb": self.form.max_photo_bytes // 1_048_576,
            "photo_types": ",".join(self.form.photo_types),
            "suggested": extra.pop("suggested", None),
            **extra,
        }
        status = extra.get("status_code", 200)
        return self.render(request, "form.html", lang, status=status, **context)

    async def show_form(self, request: web.Request) -> web.Response:
        return self.form_page(request, self.language(request), form_input.FormInput())

    async def submit(self, request: web.Request) -> web.Response:
        try:
            found = await form_input.read_form(request, self.form)
        except form_input.TooLarge as exc:
            raise web.HTTPRequestEntityTooLarge(
                max_size=self.form.max_photo_bytes, actual_size=request.content_length or 0
            ) from exc
        lang = self.language(request, found)
        t = Labels(lang)
        if not self.csrf.valid(request, found.get(CSRF_FIELD)):
            return self._refuse(request, lang, found, 403, {"form": t("error_csrf")})
        if found.get(HONEYPOT_FIELD) or not form_input.valid_submission(found.get("submission")):
            return self._refuse(request, lang, found, 400, {"form": t("error_spam")})
        if found.get("action") == "suggest":
            return await self._suggest_without_js(request, lang, found)
        errors = form_input.check(found, self.runtime.catalog, self.form, t)
        if errors:
            status = 413 if found.photo_error == "size" else 400
            return self._refuse(request, lang, found, status, errors)
        address = client_address(request, self.runtime.settings.server)
        limit, window = self.form.submissions_per_window, self.form.rate_window_seconds
        if not await within_limit(self.runtime.engine, "form", address, limit, window):
            return self._refuse(request, lang, found, 429, {"form": t("error_rate")})
        return await self._file(request, lang, found)

    async def _file(
        self, request: web.Request, lang: str, found: form_input.FormInput
    ) -> web.Response:
        url = public_url(request, self.runtime.settings.server)
        try:
            receipt = await self.filer.file(found, lang, url)
        except IngestError as exc:
            t = Labels(lang)
            return self._refuse(request, lang, found, exc.status, {"form": t("error_storage")})
        number = receipt.tracking_number
        document = self.filer.document(found, lang, [])
        reach = self.reach(document["email"] or document["phone"])
        if document["email"] and not receipt.duplicate:
            base = str(request.url.with_path("/").with_query(None)).rstrip("/")
            link = f"{self.runtime.settings.server.public_url or base}/requests/{number}"
            on = reach is not None and reach.on
            await self.filer.confirm(document["email"], number, lang, link, notifier_on=on)
        query = {"lang": lang, "receipt": self.receipt_mark(number)}
        if reach is not None:
            # The page names the masked address; the mark keeps anyone from making it name another.
            mark = self.receipt_mark(number, reach.notifier, reach.address)
            query |= {"via": reach.notifier, "to": reach.address, "receipt": mark}
        raise web.HTTPSeeOther(
            request.app.router["status"].url_for(number=number).with_query(query)
        )

    def _refuse(
        self,
        request: web.Request,
        lang: str,
        found: form_input.FormInput,
        status: int,
        errors: dict[str, str],
    ) -> web.Response:
        return self.form_page(
            request, lang, found, errors=errors, status_code=status,
            photos_again=bool(found.photos or found.photo_error),
        )  # fmt: skip

    async def _suggest_without_js(
        self, request: web.Request, lang: str, found: form_input.FormInput
    ) -> web.Response:
        best = await self.suggester.suggest(found.get("description"), lang)
        if best and not found.get("service_code"):
            found.values["service_code"] = best[0][0]
        return self.form_page(request, lang, found, suggested=best[0][1] if best else None)

    async def suggest(self, request: web.Request) -> web.Response:
        lang = self.language(request)
        best = await self.suggester.suggest(request.query.get("text", ""), lang)
        return web.json_response(
            {
                "label": Labels(lang)("suggested", service="{service}"),
                "services": [{"code": code, "name": name} for code, name in best],
            }
        )

    async def status(self, request: web.Request) -> web.Response:
        lang = self.language(request)
        number = request.match_info.get("number") or request.query.get("number", "")
        number = number.strip().upper()
        if number and "number" not in request.match_info:
            raise web.HTTPSeeOther(f"/requests/{number}?lang={lang}")
        view = None
        if number:
            async with self.runtime.engine.connect() as conn:
                view = await by_tracking_number(conn, number)
        via, to = request.query.get("via", ""), request.query.get("to", "")
        mark = request.query.get("receipt", "")
        expected = self.receipt_mark(number, via, to)
        fresh = bool(number) and same_secret(mark, expected)
        # Whether the message goes out is read now: the notifier may have been enabled since.
        reach = Reach(via, to, via in self.notifiers_on()) if fresh and via and to else None
        status = 404 if number and view is None and not fresh else 200
        return self.render(
            request, "status.html", lang, status=status,
            number=number, view=view, fresh=fresh, reach=reach,
        )  # fmt: skip


def _service_view(service: Any, lang: str) -> dict[str, Any]:
    def text(texts: dict[str, str]) -> str:
        return texts.get(lang) or texts.get("en") or ""

    attributes = [
        {
            "code": a.code,
            "datatype": a.datatype,
            "required": a.required,
            "description": text(dict(a.descriptions)),
            "hint": "",
            "choices": [{"key": v.key, "name": text(dict(v.names))} for v in a.values],
        }
        for a in sorted(service.attributes, key=lambda a: a.order)
    ]
    return {"code": service.code, "name": service.name(lang), "attributes": attributes}
