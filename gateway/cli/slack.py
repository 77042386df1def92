"""``python -m gateway slack-sign``: sign a request body as Slack would, to test a set-up."""

from __future__ import annotations

import argparse
import os
import sys
import time

from slack_sdk.signature import SignatureVerifier


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
