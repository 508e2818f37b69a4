"""Two independent key sets, generated once per module, for the vault's property tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.vault import KeySet

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def keyset() -> KeySet:
    return KeySet.generate(NOW)


@pytest.fixture(scope="module")
def other_keyset() -> KeySet:
    return KeySet.generate(NOW)
