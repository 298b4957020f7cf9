"""Signing a petition over HTTP and confirming the signature by link or by code."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core import mail, signing
from django.test import Client
from django.utils import timezone

from mailer.models import OutboxMessage
from petitions import services, tokens
from petitions.consent import UPDATES_WORDING_VERSION
from petitions.models import Consent, Petition, SignAttempt, Signature, Supporter
from tests.factories import (
    latest_attempt,
    petition_create,
    signature_confirm,
    signature_create,
    tasks_run_on_commit,
)
from tests.html import elements
from trust import identity

pytestmark = pytest.mark.django_db

A_DAY = 24 * 60 * 60


# --- Helpers ------------------------------------------------------------------------------


def page(response) -> str:
    return response.content.decode()


def without_csrf_tokens(html: str) -> str:
    # Django masks the CSRF token differently on every response.
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


def sign(client: Client, petition: Petition, **fields: str):
    data = {"name": "Anna Karenina", "email": "anna@example.org", "display": "hidden"}
    data.update(fields)
    with tasks_run_on_commit():
        return client.post(f"/p/{petition.slug}/sign/", data)


def confirm_link_path(message) -> str:
    match = re.search(r"https?://\S+/confirm/[^/\s]+/", message.body)
    assert match, "the confirmation email has no confirmation link"
    return urlsplit(match.group(0)).path


def code_of(signature: Signature) -> str:
    """The code in the signature's latest confirmation email."""
    return tokens.confirm_code_display(latest_attempt(signature).confirm_code)


def token_made_days_ago(signature: Signature, days: float, monkeypatch) -> str:
    then = time.time() - days * A_DAY
    with monkeypatch.context() as patch:
        patch.setattr(signing.time, "time", lambda: then)
        return tokens.confirm_token_make(str(latest_attempt(signature).public_id))


@pytest.fixture
def petition() -> Petition:
    return petition_create(title="Free the prisoners of conscience")


@pytest.fixture
def signed(client, petition, django_capture_on_commit_callbacks):
    """Anna has signed over HTTP and has her confirmation email."""
    with django_capture_on_commit_callbacks(execute=True):
        response = sign(client, petition)
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    return Signature.objects.get(petition=petition)


# --- Signing ------------------------------------------------------------------------------


def test_signing_creates_a_pending_signature_and_a_supporter_with_what_was_typed(
    client, petition, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/p/{petition.slug}/sign/",
            {
                "name": "  Anna   Karenina ",
                "email": "Anna.Karenina+Petitions@GMail.com",
                "display": "short",
                "country": "DE",
                "utm_source": "telegram",
                "utm_medium": "share",
                "utm_campaign": "spring-2026",
            },
            HTTP_ACCEPT_LANGUAGE="ru",
        )

    assert response.status_code == 302
    assert response["Location"] == f"/p/{petition.slug}/thanks/"
    signature = Signature.objects.select_related("supporter").get()
    assert signature.petition == petition
    assert signature.status == Signature.Status.PENDING
    assert signature.confirmed_at is None
    assert signature.display == Signature.Display.SHORT
    assert signature.language == "ru"
    assert (signature.source, signature.medium, signature.source_campaign) == (
        "telegram",
        "share",
        "spring-2026",
    )
    supporter = signature.supporter
    # Mail goes where typed, the domain in its one canonical (IDNA 2008, lower-case) form.
    assert supporter.email == "Anna.Karenina+Petitions@gmail.com"
    assert supporter.email_digest == identity.email_digest("annakarenina@gmail.com")
    # Name and country wait for the confirmation: anyone may have typed this address.
    assert (supporter.name, supporter.country.code) == ("", "")
    assert supporter.language == "ru"
    assert mail.outbox[0].to == ["Anna.Karenina+Petitions@gmail.com"]
    assert OutboxMessage.objects.get().language == "ru"

    client.post(confirm_link_path(mail.outbox[0]))
    supporter.refresh_from_db()
    assert supporter.name == "Anna Karenina"
    assert supporter.country.code == "DE"


