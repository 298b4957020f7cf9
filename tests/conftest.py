"""Shared fixtures. The suite runs on SQLite by default and on PostgreSQL + Redis when
DATABASE_URL and REDIS_URL are set (as .ci/run does)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.utils import translation

from config.celery import app as celery_app


@pytest.fixture(autouse=True)
def _celery_eager(request: pytest.FixtureRequest) -> Iterator[None]:
    """Run tasks in-process, except in e2e tests, which talk to a real worker via the broker."""
    if request.node.get_closest_marker("e2e"):
        yield
        return
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_eager_propagates = False


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _english_by_default() -> Iterator[None]:
    """A request in Russian leaves Russian active in the thread (LocaleMiddleware does not
    switch back): every test starts in the default language, whatever ran before it."""
    translation.activate(django_settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _clear_trust_state() -> Iterator[None]:
    """Rate-limit counters (Redis or in-process) and the cached IP-hash salt outlive a
    test's rolled-back transaction; start every test without them."""
    from trust.iphash import ip_hash_key_cache_clear
    from trust.ratelimit import ratelimit_reset

    ratelimit_reset()
    ip_hash_key_cache_clear()
    yield
    ratelimit_reset()
    ip_hash_key_cache_clear()


@pytest.fixture(autouse=True)
def _rate_windows_pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rate limits count in fixed windows on the clock: a test whose hits straddle a minute
    boundary would see its counter start again and fail at random. Every test runs at one
    fixed moment, noon tomorrow (in the future, so Redis's EXPIREAT keeps the keys), in the
    middle of every window up to a day; tests of the windows themselves move this clock."""
    import time

    from trust import ratelimit

    day = 86_400
    pinned = (time.time() // day + 1) * day + day / 2
    monkeypatch.setattr(ratelimit, "_now", lambda: pinned)


@pytest.fixture(autouse=True)
def _no_duplicate_email_interval(settings):  # type: ignore[no-untyped-def]
    """Most tests sign twice in a row and expect the second email; the interval's own
    tests (tests/petitions/test_duplicate_interval.py) set it back."""
    settings.DUPLICATE_EMAIL_INTERVAL_SECONDS = 0


@pytest.fixture
def admin_client(client, admin_user):  # type: ignore[no-untyped-def]
    """pytest-django's admin client, signed in as the admin must be: with a second factor
    (config.admin_site lets no unverified session in)."""
    from tests.factories import admin_login

    admin_login(client, admin_user)
    return client
