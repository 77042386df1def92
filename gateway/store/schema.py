"""The gateway's tables, created and evolved by the Alembic migrations in ``migrations/``."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on SQLite (which keeps no zone) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
Id = BigInteger().with_variant(Integer(), "sqlite")

# One row per message a provider handed us, stored before we acknowledge it.
inbound_messages = Table(
    "inbound_messages",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("channel", String(64), nullable=False),
    Column("provider_id", String(255), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("sender", String(320), nullable=False, default=""),
    # The exact bytes received, and what is needed to verify and parse them again.
    Column("raw_body", LargeBinary, nullable=False),
    Column("headers", JSON, nullable=False),
    Column("public_url", Text, nullable=False, default=""),
    # The parsed message (InboundMessage minus raw) for the intake; null when unparsed.
    Column("message", JSON, nullable=True),
    # received -> processed | auto | failed; unparsed -> reparsed once parsed again (into new
    # rows); staff send failed back to received, and set failed or unparsed aside as dismissed.
    Column("state", String(16), nullable=False),
    Column("error", Text, nullable=True),
    Column("request_id", String(32), nullable=True),
    Column("processed_at", UtcDateTime(), nullable=True),
    # Staff set a failed or unparsed message aside: who, why and when (the row stays).
    Column("dismissed_by", String(120), nullable=True),
    Column("dismissed_reason", Text, nullable=True),
    Column("dismissed_at", UtcDateTime(), nullable=True),
    UniqueConstraint("channel", "provider_id", name="uq_inbound_channel_provider"),
    Index("ix_inbound_state", "state", "id"),
)

service_requests = Table(
    "service_requests",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("tracking_number", String(16), nullable=False, unique=True),
    Column("channel", String(64), nullable=False),
    Column("channel_message_id", String(255), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("reporter_name", String(255), nullable=True),
    Column("reporter_phone", String(32), nullable=True),
    Column("reporter_email", String(320), nullable=True),
    Column("reporter_address", String(320), nullable=True),
    Column("anonymous", Boolean, nullable=False, default=False),
    Column("language", String(8), nullable=False, default="en"),
    Column("description", Text, nullable=False, default=""),
    Column("original_text", Text, nullable=False, default=""),
    Column("service_code", String(64), nullable=True),
    Column("service_name", String(255), nullable=True),
    Column("service_confidence", Float, nullable=False, default=0.0),
    Column("attributes", JSON, nullable=False),
    Column("lat", Float, nullable=True),
    Column("long", Float, nullable=True),
    Column("address", Text, nullable=True),
    Column("zipcode", String(16), nullable=True),
    Column("location_source", String(32), nullable=True),
    Column("location_confidence", Float, nullable=True),
    Column("media", JSON, nullable=False),
    Column("emergency", Boolean, nullable=False, default=False),
    Column("duplicate_of", String(16), nullable=True),
    Column("needs_follow_up", JSON, nullable=False),
    Column("status", String(32), nullable=False),
    Column("case_id", String(255), nullable=True),
    Column("case_token", String(255), nullable=True),
    Index("ix_service_requests_status", "status", "received_at"),
    Index("ix_service_requests_case_id", "case_id"),
    Index("ix_service_requests_reporter_address", "reporter_address"),
)

# The request's history, shown to staff and, where public, to the resident.
request_events = Table(
    "request_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("request_id", String(32), ForeignKey("service_requests.id"), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("status", String(32), nullable=True),
    Column("detail", JSON, nullable=False),
    Index("ix_request_events_request", "request_id", "id"),
)

# Work to do outside any request: deliveries to case systems and notifications to residents.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    # Null for messages that belong to no request (a one-time access code, say).
    Column("request_id", String(32), ForeignKey("service_requests.id"), nullable=True),
    # "deliver" (target: a connector) or "notify" (target: the channel that sends it).
    Column("kind", String(32), nullable=False),
    Column("target", String(64), nullable=False),
    # pending -> in_flight -> done | dead (and back to pending on a retryable failure)
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    # The retry horizon counts from here: creation, or the last manual replay.
    Column("retry_from", UtcDateTime(), nullable=False),
    Column("next_attempt_at", UtcDateTime(), nullable=False),
    Column("lease_until", UtcDateTime(), nullable=True),
    Column("claim_token", String(32), nullable=True),
    # One job per key, ever: enqueueing the same work twice is a no-op.
    Column("idempotency_key", String(191), nullable=False, unique=True),
    Column("payload", JSON, nullable=False),
    Column("last_error", Text, nullable=True),
    # What the far side called it: the case id, or the provider's message id.
    Column("remote_id", String(255), nullable=True),
    Index("ix_outbox_due", "state", "kind", "target", "next_attempt_at"),
)

# Residents who asked not to be messaged on a channel (carrier STOP), until they opt back in.
opt_outs = Table(
    "opt_outs",
    metadata,
    Column("channel", String(64), primary_key=True),
    Column("address", String(320), primary_key=True),
    Column("opted_out_at", UtcDateTime(), nullable=False),
    # "stop" (the resident asked) or the provider's error, e.g. "twilio_status 21610".
    Column("reason", String(64), nullable=False),
)

# Where each connector's status sync got to.
sync_cursors = Table(
    "sync_cursors",
    metadata,
    Column("connector", String(64), primary_key=True),
    Column("synced_until", UtcDateTime(), nullable=False),
)

# A conversation waiting for the resident's answer: one per (channel, address), expiring.
conversations = Table(
    "conversations",
    metadata,
    Column("channel", String(64), primary_key=True),
    Column("address", String(320), primary_key=True),
    Column("request_id", String(32), ForeignKey("service_requests.id"), nullable=False),
    # What was asked: "location" or "service".
    Column("awaiting", String(32), nullable=False),
    # The numbered choices offered, when the question was "which service?".
    Column("choices", JSON, nullable=False),
    Column("asked_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
)

# Open311 API keys for apps and kiosks that file through the gateway; only a hash is kept.
api_keys = Table(
    "api_keys",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=True),
)

# One-time links (email) and codes (SMS) that show a resident their requests; hashed, expiring.
access_codes = Table(
    "access_codes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    # The normalized email or E.164 phone whose requests the code shows.
    Column("contact", String(320), nullable=False),
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("used_at", UtcDateTime(), nullable=True),
    # Wrong guesses at a code; past the limit the code is spent.
    Column("attempts", Integer, nullable=False, default=0),
    Index("ix_access_codes_contact", "contact", "expires_at"),
)

# Fixed-window counters for the web form's rate limits, keyed by a hash of the client address.
rate_limits = Table(
    "rate_limits",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("window_start", UtcDateTime(), nullable=False),
    Column("count", Integer, nullable=False),
)

# Inbound-parse webhook tokens already used (Mailgun signs timestamp + token): a replay is refused.
inbound_tokens = Table(
    "inbound_tokens",
    metadata,
    Column("channel", String(64), primary_key=True),
    Column("token", String(255), primary_key=True),
    # The same token with the same body is the provider's retry; with another body, a replay.
    Column("body_sha256", String(64), nullable=False),
    Column("seen_at", UtcDateTime(), nullable=False),
    Index("ix_inbound_tokens_seen_at", "seen_at"),
)

# The series of tracking numbers this database hands out (gateway.tracking), fixed for its
# life: one row (id 1), written when the database first serves or, for a database that issued
# numbers before series existed, series 0 by migration 0005.
tracking_series = Table(
    "tracking_series",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("series", Integer, nullable=False),
    Column("bound_at", UtcDateTime(), nullable=False),
)

# Where each polled source got to (X's mentions: the newest post id stored), moved only after
# what was read is durably stored: a restart resumes there, and a page read twice is deduped.
channel_cursors = Table(
    "channel_cursors",
    metadata,
    Column("source", String(64), primary_key=True),
    Column("position", String(255), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# A reply to our email names our Message-ID, kept as the notify job's remote id: find it fast.
Index("ix_outbox_remote_id", outbox.c.remote_id)

# One row per phone call to the voice channel: where its flow stands and what it gathered, so
# that any web process can answer the call's next webhook (``gateway/voice/``).
voice_calls = Table(
    "voice_calls",
    metadata,
    Column("call_sid", String(64), primary_key=True),
    # The caller ID as Twilio gave it (E.164, or "" when withheld).
    Column("caller", String(32), nullable=False),
    # The flow's step, and how many answers it has given: a webhook for an older answer is a
    # retry and gets the same answer again.
    Column("step", String(32), nullable=False),
    Column("seq", Integer, nullable=False),
    # What the caller said and chose so far.
    Column("data", JSON, nullable=False),
    # The TwiML of the last answer, repeated to a retried webhook.
    Column("answer", Text, nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    # Set once the call's report is stored: "completed", "hangup", "stale", "transferred".
    Column("filed_at", UtcDateTime(), nullable=True),
    Column("outcome", String(16), nullable=True),
    Column("tracking_number", String(16), nullable=True),
    # Arrive on their own callbacks, possibly after the call ended.
    Column("recording_url", Text, nullable=True),
    Column("transcript", Text, nullable=True),
    Index("ix_voice_calls_open", "filed_at", "updated_at"),
)

# When a resident last wrote (a provider's reply window counts from there).
Index(
    "ix_inbound_channel_sender",
    inbound_messages.c.channel,
    inbound_messages.c.sender,
    inbound_messages.c.received_at,
)
# The request an X conversation's first post made.
Index(
    "ix_service_requests_channel_message",
    service_requests.c.channel,
    service_requests.c.channel_message_id,
)
# The retention purge reads a closed request's stored messages and jobs (migration 0008).
Index("ix_inbound_messages_request_id", inbound_messages.c.request_id)
Index("ix_outbox_request_id", outbox.c.request_id)