def test_the_thanks_page_asks_the_signer_to_check_their_email(client, petition, signed):
    response = client.get(f"/p/{petition.slug}/thanks/")
    assert response.status_code == 200
    assert "Thank you! One more step: check your email" in page(response)
    assert "Free the prisoners of conscience" in page(response)


def test_a_sign_without_source_records_an_empty_source(client, petition):
    sign(client, petition)
    signature = Signature.objects.get()
    assert (signature.source, signature.medium, signature.source_campaign) == ("", "", "")


def test_the_campaign_page_fills_the_hidden_source_fields_from_utm_parameters(client, petition):
    response = client.get(
        f"/c/{petition.campaign.slug}/",
        {"utm_source": "telegram", "utm_medium": "share", "utm_campaign": "spring"},
    )
    html = page(response)
    assert elements(html, "input", type="hidden", name="utm_source")[0]["value"] == "telegram"
    assert elements(html, "input", type="hidden", name="utm_medium")[0]["value"] == "share"
    assert elements(html, "input", type="hidden", name="utm_campaign")[0]["value"] == "spring"


def test_the_campaign_page_takes_the_source_from_ref_when_there_is_no_utm_source(client, petition):
    html = page(client.get(f"/c/{petition.campaign.slug}/", {"ref": "newsletter"}))
    assert elements(html, "input", type="hidden", name="utm_source")[0]["value"] == "newsletter"


def test_the_campaign_page_strips_anything_odd_from_source_parameters(client, petition):
    html = page(client.get(f"/c/{petition.campaign.slug}/", {"utm_source": '"><script>x</script>'}))
    assert elements(html, "input", type="hidden", name="utm_source")[0]["value"] == "scriptxscript"
    assert "<script>x" not in html


def test_a_signature_records_the_source_from_a_ref_link(client, petition):
    html = page(client.get(f"/c/{petition.campaign.slug}/", {"ref": "newsletter"}))
    hidden = {
        attrs["name"]: attrs.get("value") or ""
        for attrs in elements(html, "input", type="hidden")
        if attrs["name"].startswith("utm_")
    }
    sign(client, petition, **hidden)
    assert Signature.objects.get().source == "newsletter"


# --- Duplicates ---------------------------------------------------------------------------


