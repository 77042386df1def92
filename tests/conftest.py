"""Shared test settings: where the shared fixtures and data live."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# ../shared sits beside the checkout on developer machines and in CI.
SHARED = Path(__file__).resolve().parents[2] / "shared"
SHARED_FIXTURES = SHARED / "fixtures"
SHARED_DATA = SHARED / "data"
