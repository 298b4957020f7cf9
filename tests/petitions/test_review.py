"""Staff review services: finding signatures, invalidating by criteria, revalidating."""

from __future__ import annotations

import importlib
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.utils import timezone

from mailer.models import OutboxMessage
from petitions import migrations, services
from petitions.models import InvalidationBatch, Petition, Signature, Supporter
from petitions.selectors import person
from petitions.selectors.criteria import (
    CriteriaError,
    SignatureCriteria,
    signatures_invalidatable_count,
)
from petitions.services import addresses
from petitions.services.review import InvalidationCountChangedError
from tests.factories import petition_create, signature_confirm, signature_create, staff_user_create
from trust import identity
from trust.models import IpHashKey

pytestmark = pytest.mark.django_db

BAD_IP = "203.0.113.7"
NEIGHBOUR_IP = "203.0.113.99"
OTHER_IP = "198.51.100.20"


@pytest.fixture
def petition() -> Petition:
    return petition_create(title="Free the prisoners of conscience")


def found(queryset) -> set[int]:
    return set(queryset.values_list("pk", flat=True))


def refreshed(petition: Petition) -> Petition:
    services.signature_counts_refresh()
    petition.refresh_from_db()
    return petition


# --- Finding ------------------------------------------------------------------------------


def test_an_address_finds_the_signatures_made_from_it_only(petition):
    mine = {signature_create(petition=petition, client_ip=BAD_IP).pk for _ in range(2)}
    signature_create(petition=petition, client_ip=NEIGHBOUR_IP)
    signature_create(petition=petition, client_ip=OTHER_IP)

    assert found(services.signatures_find(ip=BAD_IP)) == mine


def test_an_address_is_found_under_every_kept_key(petition):
    old = signature_create(petition=petition, client_ip=BAD_IP)
    # A new salt starts, as the rotation would make it: the same address hashes differently.
    IpHashKey.objects.update(created_at=timezone.now() - timedelta(days=8))
    from trust.iphash import ip_hash_key_cache_clear

    ip_hash_key_cache_clear()
    new = signature_create(petition=petition, client_ip=BAD_IP)

    assert IpHashKey.objects.count() == 2
    assert old.ip_hash != new.ip_hash
    assert found(services.signatures_find(ip=BAD_IP)) == {old.pk, new.pk}


def test_a_network_finds_every_address_in_it(petition):
    bad = signature_create(petition=petition, client_ip=BAD_IP)
    neighbour = signature_create(petition=petition, client_ip=NEIGHBOUR_IP)
    signature_create(petition=petition, client_ip=OTHER_IP)

    assert found(services.signatures_find(ip="203.0.113.0/24")) == {bad.pk, neighbour.pk}
    assert found(services.signatures_find(ip="203.0.113.1/24")) == {bad.pk, neighbour.pk}
    assert found(services.signatures_find(ip="203.0.0.0/16")) == {bad.pk, neighbour.pk}


def test_a_range_narrower_than_a_network_matches_single_addresses(petition):
    near = signature_create(petition=petition, client_ip="203.0.113.5")
    signature_create(petition=petition, client_ip="203.0.113.40")

    assert found(services.signatures_find(ip="203.0.113.0/29")) == {near.pk}


def test_a_domain_finds_its_signatures_whatever_the_case_of_the_address(petition):
    ours = {
        signature_create(petition=petition, email="anna@Bad-Domain.example").pk,
        signature_create(petition=petition, email="BORIS@bad-domain.example").pk,
    }
    signature_create(petition=petition, email="vera@good.example")

    assert found(services.signatures_find(domain="bad-domain.example")) == ours
    assert found(services.signatures_find(domain="@BAD-DOMAIN.example")) == ours


