"""Confirming is an informed step: the person holding the mailbox sees and chooses what is
published and recorded, so a stranger who signed with their address first never decides it.

The attack: someone signs victim@example.org with their own words shown in full and
consent ticked; seconds later the victim signs as themselves. The victim's attempt falls in
the duplicate interval and is mailed nothing, so the only email they get is about the
stranger's attempt. Its link must show the stranger's values and confirm the victim's.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client

from petitions import tokens
from petitions.models import Consent, Petition, SignAttempt, Signature, Supporter
from tests.factories import petition_create, post_and_run_tasks
from tests.html import elements

pytestmark = pytest.mark.django_db

VICTIM = "victim@example.org"
SLOGAN = "Glory to the war Z"
ATTACKER = {"name": SLOGAN, "email": VICTIM, "display": "full", "country": "RU"}
ATTACKER_CONSENT = {**ATTACKER, "consent_updates": "on"}
OWN = {"name": "Vera Victim", "email": VICTIM, "display": "hidden", "country": ""}


@pytest.fixture(autouse=True)
def _roomy(settings: Any) -> None:
    settings.DUPLICATE_EMAIL_INTERVAL_SECONDS = 120
    settings.RATE_IP_BURST_PER_MINUTE = 1000
    settings.RATE_IP_SUSTAINED_PER_HOUR = 1000
    settings.RATE_DOMAIN_PER_HOUR = 1000
    settings.CHALLENGE_AUTO_PER_MINUTE = 100000


@pytest.fixture
def petition() -> Petition:
    return petition_create()


def sign(petition: Petition, data: dict[str, str], ip: str) -> None:
    post_and_run_tasks(Client(), f"/p/{petition.slug}/sign/", data, REMOTE_ADDR=ip)


def link_path() -> str:
    """The confirmation link of the one email the victim received."""
    [message] = mail.outbox
    match = re.search(r"https?://\S+/confirm/[^/\s]+/", message.body)
    assert match
    return urlsplit(match.group(0)).path


def page(response: Any) -> str:
    return str(response.content.decode())


@pytest.fixture
def victims_link(petition: Petition) -> str:
    """The attack sequence up to the one email the victim gets: the attacker's attempt."""
    sign(petition, ATTACKER_CONSENT, "203.0.113.66")
    sign(petition, OWN, "198.51.100.5")  # within the interval: no second email
    return link_path()


def published() -> list[tuple[str, str]]:
    signature = Signature.objects.select_related("supporter").get()
    assert signature.supporter is not None
    return [(signature.supporter.name, signature.display)]


def test_the_review_shows_what_confirming_would_publish_without_confirming(
    client: Client, victims_link: str
) -> None:
    response = client.get(victims_link)

    html = page(response)
    assert response.status_code == 200
    (name,) = elements(html, "input", name="name")
    assert name["value"] == SLOGAN
    (full,) = elements(html, "input", name="display", value="full")
    assert "checked" in full
    # Consent is never ticked in advance, even though the attempt's author ticked it.
    (consent,) = elements(html, "input", name="consent_updates")
    assert "checked" not in consent
    assert f"<strong>{SLOGAN}</strong>" in html
    assert Signature.objects.get().status == Signature.Status.PENDING
    assert not Consent.objects.exists()


def test_a_post_without_the_form_confirms_without_the_strangers_consent(
    client: Client, victims_link: str
) -> None:
    client.post(victims_link)

    assert Signature.objects.get().status == Signature.Status.CONFIRMED
    assert not Consent.objects.exists()


def test_the_victim_confirms_their_own_choices_never_the_attackers(
    client: Client, victims_link: str
) -> None:
    response = client.post(victims_link, {"name": "Vera Victim", "display": "hidden"})

    assert response.status_code == 302
    assert published() == [("Vera Victim", "hidden")]
    assert not Consent.objects.exists()  # the box was unticked on the page
    assert Supporter.objects.get().country.code == ""
    campaign_page = page(client.get(response["Location"]))
    assert SLOGAN not in campaign_page


def test_consent_given_on_the_review_is_recorded_as_given_there(
    client: Client, petition: Petition
) -> None:
    sign(petition, OWN, "198.51.100.5")
    path = link_path()

    client.post(path, {"name": "Vera Victim", "display": "short", "consent_updates": "on"})

    consent = Consent.objects.get()
    assert consent.given_at == consent.confirmed_at
    assert published() == [("Vera Victim", "short")]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "", "display": "full"}, "name", "Please enter your name."),
        ({"name": "Vera\x07", "display": "full"}, "name", "cannot be shown"),
        ({"name": "Vera", "display": "shout"}, "display", "Select a valid choice"),
        ({"name": "Vera", "display": "full", "country": "XX"}, "country", "Choose a country"),
    ],
)
def test_bad_input_on_the_review_keeps_what_was_typed_and_changes_nothing(
    client: Client, victims_link: str, data: dict[str, str], field: str, message: str
) -> None:
    before = list(SignAttempt.objects.values_list("name", "display", "consent_updates"))

    response = client.post(victims_link, {**data, "consent_updates": "on"})

    html = page(response)
    assert response.status_code == 400
    assert message in html
    first = elements(html, "input" if field != "country" else "select", name=field)[0]
    error_id = f"id_confirm_{field}_error"
    assert error_id in html
    if field == "name":
        assert error_id in first.get("aria-describedby", "")
    (consent,) = elements(html, "input", name="consent_updates")
    assert "checked" in consent  # the typed choice is kept
    assert Signature.objects.get().status == Signature.Status.PENDING
    assert list(SignAttempt.objects.values_list("name", "display", "consent_updates")) == before
    assert not Consent.objects.exists()


def test_an_empty_post_confirms_the_values_the_page_showed(
    client: Client, petition: Petition
) -> None:
    sign(petition, OWN, "198.51.100.5")

    assert client.post(link_path()).status_code == 302
    assert published() == [("Vera Victim", "hidden")]


def test_the_typed_code_leads_to_the_same_review(client: Client, victims_link: str) -> None:
    [attempt] = [a for a in SignAttempt.objects.all() if a.name == SLOGAN]
    petition = attempt.petition

    typed = client.post(
        f"/p/{petition.slug}/confirm/", {"code": tokens.confirm_code_display(attempt.confirm_code)}
    )

    assert typed.status_code == 302
    assert Signature.objects.get().status == Signature.Status.PENDING
    review = page(client.get(typed["Location"]))
    (name,) = elements(review, "input", name="name")
    assert name["value"] == SLOGAN
    client.post(typed["Location"], {"name": "Vera Victim", "display": "short"})
    assert published() == [("Vera Victim", "short")]
