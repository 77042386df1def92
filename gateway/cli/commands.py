"""Every command of ``python -m gateway``: its name, arguments, help, and where its code lives.

This module imports nothing heavy, so that ``--help`` and a mistyped command answer at once. Each
command names its handler as ``"module:function"``, imported only when that command runs (like a
console-script entry point): ``run`` loads the web app and the normalizer, ``outbox list`` the
store, ``--help`` neither. A handler is ``async (args, settings) -> int``, or, for a
``standalone`` command that needs no gateway settings, ``(args) -> int``.
``tests/gateway/cli/test_commands.py`` checks that every name resolves.
"""

from __future__ import annotations

import argparse
import importlib
import os
from pathlib import Path
from typing import Any

# Kept equal to gateway.outbox.jobs' names (checked by the test above); importing that module
# would load SQLAlchemy just to print the help.
JOB_STATES = ("pending", "in_flight", "done", "dead")
JOB_KINDS = ("deliver", "notify", "fetch")
DEFAULT_CATALOG = Path("config/services.toml")

SubParsers = Any  # argparse's _SubParsersAction, private in typeshed's name


def build_parser(description: str | None = None) -> argparse.ArgumentParser:
    """The whole command line."""
    parser = argparse.ArgumentParser(prog="gateway", description=description)
    parser.add_argument("--config", type=Path, default=None, help="default: config/gateway.toml")
    parser.add_argument("--log-level", default="INFO")
    sub = parser.add_subparsers(dest="command", required=True)
    _processes(sub)
    sub.add_parser("check-config", help="validate config, catalog and environment")
    _queues(sub)
    _twilio(sub)
    _slack(sub)
    _api_keys(sub)
    _maintenance(sub)
    _normalizer(sub)
    return parser


def _processes(sub: SubParsers) -> None:
    """The gateway's processes (Procfile); all but ``run`` and ``migrate`` need a migrated
    schema."""
    for name, handler, help_text, schema in (
        ("run", "cmd_run", "web + SMTP + worker in one process (migrates first)", "migrates"),
        ("web", "cmd_web", "the HTTP server: webhooks, pages, health, metrics", "needed"),
        ("worker", "cmd_worker", "intake, outbox deliveries and status sync", "needed"),
        ("smtp", "cmd_smtp", "the SMTP listener", "needed"),
        ("migrate", "cmd_migrate", "bring the database schema up to date", "migrates"),
    ):
        parser = sub.add_parser(name, help=help_text)
        parser.set_defaults(handler=f"gateway.cli.serve:{handler}", strict=True, schema=schema)


def _queues(sub: SubParsers) -> None:
    """``outbox`` and ``inbound``; every one of them needs a migrated schema."""
    outbox = sub.add_parser("outbox", help="inspect and replay delivery and notification jobs")
    osub = outbox.add_subparsers(dest="outbox_command", required=True)
    listing = osub.add_parser("list", help="jobs, newest first")
    listing.add_argument("--state", choices=JOB_STATES)
    listing.add_argument("--kind", choices=JOB_KINDS)
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(handler="gateway.cli.queues:cmd_outbox_list")
    show = osub.add_parser("show", help="one job, whole")
    show.add_argument("id", type=int, metavar="ID")
    show.set_defaults(handler="gateway.cli.queues:cmd_outbox_show")
    again = osub.add_parser("retry", help="make jobs due now with a fresh retry horizon")
    again.add_argument("ids", type=int, nargs="+", metavar="ID")
    again.set_defaults(handler="gateway.cli.queues:cmd_outbox_retry")
    dead = osub.add_parser("retry-dead", help="replay every dead job")
    dead.set_defaults(handler="gateway.cli.queues:cmd_outbox_retry_dead")
    stored = sub.add_parser("inbound", help="inspect and reprocess stored raw messages")
    isub = stored.add_subparsers(dest="inbound_command", required=True)
    listing = isub.add_parser("list", help="stored messages, newest first")
    listing.add_argument("--unparsed", action="store_true", help="only those flagged for staff")
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(handler="gateway.cli.queues:cmd_inbound_list")
    show = isub.add_parser("show", help="one stored message (its raw body with --raw)")
    show.add_argument("id", type=int, metavar="ID")
    show.add_argument("--raw", action="store_true", help="also print the raw body as received")
    show.set_defaults(handler="gateway.cli.queues:cmd_inbound_show")
    again = isub.add_parser(
        "reprocess", help="parse unparsed messages again; give failed ones back to the intake"
    )
    target = again.add_mutually_exclusive_group(required=True)
    target.add_argument("id", type=int, nargs="?", metavar="ID")
    target.add_argument("--all-unparsed", action="store_true")
    again.set_defaults(handler="gateway.cli.queues:cmd_inbound_reprocess")
    aside = isub.add_parser("dismiss", help="set a failed or unparsed message aside, with why")
    aside.add_argument("id", type=int, metavar="ID")
    aside.add_argument("--reason", required=True, help="why it needs no more work")
    aside.add_argument("--by", default=os.environ.get("USER") or "staff", help="who dismisses it")
    aside.set_defaults(handler="gateway.cli.queues:cmd_inbound_dismiss")
    for parser in (osub, isub):
        for choice in parser.choices.values():
            choice.set_defaults(schema="needed")


