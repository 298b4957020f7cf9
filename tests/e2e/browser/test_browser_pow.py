"""In Chromium, petitions that ask for proof of work are signed with or without JavaScript."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import Page, expect

from petitions.models import Petition, Signature
from tests.e2e.browser.helpers import (
    campaign_url,
    csp_violations_read,
    csp_violations_watch,
    mail_read,
    page_url,
)
from tests.factories import campaign_create, petition_create

pytestmark = pytest.mark.e2e


# --- Proof of work --------------------------------------------------------------------------


def test_a_petition_that_asks_for_proof_of_work_is_signed_with_the_browsers_own_solution(
    page: Page, live_server: Any, outbox_dir: Path, settings: Any
) -> None:
    # So long a wait that only a solved challenge can get this signature in.
    settings.CHALLENGE_WAIT_SECONDS = 600
    petition = petition_create(
        campaign=campaign_create(slug="work-campaign", title="Free the Working Five"),
        slug="work-petition",
        title="Release the Working Five",
        challenge_required=True,
    )
    violations = csp_violations_watch(page)
    page.goto(campaign_url(live_server, petition))
    status = page.get_by_role("status")
    expect(status).to_be_hidden()  # nothing to say until the person starts

    # Filled in and sent without a single focus or input event (as some autofill does): the
    # solver starts only on submission, which waits for it instead of going without.
    page.get_by_label("Your name").evaluate("el => { el.value = 'Vera Zasulich'; }")
    page.get_by_label("Your email").evaluate("el => { el.value = 'vera@example.org'; }")
    assert page.locator("input[name=altcha]").input_value() == ""
    page.locator("form.sign-form").evaluate("form => form.requestSubmit()")

    expect(page).to_have_url(page_url(live_server, f"/p/{petition.slug}/thanks/"))
    assert mail_read(outbox_dir)["To"] == "vera@example.org"
    assert Signature.objects.get(petition=petition).status == Signature.Status.PENDING
    assert violations + csp_violations_read(page) == []


def test_the_solver_finishes_in_the_background_and_says_so(
    page: Page, live_server: Any, petition: Petition
) -> None:
    Petition.objects.filter(pk=petition.pk).update(challenge_required=True)
    page.goto(campaign_url(live_server, petition))

    page.get_by_label("Your name").focus()

    expect(page.get_by_role("status")).to_have_text("Check complete. You can sign.")
    payload = page.locator("input[name=altcha]").input_value()
    from trust.challenge import challenge_solution_accept

    assert challenge_solution_accept(petition_id=petition.pk, payload=payload)


def test_a_browser_that_cannot_solve_waits_out_the_fallback_and_signs(
    page: Page, live_server: Any, outbox_dir: Path, petition: Petition, settings: Any
) -> None:
    settings.CHALLENGE_WAIT_SECONDS = 2
    Petition.objects.filter(pk=petition.pk).update(challenge_required=True)
    # No Web Crypto, as on a page served over plain HTTP from anywhere but localhost.
    page.add_init_script("Object.defineProperty(window.crypto, 'subtle', {value: undefined})")
    page.goto(campaign_url(live_server, petition))

    page.get_by_role("button", name="Sign", exact=True).focus()
    page.get_by_label("Your name").fill("Lev Tolstoy")
    page.get_by_label("Your email").fill("lev@example.org")
    page.get_by_role("button", name="Sign", exact=True).click()

    expect(page.get_by_role("status")).to_have_text(
        "Please wait a moment, then your signature is sent…"
    )
    expect(page).to_have_url(page_url(live_server, f"/p/{petition.slug}/thanks/"))
    assert Signature.objects.get(petition=petition).status == Signature.Status.PENDING


def test_with_javascript_off_a_challenge_petition_is_signed_after_a_short_wait(
    page: Page,
    live_server: Any,
    outbox_dir: Path,
    petition: Petition,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from trust import challenge

    Petition.objects.filter(pk=petition.pk).update(challenge_required=True)
    # The live server runs in this process: its challenge clock is the one moved here.
    now = [time.time()]
    monkeypatch.setattr(challenge, "_now", lambda: now[0])
    browser = page.context.browser
    assert browser is not None
    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    try:
        no_js = context.new_page()
        no_js.goto(campaign_url(live_server, petition))
        no_js.get_by_label("Your name").fill("Lev Tolstoy")
        no_js.get_by_label("Your email").fill("lev@example.org")
        # Pressed too soon: the page asks, politely, to press again.
        no_js.get_by_role("button", name="Sign", exact=True).click()
        expect(no_js.get_by_role("alert")).to_contain_text("please wait a few seconds")
        expect(no_js.get_by_label("Your email")).to_have_value("lev@example.org")
        assert not Signature.objects.exists()

        now[0] += django_settings.CHALLENGE_WAIT_SECONDS
        no_js.get_by_role("button", name="Sign", exact=True).click()

        expect(no_js).to_have_url(page_url(live_server, f"/p/{petition.slug}/thanks/"))
    finally:
        context.close()
    assert Signature.objects.get(petition=petition).status == Signature.Status.PENDING
