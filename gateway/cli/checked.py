"""The processes and ``check-config`` run only with the whole configuration checked: every
plugin built once, the catalog and the normalizer's files read (``gateway.config.checks``).
The queue and key commands skip that, and so load none of it."""

from __future__ import annotations

import argparse

from gateway.cli.dispatch import run_with_settings
from gateway.config.checks import find_problems


def run_checked(args: argparse.Namespace) -> int:
    """Run a parsed command after the whole configuration has been checked."""
    return run_with_settings(args, find_problems)
