"""Ingest tests: the one ingest core's promises to every way in, and what staff do with stored
messages flagged for them (reprocess, dismiss), on every test database through ``database_url``
from the parent conftest."""
