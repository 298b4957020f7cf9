"""Bulk mail: the suppression list, provider reports, deleting, and the admin."""

from __future__ import annotations

import pytest

from mailer import selectors, services
from mailer.models import Delivery, Mailing, Suppression
from tests.bulkkind.kind import address, digest, ref
from tests.mailer.bulk_helpers import mailing_planned, mailing_sending, statuses

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("bulk_kind")]
S = Delivery.Status


# --- Suppression and what providers report ---------------------------------------------------


def test_an_address_is_suppressed_once_with_its_first_reason():
    assert services.suppression_add(address_digest=digest(1), reason="complaint") is True
    assert services.suppression_add(address_digest=digest(1), reason="hard_bounce") is False

    assert Suppression.objects.get().reason == "complaint"
    assert selectors.suppressed_digests(address_digests=[digest(1), digest(2)]) == {digest(1)}
    assert selectors.suppression_exists(address_digest=digest(2)) is False


def test_a_suppression_needs_a_known_reason_and_a_digest():
    with pytest.raises(ValueError):
        services.suppression_add(address_digest=digest(1), reason="bored")
    with pytest.raises(ValueError):
        services.suppression_add(address_digest=address(1), reason="manual")


def test_subscribing_again_lifts_an_unsubscribe_but_not_a_complaint():
    services.suppression_add(address_digest=digest(1), reason="unsubscribed_all")
    services.suppression_add(address_digest=digest(2), reason="complaint")

    lift = ("unsubscribed_all",)
    assert services.suppression_remove(address_digest=digest(1), reasons=lift) is True
    assert services.suppression_remove(address_digest=digest(2), reasons=lift) is False
    assert set(Suppression.objects.values_list("address_digest", flat=True)) == {digest(2)}


def test_provider_reports_move_a_delivery_forward_only():
    mailing = mailing_sending([1, 2])
    Delivery.objects.filter(mailing=mailing).update(status=S.SENT, provider_message_id="m-1")

    record = services.delivery_status_record
    assert record(provider_message_id="m-1", status="delivered", address_digest=digest(1)) == 1
    assert statuses(mailing) == {"1": S.DELIVERED, "2": S.SENT}
    assert record(provider_message_id="m-1", status="bounced", address_digest=digest(1)) == 1
    # A late "delivered" does not undo the bounce; a repeat changes nothing.
    assert record(provider_message_id="m-1", status="delivered", address_digest=digest(1)) == 0
    assert record(provider_message_id="m-1", status="bounced", address_digest=digest(1)) == 0
    assert record(provider_message_id="m-1", status="complained", address_digest=digest(1)) == 1
    assert statuses(mailing) == {"1": S.COMPLAINED, "2": S.SENT}
    assert record(provider_message_id="nope", status="delivered") == 0
    assert record(provider_message_id="", status="delivered") == 0
    with pytest.raises(ValueError):
        record(provider_message_id="m-1", status="queued")


# --- Deleting -------------------------------------------------------------------------------


def test_an_erased_person_loses_their_deliveries_and_a_deleted_mailing_its_rows():
    mailing = mailing_planned([1, 2])
    other = mailing_planned([1])

    assert services.deliveries_delete(recipient_refs=[ref(1)]) == 2
    assert services.deliveries_delete(recipient_refs=[]) == 0
    services.mailing_delete(mailing=mailing)

    assert not Mailing.objects.filter(pk=mailing.pk).exists()
    assert not Delivery.objects.filter(mailing_id=mailing.pk).exists()
    assert Mailing.objects.filter(pk=other.pk).exists()
    assert selectors.deliveries_of_recipient(recipient_ref=ref(2)) == []


# --- Admin ----------------------------------------------------------------------------------


def test_staff_see_mailings_by_their_label_and_suppressions_by_reason(client):
    from tests.factories import admin_login, staff_user_create

    mailing_planned([1])
    services.suppression_add(address_digest=digest(1), reason="complaint")
    admin_login(client, staff_user_create(superuser=True))

    mailings = client.get("/admin/mailer/mailing/")
    suppressions = client.get("/admin/mailer/suppression/")

    assert mailings.status_code == 200
    assert "Test bulk mail" in mailings.content.decode()
    assert suppressions.status_code == 200
    # The keyed hash is shown (staff find an address by it), never an address.
    assert "Complaint" in suppressions.content.decode()
