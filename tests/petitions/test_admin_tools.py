"""Staff review tools in the Django admin: search, invalidate by criteria, revalidate."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from petitions import services
from petitions.models import FlaggedAttemptTally, InvalidationBatch, Petition, Signature
from tests.factories import (
    flagged_attempt_create,
    petition_create,
    signature_create,
    staff_user_create,
)

pytestmark = pytest.mark.django_db

BAD_IP = "203.0.113.7"
OTHER_IP = "198.51.100.20"
CHANGELIST = "/admin/petitions/signature/"
INVALIDATE = "/admin/petitions/signature/invalidate/"


@pytest.fixture
def petition() -> Petition:
    return petition_create(title="Free the prisoners of conscience")


@pytest.fixture
def staff(client):
    user = staff_user_create()
    client.force_login(user)
    return user


def text(response) -> str:
    html = response.content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def listed(response) -> set[str]:
    return set(re.findall(r'name="_selected_action" value="(\d+)"', response.content.decode()))


# --- Finding ------------------------------------------------------------------------------


def test_the_search_box_finds_by_ip_network_domain_and_hash(client, staff, petition):
    bad = signature_create(petition=petition, client_ip=BAD_IP, email="a@farm.example")
    near = signature_create(petition=petition, client_ip="203.0.113.50")
    sub = signature_create(petition=petition, client_ip=OTHER_IP, email="b@mx.farm.example")
    signature_create(petition=petition, client_ip=OTHER_IP)

    def search(term: str) -> set[str]:
        response = client.get(CHANGELIST, {"q": term})
        assert response.status_code == 200
        return listed(response)

    assert search(f"ip:{BAD_IP}") == {str(bad.pk)}
    assert search("net:203.0.113.0/24") == {str(bad.pk), str(near.pk)}
    assert search("net:203.0.113.9") == {str(bad.pk), str(near.pk)}
    assert search("domain:farm.example") == {str(bad.pk), str(sub.pk)}
    assert search("domain:mx.farm.example") == {str(sub.pk)}
    assert search(f"hash:{bad.ip_hash}") == {str(bad.pk)}
    assert search("net:203.0.113.0/24 domain:farm.example") == {str(bad.pk)}
    assert search(str(near.public_id)) == {str(near.pk)}


@pytest.mark.parametrize(
    "term",
    ["ip:nonsense", "net:10.0.0.0/8", "net:::/0", "hash:zz", "some name", "<b>",
     "ip:\u0661\u0662\u0663.1.1.1", "ip:1.2.3.4/99"],
)  # fmt: skip
def test_a_search_staff_cannot_use_gives_a_message_and_no_rows(client, staff, petition, term):
    signature_create(petition=petition, client_ip=BAD_IP)

    response = client.get(CHANGELIST, {"q": term})

    assert response.status_code == 200
    assert listed(response) == set()
    assert 'class="error"' in response.content.decode()
    assert "<b>" not in response.content.decode().split('id="changelist"')[-1]


@pytest.mark.parametrize("term", ["\x00", "domain:\x00.org"])
def test_a_search_with_a_null_character_is_refused_by_the_form_not_with_a_500(client, staff, term):
    response = client.get(CHANGELIST, {"q": term})

    assert response.status_code == 200
    assert 'class="error"' in response.content.decode()


def test_lists_filter_by_status_reason_petition_and_date(client, staff, petition):
    flagged = signature_create(petition=petition)
    services.signature_statuses_change(
        signature_ids=[flagged.pk], status="invalidated", invalid_reason="automated"
    )
    signature_create(petition=petition)
    today = timezone.now()

    response = client.get(
        CHANGELIST,
        {
            "status__exact": "invalidated",
            "invalid_reason__exact": "automated",
            "petition__id__exact": petition.pk,
            "created_at__year": today.year,
            "created_at__month": today.month,
            "created_at__day": today.day,
        },
    )

    assert response.status_code == 200
    assert listed(response) == {str(flagged.pk)}


def test_signature_pages_never_show_names_or_addresses(client, staff, petition):
    signature = signature_create(
        petition=petition, name="Olga Secretova", email="olga.secret@example.org"
    )

    for url in (CHANGELIST, f"{CHANGELIST}{signature.pk}/change/"):
        page = client.get(url).content.decode()
        assert "Secretova" not in page
        assert "olga.secret" not in page


# --- Invalidating by criteria -------------------------------------------------------------


def criteria_form(**fields) -> dict:
    data = {"ip": BAD_IP, "statuses": ["pending", "confirmed"], "reason": "One burst"}
    data.update(fields)
    return data


def test_the_changelist_links_to_the_invalidation_form(client, staff):
    assert f'href="{INVALIDATE}"' in client.get(CHANGELIST).content.decode()


def test_preview_then_invalidate_drops_the_count_and_records_the_batch(client, staff, petition):
    for _ in range(3):
        signature_create(petition=petition, client_ip=BAD_IP, confirmed=True)
    signature_create(petition=petition, client_ip=OTHER_IP, confirmed=True)
    services.signature_counts_refresh()

    preview = client.post(INVALIDATE, criteria_form())

    assert preview.status_code == 200
    assert "3 signatures match." in text(preview)
    assert petition.title in text(preview)
    assert 'value="Invalidate 3 signatures"' in preview.content.decode()
    assert not InvalidationBatch.objects.exists()  # a preview changes nothing
    token = re.search(r'name="preview" value="([^"]+)"', preview.content.decode()).group(1)

    done = client.post(INVALIDATE, {**criteria_form(), "preview": token, "confirm": "1"})

    batch = InvalidationBatch.objects.get()
    assert done.status_code == 302
    assert done["Location"] == f"/admin/petitions/invalidationbatch/{batch.pk}/change/"
    assert (batch.count, batch.created_by, batch.reason) == (3, staff, "One burst")
    assert BAD_IP not in str(batch.criteria)
    petition.refresh_from_db()
    assert petition.signature_count == 1
    page = client.get(done["Location"])
    assert "3 signatures invalidated." in text(page)


def test_a_count_changed_since_the_preview_is_refused_with_the_new_preview(client, staff, petition):
    signature_create(petition=petition, client_ip=BAD_IP, confirmed=True)
    preview = client.post(INVALIDATE, criteria_form())
    token = re.search(r'name="preview" value="([^"]+)"', preview.content.decode()).group(1)
    signature_create(petition=petition, client_ip=BAD_IP)

    response = client.post(INVALIDATE, {**criteria_form(), "preview": token, "confirm": "1"})

    assert response.status_code == 200
    assert "Nothing was invalidated: 1 signatures matched in the preview, 2 match now." in text(
        response
    )
    assert "2 signatures match." in text(response)
    assert not InvalidationBatch.objects.exists()


def test_criteria_changed_after_the_preview_are_not_applied(client, staff, petition):
    signature_create(petition=petition, client_ip=BAD_IP)
    signature_create(petition=petition, client_ip="203.0.113.8")
    preview = client.post(INVALIDATE, criteria_form())
    token = re.search(r'name="preview" value="([^"]+)"', preview.content.decode()).group(1)

    response = client.post(
        INVALIDATE, {**criteria_form(ip="203.0.113.8"), "preview": token, "confirm": "1"}
    )

    assert "The criteria changed or the preview is too old" in text(response)
    assert not InvalidationBatch.objects.exists()


def test_a_forged_preview_is_refused(client, staff, petition):
    signature_create(petition=petition, client_ip=BAD_IP)

    response = client.post(INVALIDATE, {**criteria_form(), "preview": "1:forged", "confirm": "1"})

    assert "The criteria changed or the preview is too old" in text(response)
    assert not Signature.objects.filter(status=Signature.Status.INVALIDATED).exists()


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"ip": "not-an-ip"}, "ip", "is not an IP address"),
        ({"ip": "", "domain": "nodots"}, "domain", "is not a domain"),
        ({"reason": ""}, "reason", "This field is required."),
        ({"statuses": []}, "statuses", "This field is required."),
        ({"created_from": "2026-05-02T10:00", "created_to": "2026-05-01T10:00"}, "created_to",
         "The end must come after the start."),
        ({"created_from": "yesterday"}, "created_from", "Enter a valid date/time."),
    ],
)  # fmt: skip
def test_bad_criteria_show_errors_by_their_fields_and_keep_the_input(
    client, staff, fields, field, message
):
    response = client.post(INVALIDATE, criteria_form(**fields))

    assert response.status_code == 200
    page = response.content.decode()
    error = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', page, re.S)
    assert error and message in error.group(1)
    assert f"id_{field}_error" in re.search(
        rf"(<(?:input|textarea|fieldset)[^>]*id_{field}_error[^>]*>)", page
    ).group(1)
    assert "One burst</textarea>" in page or field == "reason"
    assert not InvalidationBatch.objects.exists()


def test_no_criterion_at_all_is_refused(client, staff):
    response = client.post(INVALIDATE, criteria_form(ip=""))

    assert "Give at least one criterion" in text(response)


def test_no_match_offers_nothing_to_invalidate(client, staff, petition):
    response = client.post(INVALIDATE, criteria_form())

    assert "No pending or confirmed signature matches these criteria." in text(response)
    assert 'name="confirm"' not in response.content.decode()


def test_the_invalidation_form_is_for_staff_allowed_to_change_signatures(client, petition):
    anonymous = client.get(INVALIDATE)
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]

    client.force_login(
        staff_user_create(superuser=False, permissions=("petitions.view_signature",))
    )
    assert client.get(INVALIDATE).status_code == 403
    assert client.post(INVALIDATE, criteria_form()).status_code == 403


# --- Revalidating -------------------------------------------------------------------------


def test_the_revalidate_action_puts_selected_signatures_back(client, staff, petition):
    signature = signature_create(petition=petition, confirmed=True, client_ip=BAD_IP)
    services.signature_counts_refresh()
    services.signatures_invalidate(
        criteria=services.SignatureCriteria(ip=BAD_IP), reason="Oops", expected_count=1
    )

    response = client.post(
        CHANGELIST,
        {"action": "revalidate_selected", "_selected_action": [signature.pk]},
        follow=True,
    )

    assert "1 signature revalidated." in text(response)
    signature.refresh_from_db()
    assert signature.status == Signature.Status.CONFIRMED
    services.signature_counts_refresh()
    petition.refresh_from_db()
    assert petition.signature_count == 1


def test_a_batch_can_be_undone_from_the_list_of_invalidations(client, staff, petition):
    for _ in range(2):
        signature_create(petition=petition, client_ip=BAD_IP, confirmed=True)
    batch = services.signatures_invalidate(
        criteria=services.SignatureCriteria(ip=BAD_IP), reason="Too quick", expected_count=2
    )
    listing = client.get("/admin/petitions/invalidationbatch/")
    assert "Too quick" in text(listing)

    response = client.post(
        "/admin/petitions/invalidationbatch/",
        {"action": "undo", "_selected_action": [batch.pk]},
        follow=True,
    )

    assert "2 signatures revalidated." in text(response)
    batch.refresh_from_db()
    assert batch.revalidated_at is not None
    assert client.get(f"/admin/petitions/invalidationbatch/{batch.pk}/delete/").status_code == 403


# --- Petitions ----------------------------------------------------------------------------


def petition_form(petition: Petition, **fields) -> dict:
    data = {
        "campaign": petition.campaign_id,
        "slug": petition.slug,
        "title": petition.title,
        "ask": petition.ask,
        "target_name": petition.target_name,
        "goal_kind": petition.goal_kind,
        "language": petition.language,
        "status": petition.status,
    }
    data.update(fields)
    return data


def test_closing_a_petition_in_the_admin_stamps_when_it_closed(client, staff, petition):
    response = client.post(
        f"/admin/petitions/petition/{petition.pk}/change/",
        petition_form(petition, status="closed"),
    )

    assert response.status_code == 302
    petition.refresh_from_db()
    assert petition.status == Petition.Status.CLOSED
    assert petition.closed_at is not None


def test_marking_a_petition_won_in_the_admin_stamps_when_it_closed(client, staff, petition):
    response = client.post(
        f"/admin/petitions/petition/{petition.pk}/change/", petition_form(petition, status="won")
    )

    assert response.status_code == 302
    petition.refresh_from_db()
    assert petition.status == Petition.Status.WON
    assert petition.closed_at is not None


def test_the_admin_cannot_change_the_paper_total_its_batches_keep(client, staff, petition):
    Petition.objects.filter(pk=petition.pk).update(paper_count=40)

    response = client.post(
        f"/admin/petitions/petition/{petition.pk}/change/",
        petition_form(petition, title="Renamed", paper_count=350),
    )

    assert response.status_code == 302
    petition.refresh_from_db()
    assert (petition.title, petition.paper_count) == ("Renamed", 40)


def test_the_petition_page_shows_the_stored_integrity_numbers_read_only(client, staff, petition):
    signature_create(petition=petition)
    services.petition_integrity_refresh()

    page = client.get(f"/admin/petitions/petition/{petition.pk}/change/").content.decode()

    assert 'name="paper_count"' not in page  # added batch by batch, in the workspace
    assert 'name="integrity"' not in page
    assert "&quot;pending&quot;: 1" in page


def test_staff_see_flagged_attempts_as_counts_they_cannot_edit(client, staff, petition):
    flagged_attempt_create(petition=petition, email="bot@example.org", name="Bot Person")
    url = "/admin/petitions/flaggedattempttally/"

    page = client.get(url).content.decode()

    assert "honeypot" in page
    assert "Bot Person" not in page and "bot@example.org" not in page
    tally = FlaggedAttemptTally.objects.get()
    assert client.get(f"{url}add/").status_code == 403
    assert client.post(f"{url}{tally.pk}/delete/", {"post": "yes"}).status_code == 403
    assert FlaggedAttemptTally.objects.get().count == 1
