"""None"""

from __future__ import annotations

import pytest
from django.core import mail

from mailer.models import OutboxMessage
from petitions import services, tokens
from petitions.models import Signature
from tests.factories import latest_attempt, signature_confirm
from tests.html import elements
from tests.petitions.signing_helpers import code_confirm, code_of, confirm_link_path, page, sign
from trust import identity

pytestmark = pytest.mark.django_db


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
