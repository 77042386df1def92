"""One process's parts, built from the settings: database, channels, connectors, normalizer.

``python -m gateway run`` starts the web server, the SMTP listener and the worker on one Runtime;
``web`` and ``worker`` start one role each. PostgreSQL lets any number of each run side by side.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

import channels
from channels import Channel, ChannelContext
from gateway import connectors as connector_registry
from gateway import fetchers as fetcher_registry
from gateway import notifiers as notifier_registry
from gateway.config.catalog import load_catalog
from gateway.config.normalizer import load_normalizer
from gateway.config.normalizer_settings import NormalizerSettings, parse_normalizer_settings
from gateway.config.settings import PluginSettings, Settings
from gateway.config.web import web_settings
from gateway.connectors import Connector
from gateway.errors import ConfigError
from gateway.fetchers import Fetcher
from gateway.housekeeping import sweep_forever
from gateway.ingest.core import IngestCore
from gateway.ingest.http import Answer
from gateway.ingest.triage import Triager
from gateway.ingest.x_poller import XPoller
from gateway.intake.followup import FollowUps
from gateway.intake.route import Normalize, Router
from gateway.intake.worker import IntakeWorker
from gateway.notifiers import Notifier
from gateway.outbox import jobs
from gateway.outbox.sync import StatusSync
from gateway.outbox.worker import OutboxWorker
from gateway.plugin import Plugin
from gateway.records import InboundMessage, NormalizedReport, OpenRequest, Service
from gateway.retention import purge_daily
from gateway.store import conversations, tokens
from gateway.store.database import make_engine
from gateway.store.inbound import InboundWriter
from gateway.store.series import ensure_series
from gateway.store.worker_lock import worker_lock
from gateway.tracking import tracking_number_for
from gateway.voice.build import make_call_desk, sweep_calls
from gateway.voice.desk import CallDesk
from normalizer.normalize import NormalizerContext, normalize

log = logging.getLogger(__name__)


class Runtime:
    """The shared parts of a gateway process."""

    def __init__(self, settings: Settings, engine: AsyncEngine | None = None) -> None:
        self.settings = settings
        self.engine = engine or make_engine(settings.database_url)
        # Checked against the database's own series when the writer or the worker starts.
        self.tracking_series = settings.tracking.series
        self.writer = InboundWriter(self.engine, series=self.tracking_series)
        # Set by an ingest in this process so the intake worker starts at once instead of polling.
        self.intake_wake = asyncio.Event()
        self.outbox_wake = asyncio.Event()
        self._connectors: dict[str, Connector] | None = None
        self._normalize: Normalize | None = None
        self._notifiers: dict[str, Notifier] | None = None
        self._fetchers: dict[str, Fetcher] | None = None
        self._call_desk: CallDesk | None = None
        self.waiting_cache = conversations.WaitingCache(self.engine)
        self._notifiers_checked = False
        self._x_poller: XPoller | None = None

    @cached_property
    def catalog(self) -> Mapping[str, Service]:
        return {s.code: s for s in load_catalog(self.settings.catalog_path)}

    def channels(self) -> list[Channel]:
        """The enabled channels, built with their options; unknown names fail loudly."""
        context = ChannelContext(self.settings.city_name, self.settings.message)
        enabled = self.settings.enabled_channels()
        return list(_build("channel", channels.load_all(), enabled, context).values())

    def answerer(self, channel: Channel) -> Answer | None:
        """What answers ``channel``'s stored webhooks, when not its acknowledgement."""
        if channel.answered_by == "call_flow":
            return self.call_desk(channel.options, channel.route or "").answer
        return None

    def call_desk(self, options: Mapping[str, Any], route: str) -> CallDesk:
        """The voice channel's call flow and state, built once per process."""
        if self._call_desk is None:
            self._call_desk = make_call_desk(
                self.engine,
                self.writer,
                options,
                self.settings,
                tuple(self.catalog.values()),
                lambda: self.normalizer_context,
                route=route,
                series=self.tracking_series,
                on_filed=self.intake_wake.set,
            )
        return self._call_desk

    def _call_sweeps(self) -> list[Coroutine[Any, Any, None]]:
        """The worker's round for silent calls, when a channel has calls."""
        sweeps = []
        for channel in self.channels():
            if channel.answered_by == "call_flow":
                desk = self.call_desk(channel.options, channel.route or "")
                sweeps.append(sweep_calls(desk, self.settings.outbox.poll_interval_seconds))
        return sweeps

    def connectors(self) -> dict[str, Connector]:
        """The enabled connectors, built once per process."""
        if self._connectors is None:
            enabled = self.settings.enabled_connectors()
            self._connectors = _build("connector", connector_registry.load_all(), enabled)
        return self._connectors

    @cached_property
    def normalizer_settings(self) -> NormalizerSettings:
        return parse_normalizer_settings(self.settings.normalizer)

    def notifiers(self) -> dict[str, Notifier]:
        """The enabled notifiers, built once per process."""
        if self._notifiers is None:
            enabled = self.settings.enabled_notifiers()
            self._notifiers = _build("notifier", notifier_registry.load_all(), enabled)
        return self._notifiers

    @cached_property
    def normalizer_context(self) -> NormalizerContext:
        """The model, gazetteer and phrases, loaded once per process."""
        return load_normalizer(
            self.normalizer_settings, tuple(self.catalog.values()), self.settings.base_dir
        )

    @cached_property
    def ingest(self) -> IngestCore:
        """The one ingest core every way in of this process goes through."""
        return IngestCore(
            self.writer,
            self.intake_wake.set,
            # Looked up at the first message that needs it: an SMTP-only process never loads it.
            triage=lambda message: self.triager(message),
            waiting=self.waiting,
            claim_token=self.claim_token,
        )

    @cached_property
    def triager(self) -> Triager:
        """The cheap understanding the acknowledgement may use."""
        return Triager(self.normalizer_context)

    def tracking_number(self, inbound_id: int) -> str:
        """The tracking number of stored message ``inbound_id`` (what its ack said)."""
        return tracking_number_for(inbound_id, self.tracking_series)

    async def claim_token(self, channel: str, token: str, body: bytes) -> bool:
        """False when ``token`` was already used with another body (a replayed signature)."""
        now = datetime.now(UTC)
        async with self.engine.begin() as conn:
            fresh = await tokens.claim_token(conn, channel, token, body, now)
        return fresh

    async def waiting(self, channel: str, address: str) -> bool:
        """True when a question to ``address`` on ``channel`` waits for its answer."""
        return await self.waiting_cache(channel, address)

    def fetchers(self) -> dict[str, Fetcher]:
        """The enabled media fetchers, built once per process."""
        if self._fetchers is None:
            enabled = self.settings.enabled_fetchers()
            self._fetchers = _build("fetcher", fetcher_registry.load_all(), enabled)
        return self._fetchers

    def normalizer(self) -> Normalize:
        """The normalizing step the intake calls after the ack."""
        if self._normalize is None:
            context = self.normalizer_context

            async def run(
                message: InboundMessage, open_requests: Sequence[OpenRequest], now: datetime
            ) -> NormalizedReport:
                return await normalize(message, context, open_requests=open_requests, now=now)

            self._normalize = run
        return self._normalize

    def intake_worker(self) -> IntakeWorker:
        followups = FollowUps(
            self.settings,
            self.catalog,
            list(self.connectors()),
            on_change=self.waiting_cache.invalidate,
        )
        router = Router(
            self.settings, self.normalizer(), self.catalog, followups, series=self.tracking_series
        )
        return IntakeWorker(
            self.engine,
            router,
            duplicate_window=timedelta(hours=self.normalizer_settings.duplicate_window_hours),
            outbox_wake=self.outbox_wake,
        )

    def outbox_worker(self) -> OutboxWorker:
        return OutboxWorker(
            self.engine,
            self.connectors(),
            self.settings.outbox,
            notifiers=self.notifiers(),
            fetchers=self.fetchers(),
            media_folder=self.settings.media_folder,
            public_url=self.settings.server.public_url,
            wake=self.outbox_wake,
        )

    @property
    def rate_window_seconds(self) -> int:
        """The web form's rate-limit window, which housekeeping must outwait."""
        return web_settings(self.settings).form.rate_window_seconds

    async def work(self, stopping: asyncio.Event | None = None) -> None:
        """The worker role: intake, deliveries and status sync, until cancelled or, once
        ``stopping`` is set, until the intake batch and delivery round in progress are done.

        Refused at once with the reason when another worker runs on the same SQLite database
        (``WorkerAlreadyRunning``) or the database was made for another tracking series
        (``SeriesMismatch``).
        """
        with worker_lock(self.settings.database_url) as sole_worker:
            await ensure_series(self.engine, self.tracking_series)
            await self.warn_waiting_notifiers()
            outbox = self.settings.outbox
            outbox_worker = self.outbox_worker()
            if sole_worker:
                # Whatever is in flight was claimed by this worker's earlier, crashed life.
                await outbox_worker.take_back_abandoned()
            poller = self.x_poller()
            if poller is not None:
                # Polled pages are stored by this process's writer, as the web's webhooks are.
                await self.writer.start()
            # Polls, status sync and sweeps are redone from scratch each time: stopping just
            # ends them (a page is stored before its cursor moves).
            background = [
                *([asyncio.ensure_future(poller.run_forever())] if poller is not None else []),
                asyncio.ensure_future(
                    StatusSync(self.engine, self.connectors(), self.settings).run_forever(
                        outbox.status_sync_seconds
                    )
                ),
                asyncio.ensure_future(
                    sweep_forever(self.engine, timedelta(seconds=self.rate_window_seconds))
                ),
                *(asyncio.ensure_future(sweep) for sweep in self._call_sweeps()),
                asyncio.ensure_future(purge_daily(self.engine, self.settings.retention)),
            ]
            poll = outbox.poll_interval_seconds
            try:
                await asyncio.gather(
                    self.intake_worker().run_forever(self.intake_wake, poll, stopping),
                    outbox_worker.run_forever(stopping),
                )
            finally:
                for task in background:
                    task.cancel()
                await asyncio.gather(*background, return_exceptions=True)

    def x_poller(self) -> XPoller | None:
        """The X poller, when ``[channels.x]`` is enabled in polling mode; built once."""
        if self._x_poller is None:
            for channel in self.channels():
                if channel.name == "x" and channel.options.get("mode") == "polling":
                    self._x_poller = XPoller(channel, self.ingest, self.engine)
        return self._x_poller

    async def warn_waiting_notifiers(self) -> None:
        """At start (web or worker, once per process): a warning per notifier that is off while
        messages to residents wait in the outbox for it."""
        if self._notifiers_checked:
            return
        self._notifiers_checked = True
        try:
            waiting = await jobs.waiting_for_disabled(self.engine, list(self.notifiers()))
        except (SQLAlchemyError, OSError) as exc:
            log.warning("notifiers.waiting_unknown", extra={"error": type(exc).__name__})
            return
        for name, count in sorted(waiting.items()):
            log.warning(
                "notifiers.disabled_with_messages_waiting",
                extra={"notifier": name, "waiting": count, "enable": f"notifiers.{name}.enabled"},
            )

    async def close(self) -> None:
        for connector in (self._connectors or {}).values():
            await connector.close()
        for notifier in (self._notifiers or {}).values():
            await notifier.close()
        for fetcher in (self._fetchers or {}).values():
            await fetcher.close()
        if self._x_poller is not None:
            await self._x_poller.close()
        await self.engine.dispose()


P = TypeVar("P", bound=Plugin)


def _build(
    kind: str,
    classes: Mapping[str, Callable[..., P]],
    enabled: Iterable[PluginSettings],
    *args: Any,
) -> dict[str, P]:
    """Each enabled plugin of one kind, built from its table; an unknown name fails loudly."""
    built: dict[str, P] = {}
    for plugin in enabled:
        if plugin.name not in classes:
            raise ConfigError(f"{kind}s.{plugin.name}", f"no such {kind}")
        built[plugin.name] = classes[plugin.name](plugin.options, *args)
    return built