def test_a_registrable_domain_finds_its_subdomains_too(petition):
    ours = {
        signature_create(petition=petition, email=f"p{n}@{domain}").pk
        for n, domain in enumerate(["example.org", "mail.example.org", "deep.a.Example.ORG"])
    }
    signature_create(petition=petition, email="x@notexample.org")
    signature_create(petition=petition, email="y@example.org.evil.example")

    assert found(services.signatures_find(domain="example.org")) == ours
    # A subdomain finds itself only, never its parent or its siblings.
    mail_only = found(services.signatures_find(domain="mail.example.org"))
    assert len(mail_only) == 1 and mail_only < ours


def test_a_domain_under_a_two_label_public_suffix_groups_its_subdomains(petition):
    ours = {
        signature_create(petition=petition, email="a@example.co.uk").pk,
        signature_create(petition=petition, email="b@mail.example.co.uk").pk,
    }
    other = signature_create(petition=petition, email="c@other.co.uk").pk

    assert found(services.signatures_find(domain="example.co.uk")) == ours
    # A public suffix is nobody's domain: it finds no one under it.
    assert found(services.signatures_find(domain="co.uk")) == set()
    assert found(services.signatures_find(domain="other.co.uk")) == {other}


def test_the_registrable_domain_is_stored_only_as_a_keyed_hash(petition):
    signature = signature_create(petition=petition, email="anna@mail.example.org")
    supporter = Supporter.objects.get(signatures=signature)
    assert supporter.email_registrable_digest == identity.email_domain_digest("example.org")
    assert supporter.email_domain_digest == identity.email_domain_digest("mail.example.org")
    # Every column but the encrypted address (which .values() reads decrypted).
    stored = Supporter.objects.filter(pk=supporter.pk).values().get()
    assert not any("example" in str(value) for key, value in stored.items() if key != "email")


def test_a_signers_download_includes_the_registrable_domain_hash(petition):
    signature = signature_create(petition=petition, email="anna@mail.example.org")
    supporter = Supporter.objects.get(signatures=signature)
    exported = person.supporter_data_export(supporter=supporter)["supporter"]
    assert exported["email_registrable_domain_keyed_hash"] == supporter.email_registrable_digest


def test_a_signer_whose_address_was_dropped_before_the_registrable_hash_is_found_by_exact_domain(
    petition,
):
    # Rows from before the field: the address already gone, so nothing could fill it.
    signature = signature_create(petition=petition, email="anna@mail.example.org")
    Supporter.objects.filter(signatures=signature).update(
        email="", email_dropped_at=timezone.now(), email_registrable_digest=""
    )

    assert found(services.signatures_find(domain="example.org")) == set()
    assert found(services.signatures_find(domain="mail.example.org")) == {signature.pk}


def test_an_address_typed_again_gets_its_registrable_hash_back(petition):
    signature = signature_create(petition=petition, email="anna@mail.example.org")
    Supporter.objects.filter(signatures=signature).update(
        email="", email_dropped_at=timezone.now(), email_registrable_digest=""
    )
    supporter = Supporter.objects.get(signatures=signature)

    assert addresses.supporter_email_restore(supporter=supporter, email="anna@mail.example.org")

    assert found(services.signatures_find(domain="example.org")) == {signature.pk}


def test_the_data_migration_fills_the_registrable_hash_where_the_address_is_kept(petition):
    kept = signature_create(petition=petition, email="anna@mail.example.org")
    dropped = signature_create(petition=petition, email="boris@mx.example.org")
    Supporter.objects.update(email_registrable_digest="")
    Supporter.objects.filter(signatures=dropped).update(email="", email_dropped_at=timezone.now())
    [path] = Path(migrations.__file__).parent.glob("*_supporter_registrable_domain.py")
    migration = importlib.import_module(f"petitions.migrations.{path.stem}")

    migration.fill_registrable_digests(django_apps, None)

    digests = dict(Supporter.objects.values_list("signatures", "email_registrable_digest"))
    assert digests[kept.pk] == identity.email_domain_digest("example.org")
    assert digests[dropped.pk] == ""


