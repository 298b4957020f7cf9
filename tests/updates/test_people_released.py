"""When people leave a campaign (its lockdown, its petitions anonymised, a withdrawal), no
delivery of its updates may still say they were on its list; its updates keep their numbers."""

from __future__ import annotations

import pytest

from campaigns.models import Campaign
from mailer.models import Delivery, Mailing
from petitions import emails as petition_emails
from petitions.models import Consent, Petition, Signature, Supporter
from petitions.selectors import person as person_selectors
from petitions.services import self_service
from petitions.services.retention import campaign_lockdown, petition_anonymise
from tests.factories import campaign_create, member_create, petition_create, tasks_run_on_commit
from tests.updates.conftest import signer
from updates import selectors, services
from updates.models import Update

pytestmark = pytest.mark.django_db


def update_sent(campaign: Campaign, organiser) -> Update:
    update = services.update_create(
        actor=organiser, campaign=campaign, subject="News", body="The hearing is tomorrow."
    )
    with tasks_run_on_commit():
        services.update_send(actor=organiser, update=update)
    update.refresh_from_db()
    assert update.mailing_id is not None
    return update


def mailing_of(update: Update) -> int:
    assert update.mailing_id is not None
    return update.mailing_id


def deliveries_to(person: Supporter, update: Update | None = None) -> list[Delivery]:
    rows = Delivery.objects.filter(
        recipient_ref=petition_emails.supporter_ref(supporter_id=person.pk)
    )
    if update is not None:
        rows = rows.filter(mailing_id=mailing_of(update))
    return list(rows)


def updates_listed(person: Supporter) -> int:
    export = person_selectors.supporter_data_export(supporter=Supporter.objects.get(pk=person.pk))
    return sum(1 for email in export["emails"] if email["kind"] == "campaign_update")


@pytest.fixture
def elsewhere() -> Petition:
    return petition_create(campaign=campaign_create(title="Another cause"))


def test_a_lockdown_leaves_no_delivery_tying_a_surviving_supporter_to_the_campaign(
    campaign, petition, organiser, elsewhere
):
    # Anna supports the campaign locked down and another one: she survives the lockdown.
    anna = signer(petition, email="anna@example.org")
    signer(elsewhere, email="anna@example.org")
    boris = signer(petition, email="boris@example.org")
    ours = update_sent(campaign, organiser)
    colleague = member_create(organisation=elsewhere.campaign.organisation, role="campaigner").user
    colleague.is_verified = lambda: True  # as django-otp's middleware marks a verified session
    theirs = update_sent(elsewhere.campaign, colleague)
    assert deliveries_to(anna, ours) and updates_listed(anna) == 2

    campaign_lockdown(campaign=campaign, confirm_slug=campaign.slug)

    assert Supporter.objects.get(pk=anna.pk).email == "anna@example.org"
    assert not Delivery.objects.filter(mailing_id=mailing_of(ours)).exists()
    assert [row.mailing_id for row in deliveries_to(anna)] == [theirs.mailing_id]
    assert updates_listed(anna) == 1
    assert not Supporter.objects.filter(pk=boris.pk).exists()
    # The update's page still says how many it went to.
    progress = selectors.update_progress(update=ours)
    assert (progress.total, progress.sent, progress.queued) == (2, 2, 0)


def test_anonymising_a_petition_deletes_the_deliveries_of_those_it_releases_only(
    campaign, petition, organiser
):
    sister = petition_create(campaign=campaign)
    both = signer(petition, email="anna@example.org")
    signer(sister, email="anna@example.org")
    only_here = signer(petition, email="boris@example.org")
    update = update_sent(campaign, organiser)
    Petition.objects.filter(pk=petition.pk).update(status=Petition.Status.CLOSED)

    petition_anonymise(petition=Petition.objects.get(pk=petition.pk))

    # Anna still signs the campaign's other petition: she stays on its list.
    assert deliveries_to(both, update)
    assert not Supporter.objects.filter(pk=only_here.pk).exists()
    assert not Delivery.objects.filter(recipient_ref__endswith=f":{only_here.pk}").exists()
    assert selectors.update_progress(update=update).sent == 2


def test_a_supporter_released_by_anonymisation_who_signed_elsewhere_loses_the_deliveries(
    campaign, petition, organiser, elsewhere
):
    anna = signer(petition, email="anna@example.org")
    signer(elsewhere, email="anna@example.org")
    update = update_sent(campaign, organiser)
    Petition.objects.filter(pk=petition.pk).update(status=Petition.Status.CLOSED)

    petition_anonymise(petition=Petition.objects.get(pk=petition.pk))

    assert Supporter.objects.filter(pk=anna.pk).exists()
    assert not deliveries_to(anna, update)
    assert not Consent.objects.filter(supporter=anna, campaign=campaign).exists()


def test_withdrawing_the_last_signature_in_a_campaign_deletes_its_update_deliveries(
    campaign, petition, organiser, elsewhere
):
    anna = signer(petition, email="anna@example.org")
    signer(elsewhere, email="anna@example.org")
    update = update_sent(campaign, organiser)
    signature = Signature.objects.get(petition=petition, supporter=anna)

    self_service.signature_withdraw(supporter=anna, signature_public_id=signature.public_id)

    assert not deliveries_to(anna, update)
    assert selectors.update_progress(update=update).sent == 1


def test_a_release_during_sending_skips_the_person_and_the_mailing_still_finishes(
    campaign, petition, organiser
):
    anna = signer(petition, email="anna@example.org")
    signer(petition, email="boris@example.org")
    update = services.update_create(actor=organiser, campaign=campaign, subject="S", body="B.")
    services.update_send(actor=organiser, update=update)
    services.update_plan(update_id=update.pk)  # planned, not sent yet
    update.refresh_from_db()

    petition_emails.supporters_campaign_mail_delete(
        campaign_id=campaign.pk, supporter_ids=[anna.pk]
    )

    mailing = Mailing.objects.get(pk=mailing_of(update))
    assert mailing.removed_counts == {"skipped": 1}
    progress = selectors.update_progress(update=update)
    assert (progress.total, progress.skipped, progress.queued) == (2, 1, 1)


def test_every_update_mailing_names_its_campaign(campaign, petition, organiser):
    signer(petition)

    update = update_sent(campaign, organiser)

    assert Mailing.objects.get(pk=mailing_of(update)).about == {
        "update": str(update.pk),
        "campaign": str(campaign.pk),
    }
