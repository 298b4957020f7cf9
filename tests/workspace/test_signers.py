"""The owners' staff tools in the workspace: finding signers, invalidating and revalidating,
exporting and locking down, for verified owners only and within their organisation."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from campaigns.models import AuditEntry, Campaign
from petitions import services
from petitions.models import InvalidationBatch, Signature, Supporter
from petitions.selectors.criteria import SignatureCriteria
from petitions.services import self_service
from tests.factories import (
    campaign_create,
    member_create,
    petition_create,
    signature_create,
    workspace_login,
)
from tests.html import elements

pytestmark = pytest.mark.django_db

BAD_IP = "203.0.113.7"
OTHER_IP = "198.51.100.20"


@pytest.fixture
def owner() -> Any:
    return member_create(role="owner")


@pytest.fixture
def petition(owner: Any) -> Any:
    campaign = campaign_create(organisation=owner.organisation, title="Free the Three")
    return petition_create(campaign=campaign, title="Release them now")


@pytest.fixture
def rival() -> Any:
    """An owner of another organisation, with a petition and a signer at the same domain."""
    membership = member_create(role="owner")
    campaign = campaign_create(organisation=membership.organisation)
    membership.petition = petition_create(campaign=campaign, title="Rival petition")
    membership.signature = signature_create(
        petition=membership.petition,
        email="rival.signer@example.net",
        name="Rival Signer",
        client_ip=BAD_IP,
        confirmed=True,
    )
    return membership


def url(owner: Any, suffix: str) -> str:
    return f"/workspace/{owner.organisation.slug}/{suffix}"


def audit(owner: Any, action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(organisation=owner.organisation, action=action))


def signed_in(client: Any, membership: Any, *, verified: bool = True) -> Any:
    workspace_login(client, membership.user, verified=verified)
    return client


def search(client: Any, owner: Any, query: str, **extra: str) -> Any:
    """Send criteria as the result pages' forms do: one URL-encoded hidden field."""
    return client.post(url(owner, "signers/"), {"criteria": query, **extra})


def found(client: Any, owner: Any, query: str, **extra: str) -> str:
    response = search(client, owner, query, **extra)
    assert response.status_code == 200
    return response.content.decode()


# --- Who may see the tools ---------------------------------------------------------------


def _pages(owner: Any, petition: Any) -> list[tuple[str, dict[str, str] | None]]:
    """Each tool's page, with the POST data that shows signers (None: a GET)."""
    return [
        (url(owner, "signers/"), {"domain": "example.net"}),
        (url(owner, "signers/invalidate/"), {"criteria": f"petition={petition.public_id}"}),
        (url(owner, "signers/invalidations/"), None),
        (url(owner, f"campaigns/{petition.campaign.public_id}/lockdown/"), None),
    ]


def visit(client: Any, page: str, data: dict[str, str] | None) -> Any:
    return client.get(page) if data is None else client.post(page, data)


def test_an_owner_without_a_verified_second_factor_is_sent_to_the_two_factor_step(
    client, owner, petition
):
    signature_create(petition=petition, email="someone@example.net", confirmed=True)
    signed_in(client, owner, verified=False)
    for page, data in _pages(owner, petition):
        response = visit(client, page, data)
        assert response.status_code == 302, page
        assert response["Location"].startswith("/workspace/account/two-factor/?next=")
        assert "someone@example.net" not in response.content.decode()
    assert not AuditEntry.objects.exists()


