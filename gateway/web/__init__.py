"""The gateway's own pages and APIs: the web app and its health routes (``app``), the resident
web form, status and history pages, the Open311 GeoReport v2 server (``open311/``), and the
OpenAPI document of the gateway's HTTP API. ``routes.setup`` adds the pages and APIs.
"""
