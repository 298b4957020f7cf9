"""In Chromium, the campaign and embed pages break no rule of the Content-Security-Policy."""

from __future__ import annotations

import contextlib
import http.server
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from petitions.models import Petition
from tests.e2e.browser.helpers import (
    PAGE_TIMEOUT_MS,
    campaign_url,
    csp_violations_read,
    csp_violations_watch,
)

pytestmark = pytest.mark.e2e


def test_the_campaign_and_embed_pages_break_no_rule_of_the_policy(
    page: Page, live_server: Any, petition: Petition
) -> None:
    violations = csp_violations_watch(page)
    Petition.objects.filter(pk=petition.pk).update(signature_count=42)

    page.goto(campaign_url(live_server, petition))
    expect(page.get_by_role("heading", level=1)).to_have_text("Free the Browser Five")
    # The script ran (it shows the copy button only on pages that have one, and focuses
    # errors): submitting the empty form exercises it, and the error page must obey too.
    page.get_by_role("button", name="Sign", exact=True).click()
    expect(page.locator(".error-summary")).to_be_focused()
    violations += csp_violations_read(page)

    page.goto(f"{live_server.url}/p/{petition.slug}/embed/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Release the Browser Five")
    expect(page.locator("[data-count-label]")).to_have_text("42 of 100 signatures")
    link = page.get_by_role("link", name=re.compile("Sign this petition"))
    expect(link).to_have_attribute("target", "_blank")
    violations += csp_violations_read(page)

    assert violations == []


@contextlib.contextmanager
def partner_site(html: str) -> Iterator[str]:
    """A one-page web server of another origin (127.0.0.1, where the live server is
    localhost) that answers every GET with ``html``; yields its URL.

    A real server rather than a Playwright route: Chromium treats a routed page as public,
    and public pages may not frame loopback addresses, whatever our policy says.
    """

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_partner_site_may_frame_the_embed_but_not_the_campaign_page(
    page: Page, live_server: Any, petition: Petition
) -> None:
    assert live_server.url.startswith("http://localhost:"), live_server.url
    embed = f"{live_server.url}/p/{petition.slug}/embed/"
    html = (
        f'<!doctype html><title>Partner</title><iframe id="embed" src="{embed}"></iframe>'
        f'<iframe id="campaign" src="{campaign_url(live_server, petition)}"></iframe>'
    )

    violations = csp_violations_watch(page)

    with partner_site(html) as partner:
        page.goto(partner)

        framed = page.frame_locator("#embed")
        expect(framed.get_by_role("heading", level=1)).to_have_text("Release the Browser Five")
        expect(framed.get_by_role("link", name=re.compile("Sign this petition"))).to_be_visible()
        # The campaign page has a form: the browser refuses to frame it, and says why.
        deadline = time.monotonic() + PAGE_TIMEOUT_MS / 1000
        while not any("frame-ancestors 'none'" in text for text in violations):
            if time.monotonic() > deadline:
                pytest.fail(f"the campaign page was not refused a frame; console: {violations}")
            page.wait_for_timeout(50)
        expect(page.frame_locator("#campaign").locator("body")).not_to_contain_text(
            "Free the Browser Five"
        )
    assert [text for text in violations if "frame-ancestors 'none'" not in text] == []