def test_an_unverified_owner_can_neither_export_nor_revalidate_nor_lock_down(
    client, owner, petition
):
    signed_in(client, owner, verified=False)
    batch = InvalidationBatch.objects.create(organisation=owner.organisation, reason="x")
    posts = [
        (url(owner, "signers/export/"), {"criteria": f"petition={petition.public_id}"}),
        (url(owner, f"signers/invalidations/{batch.public_id}/revalidate/"), {}),
        (
            url(owner, f"campaigns/{petition.campaign.public_id}/lockdown/"),
            {"confirm_slug": petition.campaign.slug},
        ),
    ]
    for page, data in posts:
        assert client.post(page, data).status_code == 302, page
    petition.campaign.refresh_from_db()
    assert petition.campaign.locked_down_at is None
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("role", ["campaigner", "viewer"])
def test_campaigners_and_viewers_are_refused_even_with_a_second_factor(
    client, owner, petition, role
):
    member = member_create(organisation=owner.organisation, role=role)
    signature_create(petition=petition, email="someone@example.net", confirmed=True)
    signed_in(client, member)
    for page, data in _pages(owner, petition):
        response = visit(client, page, data)
        assert response.status_code == 403, page
        assert "someone@example.net" not in response.content.decode()
    assert not AuditEntry.objects.exists()


def test_the_navigation_links_the_signers_tools_for_owners_only(client, owner):
    signed_in(client, owner)
    page = client.get(url(owner, "")).content.decode()
    assert f'href="/workspace/{owner.organisation.slug}/signers/"' in page
    campaigner = member_create(organisation=owner.organisation, role="campaigner")
    signed_in(client, campaigner)
    assert "/signers/" not in client.get(url(owner, "")).content.decode()


def test_the_pages_are_never_stored_by_a_cache(client, owner, petition):
    signature_create(petition=petition, email="someone@example.net", confirmed=True)
    signed_in(client, owner)
    for page, data in _pages(owner, petition):
        response = visit(client, page, data)
        assert response.status_code == 200, page
        assert "no-store" in response["Cache-Control"], page


# --- Searching ------------------------------------------------------------------------------


