"""Run a command that needs the gateway's settings: read and check them, make sure the
database it needs is there and migrated, and turn an operator's mistake into one sentence."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from gateway.cli.commands import resolve
from gateway.cli.problems import explain, schema_problem
from gateway.config.settings import Settings, load_settings
from gateway.errors import ConfigError

Command = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]
Checks = Callable[[Settings], list[ConfigError]]


def run_with_settings(args: argparse.Namespace, checks: Checks | None = None) -> int:
    """Run a parsed command, once its settings read (and pass ``checks``); returns the exit
    code."""
    settings, problems = load_settings(args.config)
    if checks is not None:
        problems += checks(settings)
    if problems:
        for problem in problems:
            print(f"config error: {problem}", file=sys.stderr)
        return 2
    if args.command == "check-config":
        print("configuration is valid")
        return 0
    try:
        return asyncio.run(_run(args, settings))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        sentence = explain(exc, settings)
        if sentence is None:
            raise
        print(f"error: {sentence}", file=sys.stderr)
        return 2


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    """The command, once the database it needs is known to be there and migrated."""
    if getattr(args, "schema", None) == "needed" and (problem := await schema_problem(settings)):
        print(f"error: {problem}", file=sys.stderr)
        return 2
    command: Command = resolve(args.handler)
    return await command(args, settings)
