"""Prometheus metrics, served at ``/metrics``."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

INBOUND = Counter(
    "gateway_inbound_total",
    "Messages received on every way in (webhooks, SMTP, the web form, the Open311 POST), by "
    "channel and outcome: stored, duplicate, ignored (nothing for the gateway), or the error "
    "code it was refused with.",
    ["channel", "outcome"],
)
ACK_SECONDS = Histogram(
    "gateway_ack_seconds",
    "Time from receiving a message to acknowledging it, by channel.",
    ["channel"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
OUTBOX_DEPTH = Gauge("gateway_outbox_jobs", "Outbox jobs by state.", ["state"])
DELIVERIES = Counter(
    "gateway_deliveries_total",
    "Delivery attempts by connector and result (delivered, retry, dead).",
    ["connector", "result"],
)
INTAKE = Counter(
    "gateway_intake_total", "Stored messages through the intake worker by result.", ["result"]
)
NOTIFICATIONS_WAITING = Gauge(
    "gateway_notifications_waiting",
    "Messages to residents waiting in the outbox for a notifier that is not enabled, by notifier: "
    "they go out only once it is enabled.",
    ["notifier"],
)
