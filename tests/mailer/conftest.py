"""Fixtures of the bulk mail tests (tests/mailer/test_bulk*.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.bulkkind import kind as test_kind
from tests.mailer.bulk_helpers import ScriptedBackend


@pytest.fixture
def bulk_kind() -> None:
    """The test kind (tests/bulkkind) registered, its call log empty."""
    test_kind.register()
    test_kind.calls.clear()


@pytest.fixture
def tasks_held(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sweep's re-enqueued tasks are recorded, not run (tasks run eagerly here)."""
    enqueued: list[int] = []

    def hold(*, mailing_id: int) -> int:
        enqueued.append(mailing_id)
        return 2

    monkeypatch.setattr("mailer.bulk.sweep.mailing_tasks_enqueue", hold)
    return enqueued


@pytest.fixture
def scripted(settings: Any) -> Iterator[type[ScriptedBackend]]:
    settings.EMAIL_BACKEND = "tests.mailer.bulk_helpers.ScriptedBackend"
    yield ScriptedBackend
    ScriptedBackend.errors.clear()
    ScriptedBackend.open_error = None


@pytest.fixture
def esp(settings: Any) -> None:
    """Anymail's test backend: the batch API path (one call per batch and language)."""
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
