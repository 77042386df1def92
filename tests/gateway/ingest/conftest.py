"""Ingest tests: the one core every way in goes through, on the parent conftest's databases."""
