"""Names with markup are escaped everywhere; names in any script are kept exactly."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.cache import cache

from petitions.models import SignAttempt, Signature, Supporter
from tests.factories import post_and_run_tasks, signature_confirm, signature_create
from tests.petitions.bad_input_helpers import VALID, by_id, page
from trust import identity

pytestmark = pytest.mark.django_db


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