def test_a_time_window_includes_its_start_and_excludes_its_end(petition):
    now = timezone.now()
    early, inside, late = (signature_create(petition=petition) for _ in range(3))
    Signature.objects.filter(pk=early.pk).update(created_at=now - timedelta(hours=3))
    Signature.objects.filter(pk=inside.pk).update(created_at=now - timedelta(hours=2))
    Signature.objects.filter(pk=late.pk).update(created_at=now - timedelta(hours=1))

    window = services.signatures_find(
        created_from=now - timedelta(hours=2), created_to=now - timedelta(hours=1)
    )

    assert found(window) == {inside.pk}


def test_criteria_combine_and_a_status_narrows_them(petition):
    other = petition_create(campaign=petition.campaign)
    confirmed = signature_create(petition=petition, client_ip=BAD_IP, confirmed=True)
    signature_create(petition=petition, client_ip=BAD_IP)
    signature_create(petition=other, client_ip=BAD_IP, confirmed=True)

    result = services.signatures_find(petition=petition, ip=BAD_IP, status="confirmed")

    assert found(result) == {confirmed.pk}


def test_a_hash_finds_by_address_hash_network_hash_or_domain_digest(petition):
    signature = signature_create(petition=petition, client_ip=BAD_IP, email="a@mx.hash.example")
    signature_create(petition=petition, client_ip=OTHER_IP)
    digest = signature.supporter.email_domain_digest
    registrable = signature.supporter.email_registrable_digest

    for value in (signature.ip_hash, signature.ip_network_hash.upper(), digest, registrable):
        assert found(services.signatures_find(ip_hash=value)) == {signature.pk}


@pytest.mark.parametrize(
    ("criteria", "message"),
    [
        ({"ip": "not an address"}, "is not an IP address"),
        ({"ip": "999.1.1.1"}, "is not an IP address"),
        ({"ip": "10.0.0.0/8"}, "too wide"),
        ({"ip": "2001:db8::/64"}, "whole network"),
        ({"ip_hash": "xyz"}, "hexadecimal"),
        ({"domain": "no spaces allowed.org x"}, "is not a domain"),
        ({"domain": "localhost"}, "is not a domain"),
    ],
)
def test_unusable_criteria_are_refused_with_a_message_for_staff(criteria, message):
    with pytest.raises(CriteriaError, match=message):
        services.signatures_find(**criteria)


# --- Invalidating -------------------------------------------------------------------------


def invalidated_before(signature: Signature) -> Signature:
    """A signature staff invalidated one by one, outside any batch."""
    services.signature_statuses_change(
        signature_ids=[signature.pk],
        status=Signature.Status.INVALIDATED,
        invalid_reason=Signature.InvalidReason.STAFF,
    )
    signature.refresh_from_db()
    return signature


def test_the_preview_counts_pending_and_confirmed_matches_per_petition(petition):
    other = petition_create(campaign=petition.campaign, title="Another")
    for _ in range(2):
        signature_create(petition=petition, client_ip=BAD_IP, confirmed=True)
    signature_create(petition=other, client_ip=BAD_IP)
    invalidated_before(signature_create(petition=other, client_ip=BAD_IP))  # already out
    signature_create(petition=other, client_ip=OTHER_IP)

    preview = signatures_invalidatable_count(criteria=SignatureCriteria(ip=BAD_IP))

    assert {p.pk: n for p, n in preview.items()} == {petition.pk: 2, other.pk: 1}


def test_invalidating_drops_the_count_at_once_and_records_the_batch(petition):
    bad = [signature_create(petition=petition, client_ip=BAD_IP, confirmed=True) for _ in range(3)]
    bad.append(signature_create(petition=petition, client_ip=BAD_IP))  # pending
    signature_create(petition=petition, client_ip=OTHER_IP, confirmed=True)
    assert refreshed(petition).signature_count == 4
    staff = staff_user_create()

    batch = services.signatures_invalidate(
        criteria=SignatureCriteria(petition=petition, ip=BAD_IP),
        reason="One address, one minute, one pattern",
        expected_count=4,
        actor=staff,
    )

    petition.refresh_from_db()
    assert petition.signature_count == 1  # no count task needed
    assert (batch.count, batch.created_by, batch.reason) == (
        4,
        staff,
        "One address, one minute, one pattern",
    )
    rows = Signature.objects.filter(pk__in=[s.pk for s in bad])
    assert {(s.status, s.invalid_reason, s.invalidation_id) for s in rows} == {
        ("invalidated", "staff", batch.pk)
    }
    assert all(s.invalidated_at is not None for s in rows)
    assert petition.integrity["invalidated"] == {"staff": 4}
    assert refreshed(petition).signature_count == 1
    assert services.signature_counts_repair() == 0


