"""What the sign form does with bad, odd or hostile input: a clear answer, never a 500."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.models import Campaign
from mailer.models import OutboxMessage
from petitions import services, tokens
from petitions.models import (
    Consent,
    FlaggedAttemptTally,
    Petition,
    SignAttempt,
    Signature,
    Supporter,
)
from tests.factories import (
    campaign_create,
    latest_attempt,
    petition_create,
    post_and_run_tasks,
    signature_confirm,
    signature_create,
)
from tests.html import elements
from trust import identity

pytestmark = pytest.mark.django_db

CLOSED = "This petition is closed and no longer takes signatures."
NOT_FOUND = "Page not found"


# --- Helpers ------------------------------------------------------------------------------


def by_id(html: str, element_id: str) -> dict[str, str | None]:
    found = elements(html, id=element_id)
    assert len(found) == 1, f"expected one element with id {element_id!r}, found {len(found)}"
    return found[0]


def error_text(html: str, element_id: str) -> str:
    match = re.search(rf'id="{re.escape(element_id)}">(.*?)</p>', html, re.DOTALL)
    assert match, f"no error element {element_id!r}"
    return match.group(1)


def page(response) -> str:
    return response.content.decode()


def stored_rows() -> dict[str, int]:
    return {
        "signatures": Signature.objects.count(),
        "supporters": Supporter.objects.count(),
        "outbox": OutboxMessage.objects.count(),
        "consents": Consent.objects.count(),
    }


def snapshot(signature: Signature) -> tuple[dict, dict]:
    signature = Signature.objects.select_related("supporter").get(pk=signature.pk)
    fields = ("status", "display", "language", "confirmation_requested_at", "confirmed_at")
    supporter_fields = ("email", "name", "country", "language", "email_digest")
    return (
        {field: getattr(signature, field) for field in fields},
        {field: str(getattr(signature.supporter, field)) for field in supporter_fields},
    )


VALID = {
    "name": "Anna Karenina",
    "email": "existing@example.org",
    "display": "full",
    "country": "FR",
}


@pytest.fixture
def petition() -> Petition:
    return petition_create(title="Free the prisoners of conscience")


@pytest.fixture
def existing(petition) -> Signature:
    """Someone already signed with the address most bad submissions use."""
    signature = signature_create(
        petition=petition, email="existing@example.org", name="Existing Signer", country="DE"
    )
    mail.outbox.clear()
    return signature


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


# --- Markup in names ----------------------------------------------------------------------

HOSTILE_NAMES = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "Anna <b>Bold</b> & Co",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_markup_in_a_name_is_escaped_when_the_form_is_shown_again(client, petition, name):
    response = post_and_run_tasks(
        client, f"/p/{petition.slug}/sign/", {**VALID, "name": name, "email": "x"}
    )
    assert response.status_code == 422
    html = page(response)
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "<b>Bold</b>" not in html
    assert by_id(html, f"id_{petition.slug}_name")["value"] == name


def test_markup_in_a_name_never_reaches_the_confirmation_email(
    client, petition, django_capture_on_commit_callbacks
):
    name = "<script>alert(1)</script> Anna"
    with django_capture_on_commit_callbacks(execute=True):
        response = post_and_run_tasks(
            client,
            f"/p/{petition.slug}/sign/",
            {**VALID, "email": "anna@example.org", "name": name},
        )
    assert response.status_code == 302
    (message,) = mail.outbox
    html, _ = message.alternatives[0]
    # Before confirmation the email names nobody: the typed text is not relayed at all.
    assert "script" not in message.body + html + message.subject
    assert "Anna" not in message.body + html


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_markup_in_a_public_name_is_escaped_in_recent_signers(client, petition, name):
    signature_create(petition=petition, name=name, display="full", confirmed=True)
    cache.clear()
    html = page(client.get(f"/c/{petition.campaign.slug}/"))
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "<b>Bold</b>" not in html
    assert re.search(r'class="recent__name">([^<]*)<', html)


# --- Names in any script ------------------------------------------------------------------

WORLD_NAMES = [
    pytest.param("Анна Каренина", "Анна К.", id="cyrillic"),  # noqa: RUF001 - real text in another script
    pytest.param("\u200fسارة أحمد\u200f", "\u200fسارة أ.", id="arabic-with-rlm"),  # noqa: RUF001 - real text in another script
    pytest.param("\u200fשרה כהן", "\u200fשרה כ.", id="hebrew-with-rlm"),
    pytest.param(
        "Zoë \U0001f469\u200d\U0001f469\u200d\U0001f467 Family",
        "Zoë F.",
        id="emoji-zwj",
    ),
    pytest.param(
        "\U0001f469\U0001f3fd\u200d\U0001f4bb",
        "\U0001f469\U0001f3fd\u200d\U0001f4bb",
        id="emoji-only",
    ),
    pytest.param("José Nuñez-Øster", "José N.", id="latin-accents"),
    pytest.param("李小龙", "李小龙", id="cjk"),
]


@pytest.mark.parametrize(("name", "short"), WORLD_NAMES)
def test_names_in_any_script_are_accepted_and_stored_exactly(client, petition, name, short):
    response = post_and_run_tasks(
        client, f"/p/{petition.slug}/sign/", {**VALID, "email": "world@example.org", "name": name}
    )
    assert response.status_code == 302
    assert SignAttempt.objects.get().name == name  # as typed, until it is confirmed
    signature_confirm(Signature.objects.get())
    supporter = Supporter.objects.get(email_digest=identity.email_digest("world@example.org"))
    assert supporter.name == name


@pytest.mark.parametrize(("name", "short"), WORLD_NAMES)
def test_names_in_any_script_are_shown_as_chosen_in_recent_signers(client, petition, name, short):
    signature_create(petition=petition, name=name, display="full", confirmed=True)
    signature_create(petition=petition, name=name, display="short", confirmed=True)
    cache.clear()
    html = page(client.get(f"/c/{petition.campaign.slug}/"))
    shown = re.findall(r'class="recent__name">([^<]*)<', html)
    assert sorted(shown) == sorted([name, short])


def test_an_international_domain_is_accepted_and_is_the_same_person_as_its_ascii_form(
    client, petition
):
    first = post_and_run_tasks(
        client, f"/p/{petition.slug}/sign/", {**VALID, "email": "anna@пример.рф"}
    )
    second = post_and_run_tasks(
        client, f"/p/{petition.slug}/sign/", {**VALID, "email": "ANNA@xn--e1afmkfd.xn--p1ai"}
    )
    assert first.status_code == second.status_code == 302
    supporter = Supporter.objects.get()
    # Stored, hashed and mailed in the one ASCII form (IDNA 2008): see tests/security/test_idna.py.
    assert supporter.email == "anna@xn--e1afmkfd.xn--p1ai"
    assert supporter.email_digest == identity.email_digest("anna@xn--e1afmkfd.xn--p1ai")
    assert Signature.objects.count() == 1


# --- Pages that do not exist or do not take signatures ------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/c/no-such-campaign/"),
        ("post", "/p/no-such-petition/sign/"),
        ("get", "/p/no-such-petition/thanks/"),
        ("get", "/p/no-such-petition/confirmed/"),
        ("get", "/p/no-such-petition/confirm/"),
        ("post", "/p/no-such-petition/confirm/"),
        ("get", "/no/such/page/"),
    ],
)
def test_unknown_addresses_show_the_not_found_page(client, method, path):
    response = getattr(client, method)(path, VALID if method == "post" else None)
    assert response.status_code == 404
    assert NOT_FOUND in page(response)
    assert not Signature.objects.exists()


def test_an_unknown_petition_count_answers_404_in_json(client):
    response = client.get("/api/v1/petitions/no-such-petition/count/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_the_sign_address_refuses_other_methods(client, petition, method):
    response = getattr(client, method)(f"/p/{petition.slug}/sign/")
    assert response.status_code == 405
    assert "POST" in response["Allow"]
    assert not Signature.objects.exists()


def test_opening_the_sign_address_leads_back_to_the_form(client, petition):
    response = client.get(f"/p/{petition.slug}/sign/")
    assert response.status_code == 302
    assert response["Location"] == f"/c/{petition.campaign.slug}/#petition-{petition.slug}"
    assert not Signature.objects.exists()


@pytest.mark.parametrize(
    "source", ["\x00telegram", "tele\x00gram<script>", "x" * 10_000, "\u202etelegram"]
)
def test_odd_hidden_source_values_are_cleaned_not_refused(client, petition, source):
    response = post_and_run_tasks(
        client,
        f"/p/{petition.slug}/sign/",
        {**VALID, "email": "anna@example.org", "utm_source": source},
    )
    assert response.status_code == 302
    stored = Signature.objects.get().source
    assert stored in {"telegram", "telegramscript", "x" * 64}


@pytest.mark.parametrize("name", ["\u200d", "\u200f\u200e", " \u200d "])
def test_a_name_of_only_invisible_characters_is_refused(client, petition, name):
    response = post_and_run_tasks(client, f"/p/{petition.slug}/sign/", {**VALID, "name": name})
    assert response.status_code == 422
    assert "Please enter your name." in response.content.decode()
    assert not Signature.objects.exists()


CLOSED_PETITIONS = [
    pytest.param({"status": Petition.Status.CLOSED}, id="status-closed"),
    pytest.param({"closes_at": timezone.now() - timedelta(minutes=1)}, id="deadline-passed"),
]


@pytest.mark.parametrize("closed", CLOSED_PETITIONS)
def test_a_closed_petition_says_so_and_shows_no_form(client, petition, closed):
    Petition.objects.filter(pk=petition.pk).update(**closed)
    html = page(client.get(f"/c/{petition.campaign.slug}/"))
    assert CLOSED in html
    assert "Free the prisoners of conscience" in html
    assert not elements(html, "form", action=f"/p/{petition.slug}/sign/#petition-{petition.slug}")
    assert not elements(html, "input", name="email")


@pytest.mark.parametrize("closed", CLOSED_PETITIONS)
def test_signing_a_closed_petition_answers_409_and_stores_nothing(
    client, petition, existing, closed, django_capture_on_commit_callbacks
):
    Petition.objects.filter(pk=petition.pk).update(**closed)
    before_rows = stored_rows()
    before = snapshot(existing)
    with django_capture_on_commit_callbacks(execute=True):
        new = post_and_run_tasks(
            client, f"/p/{petition.slug}/sign/", {**VALID, "email": "new@example.org"}
        )
        again = post_and_run_tasks(client, f"/p/{petition.slug}/sign/", VALID)

    for response in (new, again):
        assert response.status_code == 409
        assert CLOSED in page(response)
        assert 'role="alert"' in page(response)
    assert stored_rows() == before_rows
    assert snapshot(existing) == before
    assert mail.outbox == []


def test_the_service_refuses_a_closed_petition_too(petition):
    Petition.objects.filter(pk=petition.pk).update(status=Petition.Status.CLOSED)
    petition.refresh_from_db()
    with pytest.raises(services.PetitionClosedError):
        services.signature_create(petition=petition, email="anna@example.org", name="Anna")
    assert not Signature.objects.exists()


def test_a_draft_petition_is_not_found(client, petition):
    draft = petition_create(campaign=petition.campaign, status=Petition.Status.DRAFT)
    campaign_page = page(client.get(f"/c/{petition.campaign.slug}/"))
    assert draft.title not in campaign_page
    assert petition.title in campaign_page
    response = post_and_run_tasks(client, f"/p/{draft.slug}/sign/", VALID)
    assert response.status_code == 404
    assert NOT_FOUND in page(response)
    assert client.get(f"/p/{draft.slug}/thanks/").status_code == 404
    assert client.get(f"/api/v1/petitions/{draft.slug}/count/").status_code == 404
    assert not Signature.objects.filter(petition=draft).exists()


def test_a_petition_of_a_draft_campaign_is_not_found(client):
    campaign = campaign_create(status=Campaign.Status.DRAFT)
    petition = petition_create(campaign=campaign)
    assert client.get(f"/c/{campaign.slug}/").status_code == 404
    response = post_and_run_tasks(client, f"/p/{petition.slug}/sign/", VALID)
    assert response.status_code == 404
    assert NOT_FOUND in page(response)
    assert client.get(f"/api/v1/petitions/{petition.slug}/count/").status_code == 404
    assert not Signature.objects.exists()


# --- CSRF ---------------------------------------------------------------------------------


def test_a_sign_without_a_csrf_token_is_refused_and_stores_nothing(petition):
    client = Client(enforce_csrf_checks=True)
    response = post_and_run_tasks(client, f"/p/{petition.slug}/sign/", VALID)
    assert response.status_code == 403
    assert "Please try again" in page(response)
    assert stored_rows() == {"signatures": 0, "supporters": 0, "outbox": 0, "consents": 0}


def test_a_sign_with_the_page_csrf_token_is_accepted(petition):
    client = Client(enforce_csrf_checks=True)
    html = page(client.get(f"/c/{petition.campaign.slug}/"))
    token = elements(html, "input", name="csrfmiddlewaretoken")[0]["value"]
    response = post_and_run_tasks(
        client, f"/p/{petition.slug}/sign/", {**VALID, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    assert Signature.objects.count() == 1


def test_a_confirmation_without_a_csrf_token_is_refused(petition):
    signature = signature_create(petition=petition)
    token = tokens.confirm_token_make(str(latest_attempt(signature).public_id))
    client = Client(enforce_csrf_checks=True)
    response = client.post(f"/confirm/{token}/")
    assert response.status_code == 403
    signature.refresh_from_db()
    assert signature.status == Signature.Status.PENDING


# --- Anything at all ----------------------------------------------------------------------


@settings(
    max_examples=50,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(name=st.text(), email=st.one_of(st.text(), st.emails()), display=st.text(max_size=10))
def test_any_text_in_the_form_gets_an_answer_never_a_server_error(
    client, petition, name, email, display
):
    response = post_and_run_tasks(
        client, f"/p/{petition.slug}/sign/", {"name": name, "email": email, "display": display}
    )
    assert response.status_code in {302, 422}
    if response.status_code == 422:
        assert "Please correct the following:" in page(response)


@settings(
    max_examples=50,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(name=st.text(min_size=1), email=st.emails())
def test_any_name_with_a_valid_email_is_stored_or_refused_never_a_server_error(
    client, petition, name, email
):
    response = post_and_run_tasks(
        client, f"/p/{petition.slug}/sign/", {"name": name, "email": email, "display": "full"}
    )
    assert response.status_code in {302, 422}
    if response.status_code == 302:
        supporter = Supporter.objects.filter(email_digest=identity.email_digest(email)).first()
        if supporter is None:
            # Many examples from one client run into the rate limits: tallied, not stored.
            assert FlaggedAttemptTally.objects.filter(petition=petition).exists()
            return
        attempt = SignAttempt.objects.filter(signature__supporter=supporter).order_by("-pk")[0]
        assert attempt.name  # nothing invisible-only gets through as a blank name
