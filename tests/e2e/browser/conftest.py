"""Fixtures of the browser tests: Chromium's page, the outbox folder, a petition to sign."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from playwright.sync_api import Page, sync_playwright

from config.celery import app as celery_app
from petitions.models import Petition
from tests.e2e.browser.helpers import CHROMIUM, CHROMIUM_ARGS, PAGE_TIMEOUT_MS
from tests.factories import campaign_create, petition_create


@pytest.fixture
def outbox_dir(live_server: Any, settings: Any, tmp_path: Path) -> Iterator[Path]:
    """Send mail in-process, eagerly, to ``.eml`` files in a folder of this test's own."""
    folder = tmp_path / "outbox"
    settings.SITE_URL = live_server.url
    settings.EMAIL_BACKEND = "mailer.backends.LocalOutboxBackend"
    settings.OUTBOX_DIR = folder
    previous = (celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates)
    # e2e tests are not eager (see tests/conftest.py); this one is, so that nothing is left
    # on the broker for a worker that never comes.
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    try:
        yield folder
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch, outbox_dir: Path) -> Iterator[Page]:
    # Playwright's sync API runs an asyncio loop in this thread, and Django refuses ORM
    # calls from a thread with a running loop unless told that this is deliberate.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
            context.set_default_timeout(PAGE_TIMEOUT_MS)
            yield context.new_page()
            context.close()
        finally:
            browser.close()
            # While Playwright runs, the test sees another contextvars context (greenlets),
            # and Django keeps connections per context: the test's ORM calls got a
            # connection of their own. Close it here, while it is still reachable, or
            # PostgreSQL refuses to drop the test database at the end of the session.
            connections.close_all()


@pytest.fixture
def petition() -> Petition:
    return petition_create(
        campaign=campaign_create(slug="browser-campaign", title="Free the Browser Five"),
        slug="browser-petition",
        title="Release the Browser Five",
    )
