"""After the acknowledgement: what stored messages become.

``worker`` claims received messages in batches; ``route`` decides what each one is (a delivery
receipt, a command, an answer, a reply on a thread, or a new report) and files new requests;
``followup`` asks residents for what a report lacks; ``commands`` runs STOP, START, STATUS and
records delivery receipts; ``threads`` finds the request a message continues. Messages to
residents are queued through ``gateway.outbox.replies``.
"""
