"""Before and at the acknowledgement: every way in, through one core.

``core`` owns the contract (verify, store raw, parse, durable store, wake, metrics, logs, and the
storage-failure answer); ``http`` and ``smtp`` carry it over their protocols, the web form and
the Open311 POST call it from their pages; ``triage`` is the little understanding an
acknowledgement may use; ``reprocess`` parses stored raw messages again after a fix.
"""
