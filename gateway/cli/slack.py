"""``python -m gateway slack-sign``: sign a request body as Slack would, to test a set-up."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from slack_sdk.signature import SignatureVerifier


def add_commands(sub: Any) -> None:
    """Register ``slack-sign``."""
    parser = sub.add_parser(
        "slack-sign",
        help="print a timestamp and the X-Slack-Signature for a body "
        "(secret from SLACK_SIGNING_SECRET)",
    )
    parser.add_argument("body", type=Path, help="the exact body bytes, e.g. a shared fixture")
    parser.set_defaults(standalone=sign)


def sign(args: argparse.Namespace) -> int:
    """Print ``<timestamp> <signature>``, the two headers Slack would send with the body now."""
    secret = os.environ.get("SLACK_SIGNING_SECRET")
    if not secret:
        print("SLACK_SIGNING_SECRET is not set", file=sys.stderr)
        return 2
    timestamp = str(int(time.time()))
    body = args.body.read_bytes()
    print(timestamp, SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body))
    return 0
