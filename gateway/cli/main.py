"""``python -m gateway`` (or ``gateway``): run the processes, migrate, check the config, and
inspect the queues. Each group of commands is a module of this package with ``add_commands``.
"""

from __future__ import annotations

import argparse

from gateway import log as gateway_log
from gateway.cli.commands import build_parser, resolve


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the command; returns the exit code.

    Only the command that runs is imported (``gateway.cli.commands``): ``--help`` loads nothing
    of the gateway's weight.
    """
    args: argparse.Namespace = build_parser(__doc__).parse_args(argv)
    gateway_log.configure(args.log_level)
    if getattr(args, "standalone", False):
        return int(resolve(args.handler)(args))
    if args.command == "check-config" or getattr(args, "strict", False):
        return int(resolve("gateway.cli.checked:run_checked")(args))
    return int(resolve("gateway.cli.dispatch:run_with_settings")(args))
