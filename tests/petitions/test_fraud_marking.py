"""Fraudulent signatures are accepted quietly: stored invalidated, never counted or mailed,
and answered exactly like any other signature."""

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
from petitions.models import Consent, InvalidationBatch, Petition, Signature
from tests.factories import block_rule_create, petition_create, signature_confirm, signature_create
from trust import blocklist
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


def signature_of(email: str) -> Signature:
    from petitions import identity

    return Signature.objects.get(supporter__email_digest=identity.email_digest(email))


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
def test_a_fraudulent_signature_is_stored_invalidated_and_answered_like_any_other(
    case, settings, sign, petition
):
    prepare, fields, reason, detail = CASES[case]
    clean = sign(petition, ip="192.0.2.1", email="clean@example.net")
    prepare(settings, sign, petition)
    mail.outbox.clear()
    outbox_before = OutboxMessage.objects.count()

    response = sign(petition, consent_updates="on", **fields)

    # The same answer as a clean signature: a redirect to the same thanks page.
    assert (response.status_code, response["Location"]) == (clean.status_code, clean["Location"])
    assert response["Location"] == f"/p/{petition.slug}/thanks/"
    signature = signature_of(fields.get("email", "anna@example.org"))
    assert signature.status == Signature.Status.INVALIDATED
    assert (signature.invalid_reason, signature.invalid_detail) == (reason, detail)
    assert signature.invalidated_at is not None
    assert (signature.ip_hash, signature.ip_network_hash) == ip_hashes(ip=IP)
    # No email, no consent, and never counted, not even if someone confirms it.
    assert mail.outbox == []
    assert OutboxMessage.objects.count() == outbox_before
    assert not Consent.objects.filter(signature=signature).exists()
    signature_confirm(signature)
    assert signature.status == Signature.Status.INVALIDATED
    confirmed_clean = Signature.objects.filter(status=Signature.Status.CONFIRMED).count()
    assert counted(petition) == confirmed_clean == 0


def test_the_thanks_page_reads_the_same_for_a_flagged_signature(client, sign, petition):
    clean = client.get(sign(petition, email="clean@example.org")["Location"])
    flagged = client.get(sign(petition, email="bot@mailinator.com")["Location"])
    assert signature_of("bot@mailinator.com").status == Signature.Status.INVALIDATED
    assert without_csrf_tokens(clean.content.decode()) == without_csrf_tokens(
        flagged.content.decode()
    )


def test_within_the_burst_limit_signatures_are_pending_and_mailed(settings, sign, petition):
    settings.RATE_IP_BURST_PER_MINUTE = 3
    for n in range(4):
        sign(petition, email=f"person{n}@example.org")
    statuses = [signature_of(f"person{n}@example.org").status for n in range(4)]
    assert statuses == ["pending", "pending", "pending", "invalidated"]
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


def test_a_clean_attempt_reopens_a_signature_caught_by_a_shared_ip_limit(settings, sign, petition):
    settings.RATE_IP_BURST_PER_MINUTE = 1
    sign(petition, email="colleague@example.org")
    sign(petition, email="anna@example.org", display="hidden")  # same office IP
    assert signature_of("anna@example.org").invalid_reason == "rate_limit"
    mail.outbox.clear()

    # Later, from home, with the updates box ticked this time.
    response = sign(petition, ip=OTHER_IP, consent_updates="on", display="short")

    assert response["Location"] == f"/p/{petition.slug}/thanks/"
    signature = signature_of("anna@example.org")
    assert signature.status == Signature.Status.PENDING
    assert (signature.invalid_reason, signature.invalid_detail) == ("", "")
    assert signature.invalidated_at is None
    assert signature.display == "short"
    assert signature.ip_hash == ip_hashes(ip=OTHER_IP)[0]
    assert [message.to for message in mail.outbox] == [["anna@example.org"]]
    assert Consent.objects.get().signature == signature
    # The confirmation works and the signature counts.
    signature_confirm(signature)
    assert counted(petition) == 1


@pytest.mark.parametrize(
    ("prepare", "reason"),
    [
        ({"website": "filled in by a script"}, "automated"),
        ({"email": "anna@example.org"}, "blocklist"),
    ],
)
def test_every_automatic_reason_can_be_cleared_by_a_clean_attempt(sign, petition, prepare, reason):
    rule = None
    if reason == "blocklist":
        rule = block_rule_create(kind=BlockRule.Kind.IP, value=IP)
    sign(petition, **prepare)
    assert signature_of("anna@example.org").invalid_reason == reason
    if rule is not None:
        from trust.services import block_rule_delete

        block_rule_delete(rule=rule)
    mail.outbox.clear()

    sign(petition, email="anna@example.org")

    assert signature_of("anna@example.org").status == Signature.Status.PENDING
    assert len(mail.outbox) == 1


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
    assert counted(petition) == 0


def test_a_signature_in_a_staff_invalidation_stays_invalidated_whatever_its_reason(
    sign, petition, monkeypatch
):
    sign(petition, email="anna@mailinator.com")
    batch = InvalidationBatch.objects.create(reason="Reviewed: one script", count=1)
    Signature.objects.update(invalidation=batch)
    # Even once the address no longer counts as disposable, staff's decision stands.
    monkeypatch.setattr(blocklist, "PRIVACY_PROVIDERS", frozenset({"mailinator.com"}))
    sign(petition, email="anna@mailinator.com", ip=OTHER_IP)
    assert signature_of("anna@mailinator.com").status == Signature.Status.INVALIDATED
    assert mail.outbox == []


def test_a_second_flagged_attempt_does_not_reopen_a_flagged_signature(sign, petition):
    sign(petition, email="anna@mailinator.com")
    sign(petition, email="anna@mailinator.com", ip=OTHER_IP)
    signature = signature_of("anna@mailinator.com")
    assert signature.status == Signature.Status.INVALIDATED
    assert mail.outbox == []


def test_a_forged_forwarded_for_header_does_not_escape_the_ip_limit(settings, client, petition):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.RATE_IP_BURST_PER_MINUTE = 2
    for n in range(4):
        # Our proxy (REMOTE_ADDR 10.0.0.2) appends the real client; the script adds a new
        # address on the left of each request.
        client.post(
            f"/p/{petition.slug}/sign/",
            {"name": "Bot", "email": f"bot{n}@example.org", "display": "hidden"},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}, {IP}",
        )
    statuses = [signature_of(f"bot{n}@example.org").status for n in range(4)]
    assert statuses == ["pending", "pending", "invalidated", "invalidated"]
    assert signature_of("bot0@example.org").ip_hash == ip_hashes(ip=IP)[0]


def test_without_a_client_ip_the_email_checks_still_apply(settings, petition):
    settings.RATE_IP_BURST_PER_MINUTE = 1
    block_rule_create(kind=BlockRule.Kind.IP, value=IP)
    clean = [signature_create(petition=petition) for _ in range(3)]
    assert {s.status for s in clean} == {Signature.Status.PENDING}
    assert {s.ip_hash for s in clean} == {""}
    flagged = signature_create(petition=petition, email="x@mailinator.com")
    assert flagged.invalid_reason == "disposable"


def test_flagging_logs_which_rule_but_no_address_ip_or_name(sign, petition, caplog):
    block_rule_create(kind=BlockRule.Kind.DOMAIN, value="spam.example")
    with caplog.at_level(logging.DEBUG):
        sign(petition, email="bot@spam.example", name="Bot Botson")
    assert "blocklist" in caplog.text
    for personal in ("bot@spam.example", "spam.example", IP, "Botson"):
        assert personal not in caplog.text
