"""``python -m gateway`` (or ``gateway``): run the processes, migrate, check the config, and
inspect the queues. Each group of commands is a module of this package with ``add_commands``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from gateway import log as gateway_log
from gateway.cli import apikeys, normalizer, queues, serve, slack, twilio
from gateway.cli.problems import explain, schema_problem
from gateway.config.checks import find_problems
from gateway.config.settings import Settings, load_settings

Command = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the command; returns the exit code."""
    args = _parser().parse_args(argv)
    gateway_log.configure(args.log_level)
    if getattr(args, "standalone", None):
        return int(args.standalone(args))
    settings, problems = load_settings(args.config)
    if args.command == "check-config" or getattr(args, "strict", False):
        problems += find_problems(settings)
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
    command: Command = args.handler
    return await command(args, settings)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway", description=__doc__)
    parser.add_argument("--config", type=Path, default=None, help="default: config/gateway.toml")
    parser.add_argument("--log-level", default="INFO")
    sub = parser.add_subparsers(dest="command", required=True)
    serve.add_commands(sub)
    sub.add_parser("check-config", help="validate config, catalog and environment")
    queues.add_commands(sub)
    twilio.add_commands(sub)
    slack.add_commands(sub)
    apikeys.add_commands(sub)
    normalizer.add_commands(sub)
    return parser