def test_a_new_and_a_repeated_signature_get_exactly_the_same_answer(
    client, petition, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = sign(client, petition)
        second = sign(client, petition)
    signature_create(petition=petition, email="boris@example.org", confirmed=True)
    with django_capture_on_commit_callbacks(execute=True):
        third = sign(client, petition, email="boris@example.org")

    assert first.status_code == second.status_code == third.status_code == 302
    assert first["Location"] == second["Location"] == third["Location"]
    bodies = {without_csrf_tokens(page(client.get(r["Location"]))) for r in (first, second, third)}
    assert len(bodies) == 1


def test_signing_again_while_pending_sends_the_confirmation_email_again(
    client, petition, signed, django_capture_on_commit_callbacks
):
    Signature.objects.update(confirmation_requested_at=timezone.now() - timedelta(days=3))
    with django_capture_on_commit_callbacks(execute=True):
        sign(client, petition)

    assert Signature.objects.count() == 1
    assert len(mail.outbox) == 2
    again = mail.outbox[1]
    assert again.subject == "Confirm your signature: Free the prisoners of conscience"
    assert again.to == ["anna@example.org"]
    assert code_of(signed) in again.body
    signed.refresh_from_db()
    assert timezone.now() - signed.confirmation_requested_at < timedelta(minutes=1)
    # The new link works.
    response = client.post(confirm_link_path(again))
    assert response.status_code == 302
    signed.refresh_from_db()
    assert signed.status == Signature.Status.CONFIRMED


def test_signing_again_once_confirmed_sends_the_already_signed_email(
    client, petition, signed, django_capture_on_commit_callbacks
):
    client.post(confirm_link_path(mail.outbox[0]))
    with django_capture_on_commit_callbacks(execute=True):
        sign(client, petition)

    assert len(mail.outbox) == 2
    notice = mail.outbox[1]
    assert notice.subject == "You have already signed: Free the prisoners of conscience"
    assert notice.to == ["anna@example.org"]
    assert "You have already signed it, and your signature is counted once." in notice.body
    assert "/confirm/" not in notice.body
    assert notice.extra_headers["Auto-Submitted"] == "auto-generated"
    assert Signature.objects.get().status == Signature.Status.CONFIRMED


def test_a_second_attempt_decides_nothing_until_it_is_confirmed(
    client, petition, django_capture_on_commit_callbacks
):
    sign(client, petition, name="Anna Karenina", display="hidden", country="RU", utm_source="vk")
    response = sign(
        client,
        petition,
        name="Someone Else",
        email="ANNA@example.org",
        display="full",
        country="FR",
        consent_updates="on",
        utm_source="telegram",
    )

    assert response.status_code == 302
    signature = Signature.objects.select_related("supporter").get()
    assert signature.supporter.name == ""
    assert signature.supporter.email == "anna@example.org"
    assert signature.display == Signature.Display.HIDDEN
    assert signature.source == "vk"
    assert not Consent.objects.exists()
    # Anna confirms her own attempt (the first email): her choices count, the other goes.
    assert client.post(confirm_link_path(mail.outbox[0])).status_code == 302
    signature.refresh_from_db()
    signature.supporter.refresh_from_db()
    assert signature.supporter.name == "Anna Karenina"
    assert signature.supporter.country.code == "RU"
    assert signature.display == Signature.Display.HIDDEN
    assert signature.source == "vk"
    assert not Consent.objects.exists()
    assert client.post(confirm_link_path(mail.outbox[1])).status_code == 400


def test_the_attempt_confirmed_decides_the_name_display_and_consent(client, petition):
    sign(client, petition, name="Someone Else", display="full", country="FR")
    sign(client, petition, name="Anna Karenina", display="short", consent_updates="on")

    # As a browser sends the review form: its prefilled values, consent ticked again.
    review = {"name": "Anna Karenina", "display": "short", "consent_updates": "on"}
    assert client.post(confirm_link_path(mail.outbox[1]), review).status_code == 302
    signature = Signature.objects.select_related("supporter").get()
    assert signature.status == Signature.Status.CONFIRMED
    assert signature.supporter.name == "Anna Karenina"
    assert signature.supporter.country.code == ""
    assert signature.display == Signature.Display.SHORT
    assert Consent.objects.get().confirmed_at == signature.confirmed_at
    # The first attempt can no longer confirm anything, nor change the name.
    assert client.post(confirm_link_path(mail.outbox[0])).status_code == 400
    signature.supporter.refresh_from_db()
    assert signature.supporter.name == "Anna Karenina"


@pytest.mark.parametrize(
    "again",
    ["Anna.Karenina@gmail.com", "annakarenina@googlemail.com", "ANNA.KARENINA+x@GMAIL.COM"],
)
def test_one_signature_per_normalised_email(client, petition, again):
    sign(client, petition, email="annakarenina@gmail.com")
    sign(client, petition, email=again)
    assert Signature.objects.count() == 1
    assert Supporter.objects.count() == 1
    assert Supporter.objects.get().email == "annakarenina@gmail.com"


def test_one_supporter_signs_several_petitions(client, petition):
    other = petition_create(campaign=petition.campaign)
    sign(client, petition)
    sign(client, other, email="Anna@Example.org")
    assert Supporter.objects.count() == 1
    assert Signature.objects.count() == 2


# --- The form's defaults and consent ------------------------------------------------------


def test_the_updates_checkbox_is_unticked_and_not_shown_is_the_default_display(client, petition):
    html = page(client.get(f"/c/{petition.campaign.slug}/"))
    (checkbox,) = elements(html, "input", name="consent_updates")
    assert checkbox["type"] == "checkbox"
    assert "checked" not in checkbox
    radios = {attrs["value"]: attrs for attrs in elements(html, "input", name="display")}
    assert set(radios) == {"hidden", "short", "full"}
    assert "checked" in radios["hidden"]
    assert "checked" not in radios["short"]
    assert "checked" not in radios["full"]
    assert "Don&#x27;t show my name" in html


def test_no_consent_is_stored_when_the_box_is_not_ticked(client, petition):
    sign(client, petition)
    assert Signature.objects.count() == 1
    assert not Consent.objects.exists()


def test_consent_is_stored_with_its_wording_once_the_signature_is_confirmed(client, petition):
    sign(client, petition, consent_updates="on")
    # Nothing yet: until the address is confirmed, anyone may have ticked the box.
    assert not Consent.objects.exists()

    # Pressing Confirm without ticking it again on the review page gives no consent.
    client.post(confirm_link_path(mail.outbox[0]), {"name": "Anna", "display": "hidden"})
    assert not Consent.objects.exists()
    sign(client, petition, email="boris@example.org", consent_updates="on")
    client.post(
        confirm_link_path(mail.outbox[-1]),
        {"name": "Boris", "display": "hidden", "consent_updates": "on"},
    )
    consent = Consent.objects.get()
    signature = Signature.objects.get(supporter=consent.supporter)
    assert consent.signature == signature
    assert consent.supporter == signature.supporter
    assert consent.campaign == petition.campaign
    assert consent.purpose == Consent.Purpose.CAMPAIGN_UPDATES
    assert consent.method == Consent.Method.SIGN_FORM
    assert consent.wording_version == UPDATES_WORDING_VERSION
    assert timezone.now() - consent.given_at < timedelta(minutes=1)
    assert consent.confirmed_at is not None
    assert consent.confirmed_at == signature.confirmed_at


# --- The confirmation email ---------------------------------------------------------------


def test_the_confirmation_email_has_text_and_html_with_the_link_and_the_code(
    petition, signed, settings
):
    message = mail.outbox[0]
    code = code_of(signed)
    assert message.subject == "Confirm your signature: Free the prisoners of conscience"
    assert message.to == ["anna@example.org"]
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"
    link = f"{settings.SITE_URL}{confirm_link_path(message)}"
    assert message.body.startswith("Hello,\n")
    assert link in message.body
    assert code in message.body
    assert f"{settings.SITE_URL}/p/{petition.slug}/confirm/" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert elements(html, "a", href=link)
    assert code in html
    assert "Hello," in html


def test_the_confirmation_link_carries_no_personal_data(signed):
    path = confirm_link_path(mail.outbox[0])
    assert "anna" not in path.lower()
    assert str(signed.public_id) not in path


# --- Confirming by link -------------------------------------------------------------------


def test_opening_the_link_shows_a_confirm_button_and_confirms_nothing(client, signed):
    path = confirm_link_path(mail.outbox[0])
    for _ in range(2):  # mail scanners may open a link more than once
        response = client.get(path)
        assert response.status_code == 200
        html = page(response)
        assert "Confirm your signature" in html
        (form,) = elements(html, "form", action=path)
        assert form["method"] == "post"
        assert "Confirm my signature" in html
    signed.refresh_from_db()
    assert signed.status == Signature.Status.PENDING
    assert signed.confirmed_at is None


def test_pressing_confirm_confirms_and_shows_the_confirmed_page(client, petition, signed):
    response = client.post(confirm_link_path(mail.outbox[0]))
    assert response.status_code == 302
    assert response["Location"] == f"/p/{petition.slug}/confirmed/"
    signed.refresh_from_db()
    assert signed.status == Signature.Status.CONFIRMED
    assert signed.confirmed_at is not None
    confirmed = client.get(response["Location"])
    assert "Your signature is confirmed" in page(confirmed)


def test_confirming_twice_is_harmless(client, petition, signed):
    path = confirm_link_path(mail.outbox[0])
    client.post(path)
    signed.refresh_from_db()
    first_confirmed_at = signed.confirmed_at

    again = client.post(path)
    assert again.status_code == 302
    assert again["Location"] == f"/p/{petition.slug}/confirmed/"
    signed.refresh_from_db()
    assert signed.status == Signature.Status.CONFIRMED
    assert signed.confirmed_at == first_confirmed_at
    assert Signature.objects.count() == 1

    reopened = client.get(path)
    assert reopened.status_code == 200
    assert "Your signature is already confirmed" in page(reopened)
    assert not elements(page(reopened), "form", action=path)


# --- Confirming by code -------------------------------------------------------------------


def test_the_code_page_shows_a_form(client, petition):
    response = client.get(f"/p/{petition.slug}/confirm/")
    assert response.status_code == 200
    (form,) = elements(page(response), "form", action=f"/p/{petition.slug}/confirm/")
    assert form["method"] == "post"
    assert elements(page(response), "input", name="code")


@pytest.mark.parametrize(
    "typing",
    [
        pytest.param(lambda code: code, id="as-shown"),
        pytest.param(lambda code: code.lower(), id="lowercase"),
        pytest.param(lambda code: code.replace("-", ""), id="without-dash"),
        pytest.param(lambda code: code.replace("-", "").lower(), id="lowercase-without-dash"),
        pytest.param(lambda code: f" {code.replace('-', ' ')} ", id="with-spaces"),
    ],
)
def test_typing_the_code_confirms_the_signature(client, petition, signed, typing):
    code = code_of(signed)
    assert code in mail.outbox[0].body
    response = code_confirm(client, petition, typing(code))
    assert response["Location"] == f"/p/{petition.slug}/confirmed/"
    signed.refresh_from_db()
    assert signed.status == Signature.Status.CONFIRMED


def code_confirm(client, petition: Petition, code: str):  # type: ignore[no-untyped-def]
    """Type the code, land on the review page of the emailed link, and confirm as shown."""
    typed = client.post(f"/p/{petition.slug}/confirm/", {"code": code})
    assert typed.status_code == 302
    assert typed["Location"].startswith("/confirm/")
    review = client.get(typed["Location"])
    assert review.status_code == 200
    assert elements(page(review), "input", name="name")
    assert Signature.objects.get().status == Signature.Status.PENDING  # not before the POST
    response = client.post(typed["Location"])
    assert response.status_code == 302
    return response


def test_a_valid_code_shows_the_review_and_confirms_nothing_by_itself(client, petition, signed):
    typed = client.post(f"/p/{petition.slug}/confirm/", {"code": code_of(signed)})

    assert typed.status_code == 302
    review = page(client.get(typed["Location"]))
    assert "Confirm my signature" in review
    (name,) = elements(review, "input", name="name")
    assert name["value"] == latest_attempt(signed).name
    signed.refresh_from_db()
    assert signed.status == Signature.Status.PENDING


def test_typing_the_code_again_after_confirming_is_harmless(client, petition, signed):
    code = code_of(signed)
    code_confirm(client, petition, code)
    again = client.post(f"/p/{petition.slug}/confirm/", {"code": code})
    assert again.status_code == 302
    assert Signature.objects.get().status == Signature.Status.CONFIRMED


CODE_INVALID = "This code is not valid or has expired."


def assert_code_refused(response, signature: Signature) -> None:
    assert response.status_code == 400
    html = page(response)
    assert CODE_INVALID in html
    (field,) = elements(html, "input", name="code")
    assert field.get("aria-invalid") == "true"
    signature.refresh_from_db()
    assert signature.status == Signature.Status.PENDING
    assert signature.confirmed_at is None


def test_a_wrong_code_is_refused_with_a_clear_message(client, petition, signed):
    code = code_of(signed)
    wrong = ("B" if code[0] != "B" else "C") + code[1:]
    response = client.post(f"/p/{petition.slug}/confirm/", {"code": wrong})
    assert_code_refused(response, signed)


def test_guessing_codes_is_stopped_after_the_hourly_limit_even_for_the_right_code(
    client, petition, signed, settings
):
    settings.RATE_CONFIRM_CODE_PER_HOUR = 3
    code = code_of(signed)
    wrong = ("B" if code[0] != "B" else "C") + code[1:]
    for _ in range(3):
        assert_code_refused(client.post(f"/p/{petition.slug}/confirm/", {"code": wrong}), signed)
    response = client.post(f"/p/{petition.slug}/confirm/", {"code": code})
    assert response.status_code == 429
    assert "Too many codes were tried from your connection." in page(response)
    (field,) = elements(page(response), "input", name="code")
    assert field.get("value") == code  # what they typed stays
    signed.refresh_from_db()
    assert signed.status == Signature.Status.PENDING
    # Another connection is not affected.
    other = client.post(f"/p/{petition.slug}/confirm/", {"code": code}, REMOTE_ADDR="192.0.2.9")
    assert other.status_code == 302


def test_a_code_for_another_petition_is_refused(client, petition, signed):
    other = petition_create(campaign=petition.campaign)
    response = client.post(f"/p/{other.slug}/confirm/", {"code": code_of(signed)})
    assert response.status_code == 400
    assert CODE_INVALID in page(response)
    signed.refresh_from_db()
    assert signed.status == Signature.Status.PENDING


def test_an_expired_code_is_refused(client, petition, signed, settings):
    code = code_of(signed)
    SignAttempt.objects.update(
        created_at=timezone.now() - timedelta(days=settings.CONFIRM_MAX_AGE_DAYS, minutes=1)
    )
    response = client.post(f"/p/{petition.slug}/confirm/", {"code": code})
    assert_code_refused(response, signed)


def test_signing_again_after_the_code_expired_mails_a_new_code_that_works(
    client, petition, signed, settings
):
    old_code = code_of(signed)
    SignAttempt.objects.update(
        created_at=timezone.now() - timedelta(days=settings.CONFIRM_MAX_AGE_DAYS, minutes=1)
    )
    sign(client, petition)
    new_code = code_of(signed)
    assert new_code != old_code
    assert new_code in mail.outbox[1].body
    assert_code_refused(client.post(f"/p/{petition.slug}/confirm/", {"code": old_code}), signed)
    code_confirm(client, petition, new_code)
    signed.refresh_from_db()
    assert signed.status == Signature.Status.CONFIRMED


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Please enter the code from the email."),
        ("A" * 21, "The code has eight characters, for example ABCD-EF23."),
        ("<script>alert(1)</script>", "The code has eight characters"),
    ],
)
def test_a_malformed_code_is_refused_with_a_clear_message(client, petition, signed, typed, message):
    response = client.post(f"/p/{petition.slug}/confirm/", {"code": typed})
    assert response.status_code == 400
    assert message in page(response)
    assert "<script>alert" not in page(response)
    signed.refresh_from_db()
    assert signed.status == Signature.Status.PENDING


