"""``python -m gateway twilio-sign``: sign a webhook body as Twilio would, to test a set-up."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from twilio.request_validator import RequestValidator


def add_commands(sub: Any) -> None:
    """Register ``twilio-sign``."""
    parser = sub.add_parser(
        "twilio-sign",
        help="print the X-Twilio-Signature for a form body (token from TWILIO_AUTH_TOKEN)",
    )
    parser.add_argument("--url", required=True, help="the exact URL the request is posted to")
    parser.add_argument("body", type=Path, help="a urlencoded body, e.g. a shared fixture")
    parser.set_defaults(standalone=sign)


def sign(args: argparse.Namespace) -> int:
    """Print the signature Twilio would send for ``args.body`` posted to ``args.url``."""
    token = os.environ.get("TWILIO_AUTH_TOKEN")
    if not token:
        print("TWILIO_AUTH_TOKEN is not set", file=sys.stderr)
        return 2
    params = dict(parse_qsl(args.body.read_text().strip(), keep_blank_values=True))
    print(RequestValidator(token).compute_signature(args.url, params))
    return 0
