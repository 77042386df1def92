"""Every route of the gateway's own pages and APIs; ``gateway.web.app.create_app`` calls
``setup`` once."""

from __future__ import annotations

from functools import partial
from zoneinfo import ZoneInfo

import aiohttp_jinja2
import jinja2
from aiohttp import web

from gateway.config.web import FormSettings, web_settings
from gateway.runtime import Runtime
from gateway.web.history import History
from gateway.web.i18n import local_time
from gateway.web.open311.api import BASE, Open311Api, spec_errors
from gateway.web.open311.post import Open311Post
from gateway.web.openapi import openapi_view
from gateway.web.pages import HERE, STATIC_MAX_AGE, Pages

FORMAT = "{format:json|xml}"


def setup(app: web.Application, runtime: Runtime) -> None:
    """Add the form, the resident pages, the Open311 server and /openapi.json to ``app``."""
    settings = web_settings(runtime.settings)
    app.router.add_get("/openapi.json", openapi_view)
    if settings.open311.enabled:
        _open311_routes(app, Open311Api(runtime, settings.open311))
    if settings.form.enabled:
        setup_pages(app, runtime, settings.form)


def _open311_routes(app: web.Application, api: Open311Api) -> None:
    post = Open311Post(api)
    add = app.router.add_route
    add("GET", f"/open311/discovery.{FORMAT}", spec_errors(api.discovery))
    add("GET", f"{BASE}/services.{FORMAT}", spec_errors(api.services))
    add("GET", f"{BASE}/services/{{code}}.{FORMAT}", spec_errors(api.service_definition))
    add("GET", f"{BASE}/requests.{FORMAT}", spec_errors(api.requests))
    add("POST", f"{BASE}/requests.{FORMAT}", spec_errors(post.handle))
    add("GET", f"{BASE}/requests/{{id}}.{FORMAT}", spec_errors(api.one_request))
    add("GET", f"{BASE}/tokens/{{token}}.{FORMAT}", spec_errors(api.token))


def setup_pages(app: web.Application, runtime: Runtime, form: FormSettings) -> None:
    """Templates, static files and the resident routes."""
    env = aiohttp_jinja2.setup(
        app, loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True
    )
    env.filters["local_time"] = partial(local_time, zone=ZoneInfo(runtime.settings.time_zone))
    pages = Pages(runtime, form)
    app.router.add_static("/static/", HERE / "static")
    app.on_response_prepare.append(_static_cache)
    app.router.add_get("/", _home)
    app.router.add_get("/report", pages.show_form)
    app.router.add_post("/report", pages.submit)
    app.router.add_get("/report/suggest", pages.suggest)
    app.router.add_get("/requests", pages.status)
    app.router.add_get("/requests/{number}", pages.status, name="status")
    History(pages).add_routes(app)


async def _static_cache(request: web.Request, response: web.StreamResponse) -> None:
    if request.path.startswith("/static/") and response.status == 200:
        response.headers["Cache-Control"] = f"public, max-age={STATIC_MAX_AGE}"


async def _home(request: web.Request) -> web.Response:
    query = f"?{request.query_string}" if request.query_string else ""
    raise web.HTTPFound(f"/report{query}")
