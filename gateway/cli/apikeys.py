"""``python -m gateway api-key create|revoke|list``: keys for apps that file through Open311."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from gateway.config.settings import Settings
from gateway.store.database import make_engine
from gateway.web import keys


def add_commands(sub: Any) -> None:
    """Register ``api-key``."""
    parser = sub.add_parser("api-key", help="make and revoke Open311 API keys")
    ksub = parser.add_subparsers(dest="api_key_command", required=True)
    create = ksub.add_parser("create", help="make a key; prints it once, as the last line")
    create.add_argument("name")
    create.set_defaults(handler=cmd_create)
    revoke = ksub.add_parser("revoke", help="revoke a key by name")
    revoke.add_argument("name")
    revoke.set_defaults(handler=cmd_revoke)
    ksub.add_parser("list", help="key names and dates").set_defaults(handler=cmd_list)
    for choice in ksub.choices.values():
        choice.set_defaults(schema="needed")


async def cmd_create(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    try:
        key = await keys.create_key(engine, args.name)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    print(f"api key {args.name!r} created; it is shown only now. The key:")
    print(key)
    return 0


async def cmd_revoke(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    try:
        revoked = await keys.revoke_key(engine, args.name)
    finally:
        await engine.dispose()
    if not revoked:
        print(f"error: no live api key called {args.name!r}", file=sys.stderr)
        return 1
    print(f"api key {args.name!r} revoked")
    return 0


async def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    try:
        rows = await keys.list_keys(engine)
    finally:
        await engine.dispose()
    for row in rows:
        state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "live"
        print(f"{row.name:<24} created {row.created_at:%Y-%m-%d}  {state}")
    return 0