# --- Links that do not work ---------------------------------------------------------------

LINK_INVALID = "This link is invalid or has expired"


def assert_link_refused(client: Client, path: str, signature: Signature) -> None:
    for method in (client.get, client.post):
        response = method(path)
        assert response.status_code == 400
        assert LINK_INVALID in page(response)
        assert not elements(page(response), "form", action=path)
    signature.refresh_from_db()
    assert signature.status != Signature.Status.CONFIRMED
    assert signature.confirmed_at is None


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"), id="edited"),
        pytest.param(lambda token: token[:-6], id="truncated"),
        pytest.param(lambda token: "AAAA" + token[4:], id="other-payload"),
        pytest.param(lambda token: "garbage", id="garbage"),
    ],
)
def test_a_tampered_link_is_refused_and_confirms_nothing(client, signed, forge):
    token = confirm_link_path(mail.outbox[0]).split("/")[2]
    assert_link_refused(client, f"/confirm/{forge(token)}/", signed)


def test_a_link_signed_with_another_key_is_refused(client, signed):
    forged = signing.dumps(str(signed.public_id), salt=tokens.CONFIRM_SALT, key="guessed-key")
    assert_link_refused(client, f"/confirm/{forged}/", signed)


def test_a_link_for_an_unknown_signature_is_refused(client, signed):
    unknown = tokens.confirm_token_make("00000000-0000-0000-0000-000000000000")
    not_a_uuid = tokens.confirm_token_make("not-a-uuid")
    assert_link_refused(client, f"/confirm/{unknown}/", signed)
    assert_link_refused(client, f"/confirm/{not_a_uuid}/", signed)


