"""The outbox: durable jobs that carry accepted requests to the case system, retried until done.

``jobs`` stores and claims them (SQLite: one worker; PostgreSQL: ``FOR UPDATE SKIP LOCKED`` for
any number of workers), ``policy`` decides when to retry and when a job is dead, ``breaker`` stops
hammering a case system that is down, ``worker`` runs deliveries and ``sync`` brings status back.
"""