def _twilio(sub: SubParsers) -> None:
    parser = sub.add_parser(
        "twilio-sign",
        help="print the X-Twilio-Signature for a form body (token from TWILIO_AUTH_TOKEN)",
    )
    parser.add_argument("--url", required=True, help="the exact URL the request is posted to")
    parser.add_argument("body", type=Path, help="a urlencoded body, e.g. a shared fixture")
    parser.set_defaults(handler="gateway.cli.twilio:sign", standalone=True)


def _slack(sub: SubParsers) -> None:
    parser = sub.add_parser(
        "slack-sign",
        help="print a timestamp and the X-Slack-Signature for a body "
        "(secret from SLACK_SIGNING_SECRET)",
    )
    parser.add_argument("body", type=Path, help="the exact body bytes, e.g. a shared fixture")
    parser.set_defaults(handler="gateway.cli.slack:sign", standalone=True)


def _api_keys(sub: SubParsers) -> None:
    parser = sub.add_parser("api-key", help="make and revoke Open311 API keys")
    ksub = parser.add_subparsers(dest="api_key_command", required=True)
    create = ksub.add_parser("create", help="make a key; prints it once, as the last line")
    create.add_argument("name")
    create.set_defaults(handler="gateway.cli.apikeys:cmd_create")
    revoke = ksub.add_parser("revoke", help="revoke a key by name")
    revoke.add_argument("name")
    revoke.set_defaults(handler="gateway.cli.apikeys:cmd_revoke")
    listing = ksub.add_parser("list", help="key names and dates")
    listing.set_defaults(handler="gateway.cli.apikeys:cmd_list")
    for choice in ksub.choices.values():
        choice.set_defaults(schema="needed")


def _maintenance(sub: SubParsers) -> None:
    """Retention and backups (README, "Retention and backups")."""
    purge = sub.add_parser(
        "purge", help="drop contact details and raw payloads past [retention] (the worker: daily)"
    )
    purge.add_argument("--dry-run", action="store_true", help="count what would go; change nothing")
    purge.set_defaults(handler="gateway.cli.maintenance:cmd_purge", schema="needed")
    backup = sub.add_parser(
        "backup", help="a consistent copy of the SQLite database, while it runs"
    )
    backup.add_argument("path", type=Path, metavar="PATH", help="the file to write")
    backup.add_argument("--force", action="store_true", help="replace PATH if it exists")
    backup.set_defaults(handler="gateway.cli.maintenance:cmd_backup")


def _normalizer(sub: SubParsers) -> None:
    """The normalizer's model and gazetteer, built from the city's request history; standalone:
    they run without loading the gateway settings."""
    for name, handler, needs_out, help_text in (
        ("train-classifier", "train_classifier", True, "train the category model on a history CSV"),
        ("eval-classifier", "eval_classifier", False, "80/20 evaluation of the category model"),
        ("eval-location", "eval_location", False, "80/20 evaluation of text geocoding"),
        ("build-gazetteer", "build_gazetteer_file", True, "build the offline gazetteer"),
    ):
        cmd = sub.add_parser(name, help=help_text)
        cmd.add_argument("--history", type=Path, required=True, help="CSV text,category,...")
        cmd.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG, help="services TOML")
        if needs_out:
            cmd.add_argument("--out", type=Path, required=True, help="file to write")
        cmd.set_defaults(handler=f"gateway.cli.normalizer:{handler}", standalone=True)


def resolve(entry: str) -> Any:
    """The function a ``"module:function"`` handler names, its module imported now."""
    module, _, name = entry.partition(":")
    return getattr(importlib.import_module(module), name)
