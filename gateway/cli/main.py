"""``python -m gateway`` (or ``gateway``): run the processes, migrate, check the config, and
inspect the queues. Every command is declared in ``gateway.cli.commands``; its handler is in
the module of its group, loaded only when it runs.
"""

from __future__ import annotations

import argparse

from gateway import log as gateway_log
from gateway.cli.commands import build_parser, resolve

DESCRIPTION = (
    "The 311 intake gateway: run its processes, migrate its database, check its configuration, "
    "inspect and replay its queues."
)


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the command; returns the exit code.

    Only the command that runs is imported (``gateway.cli.commands``): ``--help`` loads nothing
    of the gateway's weight.
    """
    args: argparse.Namespace = build_parser(DESCRIPTION).parse_args(argv)
    gateway_log.configure(args.log_level)
    if getattr(args, "standalone", False):
        return int(resolve(args.handler)(args))
    if args.command == "check-config" or getattr(args, "strict", False):
        return int(resolve("gateway.cli.checked:run_checked")(args))
    return int(resolve("gateway.cli.dispatch:run_with_settings")(args))
