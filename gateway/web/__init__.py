"""The gateway's own pages and APIs: the resident web form, status and history pages, the Open311
GeoReport v2 server, and the OpenAPI document of the gateway's HTTP API.

``setup(app, runtime)`` adds every route; ``gateway.app.create_app`` calls it once.
"""

from __future__ import annotations

from aiohttp import web

from gateway.runtime import Runtime
from gateway.web.config import web_settings
from gateway.web.open311 import BASE, Open311Api, spec_errors
from gateway.web.open311_post import Open311Post
from gateway.web.openapi import openapi_view

FORMAT = "{format:json|xml}"


def setup(app: web.Application, runtime: Runtime) -> None:
    """Add the form, the resident pages, the Open311 server and /openapi.json to ``app``."""
    settings = web_settings(runtime.settings)
    app.router.add_get("/openapi.json", openapi_view)
    if settings.open311.enabled:
        _open311_routes(app, Open311Api(runtime, settings.open311))
    if settings.form.enabled:
        from gateway.web.pages import setup_pages

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
