"""Fixtures of the proof-of-work challenge tests: small puzzles, a clock, a petition that asks."""

from __future__ import annotations

import pytest

from petitions.models import Petition
from tests.factories import petition_create
from trust import challenge


@pytest.fixture(autouse=True)
def _small_puzzles(settings):  # type: ignore[no-untyped-def]
    # The test solves puzzles in Python; a small range keeps that quick.
    settings.CHALLENGE_MAX_NUMBER = 2000
    settings.CHALLENGE_WAIT_SECONDS = 5


@pytest.fixture
def clock(monkeypatch):
    """The challenge module's clock, which the test moves instead of sleeping."""

    class Clock:
        now = 1_900_000_000.0

        def advance(self, seconds: float) -> None:
            self.now += seconds

    moving = Clock()
    monkeypatch.setattr(challenge, "_now", lambda: moving.now)
    return moving


@pytest.fixture
def petition() -> Petition:
    return petition_create(title="Free the prisoners of conscience", challenge_required=True)
