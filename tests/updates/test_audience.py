"""Who an update reaches: confirmed signers who agreed, minus unsubscribed, suppressed, gone."""

from __future__ import annotations

import pytest

from mailer.models import OutboxMessage, Suppression
from mailer.services import suppression_add
from petitions.models import Supporter
from petitions.selectors import audience
from petitions.services import erasure, self_service, subscriptions
from petitions.services.addresses import supporter_emails_drop
from tests.factories import campaign_create, petition_create
from tests.updates.conftest import signer

pytestmark = pytest.mark.django_db


def walk(campaign_id: int, size: int = 2) -> list[int]:
    """Every supporter id of the audience, chunk by chunk, as planning walks it."""
    ids: list[int] = []
    after = 0
    while chunk := audience.update_audience_chunks(
        campaign_id=campaign_id, after_id=after, size=size
    ):
        assert len(chunk) <= size
        ids += [member.supporter_id for member in chunk]
        after = chunk[-1].supporter_id
    return ids


def test_a_confirmed_signer_who_agreed_is_in_the_audience(campaign, petition):
    person = signer(petition, language="ru")

    assert walk(campaign.pk) == [person.pk]
    assert audience.update_audience_count(campaign_id=campaign.pk) == 1
    [member] = audience.update_audience_chunks(campaign_id=campaign.pk, after_id=0, size=10)
    assert member.email_digest == person.email_digest
    assert member.language == "ru"


def test_a_signer_who_did_not_confirm_is_left_out(campaign, petition):
    signer(petition, confirmed=False)

    assert walk(campaign.pk) == []


def test_a_signer_who_did_not_agree_is_left_out(campaign, petition):
    signer(petition, consent=False)

    assert walk(campaign.pk) == []


def test_a_signer_who_withdrew_consent_on_the_manage_page_is_left_out(campaign, petition):
    person = signer(petition)
    self_service.consent_withdraw(supporter=person, campaign_public_id=campaign.public_id)

    assert walk(campaign.pk) == []


def test_a_signer_who_unsubscribed_from_the_campaign_is_left_out(campaign, petition):
    person = signer(petition)
    kept = signer(petition)
    subscriptions.updates_unsubscribe(supporter=person, campaign_id=campaign.pk)

    assert walk(campaign.pk) == [kept.pk]


def test_a_signer_who_unsubscribed_from_everything_is_left_out_of_every_campaign(
    campaign, petition
):
    other = petition_create(campaign=campaign_create())
    person = signer(petition, email="anna@example.org")
    signer(other, email="anna@example.org")
    subscriptions.updates_unsubscribe_all(supporter=person)

    assert walk(campaign.pk) == []
    assert walk(other.campaign_id) == []


def test_a_suppressed_address_is_left_out(campaign, petition):
    person = signer(petition)
    suppression_add(address_digest=person.email_digest, reason=Suppression.Reason.HARD_BOUNCE)

    assert walk(campaign.pk) == []
    assert audience.update_audience_count(campaign_id=campaign.pk) == 0


def test_an_erased_signer_is_left_out(campaign, petition):
    person = signer(petition)
    erasure.supporter_erase(supporter=person)

    assert walk(campaign.pk) == []


def test_a_signer_whose_signature_was_withdrawn_is_left_out(campaign, petition):
    person = signer(petition)
    signature = person.signatures.get()
    self_service.signature_withdraw(supporter=person, signature_public_id=signature.public_id)

    assert walk(campaign.pk) == []


def test_a_signer_whose_address_was_dropped_is_left_out(campaign, petition):
    person = signer(petition)
    Supporter.objects.filter(pk=person.pk).update(email="", email_dropped_at=person.created_at)

    assert walk(campaign.pk) == []


def test_a_signer_of_several_petitions_is_in_the_audience_once(campaign, petition):
    second = petition_create(campaign=campaign)
    person = signer(petition, email="twice@example.org")
    signer(second, email="twice@example.org")

    assert walk(campaign.pk, size=1) == [person.pk]
    assert audience.update_audience_count(campaign_id=campaign.pk) == 1


def test_signers_of_another_campaign_are_not_in_this_audience(campaign, petition):
    signer(petition_create(campaign=campaign_create()))

    assert walk(campaign.pk) == []


def test_the_walk_goes_through_the_audience_in_chunks_by_supporter_id(campaign, petition):
    people = [signer(petition) for _ in range(5)]
    signer(petition, consent=False)

    assert walk(campaign.pk, size=2) == sorted(person.pk for person in people)


def test_a_chunk_holds_at_least_one_person(campaign):
    with pytest.raises(ValueError, match="at least one"):
        audience.update_audience_chunks(campaign_id=campaign.pk, after_id=0, size=0)


def test_recipients_are_read_again_at_send_time(campaign, petition):
    stays = signer(petition, email="stays@example.org")
    leaves = signer(petition)
    subscriptions.updates_unsubscribe(supporter=leaves, campaign_id=campaign.pk)

    recipients = audience.update_recipients(
        campaign_id=campaign.pk, supporter_ids=[stays.pk, leaves.pk]
    )

    assert set(recipients) == {stays.pk}
    assert recipients[stays.pk].address == "stays@example.org"
    assert recipients[stays.pk].petition_title == "Release the Five"


def test_an_address_dropped_by_the_periodic_task_once_unsubscribed_everywhere(campaign, petition):
    person = signer(petition)
    OutboxMessage.objects.update(status=OutboxMessage.Status.SENT)  # the confirmation went
    subscriptions.updates_unsubscribe_all(supporter=person)

    supporter_emails_drop()

    person.refresh_from_db()
    assert person.email == ""
    assert not subscriptions.updates_resubscribe(supporter=person, campaign_id=campaign.pk)


def test_resubscribing_restores_a_withdrawn_consent_while_the_address_is_kept(campaign, petition):
    person = signer(petition)
    subscriptions.updates_unsubscribe(supporter=person, campaign_id=campaign.pk)

    assert subscriptions.updates_resubscribe(supporter=person, campaign_id=campaign.pk)
    assert walk(campaign.pk) == [person.pk]
    assert not subscriptions.updates_resubscribe(supporter=person, campaign_id=campaign.pk)