def test_the_batch_keeps_hashes_and_digests_never_the_address_or_domain(petition):
    signature_create(petition=petition, client_ip=BAD_IP, email="x@spam-farm.example")
    when = timezone.now() - timedelta(hours=1)

    batch = services.signatures_invalidate(
        criteria=SignatureCriteria(
            ip="203.0.113.0/24", domain="spam-farm.example", created_from=when
        ),
        reason="Farm",
        expected_count=1,
    )

    stored = json.dumps(InvalidationBatch.objects.get(pk=batch.pk).criteria)
    assert "203.0.113" not in stored
    assert "spam-farm" not in stored
    assert batch.criteria["ip_network_hashes"]
    assert len(batch.criteria["domain_digest"]) == 64
    assert batch.criteria["created_from"] == when.isoformat()
    assert batch.created_by is None


def test_a_count_that_changed_since_the_preview_refuses_and_changes_nothing(petition):
    for _ in range(2):
        signature_create(petition=petition, client_ip=BAD_IP, confirmed=True)
    criteria = SignatureCriteria(ip=BAD_IP)
    preview = sum(signatures_invalidatable_count(criteria=criteria).values())
    signature_create(petition=petition, client_ip=BAD_IP)  # arrives after the preview
    services.signature_counts_refresh()

    with pytest.raises(InvalidationCountChangedError) as refused:
        services.signatures_invalidate(criteria=criteria, reason="Burst", expected_count=preview)

    assert (refused.value.expected, refused.value.actual) == (2, 3)
    assert not InvalidationBatch.objects.exists()
    assert not Signature.objects.filter(status=Signature.Status.INVALIDATED).exists()
    assert refreshed(petition).signature_count == 2


def test_invalidating_needs_a_reason_and_a_criterion(petition):
    signature_create(petition=petition, client_ip=BAD_IP)

    with pytest.raises(CriteriaError, match="Say why"):
        services.signatures_invalidate(
            criteria=SignatureCriteria(ip=BAD_IP), reason="   ", expected_count=1
        )
    with pytest.raises(CriteriaError, match="at least one criterion"):
        services.signatures_invalidate(
            criteria=SignatureCriteria(), reason="Everything", expected_count=1
        )
    assert not InvalidationBatch.objects.exists()


def test_invalidating_leaves_withdrawn_and_already_invalidated_signatures_alone(petition):
    flagged = invalidated_before(signature_create(petition=petition, client_ip=BAD_IP))
    withdrawn = signature_create(petition=petition, client_ip=BAD_IP)
    services.signature_statuses_change(
        signature_ids=[withdrawn.pk], status=Signature.Status.WITHDRAWN
    )
    pending = signature_create(petition=petition, client_ip=BAD_IP)

    batch = services.signatures_invalidate(
        criteria=SignatureCriteria(ip=BAD_IP), reason="Burst", expected_count=1
    )

    assert set(batch.signatures.values_list("pk", flat=True)) == {pending.pk}
    flagged.refresh_from_db()
    withdrawn.refresh_from_db()
    assert (flagged.invalid_reason, flagged.invalidation) == ("staff", None)
    assert withdrawn.status == "withdrawn"


# --- Revalidating -------------------------------------------------------------------------


