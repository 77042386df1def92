"""``python -m gateway twilio-sign``: sign a webhook body as Twilio would, to test a set-up."""

from __future__ import annotations

import argparse
import os
import sys
from urllib.parse import parse_qsl

from twilio.request_validator import RequestValidator


def sign(args: argparse.Namespace) -> int:
    """Print the signature Twilio would send for ``args.body`` posted to ``args.url``."""
    token = os.environ.get("TWILIO_AUTH_TOKEN")
    if not token:
        print("TWILIO_AUTH_TOKEN is not set", file=sys.stderr)
        return 2
    params = dict(parse_qsl(args.body.read_text().strip(), keep_blank_values=True))
    print(RequestValidator(token).compute_signature(args.url, params))
    return 0