def test_an_expired_link_is_refused_and_confirms_nothing(client, signed, settings, monkeypatch):
    token = token_made_days_ago(signed, settings.CONFIRM_MAX_AGE_DAYS + 1, monkeypatch)
    assert_link_refused(client, f"/confirm/{token}/", signed)


def test_the_link_lifetime_follows_the_setting(client, signed, settings, monkeypatch):
    token = token_made_days_ago(signed, 2, monkeypatch)
    settings.CONFIRM_MAX_AGE_DAYS = 1
    assert_link_refused(client, f"/confirm/{token}/", signed)
    settings.CONFIRM_MAX_AGE_DAYS = 3
    assert client.post(f"/confirm/{token}/").status_code == 302
    signed.refresh_from_db()
    assert signed.status == Signature.Status.CONFIRMED


@pytest.mark.parametrize("status", [Signature.Status.WITHDRAWN, Signature.Status.INVALIDATED])
def test_a_withdrawn_or_invalidated_signature_cannot_be_confirmed_by_link(client, signed, status):
    Signature.objects.update(status=status)
    path = confirm_link_path(mail.outbox[0])
    response = client.post(path)
    assert response.status_code == 400
    assert LINK_INVALID in page(response)
    signed.refresh_from_db()
    assert signed.status == status
    assert signed.confirmed_at is None


