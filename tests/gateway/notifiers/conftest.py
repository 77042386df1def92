"""Notifier tests: each notifier sending to a loopback stand-in from ``tests/fakes`` (an SMTP
relay, Twilio's Messages API); nothing from the parent conftest but the Twilio token."""
