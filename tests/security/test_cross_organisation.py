"""One organisation's public ids and slugs never reach another's data, drafts stay
private, and public URLs never take sequential database ids."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from campaigns.models import Campaign
from petitions import tokens
from petitions.models import Petition, Signature
from tests.factories import (
    campaign_create,
    latest_attempt,
    organisation_create,
    petition_create,
    signature_create,
)

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Organisation:
    campaign: Campaign
    petition: Petition
    signature: Signature

    @property
    def token(self) -> str:
        return tokens.confirm_token_make(str(latest_attempt(self.signature).public_id))

    @property
    def code(self) -> str:
        return latest_attempt(self.signature).confirm_code


def organisation_with_a_petition(name: str) -> Organisation:
    campaign = campaign_create(organisation=organisation_create(slug=name), slug=f"{name}-campaign")
    petition = petition_create(campaign=campaign, slug=f"{name}-petition")
    signature = signature_create(petition=petition, email="same.person@example.org")
    return Organisation(campaign=campaign, petition=petition, signature=signature)


@pytest.fixture
def org_a() -> Organisation:
    return organisation_with_a_petition("org-a")


@pytest.fixture
def org_b() -> Organisation:
    return organisation_with_a_petition("org-b")


def status(signature: Signature) -> str:
    signature.refresh_from_db()
    return signature.status


def test_a_confirmation_link_from_one_organisation_confirms_only_its_own_signature(
    client, org_a, org_b
):
    response = client.post(f"/confirm/{org_a.token}/")

    assert response.status_code == 302
    assert response["Location"] == f"/p/{org_a.petition.slug}/confirmed/"
    assert status(org_a.signature) == Signature.Status.CONFIRMED
    assert status(org_b.signature) == Signature.Status.PENDING


def test_a_code_from_one_organisation_confirms_nothing_on_anothers_petition(client, org_a, org_b):
    response = client.post(f"/p/{org_b.petition.slug}/confirm/", {"code": org_a.code})

    assert response.status_code == 400
    assert status(org_a.signature) == Signature.Status.PENDING
    assert status(org_b.signature) == Signature.Status.PENDING


def test_the_confirm_page_shows_only_the_petition_the_token_names(client, org_a, org_b):
    html = client.get(f"/confirm/{org_a.token}/").content.decode()

    assert org_a.petition.title in html
    assert org_b.petition.title not in html


def test_signing_one_organisations_petition_leaves_the_others_alone(
    client, org_a, org_b, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/p/{org_a.petition.slug}/sign/",
            {"name": "Same Person", "email": "same.person@example.org", "display": "hidden"},
        )

    assert response.status_code == 302
    assert Signature.objects.filter(petition=org_b.petition).count() == 1
    assert status(org_b.signature) == Signature.Status.PENDING


# --- Drafts --------------------------------------------------------------------------------


def draft_paths(org: Organisation) -> list[str]:
    slug = org.petition.slug
    return [
        f"/c/{org.campaign.slug}/",
        f"/p/{slug}/sign/",
        f"/p/{slug}/thanks/",
        f"/p/{slug}/confirm/",
        f"/p/{slug}/confirmed/",
        f"/p/{slug}/embed/",
        f"/api/v1/petitions/{slug}/count/",
    ]


def test_a_draft_campaign_of_another_organisation_is_not_found_anywhere(client, org_a, org_b):
    Campaign.objects.filter(pk=org_b.campaign.pk).update(status=Campaign.Status.DRAFT)

    for path in draft_paths(org_b):
        assert client.get(path).status_code == 404, path
    assert client.post(f"/p/{org_b.petition.slug}/sign/", {}).status_code == 404
    api = client.post(
        f"/api/v1/petitions/{org_b.petition.slug}/signatures/", {}, content_type="application/json"
    )
    assert api.status_code == 404
    # The other organisation's pages are untouched, and list nothing of the draft.
    home = client.get("/").content.decode()
    assert org_a.campaign.title in home
    assert org_b.campaign.title not in home


def test_a_draft_petition_in_a_published_campaign_is_not_found_anywhere(client, org_b):
    Petition.objects.filter(pk=org_b.petition.pk).update(status=Petition.Status.DRAFT)

    for path in draft_paths(org_b)[1:]:
        assert client.get(path).status_code == 404, path
    campaign_page = client.get(f"/c/{org_b.campaign.slug}/").content.decode()
    assert org_b.petition.title not in campaign_page


# --- Sequential ids ------------------------------------------------------------------------


def test_public_urls_do_not_take_database_ids(client, org_a, org_b):
    for org in (org_a, org_b):
        for pk in (org.campaign.pk, org.petition.pk):
            for path in (
                f"/c/{pk}/",
                f"/p/{pk}/thanks/",
                f"/p/{pk}/embed/",
                f"/p/{pk}/confirm/",
                f"/api/v1/petitions/{pk}/count/",
            ):
                assert client.get(path).status_code == 404, path
        assert client.get(f"/confirm/{org.signature.pk}/").status_code == 400


def test_the_count_api_names_petitions_by_slug_and_shows_no_database_id(client, org_a):
    count = client.get(f"/api/v1/petitions/{org_a.petition.slug}/count/").json()

    assert count["petition"] == org_a.petition.slug
    assert not [key for key in count if key == "pk" or key.endswith("id")]
