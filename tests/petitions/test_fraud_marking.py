"""Fraudulent sign attempts are answered exactly like any other, and leave nothing tied to
a person: no supporter, no signature, no attempt, no email; only the petition's anonymous
tally for the reason moves, the same way whether or not the address had signed."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from mailer.models import OutboxMessage
from petitions import services
from petitions.models import (
    Consent,
    FlaggedAttemptTally,
    InvalidationBatch,
    Petition,
    SignAttempt,
    Signature,
    Supporter,
)
from tests.factories import block_rule_create, petition_create, signature_confirm, signature_create
from trust.iphash import ip_hashes
from trust.models import BlockRule

pytestmark = pytest.mark.django_db

IP = "198.51.100.7"
OTHER_IP = "203.0.113.50"


@pytest.fixture
def petition() -> Petition:
    return petition_create(title="Free the prisoners of conscience")


@pytest.fixture
def sign(client: Client, django_capture_on_commit_callbacks) -> Callable[..., Any]:
    """POST the sign form from ``ip``; the emails queued on commit are sent."""

    def post(petition: Petition, *, ip: str = IP, **fields: Any) -> Any:
        data = {"name": "Anna Karenina", "email": "anna@example.org", "display": "full"}
        data.update(fields)
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(f"/p/{petition.slug}/sign/", data, REMOTE_ADDR=ip)

    return post


def signature_of(email: str) -> Signature | None:
    from trust import identity

    return Signature.objects.filter(supporter__email_digest=identity.email_digest(email)).first()


def status_of(email: str) -> str | None:
    signature = signature_of(email)
    return None if signature is None else signature.status


def tallies(petition: Petition) -> dict[tuple[str, str], int]:
    return {
        (tally.reason, tally.detail): tally.count
        for tally in FlaggedAttemptTally.objects.filter(petition=petition)
    }


def stored_about_people() -> tuple[object, ...]:
    """Every row that could tie a person to anything, as it stands."""
    return (
        sorted(Supporter.objects.values_list("pk", "email", "name", "country", "language")),
        sorted(
            Signature.objects.values_list(
                "pk", "status", "display", "invalid_reason", "ip_hash", "emailed_at"
            )
        ),
        sorted(SignAttempt.objects.values_list("pk", flat=True)),
        sorted(Consent.objects.values_list("pk", flat=True)),
        OutboxMessage.objects.count(),
    )


def without_csrf_tokens(html: str) -> str:
    # Django masks the CSRF token differently on every response.
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


def counted(petition: Petition) -> int:
    services.signature_counts_refresh()
    petition.refresh_from_db()
    return petition.signature_count


# Each case: how to make the next attempt fraudulent, the attempt's fields, reason, detail.
def _burst(settings, sign, petition):
    settings.RATE_IP_BURST_PER_MINUTE = 1
    sign(petition, email="first@example.org")


def _sustained(settings, sign, petition):
    settings.RATE_IP_SUSTAINED_PER_HOUR = 1
    sign(petition, email="first@example.org")


def _domain_rate(settings, sign, petition):
    settings.RATE_DOMAIN_PER_HOUR = 1
    sign(petition, ip=OTHER_IP, email="first@small.example")


CASES = {
    "ip burst": (_burst, {}, "rate_limit", "ip_burst"),
    "ip sustained": (_sustained, {}, "rate_limit", "ip_sustained"),
    "domain rate": (_domain_rate, {"email": "anna@small.example"}, "rate_limit", "domain_rate"),
    "blocked ip": (
        lambda s, c, p: block_rule_create(kind=BlockRule.Kind.IP, value=IP),
        {},
        "blocklist",
        "ip",
    ),
    "blocked network": (
        lambda s, c, p: block_rule_create(kind=BlockRule.Kind.NETWORK, value="198.51.100.0/24"),
        {},
        "blocklist",
        "network",
    ),
    "blocked domain": (
        lambda s, c, p: block_rule_create(kind=BlockRule.Kind.DOMAIN, value="example.org"),
        {},
        "blocklist",
        "domain",
    ),
    "blocked address": (
        lambda s, c, p: block_rule_create(kind=BlockRule.Kind.ADDRESS, value="anna@example.org"),
        {},
        "blocklist",
        "address",
    ),
    "disposable": (
        lambda s, c, p: None,
        {"email": "anna@mailinator.com"},
        "disposable",
        "disposable",
    ),
    "honeypot": (lambda s, c, p: None, {"website": "http://spam.example"}, "automated", "honeypot"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_fraudulent_attempt_stores_nothing_personal_and_is_answered_like_any_other(
    case, settings, sign, petition
):
    prepare, fields, reason, detail = CASES[case]
    clean = sign(petition, ip="192.0.2.1", email="clean@example.net")
    prepare(settings, sign, petition)
    mail.outbox.clear()
    before = stored_about_people()

    response = sign(petition, consent_updates="on", **fields)

    # The same answer as a clean signature: a redirect to the same thanks page.
    assert (response.status_code, response["Location"]) == (clean.status_code, clean["Location"])
    assert response["Location"] == f"/p/{petition.slug}/thanks/"
    # Nothing about the person: no supporter, signature, attempt, consent or email.
    assert stored_about_people() == before
    assert signature_of(fields.get("email", "anna@example.org")) is None
    assert mail.outbox == []
    # Only the anonymous tally for the reason and rule moved.
    assert tallies(petition)[(reason, detail)] == 1
    assert counted(petition) == 0


@pytest.mark.parametrize("case", ["blocked ip", "honeypot", "ip burst"])
@pytest.mark.parametrize("history", ["unknown", "pending", "confirmed"])
def test_the_tally_moves_the_same_whether_or_not_the_address_signed(
    case, history, settings, sign, petition
):
    prepare, fields, reason, detail = CASES[case]
    if history != "unknown":
        signature_create(
            petition=petition, email="anna@example.org", confirmed=history == "confirmed"
        )
    prepare(settings, sign, petition)
    mail.outbox.clear()
    before = stored_about_people()

    sign(petition, **fields)

    assert tallies(petition)[(reason, detail)] == 1
    assert stored_about_people() == before
    assert mail.outbox == []


def test_the_thanks_page_reads_the_same_for_a_flagged_attempt(client, sign, petition):
    clean = client.get(sign(petition, email="clean@example.org")["Location"])
    flagged = client.get(sign(petition, email="bot@mailinator.com")["Location"])
    assert signature_of("bot@mailinator.com") is None
    assert tallies(petition) == {("disposable", "disposable"): 1}
    assert without_csrf_tokens(clean.content.decode()) == without_csrf_tokens(
        flagged.content.decode()
    )


def test_within_the_burst_limit_signatures_are_pending_and_mailed(settings, sign, petition):
    settings.RATE_IP_BURST_PER_MINUTE = 3
    for n in range(4):
        sign(petition, email=f"person{n}@example.org")
    statuses = [status_of(f"person{n}@example.org") for n in range(4)]
    assert statuses == ["pending", "pending", "pending", None]
    assert tallies(petition) == {("rate_limit", "ip_burst"): 1}
    assert len(mail.outbox) == 3


def test_a_flagged_attempt_by_someone_who_signed_before_sends_nothing_and_changes_nothing(
    sign, petition
):
    signature = signature_create(petition=petition, email="anna@example.org")
    mail.outbox.clear()
    block_rule_create(kind=BlockRule.Kind.IP, value=IP)

    response = sign(petition, email="anna@example.org")

    assert response.status_code == 302
    assert mail.outbox == []
    signature.refresh_from_db()
    assert signature.status == Signature.Status.PENDING
    assert signature.invalid_reason == ""


def test_a_person_caught_by_a_shared_ip_limit_signs_when_they_try_again(settings, sign, petition):
    settings.RATE_IP_BURST_PER_MINUTE = 1
    sign(petition, email="colleague@example.org")
    sign(petition, email="anna@example.org", display="hidden")  # same office IP
    assert signature_of("anna@example.org") is None
    mail.outbox.clear()

    # Later, from home, with the updates box ticked this time.
    response = sign(petition, ip=OTHER_IP, consent_updates="on", display="short")

    assert response["Location"] == f"/p/{petition.slug}/thanks/"
    signature = signature_of("anna@example.org")
    assert signature is not None
    assert signature.status == Signature.Status.PENDING
    assert signature.display == "short"
    assert signature.ip_hash == ip_hashes(ip=OTHER_IP)[0]
    assert [message.to for message in mail.outbox] == [["anna@example.org"]]
    # The confirmation works, records the consent, and the signature counts.
    signature_confirm(signature)
    assert Consent.objects.get().signature == signature
    assert counted(petition) == 1


def test_a_signature_invalidated_by_staff_stays_invalidated(sign, petition):
    signature = signature_create(petition=petition, email="anna@example.org", confirmed=True)
    services.signature_statuses_change(
        signature_ids=[signature.pk],
        status=Signature.Status.INVALIDATED,
        invalid_reason=Signature.InvalidReason.STAFF,
    )
    mail.outbox.clear()

    response = sign(petition, email="anna@example.org", ip=OTHER_IP)

    assert response["Location"] == f"/p/{petition.slug}/thanks/"
    signature.refresh_from_db()
    assert signature.status == Signature.Status.INVALIDATED
    assert signature.invalid_reason == "staff"
    assert mail.outbox == []
    # An attempt that mails nothing is not kept (the confirmed one stays, emptied).
    assert not SignAttempt.objects.filter(confirmed_at__isnull=True).exists()
    assert counted(petition) == 0


def test_a_signature_in_a_staff_invalidation_stays_invalidated_whatever_its_reason(sign, petition):
    signature = signature_create(petition=petition, email="anna@example.org")
    batch = InvalidationBatch.objects.create(reason="Reviewed: one script", count=1)
    services.signature_statuses_change(
        signature_ids=[signature.pk],
        status=Signature.Status.INVALIDATED,
        invalid_reason=Signature.InvalidReason.STAFF,
        invalidation=batch,
    )
    mail.outbox.clear()
    sign(petition, email="anna@example.org", ip=OTHER_IP)
    assert status_of("anna@example.org") == Signature.Status.INVALIDATED
    assert mail.outbox == []


def test_a_forged_forwarded_for_header_does_not_escape_the_ip_limit(
    settings, client, petition, django_capture_on_commit_callbacks
):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.RATE_IP_BURST_PER_MINUTE = 2
    for n in range(4):
        # Our proxy (REMOTE_ADDR 10.0.0.2) appends the real client; the script adds a new
        # address on the left of each request.
        with django_capture_on_commit_callbacks(execute=True):
            client.post(
                f"/p/{petition.slug}/sign/",
                {"name": "Bot", "email": f"bot{n}@example.org", "display": "hidden"},
                REMOTE_ADDR="10.0.0.2",
                HTTP_X_FORWARDED_FOR=f"203.0.113.{n}, {IP}",
            )
    statuses = [status_of(f"bot{n}@example.org") for n in range(4)]
    assert statuses == ["pending", "pending", None, None]
    assert tallies(petition) == {("rate_limit", "ip_burst"): 2}
    first = signature_of("bot0@example.org")
    assert first is not None and first.ip_hash == ip_hashes(ip=IP)[0]


def test_without_a_client_ip_the_email_checks_still_apply(settings, petition):
    settings.RATE_IP_BURST_PER_MINUTE = 1
    block_rule_create(kind=BlockRule.Kind.IP, value=IP)
    clean = [signature_create(petition=petition) for _ in range(3)]
    assert {s.status for s in clean} == {Signature.Status.PENDING}
    assert {s.ip_hash for s in clean} == {""}
    result = services.signature_create(petition=petition, email="x@mailinator.com", name="X")
    assert result.signature is None
    assert tallies(petition) == {("disposable", "disposable"): 1}


def test_flagging_logs_which_rule_but_no_address_ip_or_name(sign, petition, caplog):
    block_rule_create(kind=BlockRule.Kind.DOMAIN, value="spam.example")
    with caplog.at_level(logging.DEBUG):
        sign(petition, email="bot@spam.example", name="Bot Botson")
    assert "blocklist" in caplog.text
    for personal in ("bot@spam.example", "spam.example", IP, "Botson"):
        assert personal not in caplog.text
