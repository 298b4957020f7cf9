"""Staff review: invalidating the signatures found, revalidating them, undoing a batch; closing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from mailer.models import OutboxMessage
from petitions import services
from petitions.models import InvalidationBatch, Petition, Signature
from petitions.selectors.criteria import (
    CriteriaError,
    SignatureCriteria,
    signatures_invalidatable_count,
)
from petitions.services.review import InvalidationCountChangedError
from tests.factories import petition_create, signature_confirm, signature_create, staff_user_create
from tests.petitions.review_helpers import BAD_IP, OTHER_IP

pytestmark = pytest.mark.django_db


def refreshed(petition: Petition) -> Petition:
    services.signature_counts_refresh()
    petition.refresh_from_db()
    return petition


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
