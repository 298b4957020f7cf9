"""What we hash is what we send to: one ASCII form of every domain (IDNA 2008, UTS #46).

Python's built-in "idna" codec is IDNA 2003 and maps ``ß`` to ``ss`` and final sigma to sigma;
ESPs and browsers use IDNA 2008, where ``freerußia.org`` is ``xn--freeruia-vya.org``, a
domain anyone can register. A look-alike spelling must never share a digest with the real
address, and no mail about the real address may reach the look-alike domain.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core import mail
from django.core.mail.message import sanitize_address
from django.test import Client

from petitions.forms import SignForm
from petitions.manage_forms import ManageRequestForm
from petitions.models import SignAttempt, Supporter
from tests.factories import petition_create, post_and_run_tasks, signature_create
from trust.identity import email_canonical, email_digest, email_normalise

pytestmark = pytest.mark.django_db

VICTIM = "anna@freerussia.org"
LOOKALIKE = "anna@freerußia.org"
LOOKALIKE_ASCII = "anna@xn--freeruia-vya.org"
SIGN = {"name": "Anna Real", "display": "hidden", "country": ""}
BACKENDS = ["django.core.mail.backends.locmem.EmailBackend", "anymail.backends.test.EmailBackend"]


@pytest.fixture(params=BACKENDS, ids=["locmem", "anymail"])
def backend(request: Any, settings: Any) -> str:
    settings.EMAIL_BACKEND = request.param
    settings.RATE_IP_BURST_PER_MINUTE = 1000
    settings.RATE_IP_SUSTAINED_PER_HOUR = 1000
    settings.RATE_DOMAIN_PER_HOUR = 1000
    settings.CHALLENGE_AUTO_PER_MINUTE = 100000
    mail.outbox = []
    return str(request.param)


def recipients() -> list[str]:
    """Every address mail went to, as the backend received it (anymail: as it would send)."""
    sent = []
    for message in mail.outbox:
        params = getattr(message, "anymail_test_params", None)
        if params is not None:
            sent += [address.addr_spec for address in params["to"]]
        else:
            sent += list(message.to)
    return sent


def test_sharp_s_and_final_sigma_are_other_domains_than_ss_and_sigma() -> None:
    assert email_normalise(LOOKALIKE) == LOOKALIKE_ASCII
    assert email_digest(LOOKALIKE) != email_digest(VICTIM)
    assert email_digest("a@ςigma.gr") != email_digest("a@\u03c3igma.gr")
    assert email_canonical("a@ςigma.gr") == "a@xn--igma-fod.gr"


def test_a_punycode_domain_and_its_unicode_spelling_are_one_mailbox() -> None:
    assert email_digest(LOOKALIKE_ASCII) == email_digest(LOOKALIKE)
    assert email_canonical(LOOKALIKE_ASCII) == LOOKALIKE_ASCII
    assert email_canonical("ivan@почта.рф") == "ivan@xn--80a1acny.xn--p1ai"


def test_mixed_case_domains_are_lower_cased_and_the_local_part_kept() -> None:
    assert email_canonical("Anna@FreeRussia.ORG") == "Anna@freerussia.org"
    assert email_digest("Anna@FreeRussia.ORG") == email_digest(VICTIM)
    assert email_canonical("anna@FREERUßIA.org") == LOOKALIKE_ASCII


@pytest.mark.parametrize("dot", ["\u3002", "\uff0e", "\uff61", "."])
def test_a_trailing_dot_of_any_script_is_dropped_so_the_mail_can_go(dot: str) -> None:
    # UTS #46 turns full-width and ideographic dots into ".": a trailing one appeared only
    # after the conversion, and mail backends refuse "example.org." (a stranger could store
    # it for someone and stop every email to them).
    assert email_canonical(f"victim@freerussia.org{dot}") == "victim@freerussia.org"
    assert email_digest(f"victim@freerussia.org{dot}") == email_digest("victim@freerussia.org")


@pytest.mark.parametrize("form_class", [SignForm, ManageRequestForm])
def test_a_quoted_local_part_is_refused_on_every_signer_form(form_class: Any) -> None:
    # "victim"@example.org reaches victim@example.org's mailbox but would hash apart from it:
    # one mailbox with two signatures, and address block rules stepped around.
    form = form_class({**SIGN, "email": '"victim"@freerussia.org'})

    assert not form.is_valid()
    assert "The part before @" in " ".join(form.errors["email"])


@pytest.mark.parametrize("form_class", [SignForm, ManageRequestForm])
def test_every_signer_form_stores_the_canonical_ascii_address(form_class: Any) -> None:
    form = form_class({**SIGN, "email": "Anna@FreeRußia.ORG"})

    assert form.is_valid(), form.errors
    assert form.cleaned_data["email"] == "Anna@xn--freeruia-vya.org"


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("anna@☃.net", "The part after @ is not a valid domain name"),
        ("anna@xn--zz.org", "The part after @ is not a valid domain name"),
        ("анна@example.org", "Enter an email address like name@example.org."),
    ],
)
def test_an_address_without_one_mailable_form_gets_a_clear_field_error(
    email: str, message: str
) -> None:
    form = SignForm({**SIGN, "email": email})

    assert not form.is_valid()
    assert message in " ".join(form.errors["email"])


def test_the_idna_error_is_in_russian_too() -> None:
    from django.utils import translation

    with translation.override("ru"):
        form = ManageRequestForm({"email": "anna@☃.net"})
        assert not form.is_valid()
        assert "домен" in " ".join(form.errors["email"])


def test_the_api_stores_the_canonical_address(backend: str) -> None:
    petition = petition_create()
    body = {"name": "Anna Real", "display": "hidden", "email": LOOKALIKE}
    post_and_run_tasks(
        Client(),
        f"/api/v1/petitions/{petition.slug}/signatures/",
        json.dumps(body),
        content_type="application/json",
        REMOTE_ADDR="198.51.100.9",
    )

    assert recipients() == [LOOKALIKE_ASCII]
    assert [a.email for a in SignAttempt.objects.all()] == [LOOKALIKE_ASCII]


def test_a_lookalike_asking_for_a_manage_link_reaches_no_one(backend: str) -> None:
    signature = signature_create(email=VICTIM, confirmed=True)
    assert signature.supporter is not None
    Supporter.objects.filter(pk=signature.supporter.pk).update(email="")  # dropped
    mail.outbox = []

    post_and_run_tasks(Client(), "/manage/", {"email": LOOKALIKE}, REMOTE_ADDR="198.51.100.8")

    assert recipients() == []
    assert Supporter.objects.get(pk=signature.supporter.pk).email == ""


def test_the_real_owner_still_gets_their_manage_link(backend: str) -> None:
    signature = signature_create(email=VICTIM, confirmed=True)
    assert signature.supporter is not None
    Supporter.objects.filter(pk=signature.supporter.pk).update(email="")
    mail.outbox = []

    post_and_run_tasks(
        Client(), "/manage/", {"email": "Anna@FREERUSSIA.org"}, REMOTE_ADDR="192.0.2.9"
    )

    assert recipients() == ["Anna@freerussia.org"]


def test_a_lookalike_signing_gets_its_own_confirmation_never_the_already_signed_email(
    backend: str,
) -> None:
    petition = petition_create()
    signature_create(petition=petition, email=VICTIM, name="Anna Real", confirmed=True)
    mail.outbox = []

    post_and_run_tasks(
        Client(),
        f"/p/{petition.slug}/sign/",
        {**SIGN, "name": "Mallory", "email": LOOKALIKE},
        REMOTE_ADDR="198.51.100.10",
    )

    assert recipients() == [LOOKALIKE_ASCII]
    [message] = mail.outbox
    assert "already" not in message.subject.lower()
    assert "Anna Real" not in message.body
    assert Supporter.objects.count() == 2


def test_the_smtp_backend_receives_the_domain_unchanged() -> None:
    # Django's SMTP backend builds envelope recipients with sanitize_address, which would
    # IDNA-encode a Unicode domain itself; a canonical address passes through as it is.
    stored = email_canonical(LOOKALIKE)

    assert sanitize_address(stored, "utf-8") == LOOKALIKE_ASCII
    assert sanitize_address(email_canonical(VICTIM), "utf-8") == VICTIM
