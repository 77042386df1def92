"""Slack's payloads, read for ``channels.slack``; the report form's block ids, shared with the
front that opens it (``gateway.ingest.slack``)."""
