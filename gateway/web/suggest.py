"""The live service suggestion: the normalizer's own classifier, loaded once per web process."""

from __future__ import annotations

import asyncio

from gateway.runtime import Runtime
from normalizer.classify import Classifier, classify

_MAX_CHARS = 2000


class Suggester:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._classifier: Classifier | None = None
        self._lock = asyncio.Lock()

    async def classifier(self) -> Classifier:
        """The intake's own classifier: one model in memory per process, loaded off the loop."""
        async with self._lock:
            if self._classifier is None:
                context = await asyncio.to_thread(lambda: self.runtime.normalizer_context)
                self._classifier = context.classifier
            return self._classifier

    async def suggest(self, text: str, language: str) -> list[tuple[str, str]]:
        """Up to three (code, name in ``language``) for ``text``, best first."""
        text = text.strip()[:_MAX_CHARS]
        if not text:
            return []
        found = classify(text, await self.classifier())
        catalog = self.runtime.catalog
        return [(code, catalog[code].name(language)) for code, _ in found.top if code in catalog]