def test_a_verified_owner_finds_signers_by_domain_with_their_names_and_addresses(
    client, owner, petition
):
    signature_create(
        petition=petition, email="anna@example.net", name="Anna Petrova", confirmed=True
    )
    signature_create(petition=petition, email="boris@elsewhere.org", name="Boris Ivanov")
    signed_in(client, owner)

    response = client.post(url(owner, "signers/"), {"domain": "example.net"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "1 signature found" in page
    assert "Anna Petrova" in page
    assert "anna@example.net" in page
    assert "boris@elsewhere.org" not in page


def test_the_search_is_recorded_by_the_kinds_of_criteria_never_their_values(
    client, owner, petition
):
    signature_create(petition=petition, email="anna@example.net", confirmed=True)
    signed_in(client, owner)

    search(client, owner, f"domain=example.net&petition={petition.public_id}")
    search(client, owner, "email=anna@example.net")

    entries = audit(owner, AuditEntry.Action.SIGNERS_SEARCH)
    assert sorted(entry.details["criteria"] for entry in entries) == [
        ["email"],
        ["petition", "domain"],
    ]
    stored = json.dumps([[e.target, e.details] for e in entries])
    assert "example.net" not in stored
    assert "anna" not in stored
    assert all(entry.actor_id == owner.user.pk for entry in entries)


def test_signer_names_are_escaped(client, owner, petition):
    signature_create(
        petition=petition, email="x@example.net", name="<b>Bold</b> Name", confirmed=True
    )
    signed_in(client, owner)
    page = found(client, owner, "domain=example.net")
    assert "<b>Bold</b>" not in page
    assert "&lt;b&gt;Bold&lt;/b&gt; Name" in page


def test_the_search_never_reaches_another_organisations_signers(client, owner, petition, rival):
    signature_create(
        petition=petition, email="own.signer@example.net", client_ip=BAD_IP, confirmed=True
    )
    signed_in(client, owner)
    for query in (
        "domain=example.net",
        f"ip={BAD_IP}",
        f"ip={BAD_IP.rsplit('.', 1)[0]}.0/24",
        "created_from=2000-01-01T00:00",
        "statuses=confirmed&domain=example.net",
    ):
        page = found(client, owner, query)
        assert "1 signature found" in page, query
        assert "own.signer@example.net" in page, query
        assert "rival.signer@example.net" not in page, query
        assert "Rival Signer" not in page, query
    page = found(client, owner, "email=rival.signer@example.net")
    assert "0 signatures found" in page
    assert "Rival Signer" not in page


def test_another_organisations_petition_is_not_found(client, owner, petition, rival):
    signed_in(client, owner)
    for petition_id in (rival.petition.public_id, uuid.uuid4(), "not-an-id"):
        criteria = {"criteria": f"petition={petition_id}"}
        for tool in ("signers/", "signers/invalidate/", "signers/export/"):
            assert client.post(url(owner, tool), criteria).status_code == 404, tool
    assert (
        client.post(url(owner, "signers/"), {"petition": rival.petition.public_id}).status_code
        == 404
    )
    assert not AuditEntry.objects.exists()


def test_another_organisations_owner_gets_404_for_this_organisations_tools(
    client, owner, petition, rival
):
    signed_in(client, rival)
    for page, data in _pages(owner, petition):
        assert visit(client, page, data).status_code == 404, page


def test_an_exact_address_finds_that_signer_only(client, owner, petition):
    signature_create(petition=petition, email="Anna.P@Example.net", name="Anna", confirmed=True)
    signature_create(petition=petition, email="anna.q@example.net", name="Other", confirmed=True)
    signed_in(client, owner)
    page = found(client, owner, "email=anna.p@example.net")
    assert "1 signature found" in page
    assert "Anna.P@Example.net" in page
    assert "anna.q@example.net" not in page


def test_signers_are_found_by_ip_time_and_status(client, owner, petition):
    bad = signature_create(petition=petition, client_ip=BAD_IP, email="bad@example.net")
    signature_create(petition=petition, client_ip=OTHER_IP, email="good@example.net")
    Signature.objects.filter(pk=bad.pk).update(created_at=timezone.now() - timedelta(days=3))
    signed_in(client, owner)

    by_ip = found(client, owner, f"ip={BAD_IP}")
    assert "bad@example.net" in by_ip
    assert "good@example.net" not in by_ip
    since = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    recent = found(client, owner, f"created_from={since}")
    assert "good@example.net" in recent
    assert "bad@example.net" not in recent
    confirmed = found(client, owner, f"petition={petition.public_id}&statuses=confirmed")
    assert "0 signatures found" in confirmed


def test_a_search_without_criteria_shows_nothing_and_records_nothing(client, owner, petition):
    signature_create(petition=petition, email="someone@example.net", confirmed=True)
    signed_in(client, owner)

    blank = found(client, owner, "")
    only_status = found(client, owner, "statuses=confirmed")

    for page in (blank, only_status):
        assert "Give at least one criterion" in page
        assert "someone@example.net" not in page
    assert not AuditEntry.objects.exists()


def test_criteria_never_travel_in_a_url(client, owner, petition):
    """An address typed to find a signer must not stay in history, logs or a Referer."""
    signature_create(petition=petition, email="someone@example.net", confirmed=True)
    signed_in(client, owner)

    form_page = client.get(url(owner, "signers/")).content.decode()
    from_url = client.get(url(owner, "signers/?domain=example.net")).content.decode()
    results = found(client, owner, "domain=example.net")

    [search_form] = [f for f in elements(form_page, "form") if "/signers/" in (f["action"] or "")]
    assert search_form["method"] == "post"
    assert "someone@example.net" not in from_url
    assert all(form["method"] == "post" for form in elements(results, "form"))
    addresses = [a["href"] or "" for a in elements(results, "a")]
    addresses += [form["action"] or "" for form in elements(results, "form")]
    assert [address for address in addresses if "example.net" in address] == []
    assert client.get(url(owner, "signers/invalidate/?domain=example.net")).status_code == 405
    assert len(audit(owner, AuditEntry.Action.SIGNERS_SEARCH)) == 1


def test_unusable_criteria_are_explained_on_their_field_and_kept(client, owner, petition):
    signed_in(client, owner)
    response = client.post(
        url(owner, "signers/"), {"ip": "999.1.1.1", "email": "not-an-address", "domain": "x"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "is not an IP address or a CIDR range" in page
    assert "This is not an email address." in page
    assert "is not a domain" in page
    [ip_input] = elements(page, "input", name="ip")
    assert ip_input["value"] == "999.1.1.1"
    assert ip_input["aria-invalid"] == "true"
    assert "id_ip_error" in (ip_input["aria-describedby"] or "")
    assert not AuditEntry.objects.exists()


def test_results_are_paginated(client, owner, petition, monkeypatch):
    from workspace.views import signers as views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    for n in range(3):
        signature_create(petition=petition, email=f"p{n}@example.net")
    signed_in(client, owner)
    first = found(client, owner, "domain=example.net")
    second = found(client, owner, "domain=example.net", page="2")
    assert "Page 1 of 2" in first
    [next_button] = elements(first, "button", name="page")
    assert next_button["value"] == "2"
    [criteria] = elements(first, "input", name="criteria")[:1]
    assert criteria["value"] == "domain=example.net"
    assert sum(f"p{n}@example.net" in second for n in range(3)) == 1


# --- Invalidating and revalidating --------------------------------------------------------


def _preview(client: Any, owner: Any, query: str) -> str:
    response = client.post(url(owner, "signers/invalidate/"), {"criteria": query})
    assert response.status_code == 200
    return response.content.decode()


def _invalidate(client: Any, owner: Any, query: str, page: str, **fields: str) -> Any:
    [token] = elements(page, "input", name="preview")
    data = {"criteria": query, "preview": token["value"], "category": "automated", "confirm": "1"}
    data |= {"reason": "A script signed from one address."} | fields
    return client.post(url(owner, "signers/invalidate/"), data)


def test_an_owner_invalidates_what_the_preview_showed_and_it_is_recorded(client, owner, petition):
    bad = [signature_create(petition=petition, client_ip=BAD_IP, confirmed=True) for _ in range(2)]
    good = signature_create(petition=petition, client_ip=OTHER_IP, confirmed=True)
    signed_in(client, owner)
    query = f"ip={BAD_IP}"

    page = _preview(client, owner, query)
    assert "2 signatures match." in page
    response = _invalidate(client, owner, query, page)

    assert response.status_code == 302
    assert response["Location"] == url(owner, "signers/invalidations/")
    batch = InvalidationBatch.objects.get()
    assert batch.organisation == owner.organisation
    assert (batch.count, batch.category) == (2, "automated")
    assert batch.created_by == owner.user
    statuses = {s.pk: s.status for s in Signature.objects.all()}
    assert [statuses[s.pk] for s in bad] == [Signature.Status.INVALIDATED] * 2
    assert statuses[good.pk] == Signature.Status.CONFIRMED
    [entry] = audit(owner, AuditEntry.Action.SIGNERS_INVALIDATE)
    assert entry.details == {
        "batch": str(batch.public_id),
        "count": 2,
        "category": "automated",
        "reason": "A script signed from one address.",
    }
    assert BAD_IP not in json.dumps(entry.details)


def test_an_invalidation_is_refused_when_the_count_changed_since_the_preview(
    client, owner, petition
):
    signature_create(petition=petition, client_ip=BAD_IP)
    signed_in(client, owner)
    query = f"ip={BAD_IP}"
    page = _preview(client, owner, query)
    signature_create(petition=petition, client_ip=BAD_IP)

    response = _invalidate(client, owner, query, page)

    assert response.status_code == 200
    text = response.content.decode()
    assert "Nothing was invalidated: 1 signatures matched in the preview, 2 match now." in text
    assert "2 signatures match." in text  # the new preview
    assert not InvalidationBatch.objects.exists()
    assert not Signature.objects.filter(status=Signature.Status.INVALIDATED).exists()
    assert not audit(owner, AuditEntry.Action.SIGNERS_INVALIDATE)


def test_an_invalidation_is_refused_with_a_forged_preview_or_other_criteria(
    client, owner, petition
):
    signature_create(petition=petition, client_ip=BAD_IP)
    signature_create(petition=petition, client_ip=OTHER_IP)
    signed_in(client, owner)
    page = _preview(client, owner, f"ip={BAD_IP}")

    forged = _invalidate(client, owner, f"ip={BAD_IP}", page, preview="forged")
    switched = _invalidate(client, owner, f"petition={petition.public_id}", page)

    for response in (forged, switched):
        assert response.status_code == 200
        assert "the criteria changed or the preview is too old" in response.content.decode()
    assert not InvalidationBatch.objects.exists()


def test_an_invalidation_needs_a_reason(client, owner, petition):
    signature_create(petition=petition, client_ip=BAD_IP)
    signed_in(client, owner)
    page = _preview(client, owner, f"ip={BAD_IP}")

    response = _invalidate(client, owner, f"ip={BAD_IP}", page, category="", reason="  ")

    text = response.content.decode()
    assert response.status_code == 200
    assert text.count("This field is required.") == 2
    assert not InvalidationBatch.objects.exists()


def test_an_invalidation_never_reaches_another_organisations_signers(
    client, owner, petition, rival
):
    own = signature_create(petition=petition, email="own@example.net", client_ip=BAD_IP)
    signed_in(client, owner)
    query = "domain=example.net"
    page = _preview(client, owner, query)
    assert "1 signature matches." in page
    assert "Rival petition" not in page

    _invalidate(client, owner, query, page)

    own.refresh_from_db()
    rival.signature.refresh_from_db()
    assert own.status == Signature.Status.INVALIDATED
    assert rival.signature.status == Signature.Status.CONFIRMED


def test_the_service_refuses_another_organisations_petition_whatever_the_view_does(
    owner, petition, rival
):
    from campaigns.access import NotAMember
    from petitions.services import organisation_review

    user = owner.user
    user.is_verified = lambda: True  # as django-otp's middleware marks a verified session
    with pytest.raises(NotAMember):
        organisation_review.organisation_signatures_search(
            actor=user,
            organisation=owner.organisation,
            criteria=SignatureCriteria(petition=rival.petition),
        )
    found = organisation_review.organisation_signatures_search(
        actor=user,
        organisation=owner.organisation,
        criteria=SignatureCriteria(domain="example.net"),
    )
    assert rival.signature not in found


def test_an_owner_revalidates_one_of_their_batches(client, owner, petition):
    signature = signature_create(petition=petition, client_ip=BAD_IP, confirmed=True)
    signed_in(client, owner)
    _invalidate(client, owner, f"ip={BAD_IP}", _preview(client, owner, f"ip={BAD_IP}"))
    batch = InvalidationBatch.objects.get()

    listing = client.get(url(owner, "signers/invalidations/")).content.decode()
    response = client.post(url(owner, f"signers/invalidations/{batch.public_id}/revalidate/"))

    assert "A script signed from one address." in listing
    assert response.status_code == 302
    signature.refresh_from_db()
    batch.refresh_from_db()
    assert signature.status == Signature.Status.CONFIRMED
    assert batch.revalidated_at is not None
    [entry] = audit(owner, AuditEntry.Action.SIGNERS_REVALIDATE)
    assert entry.details == {"batch": str(batch.public_id), "count": 1}
    assert "Undone on" in client.get(url(owner, "signers/invalidations/")).content.decode()


def test_another_organisations_batches_and_the_admins_are_not_found(client, owner, petition, rival):
    services.signatures_invalidate(
        criteria=SignatureCriteria(petition=rival.petition), reason="admin", expected_count=1
    )
    admin_batch = InvalidationBatch.objects.get()
    rival_batch = InvalidationBatch.objects.create(organisation=rival.organisation, reason="r")
    signed_in(client, owner)

    listing = client.get(url(owner, "signers/invalidations/")).content.decode()
    for batch in (admin_batch, rival_batch):
        response = client.post(url(owner, f"signers/invalidations/{batch.public_id}/revalidate/"))
        assert response.status_code == 404

    assert "No invalidations yet." in listing
    rival.signature.refresh_from_db()
    assert rival.signature.status == Signature.Status.INVALIDATED
    assert not AuditEntry.objects.exists()


def test_revalidating_takes_a_post(client, owner):
    batch = InvalidationBatch.objects.create(organisation=owner.organisation, reason="x")
    signed_in(client, owner)
    response = client.get(url(owner, f"signers/invalidations/{batch.public_id}/revalidate/"))
    assert response.status_code == 405


# --- Exporting ------------------------------------------------------------------------------


def test_an_owner_exports_the_signers_found_as_csv(client, owner, petition, rival):
    signature_create(
        petition=petition, email="anna@example.net", name="=HYPERLINK(1) Anna", confirmed=True
    )
    signed_in(client, owner)

    response = client.post(url(owner, "signers/export/"), {"criteria": "domain=example.net"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "no-store" in response["Cache-Control"]
    assert response["Content-Disposition"].startswith("attachment;")
    body = b"".join(response.streaming_content).decode()
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert len(rows) == 2
    assert "anna@example.net" in rows[1]
    assert "'=HYPERLINK(1) Anna" in rows[1]
    assert "rival.signer@example.net" not in body
    [entry] = audit(owner, AuditEntry.Action.SIGNERS_EXPORT)
    assert entry.details == {"criteria": ["domain"], "statuses": [], "count": 1}


def test_an_export_takes_a_post_and_criteria(client, owner, petition):
    signed_in(client, owner)
    assert client.get(url(owner, "signers/export/?domain=example.net")).status_code == 405
    response = client.post(url(owner, "signers/export/"), {"criteria": ""})
    assert response.status_code == 200
    assert "Give at least one criterion" in response.content.decode()
    assert not AuditEntry.objects.exists()


# --- Lockdown -------------------------------------------------------------------------------


def test_the_lockdown_page_explains_what_is_purged(client, owner, petition):
    signature_create(petition=petition, confirmed=True)
    signature_create(petition=petition)
    signed_in(client, owner)
    page = client.get(url(owner, f"campaigns/{petition.campaign.public_id}/lockdown/"))
    text = page.content.decode()
    assert "2 signatures stop pointing to a person" in text
    assert "Of the 2 people who signed, 2 signed nothing else here" in text
    assert petition.campaign.slug in text


def test_a_lockdown_needs_the_campaigns_slug_typed(client, owner, petition):
    signature = signature_create(petition=petition, confirmed=True)
    signed_in(client, owner)
    page = url(owner, f"campaigns/{petition.campaign.public_id}/lockdown/")

    response = client.post(page, {"confirm_slug": petition.campaign.title})

    assert response.status_code == 200
    assert "does not match the campaign&#x27;s slug" in response.content.decode()
    signature.refresh_from_db()
    assert signature.supporter is not None
    assert Campaign.objects.get(pk=petition.campaign.pk).locked_down_at is None
    assert not AuditEntry.objects.exists()


def test_an_owner_locks_a_campaign_down_and_it_is_recorded(client, owner, petition):
    signature = signature_create(petition=petition, confirmed=True)
    signed_in(client, owner)
    campaign = petition.campaign

    response = client.post(
        url(owner, f"campaigns/{campaign.public_id}/lockdown/"), {"confirm_slug": campaign.slug}
    )

    assert response.status_code == 302
    signature.refresh_from_db()
    petition.refresh_from_db()
    assert signature.supporter is None
    assert not Supporter.objects.exists()
    assert petition.status == petition.Status.CLOSED
    assert Campaign.objects.get(pk=campaign.pk).locked_down_at is not None
    [entry] = audit(owner, AuditEntry.Action.CAMPAIGN_LOCKDOWN)
    assert entry.target == campaign.title
    assert entry.details == {"campaign": str(campaign.public_id), "detached": 1}


def test_another_organisations_campaign_cannot_be_locked_down(client, owner, petition, rival):
    signed_in(client, owner)
    rival_campaign = rival.petition.campaign
    page = url(owner, f"campaigns/{rival_campaign.public_id}/lockdown/")
    assert client.get(page).status_code == 404
    assert client.post(page, {"confirm_slug": rival_campaign.slug}).status_code == 404
    assert Campaign.objects.get(pk=rival_campaign.pk).locked_down_at is None


def _signers_page(client: Any, owner: Any, petition: Any) -> str:
    response = client.post(
        f"/workspace/{owner.organisation.slug}/signers/",
        {"criteria": f"petition={petition.public_id}"},
    )
    assert response.status_code == 200
    return str(response.content.decode())


def _export_rows(client: Any, owner: Any, petition: Any) -> list[list[str]]:
    response = client.post(
        f"/workspace/{owner.organisation.slug}/signers/export/",
        {"criteria": f"petition={petition.public_id}"},
    )
    text = b"".join(response.streaming_content).decode().lstrip("\ufeff")
    return list(csv.reader(io.StringIO(text)))


def test_an_owner_sees_only_the_name_a_signer_gave_their_organisation(client, owner, petition):
    other_petition = petition_create(campaign=campaign_create())
    signature_create(
        petition=petition, email="ivan@example.net", name="A. Nonymous", country="FI",
        confirmed=True,
    )  # fmt: skip
    signature_create(
        petition=other_petition, email="ivan@example.net", name="Ivan Petrov", country="EE",
        consent_updates=True, confirmed=True,
    )  # fmt: skip
    workspace_login(client, owner.user)

    page = _signers_page(client, owner, petition)
    assert "A. Nonymous" in page and "Finland" in page
    assert "Ivan Petrov" not in page and "Estonia" not in page
    rows = _export_rows(client, owner, petition)
    assert rows[1][5] == "A. Nonymous" and rows[1][7] == "FI"
    assert "Ivan Petrov" not in str(rows)


def test_another_organisations_lockdown_leaves_only_the_name_given_to_this_one(
    client, owner, petition
):
    other_campaign = campaign_create()
    other_petition = petition_create(campaign=other_campaign)
    signature_create(petition=petition, email="olga@example.net", name="O. Anon", confirmed=True)
    other = signature_create(
        petition=other_petition, email="olga@example.net", name="Olga Real-Name", confirmed=True
    )
    services.campaign_lockdown(campaign=other_campaign, confirm_slug=other_campaign.slug)
    workspace_login(client, owner.user)

    page = _signers_page(client, owner, petition)
    assert "O. Anon" in page and "Olga Real-Name" not in page
    other.refresh_from_db()
    assert other.supporter is None and other.name == "" and other.country == ""


def test_a_pending_signature_shows_no_name_until_the_person_confirms(client, owner, petition):
    signature_create(petition=petition, email="p@example.net", name="Typed By Anyone")
    workspace_login(client, owner.user)

    assert "Typed By Anyone" not in _signers_page(client, owner, petition)


def test_a_withdrawn_signature_keeps_no_name(owner, petition):
    signature = signature_create(petition=petition, name="Gone Away", confirmed=True)
    supporter = signature.supporter
    self_service.signature_withdraw(supporter=supporter, signature_public_id=signature.public_id)

    signature.refresh_from_db()
    assert signature.name == "" and signature.country == "" and signature.supporter is None
