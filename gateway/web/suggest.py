"""The live service suggestion: the normalizer's own classifier, loaded once per web process."""

from __future__ import annotations

import asyncio

from gateway.runtime import Runtime
from gateway.understanding import read_model
from normalizer.classify import Classifier, build_classifier, classify

_MAX_CHARS = 2000


class Suggester:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._classifier: Classifier | None = None
        self._lock = asyncio.Lock()

    async def classifier(self) -> Classifier:
        """Built on first use, off the event loop (reading the model takes a moment)."""
        async with self._lock:
            if self._classifier is None:
                self._classifier = await asyncio.to_thread(self._build)
            return self._classifier

    def _build(self) -> Classifier:
        settings = self.runtime.normalizer_settings
        model = read_model(self.runtime.settings.base_dir / settings.classifier_model)
        return build_classifier(
            tuple(self.runtime.catalog.values()),
            model,
            threshold=settings.low_confidence,
            keyword_weight=settings.keyword_weight,
        )

    async def suggest(self, text: str, language: str) -> list[tuple[str, str]]:
        """Up to three (code, name in ``language``) for ``text``, best first."""
        text = text.strip()[:_MAX_CHARS]
        if not text:
            return []
        found = classify(text, await self.classifier())
        catalog = self.runtime.catalog
        return [(code, catalog[code].name(language)) for code, _ in found.top if code in catalog]
