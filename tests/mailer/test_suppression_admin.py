"""Staff see the suppression list and provider events, find an address, and lift a
suppression through the service."""

from __future__ import annotations

import re

import pytest

from mailer import services
from mailer.models import EmailEvent, Suppression
from tests.bulkkind.kind import address, digest
from tests.factories import admin_login, staff_user_create

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/mailer/suppression/"


@pytest.fixture
def listed() -> None:
    services.suppression_add(address_digest=digest(1), reason=Suppression.Reason.HARD_BOUNCE)
    services.suppression_add(address_digest=digest(2), reason=Suppression.Reason.COMPLAINT)


def rows(response) -> set[str]:
    return set(re.findall(r"[0-9a-f]{64}", response.content.decode()))


def test_staff_see_each_suppressed_hash_with_its_reason_and_date(client, listed):
    admin_login(client, staff_user_create())

    response = client.get(CHANGELIST)

    assert response.status_code == 200
    assert rows(response) == {digest(1), digest(2)}
    page = response.content.decode()
    assert "Hard bounce" in page and "Complaint" in page
    assert address(1) not in page


def test_staff_find_an_address_by_typing_it_or_its_hash(client, listed):
    admin_login(client, staff_user_create())

    assert rows(client.get(CHANGELIST, {"q": "Person1@Example.org"})) == {digest(1)}
    assert rows(client.get(CHANGELIST, {"q": digest(2).upper()})) == {digest(2)}
    assert rows(client.get(CHANGELIST, {"q": "nobody@example.org"})) == set()


def test_removing_lifts_the_suppression_and_is_logged(client, listed):
    from django.contrib.admin.models import LogEntry

    admin_login(client, staff_user_create())
    entry = Suppression.objects.get(address_digest=digest(1))

    response = client.post(
        CHANGELIST, {"action": "remove_selected", "_selected_action": [entry.pk]}, follow=True
    )

    assert response.status_code == 200
    assert "1 address removed from the suppression list" in response.content.decode()
    assert list(Suppression.objects.values_list("address_digest", flat=True)) == [digest(2)]
    assert LogEntry.objects.filter(object_id=str(entry.pk)).exists()


def test_the_list_cannot_be_edited_or_added_to_and_plain_delete_is_not_offered(client, listed):
    admin_login(client, staff_user_create())
    entry = Suppression.objects.get(address_digest=digest(1))

    page = client.get(CHANGELIST).content.decode()

    assert "delete_selected" not in page
    assert client.get(f"{CHANGELIST}add/").status_code == 403
    change = client.post(f"{CHANGELIST}{entry.pk}/change/", {"reason": "manual"})
    assert change.status_code == 403
    assert Suppression.objects.get(pk=entry.pk).reason == Suppression.Reason.HARD_BOUNCE


def test_staff_who_may_only_view_cannot_remove(client, listed):
    admin_login(
        client, staff_user_create(superuser=False, permissions=("mailer.view_suppression",))
    )
    entry = Suppression.objects.get(address_digest=digest(1))

    assert client.get(CHANGELIST).status_code == 200
    client.post(CHANGELIST, {"action": "remove_selected", "_selected_action": [entry.pk]})

    assert Suppression.objects.count() == 2


def test_someone_who_is_not_staff_sees_nothing(client, listed):
    response = client.get(CHANGELIST)

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_staff_see_provider_events_by_address_and_cannot_change_them(client):
    from django.utils import timezone

    EmailEvent.objects.create(
        esp="Postmark", event_id="1", event_type="bounced", bounce_kind="soft",
        address_digest=digest(1), occurred_at=timezone.now(),
    )  # fmt: skip
    admin_login(client, staff_user_create())

    found = client.get("/admin/mailer/emailevent/", {"q": address(1)})
    missed = client.get("/admin/mailer/emailevent/", {"q": address(2)})

    assert found.status_code == 200
    assert "Soft" in found.content.decode()
    assert "0 email events" in missed.content.decode()
    event = EmailEvent.objects.get()
    assert client.post(f"/admin/mailer/emailevent/{event.pk}/delete/").status_code == 403
