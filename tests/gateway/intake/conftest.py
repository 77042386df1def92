"""Intake tests: what happens after the ack (stored messages become service requests, replies
find their thread), on every test database through ``database_url`` from the parent conftest."""
