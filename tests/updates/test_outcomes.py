"""Outcome updates: a won, closed or answered petition proposes a pre-filled draft, once."""

from __future__ import annotations

import pytest
from django.utils import timezone

from campaigns.access import NotAllowed
from petitions.models import Petition
from tests.factories import member_create, petition_create
from updates import selectors, services
from updates.models import Update

pytestmark = pytest.mark.django_db


def proposals(campaign) -> list[tuple[str, str]]:
    return [
        (proposal.petition.title, proposal.origin)
        for proposal in selectors.update_outcome_proposals(campaign=campaign)
    ]


def answered(petition: Petition, text: str) -> Petition:
    petition.response_text = text
    petition.response_recorded_at = timezone.now()
    petition.save()
    return petition


def test_won_closed_and_answered_petitions_are_proposed(campaign):
    petition_create(campaign=campaign, title="Open one")
    petition_create(campaign=campaign, title="Won one", status=Petition.Status.WON)
    petition_create(campaign=campaign, title="Closed one", status=Petition.Status.CLOSED)
    answered(petition_create(campaign=campaign, title="Answered one"), "We will look into it.")
    petition_create(campaign=campaign, title="Draft one", status=Petition.Status.DRAFT)

    assert proposals(campaign) == [
        ("Won one", "won"),
        ("Closed one", "closed"),
        ("Answered one", "response"),
    ]


def test_a_proposal_becomes_a_draft_in_the_campaigns_language_once(campaign, organiser):
    campaign.language = "ru"
    campaign.save()
    petition = petition_create(campaign=campaign, title="Free *them*", status=Petition.Status.WON)

    update = services.update_propose(actor=organiser, petition=petition, origin="won")
    again = services.update_propose(actor=organiser, petition=petition, origin="won")

    assert again == update
    assert Update.objects.count() == 1
    assert update.status == Update.Status.DRAFT
    assert update.origin == Update.Origin.WON
    assert update.subject == "Мы победили: Free *them*"
    assert "петиция «Free \\*them\\*» победила" in update.body
    assert "<em>" not in update.body_html
    assert f"/c/{campaign.slug}/" in update.body
    assert proposals(campaign) == []


def test_the_targets_response_is_quoted_in_the_draft(campaign, organiser):
    petition = answered(
        petition_create(campaign=campaign, title="Release", target_name="The Minister"),
        "We have received it.\n<script>no</script>",
    )

    update = services.update_propose(actor=organiser, petition=petition, origin="response")

    assert update.subject == "The Minister responded: Release"
    assert "> We have received it." in update.body
    assert "<script>" not in update.body_html
    assert "&lt;script&gt;no&lt;/script&gt;" in update.body_html


def test_an_outcome_the_petition_does_not_have_is_refused(campaign, petition, organiser):
    with pytest.raises(ValueError, match="no outcome"):
        services.update_propose(actor=organiser, petition=petition, origin="won")

    assert not Update.objects.exists()


def test_a_viewer_cannot_make_the_draft(campaign):
    petition = petition_create(campaign=campaign, status=Petition.Status.CLOSED)
    viewer = member_create(organisation=campaign.organisation, role="viewer").user

    with pytest.raises(NotAllowed):
        services.update_propose(actor=viewer, petition=petition, origin="closed")


def test_a_deleted_proposal_is_proposed_again(campaign, organiser):
    petition = petition_create(campaign=campaign, status=Petition.Status.CLOSED)
    update = services.update_propose(actor=organiser, petition=petition, origin="closed")

    services.update_delete(actor=organiser, update=update)

    assert proposals(campaign) == [(petition.title, "closed")]
