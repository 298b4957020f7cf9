"""None"""

from __future__ import annotations

import re

import pytest
from django.core import mail

from petitions.models import Signature
from tests.factories import post_and_run_tasks
from tests.html import elements
from tests.petitions.bad_input_helpers import VALID, by_id, page, snapshot, stored_rows

pytestmark = pytest.mark.django_db


def error_text(html: str, element_id: str) -> str:
    match = re.search(rf'id="{re.escape(element_id)}">(.*?)</p>', html, re.DOTALL)
    assert match, f"no error element {element_id!r}"
    return match.group(1)


# --- The bad-input matrix -----------------------------------------------------------------

NAME_TOO_LONG = "Ensure this value has at most 200 characters (it has 10000)."
EMAIL_TOO_LONG = "Ensure this value has at most 254 characters"
EMAIL_INVALID = "Enter an email address like name@example.org."
NAME_UNSHOWABLE = "Your name contains characters that cannot be shown. Please retype it."
NULL = "Null characters are not allowed."

BAD_INPUT = [
    pytest.param({"name": ""}, "name", "Please enter your name.", id="name-empty"),
    pytest.param({"name": " \t  "}, "name", "Please enter your name.", id="name-blank"),
    pytest.param({"name": "A" * 10_000}, "name", NAME_TOO_LONG, id="name-10000-chars"),
    pytest.param({"name": "Anna\x00Karenina"}, "name", NULL, id="name-nul"),
    pytest.param({"name": "Anna\x1b[31mKarenina"}, "name", NAME_UNSHOWABLE, id="name-escape"),
    pytest.param({"name": "Anna Karenina\x07"}, "name", NAME_UNSHOWABLE, id="name-bell"),
    pytest.param({"name": "Anna\x9bKarenina"}, "name", NAME_UNSHOWABLE, id="name-c1-control"),
    pytest.param({"name": "Anna\ue000"}, "name", NAME_UNSHOWABLE, id="name-private-use"),
    pytest.param({"email": ""}, "email", "Please enter your email address.", id="email-empty"),
    pytest.param({"email": "a" * 10_000}, "email", EMAIL_TOO_LONG, id="email-10000-chars"),
    pytest.param(
        {"email": "a" * 9_988 + "@example.org"}, "email", EMAIL_TOO_LONG, id="email-long-local"
    ),
    pytest.param({"email": "anna"}, "email", EMAIL_INVALID, id="email-no-at"),
    pytest.param({"email": "anna@"}, "email", EMAIL_INVALID, id="email-no-domain"),
    pytest.param({"email": "@example.org"}, "email", EMAIL_INVALID, id="email-no-local"),
    pytest.param({"email": "anna@example"}, "email", EMAIL_INVALID, id="email-no-tld"),
    pytest.param({"email": "anna@@example.org"}, "email", EMAIL_INVALID, id="email-two-ats"),
    pytest.param({"email": "an na@example.org"}, "email", EMAIL_INVALID, id="email-space"),
    pytest.param({"email": "anna@example..org"}, "email", EMAIL_INVALID, id="email-two-dots"),
    pytest.param({"email": "<script>@example.org"}, "email", EMAIL_INVALID, id="email-markup"),
    pytest.param(
        {"email": "existing@example.org\nBcc: all@example.org"},
        "email",
        EMAIL_INVALID,
        id="email-header-injection",
    ),
    pytest.param({"email": "existing\x00@example.org"}, "email", NULL, id="email-nul"),
    pytest.param({"email": "existing\x1b@example.org"}, "email", EMAIL_INVALID, id="email-escape"),
    pytest.param({"email": "existing@exam\x07ple.org"}, "email", EMAIL_INVALID, id="email-bell"),
    pytest.param(
        {"country": "XX"}, "country", "Choose a country from the list.", id="country-unknown"
    ),
    pytest.param(
        {"country": "<b>RU</b>"}, "country", "Choose a country from the list.", id="country-markup"
    ),
    pytest.param(
        {"display": "everyone"},
        "display",
        "Select a valid choice. everyone is not one of the available choices.",
        id="display-invalid",
    ),
    pytest.param(
        {"display": ""}, "display", "Choose how your name may be shown.", id="display-missing"
    ),
]


