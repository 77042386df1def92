"""``python -m gateway api-key create|revoke|list``: keys for apps that file through Open311."""

from __future__ import annotations

import argparse
import sys

from gateway.config.settings import Settings
from gateway.store.database import make_engine
from gateway.web import keys


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
