"""Helpers of the browser tests: URLs and the emails the site wrote to its outbox folder."""

from __future__ import annotations

import email
import email.policy
import re
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from petitions.models import Petition

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
MAIL_TIMEOUT = 10.0
# Playwright's own default is 30 s; a page of this site that takes 10 s is a failure.
PAGE_TIMEOUT_MS = 10_000


def campaign_url(live_server: Any, petition: Petition) -> str:
    return f"{live_server.url}/c/{petition.campaign.slug}/"


def page_url(live_server: Any, path: str) -> re.Pattern[str]:
    """The page at ``path``. The sign form posts to ``…#petition-<slug>`` so the answer
    scrolls to the petition, and browsers keep that fragment across the redirect."""
    return re.compile(rf"{re.escape(live_server.url + path)}(#[\w-]*)?")


def mail_read(folder: Path) -> EmailMessage:
    """The one message in the outbox folder (waiting briefly, though sending is eager)."""
    deadline = time.monotonic() + MAIL_TIMEOUT
    while not (files := sorted(folder.glob("*.eml"))):
        if time.monotonic() > deadline:
            pytest.fail(f"no email in {folder} after {MAIL_TIMEOUT:.0f}s")
        time.sleep(0.05)
    assert len(files) == 1, files
    message = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


# --- Content-Security-Policy ----------------------------------------------------------------

# Injected through DevTools before any page script, so the policy does not apply to it.
_RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline"} ` +
    `at ${event.sourceFile || event.documentURI}:${event.lineNumber}`
  );
});
"""


def csp_violations_watch(page: Page) -> list[str]:
    """A list that fills with every CSP violation the browser reports on ``page``: the
    ``securitypolicyviolation`` events of each document, and the console's own messages."""
    violations: list[str] = []
    page.context.add_init_script(_RECORD_CSP_VIOLATIONS)
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return violations


def csp_violations_read(page: Page) -> list[str]:
    return list(page.evaluate("() => window.__cspViolations || []"))
