"""After the acknowledgement: what stored messages become.

``worker`` claims received messages in batches; ``route`` decides what each one is (a delivery
receipt, a command, an answer, a reply on a thread, or a new report) and files new requests;
``followup`` asks residents for what a report lacks; ``commands`` runs STOP, START, STATUS and
records delivery receipts; ``replies`` queues every message to a resident; ``threads`` and
``mail_threads`` find the request a message continues.
"""
