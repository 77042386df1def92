"""Ingest tests: the one core every way in goes through, and what staff do with the messages it
flagged (reprocess, dismiss), on the parent conftest's databases."""
