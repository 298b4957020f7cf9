"""Writing a campaign: addresses, texts, the lifecycle and copies, with their refusals."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from campaigns.access import NotAllowed, NotAMember, SecondFactorNeeded
from campaigns.models import AuditEntry, Campaign
from campaigns.services.editing import (
    SLUG_MAX_LENGTH,
    CampaignStatusError,
    campaign_close,
    campaign_create,
    campaign_duplicate,
    campaign_publish,
    campaign_update,
    campaign_win,
    slug_suggest,
)
from common.slugs import slug_from_text, transliterate
from petitions.models import Petition
from petitions.services import (
    campaign_duplicate_with_petitions,
    campaign_end,
    campaign_petitions_close,
    petitions_duplicate,
)
from tests.factories import campaign_create as campaign_make
from tests.factories import member_create, organisation_create, petition_create

pytestmark = pytest.mark.django_db

HOSTILE_STORY = """\
Free them.

<script>alert("script")</script>

[a link](javascript:alert('link'))

<a href="javascript:alert('raw')">raw link</a>

<iframe src="https://evil.example/"></iframe>

<img src="x" onerror="alert('img')">

<p onclick="alert('p')">clicked</p>
"""


def _texts(**overrides):
    texts = {
        "title": "Free them all",
        "slug": "",
        "summary": "Political prisoners must go free.",
        "body": "The story.",
        "language": "en",
    }
    texts.update(overrides)
    return texts


@pytest.fixture
def campaigner():
    return member_create(role="campaigner")


def _draft(membership, **overrides):
    return campaign_create(
        actor=membership.user, organisation=membership.organisation, **_texts(**overrides)
    )


def _audit(action):
    return list(AuditEntry.objects.filter(action=action))


# --- Addresses ----------------------------------------------------------------------------


def test_cyrillic_titles_are_spelled_in_latin_letters():
    assert slug_from_text("Свободу политзаключённым", max_length=60) == (
        "svobodu-politzaklyuchyonnym"
    )
    assert transliterate("Щука, ёж, юла, Яна, Хабаровск, Цой, Чай, Шар") == (
        "shchuka, yozh, yula, yana, khabarovsk, tsoy, chay, shar"
    )
    assert transliterate("подъезд, мальчик, эхо, йод, рыба") == ("podezd, malchik, ekho, yod, ryba")


def test_punctuation_becomes_one_hyphen_and_long_titles_are_cut_at_a_word():
    assert slug_from_text("Score: 1:0 — «Victory»!", max_length=60) == "score-1-0-victory"
    assert slug_from_text("Café über alles", max_length=60) == "cafe-uber-alles"
    assert slug_from_text("один два три четыре", max_length=12) == "odin-dva-tri"


def test_a_suggestion_skips_addresses_already_taken():
    campaign_make(slug="svobodu-politzaklyuchyonnym")
    campaign_make(slug="svobodu-politzaklyuchyonnym-2")

    assert slug_suggest(title="Свободу политзаключённым") == "svobodu-politzaklyuchyonnym-3"


def test_a_title_without_letters_suggests_a_plain_address():
    assert slug_suggest(title="!!! 🙂 ???") == "campaign"


def test_an_empty_address_is_made_from_the_title(campaigner):
    campaign = _draft(campaigner, title="Свободу политзаключённым")

    assert campaign.slug == "svobodu-politzaklyuchyonnym"
    assert campaign.status == Campaign.Status.DRAFT


def test_an_address_of_your_own_campaign_is_refused_as_any_other_with_a_free_one(campaigner):
    _draft(campaigner, title="First", slug="free-them")

    with pytest.raises(ValidationError) as caught:
        _draft(campaigner, title="Second", slug="free-them")

    message = caught.value.message_dict["slug"][0]
    # The same words as for another organisation's campaign: the message tells nobody
    # whose campaign holds an address.
    assert "“free-them” is already used by another campaign" in message
    assert "First" not in message
    assert "“free-them-2”" in message
    assert Campaign.objects.count() == 1


def test_an_address_of_another_organisation_is_refused_without_naming_its_campaign(campaigner):
    campaign_make(slug="free-them", title="Their secret draft", status=Campaign.Status.DRAFT)

    with pytest.raises(ValidationError) as caught:
        _draft(campaigner, slug="free-them")

    message = caught.value.message_dict["slug"][0]
    assert "already used by another campaign" in message
    assert "Their secret draft" not in message
    assert "“free-them-2”" in message


@pytest.mark.parametrize("slug", ["свобода", "free them", "free/them", "a" * (SLUG_MAX_LENGTH + 1)])
def test_an_address_that_is_not_a_slug_is_refused_with_an_example(campaigner, slug):
    with pytest.raises(ValidationError) as caught:
        _draft(campaigner, slug=slug)

    assert "slug" in caught.value.message_dict
    assert Campaign.objects.count() == 0


def test_an_address_is_kept_in_lower_case(campaigner):
    assert _draft(campaigner, slug="Free-Them").slug == "free-them"


# --- Texts --------------------------------------------------------------------------------


def test_creating_records_who_made_the_draft(campaigner):
    campaign = _draft(campaigner)

    (entry,) = _audit(AuditEntry.Action.CAMPAIGN_CREATE)
    assert entry.actor == campaigner.user
    assert entry.organisation == campaigner.organisation
    assert entry.target == "Free them all"
    assert entry.details == {"campaign": str(campaign.public_id)}


def test_unsafe_markdown_is_stripped_from_the_stored_story(campaigner):
    campaign = _draft(campaigner, body=HOSTILE_STORY)

    html = campaign.body_html.lower()
    assert "free them." in html
    for unsafe in ("<script", "alert(", "javascript:", "<iframe", "onerror", "onclick", "<img"):
        assert unsafe not in html
    assert campaign.body == HOSTILE_STORY  # the Markdown itself is kept as typed


@pytest.fixture
def verified_owner(campaigner):
    owner = member_create(organisation=campaigner.organisation, role="owner")
    owner.user.is_verified = lambda: True  # as django-otp's middleware marks a verified session
    return owner


def test_a_retention_period_out_of_bounds_is_refused(verified_owner):
    with pytest.raises(ValidationError) as caught:
        _draft(verified_owner, retention_days=5000)

    assert "retention_days" in caught.value.message_dict
    assert Campaign.objects.count() == 0


def test_editing_saves_the_texts_and_records_which_changed(campaigner):
    campaign = _draft(campaigner)

    updated = campaign_update(
        actor=campaigner.user,
        campaign=campaign,
        **_texts(title="Free them now", slug="free-them-now", body="**New** story"),
    )

    assert updated.title == "Free them now"
    assert updated.slug == "free-them-now"
    assert updated.body_html == "<p><strong>New</strong> story</p>"
    (entry,) = _audit(AuditEntry.Action.CAMPAIGN_UPDATE)
    assert entry.details["fields"] == ["title", "slug", "body"]


def test_saving_unchanged_texts_records_nothing(campaigner):
    campaign = _draft(campaigner, slug="free-them")

    campaign_update(actor=campaigner.user, campaign=campaign, **_texts(slug="free-them"))

    assert _audit(AuditEntry.Action.CAMPAIGN_UPDATE) == []


def test_a_published_campaign_keeps_its_address(campaigner):
    campaign = campaign_publish(actor=campaigner.user, campaign=_draft(campaigner, slug="free"))

    with pytest.raises(ValidationError) as caught:
        campaign_update(actor=campaigner.user, campaign=campaign, **_texts(slug="other"))
    kept = campaign_update(
        actor=campaigner.user, campaign=campaign, **_texts(slug="", title="New title")
    )

    assert "cannot change" in caught.value.message_dict["slug"][0]
    assert kept.slug == "free"
    assert kept.title == "New title"


def test_a_viewer_cannot_create_or_edit(campaigner):
    viewer = member_create(organisation=campaigner.organisation, role="viewer")
    campaign = _draft(campaigner)

    with pytest.raises(NotAllowed):
        _draft(viewer)
    with pytest.raises(NotAllowed):
        campaign_update(actor=viewer.user, campaign=campaign, **_texts(title="Changed"))

    campaign.refresh_from_db()
    assert campaign.title == "Free them all"
    assert Campaign.objects.count() == 1


def test_a_member_of_another_organisation_is_not_a_member_here(campaigner):
    outsider = member_create(role="owner")
    campaign = _draft(campaigner)

    with pytest.raises(NotAMember):
        campaign_update(actor=outsider.user, campaign=campaign, **_texts(title="Changed"))
    with pytest.raises(NotAMember):
        campaign_publish(actor=outsider.user, campaign=campaign)

    campaign.refresh_from_db()
    assert (campaign.title, campaign.status) == ("Free them all", Campaign.Status.DRAFT)


# --- Lifecycle ----------------------------------------------------------------------------


def test_a_draft_is_published_then_closed_then_won(campaigner):
    campaign = _draft(campaigner)

    assert campaign_publish(actor=campaigner.user, campaign=campaign).status == "published"
    assert campaign_close(actor=campaigner.user, campaign=campaign).status == "closed"
    assert campaign_win(actor=campaigner.user, campaign=campaign).status == "won"

    actions = list(AuditEntry.objects.order_by("created_at", "id").values_list("action", "details"))
    assert [action for action, _ in actions] == [
        "campaign.create",
        "campaign.publish",
        "campaign.close",
        "campaign.win",
    ]
    assert actions[-1][1] == {"campaign": str(campaign.public_id), "from": "closed"}


def test_a_published_campaign_can_be_won_directly(campaigner):
    campaign = campaign_publish(actor=campaigner.user, campaign=_draft(campaigner))

    assert campaign_win(actor=campaigner.user, campaign=campaign).status == "won"


@pytest.mark.parametrize(
    ("status", "step"),
    [
        ("published", campaign_publish),
        ("closed", campaign_publish),
        ("won", campaign_publish),
        ("draft", campaign_close),
        ("closed", campaign_close),
        ("won", campaign_close),
        ("draft", campaign_win),
        ("won", campaign_win),
    ],
)
def test_a_step_the_status_does_not_allow_is_refused_and_changes_nothing(campaigner, status, step):
    campaign = campaign_make(organisation=campaigner.organisation, status=status)

    with pytest.raises(CampaignStatusError):
        step(actor=campaigner.user, campaign=campaign)

    campaign.refresh_from_db()
    assert campaign.status == status
    assert AuditEntry.objects.count() == 0


def test_a_stale_copy_of_the_campaign_cannot_publish_it_twice(campaigner):
    campaign = _draft(campaigner)
    stale = Campaign.objects.get(pk=campaign.pk)
    campaign_publish(actor=campaigner.user, campaign=campaign)

    with pytest.raises(CampaignStatusError):
        campaign_publish(actor=campaigner.user, campaign=stale)

    assert len(_audit(AuditEntry.Action.CAMPAIGN_PUBLISH)) == 1


def test_a_viewer_cannot_publish(campaigner):
    viewer = member_create(organisation=campaigner.organisation, role="viewer")
    campaign = _draft(campaigner)

    with pytest.raises(NotAllowed):
        campaign_publish(actor=viewer.user, campaign=campaign)

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT
    assert _audit(AuditEntry.Action.CAMPAIGN_PUBLISH) == []


def test_ending_a_campaign_closes_its_open_petitions_and_records_each(campaigner):
    campaign = campaign_make(organisation=campaigner.organisation)
    open_petition = petition_create(campaign=campaign, title="Open one")
    draft_petition = petition_create(campaign=campaign, status=Petition.Status.DRAFT)
    other = petition_create()

    campaign_end(actor=campaigner.user, campaign=campaign, won=False)

    open_petition.refresh_from_db()
    draft_petition.refresh_from_db()
    other.refresh_from_db()
    assert open_petition.status == Petition.Status.CLOSED
    assert open_petition.closed_at is not None
    assert not open_petition.is_open
    assert draft_petition.status == Petition.Status.DRAFT
    assert other.status == Petition.Status.OPEN
    (entry,) = _audit(AuditEntry.Action.PETITION_CLOSE)
    assert entry.target == "Open one"
    assert entry.details["reason"] == "campaign_ended"


def test_winning_a_campaign_closes_its_open_petitions(campaigner):
    campaign = campaign_make(organisation=campaigner.organisation)
    petition = petition_create(campaign=campaign)

    campaign_end(actor=campaigner.user, campaign=campaign, won=True)

    petition.refresh_from_db()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.WON
    assert not petition.is_open


def test_a_refused_end_leaves_the_petitions_open(campaigner):
    viewer = member_create(organisation=campaigner.organisation, role="viewer")
    campaign = campaign_make(organisation=campaigner.organisation)
    petition = petition_create(campaign=campaign)

    with pytest.raises(NotAllowed):
        campaign_end(actor=viewer.user, campaign=campaign, won=False)
    draft = campaign_make(organisation=campaigner.organisation, status=Campaign.Status.DRAFT)
    draft_petition = petition_create(campaign=draft)
    with pytest.raises(CampaignStatusError):
        campaign_end(actor=campaigner.user, campaign=draft, won=False)

    petition.refresh_from_db()
    draft_petition.refresh_from_db()
    assert petition.is_open
    assert draft_petition.is_open
    assert AuditEntry.objects.count() == 0


# --- Copies -------------------------------------------------------------------------------


def test_duplicating_makes_a_draft_with_the_texts_and_a_fresh_address(campaigner):
    campaign = campaign_make(
        organisation=campaigner.organisation,
        slug="free-them",
        title="Free them",
        summary="Now.",
        body="*Story*",
        language="ru",
        retention_days=30,
        status=Campaign.Status.WON,
    )

    first = campaign_duplicate(actor=campaigner.user, campaign=campaign)
    second = campaign_duplicate(actor=campaigner.user, campaign=campaign)

    assert (first.slug, second.slug) == ("free-them-2", "free-them-3")
    assert first.status == Campaign.Status.DRAFT
    assert (first.title, first.summary, first.body, first.body_html) == (
        "Free them",
        "Now.",
        "*Story*",
        "<p><em>Story</em></p>",
    )
    assert (first.language, first.retention_days) == ("ru", 30)
    assert first.organisation == campaigner.organisation
    entry = _audit(AuditEntry.Action.CAMPAIGN_DUPLICATE)[-1]
    assert entry.details == {"campaign": str(first.public_id), "source": str(campaign.public_id)}


def test_duplicating_copies_the_petitions_as_drafts_without_their_signatures(campaigner):
    campaign = campaign_make(organisation=campaigner.organisation)
    petition = petition_create(
        campaign=campaign,
        slug="release",
        title="Release them",
        language="ru",
        challenge_required=True,
        status=Petition.Status.CLOSED,
    )
    Petition.objects.filter(pk=petition.pk).update(signature_count=1234, paper_count=5)

    copy = campaign_duplicate_with_petitions(actor=campaigner.user, campaign=campaign)

    (copied,) = copy.petitions.all()
    assert copied.slug == "release-2"
    assert copied.status == Petition.Status.DRAFT
    assert (copied.title, copied.ask, copied.language) == (
        "Release them",
        petition.ask,
        "ru",
    )
    assert copied.challenge_required
    assert (copied.signature_count, copied.paper_count, copied.closed_at) == (0, 0, None)
    assert copied.public_id != petition.public_id
    assert campaign.petitions.get() == petition
    (entry,) = _audit(AuditEntry.Action.PETITION_CREATE)
    assert entry.details["source"] == str(petition.public_id)


def test_copying_petitions_into_a_campaign_leaves_the_original_untouched(campaigner):
    source = campaign_make(organisation=campaigner.organisation)
    target = campaign_make(organisation=campaigner.organisation, status=Campaign.Status.DRAFT)
    petition_create(campaign=source, slug="ask")
    petition_create(slug="ask-2")

    (copy,) = petitions_duplicate(
        actor=campaigner.user, source_campaign=source, target_campaign=target
    )

    assert copy.slug == "ask-3"
    assert source.petitions.count() == 1


def test_a_viewer_cannot_duplicate(campaigner):
    viewer = member_create(organisation=campaigner.organisation, role="viewer")
    campaign = campaign_make(organisation=campaigner.organisation)
    petition_create(campaign=campaign)

    with pytest.raises(NotAllowed):
        campaign_duplicate_with_petitions(actor=viewer.user, campaign=campaign)

    assert Campaign.objects.count() == 1
    assert Petition.objects.count() == 1


def test_the_organisation_of_a_copy_is_the_originals_even_for_a_member_of_two(campaigner):
    other = organisation_create()
    member_create(organisation=other, user=campaigner.user, role="campaigner")
    campaign = campaign_make(organisation=campaigner.organisation)

    copy = campaign_duplicate(actor=campaigner.user, campaign=campaign)

    assert copy.organisation == campaigner.organisation


# --- The retention period: owners only ----------------------------------------------------


def test_a_campaigner_cannot_change_how_long_signers_data_is_kept(campaigner):
    campaign = _draft(campaigner)
    kept = campaign.retention_days

    for days in (0, 3650):
        with pytest.raises(NotAllowed):
            campaign_update(
                actor=campaigner.user, campaign=campaign, **_texts(), retention_days=days
            )
        with pytest.raises(NotAllowed):
            _draft(campaigner, retention_days=days)

    campaign.refresh_from_db()
    assert campaign.retention_days == kept
    assert Campaign.objects.count() == 1


def test_a_campaigner_may_save_the_texts_with_the_period_unchanged(campaigner):
    campaign = _draft(campaigner)

    updated = campaign_update(
        actor=campaigner.user,
        campaign=campaign,
        **_texts(title="Changed"),
        retention_days=campaign.retention_days,
    )

    assert updated.title == "Changed"


def test_an_owner_without_a_verified_second_factor_cannot_change_the_period(campaigner):
    owner = member_create(organisation=campaigner.organisation, role="owner")
    campaign = _draft(campaigner)

    with pytest.raises(SecondFactorNeeded):
        campaign_update(actor=owner.user, campaign=campaign, **_texts(), retention_days=0)


def test_a_verified_owner_changes_the_period_and_it_is_recorded(campaigner, verified_owner):
    campaign = _draft(campaigner)

    updated = campaign_update(
        actor=verified_owner.user, campaign=campaign, **_texts(), retention_days=30
    )

    assert updated.retention_days == 30
    entry = _audit(AuditEntry.Action.CAMPAIGN_UPDATE)[-1]
    assert entry.details["fields"] == ["retention_days"]


def test_the_petition_services_refuse_a_stranger_to_the_campaigns_organisation(campaigner):
    stranger = member_create(role="owner")
    stranger.user.is_verified = lambda: True
    theirs = campaign_make(organisation=campaigner.organisation)
    open_one = petition_create(campaign=theirs, title="Open one")
    mine = campaign_make(organisation=stranger.organisation, status=Campaign.Status.DRAFT)

    with pytest.raises(NotAMember):
        petitions_duplicate(actor=stranger.user, source_campaign=theirs, target_campaign=mine)
    with pytest.raises(NotAMember):
        campaign_petitions_close(actor=stranger.user, campaign=theirs)

    assert mine.petitions.count() == 0
    open_one.refresh_from_db()
    assert open_one.status == Petition.Status.OPEN


def test_a_viewer_cannot_close_a_campaigns_petitions(campaigner):
    viewer = member_create(organisation=campaigner.organisation, role="viewer")
    campaign = campaign_make(organisation=campaigner.organisation)
    petition = petition_create(campaign=campaign)

    with pytest.raises(NotAllowed):
        campaign_petitions_close(actor=viewer.user, campaign=campaign)

    petition.refresh_from_db()
    assert petition.status == Petition.Status.OPEN