def test_revalidating_a_confirmed_signature_puts_it_back_into_the_count(petition):
    signature = signature_create(petition=petition, client_ip=BAD_IP, confirmed=True)
    assert refreshed(petition).signature_count == 1
    services.signatures_invalidate(
        criteria=SignatureCriteria(ip=BAD_IP), reason="Mistake", expected_count=1
    )
    assert refreshed(petition).signature_count == 0

    assert services.signatures_revalidate(signature_ids=[signature.pk]) == 1

    signature.refresh_from_db()
    assert (signature.status, signature.invalid_reason, signature.invalidation) == (
        "confirmed",
        "",
        None,
    )
    assert signature.invalidated_at is None
    assert refreshed(petition).signature_count == 1
    assert petition.integrity["invalidated"] == {}


def test_a_revalidated_pending_signature_can_be_confirmed_by_the_email_it_had(petition):
    signature = signature_create(petition=petition, client_ip=BAD_IP)
    services.signatures_invalidate(
        criteria=SignatureCriteria(ip=BAD_IP), reason="Check", expected_count=1
    )
    assert signature_confirm(signature) is False

    services.signatures_revalidate(signature_ids=[signature.pk])

    assert signature_confirm(signature) is True
    signature.refresh_from_db()
    assert signature.status == Signature.Status.CONFIRMED


def test_revalidating_a_pending_signature_stopped_by_staff_does_not_mail_again(petition):
    signature = signature_create(petition=petition, client_ip=BAD_IP)
    services.signatures_invalidate(
        criteria=SignatureCriteria(ip=BAD_IP), reason="Check", expected_count=1
    )
    before = OutboxMessage.objects.filter(about__signature=str(signature.pk)).count()

    services.signatures_revalidate(signature_ids=[signature.pk])

    signature.refresh_from_db()
    assert signature.status == Signature.Status.PENDING
    assert OutboxMessage.objects.filter(about__signature=str(signature.pk)).count() == before


def test_revalidating_on_a_closed_petition_puts_the_row_back_without_mail(petition):
    signature = invalidated_before(signature_create(petition=petition))
    Petition.objects.filter(pk=petition.pk).update(status=Petition.Status.CLOSED)
    before = OutboxMessage.objects.filter(about__signature=str(signature.pk)).count()

    assert services.signatures_revalidate(signature_ids=[signature.pk]) == 1

    assert OutboxMessage.objects.filter(about__signature=str(signature.pk)).count() == before


def test_revalidating_ignores_signatures_that_are_not_invalidated(petition):
    pending = signature_create(petition=petition)
    withdrawn = signature_create(petition=petition)
    services.signature_statuses_change(
        signature_ids=[withdrawn.pk], status=Signature.Status.WITHDRAWN
    )

    assert services.signatures_revalidate(signature_ids=[pending.pk, withdrawn.pk]) == 0

    withdrawn.refresh_from_db()
    assert withdrawn.status == Signature.Status.WITHDRAWN


def test_undoing_a_batch_revalidates_its_signatures_and_stamps_it(petition):
    for _ in range(2):
        signature_create(petition=petition, client_ip=BAD_IP, confirmed=True)
    batch = services.signatures_invalidate(
        criteria=SignatureCriteria(ip=BAD_IP), reason="Wrong call", expected_count=2
    )
    assert refreshed(petition).signature_count == 0

    assert services.invalidation_batch_revalidate(batch=batch) == 2

    batch.refresh_from_db()
    assert batch.revalidated_at is not None
    assert batch.count == 2  # the record of the decision stays
    assert refreshed(petition).signature_count == 2


# --- Closing ------------------------------------------------------------------------------


def test_saving_a_closed_petition_stamps_when_it_closed_once(petition):
    petition.status = Petition.Status.CLOSED
    services.petition_save(petition=petition)
    first = Petition.objects.get(pk=petition.pk).closed_at
    assert first is not None

    services.petition_save(petition=petition)
    assert Petition.objects.get(pk=petition.pk).closed_at == first

    petition.status = Petition.Status.OPEN
    services.petition_save(petition=petition)
    assert Petition.objects.get(pk=petition.pk).closed_at is None