@pytest.mark.parametrize("status", [Signature.Status.WITHDRAWN, Signature.Status.INVALIDATED])
def test_a_withdrawn_or_invalidated_signature_cannot_be_confirmed_by_code(
    client, petition, signed, status
):
    Signature.objects.update(status=status)
    response = client.post(f"/p/{petition.slug}/confirm/", {"code": code_of(signed)})
    assert response.status_code == 400
    assert "This signature can no longer be confirmed." in page(response)
    signed.refresh_from_db()
    assert signed.status == status


# --- Counting -----------------------------------------------------------------------------


def test_only_confirmed_signatures_are_counted(
    client, petition, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sign(client, petition, email="anna@example.org")
        sign(client, petition, email="boris@example.org")
        sign(client, petition, email="vera@example.org")
    client.post(confirm_link_path(mail.outbox[0]))
    vera = identity.email_digest("vera@example.org")
    withdrawn = Signature.objects.get(supporter__email_digest=vera)
    signature_confirm(withdrawn)
    Signature.objects.filter(pk=withdrawn.pk).update(status=Signature.Status.WITHDRAWN)

    assert services.signature_counts_refresh() == 1
    petition.refresh_from_db()
    assert petition.signature_count == 1
    assert client.get(f"/api/v1/petitions/{petition.slug}/count/").json()["count"] == 1


@pytest.mark.parametrize("status", [Signature.Status.WITHDRAWN, Signature.Status.INVALIDATED])
def test_signing_again_after_a_withdrawal_sends_nothing_and_answers_the_same(
    client, petition, signed, status, django_capture_on_commit_callbacks
):
    Signature.objects.update(status=status)
    with django_capture_on_commit_callbacks(execute=True):
        response = sign(client, petition)
    assert response.status_code == 302
    assert response["Location"] == f"/p/{petition.slug}/thanks/"
    assert len(mail.outbox) == 1  # only the first confirmation email
    assert Signature.objects.get().status == status


def test_a_link_mailed_before_a_secret_key_rotation_still_confirms_with_the_old_key_as_fallback(
    client, petition, signed, settings
):
    token = tokens.confirm_token_make(str(latest_attempt(signed).public_id))
    code = code_of(signed)
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "a-brand-new-secret-key-of-more-than-thirty-two-characters"
    assert client.post(f"/confirm/{token}/").status_code == 400  # no fallback: refused
    # The typed code is random, not derived from the key: it works across the rotation.
    code_confirm(client, petition, code)
    signed.refresh_from_db()
    assert signed.status == Signature.Status.CONFIRMED
    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert client.post(f"/confirm/{token}/").status_code == 302