@pytest.mark.parametrize(("changes", "field", "message"), BAD_INPUT)
def test_bad_input_is_refused_with_a_message_on_the_field(
    client, petition, existing, changes, field, message
):
    response = post_and_run_tasks(client, f"/p/{petition.slug}/sign/", {**VALID, **changes})

    assert response.status_code == 422
    html = page(response)
    field_id = f"id_{petition.slug}_{field}"
    assert message in error_text(html, f"{field_id}_error")
    # The error summary names the field and links to it.
    assert f'href="#{field_id}' in html
    # The invalid input says so to assistive technology.
    if field == "display":
        radios = elements(html, "input", name="display")
        assert radios
        assert all(radio.get("aria-invalid") == "true" for radio in radios)
    else:
        assert by_id(html, field_id).get("aria-invalid") == "true"
        assert f"{field_id}_error" in (by_id(html, field_id).get("aria-describedby") or "")
    # Only the wrong field is marked.
    for other in {"name", "email", "country"} - {field}:
        assert f'id="id_{petition.slug}_{other}_error"' not in html
        assert "aria-invalid" not in by_id(html, f"id_{petition.slug}_{other}")


@pytest.mark.parametrize(("changes", "field", "message"), BAD_INPUT)
def test_bad_input_keeps_what_was_typed(client, petition, existing, changes, field, message):
    data = {**VALID, **changes}
    html = page(post_and_run_tasks(client, f"/p/{petition.slug}/sign/", data))

    for name in ("name", "email"):
        typed = data[name]
        shown = by_id(html, f"id_{petition.slug}_{name}").get("value") or ""
        # HTML parsers turn a typed CR/LF pair into a single LF, as browsers do.
        assert shown == typed.replace("\r\n", "\n")
    if field != "country":
        selected = [option["value"] for option in elements(html, "option") if "selected" in option]
        assert selected == [data["country"]]
    if field != "display":
        checked = [
            radio["value"]
            for radio in elements(html, "input", name="display")
            if "checked" in radio
        ]
        assert checked == [data["display"]]


@pytest.mark.parametrize(("changes", "field", "message"), BAD_INPUT)
def test_bad_input_changes_nothing_stored_and_sends_nothing(
    client, petition, existing, changes, field, message, django_capture_on_commit_callbacks
):
    before_rows = stored_rows()
    before = snapshot(existing)
    with django_capture_on_commit_callbacks(execute=True):
        post_and_run_tasks(client, f"/p/{petition.slug}/sign/", {**VALID, **changes})

    assert stored_rows() == before_rows
    assert snapshot(existing) == before
    assert mail.outbox == []


def test_every_link_in_the_error_summary_leads_to_a_field_on_the_page(client, petition):
    response = post_and_run_tasks(
        client,
        f"/p/{petition.slug}/sign/",
        {"name": "", "email": "nope", "country": "XX", "display": "everyone"},
    )
    html = page(response)
    summary = html[
        html.index('class="error-summary"') : html.index("</ul>", html.index("error-summary"))
    ]
    targets = re.findall(r'<a href="#([^"]*)"', summary)
    assert len(targets) == 4
    for target in targets:
        assert target, "an error summary link goes nowhere"
        assert elements(html, "input", id=target) or elements(html, "select", id=target)


def test_a_valid_submission_after_a_bad_one_signs(client, petition):
    assert (
        post_and_run_tasks(client, f"/p/{petition.slug}/sign/", {**VALID, "email": "x"}).status_code
        == 422
    )
    assert post_and_run_tasks(client, f"/p/{petition.slug}/sign/", VALID).status_code == 302
    assert Signature.objects.get().supporter.email == "existing@example.org"
