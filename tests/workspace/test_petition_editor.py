"""The petition editor in the workspace: create, edit, open, close, win, paper signatures and
the target's response; viewers read only; another organisation's petitions do not exist."""

from __future__ import annotations

import datetime
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import AuditEntry, Campaign
from petitions.models import PaperBatch, Petition
from tests.factories import (
    campaign_create,
    member_create,
    organisation_create,
    petition_create,
    workspace_login,
)
from tests.html import elements

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    return member_create(role="campaigner")


@pytest.fixture
def organisation(member):
    return member.organisation


@pytest.fixture
def campaign(organisation) -> Campaign:
    return campaign_create(organisation=organisation, title="Free them all")


@pytest.fixture
def signed_in(client, member):
    workspace_login(client, member.user, verified=False)
    return client


@pytest.fixture
def petition(campaign) -> Petition:
    return petition_create(
        campaign=campaign,
        title="Release Ivan",
        target_name="Ivan Petrov",
        target_position="Prosecutor General",
        status=Petition.Status.DRAFT,
    )


def url(name: str, petition: Petition) -> str:
    org = petition.campaign.organisation.slug
    return reverse(f"workspace:{name}", kwargs={"org": org, "petition": petition.public_id})


def new_url(campaign: Campaign) -> str:
    return reverse(
        "workspace:petition-new",
        kwargs={"org": campaign.organisation.slug, "campaign": campaign.public_id},
    )


def form_data(**fields) -> dict:
    data = {
        "title": "Free the prisoners of conscience",
        "ask": "Release everyone held for their views.",
        "target_name": "Ivan Petrov",
        "target_position": "Prosecutor General",
        "target_organisation": "The Prosecutor's Office",
        "language": "en",
        "goal_kind": "ladder",
        "goal_fixed": "",
        "closes_at": "",
        "slug": "",
    }
    data.update(fields)
    return data


def paper_data(**fields) -> dict:
    data = {
        "paper-count": "120",
        "paper-collected_by": "Volunteers in Perm",
        "paper-collected_on": timezone.localdate().isoformat(),
    }
    data.update({f"paper-{key}": value for key, value in fields.items()})
    return data


def text(response) -> str:
    return response.content.decode()


def actions() -> list[str]:
    return list(AuditEntry.objects.order_by("id").values_list("action", flat=True))


# --- Creating -----------------------------------------------------------------------------


def test_a_campaigner_creates_a_draft_petition(signed_in, campaign):
    response = signed_in.post(new_url(campaign), form_data(goal_kind="fixed", goal_fixed="5000"))

    petition = Petition.objects.get(campaign=campaign)
    assert response.status_code == 303
    assert response["Location"] == url("petition", petition)
    assert petition.status == Petition.Status.DRAFT
    assert petition.target_organisation == "The Prosecutor's Office"
    assert (petition.goal_kind, petition.goal_fixed) == ("fixed", 5000)
    assert actions() == [AuditEntry.Action.PETITION_CREATE]
    page = text(signed_in.get(response["Location"]))
    assert "The petition was created as a draft." in page
    assert "5,000 signatures" in page


def test_the_new_petition_form_has_a_label_for_every_field(signed_in, campaign):
    page = text(signed_in.get(new_url(campaign)))

    labelled = {attrs["for"] for attrs in elements(page, "label")}
    fields = [attrs for attrs in elements(page, "input") if attrs.get("type") != "hidden"]
    fields += elements(page, "textarea") + elements(page, "select")
    assert fields
    assert all(attrs["id"] in labelled for attrs in fields)


def test_bad_input_shows_every_error_by_its_field_keeps_the_input_and_stores_nothing(
    signed_in, campaign
):
    past = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")

    response = signed_in.post(
        new_url(campaign),
        form_data(
            title="", ask="Kept <b>as typed</b>", goal_kind="fixed", goal_fixed="0", closes_at=past
        ),
    )

    assert response.status_code == 422
    page = text(response)
    assert "The goal must be a positive number of signatures." in page
    assert "The deadline must be in the future." in page
    assert "This field is required." in page
    (goal,) = elements(page, "input", name="goal_fixed")
    assert goal["aria-invalid"] == "true"
    assert "id_goal_fixed_error" in (goal["aria-describedby"] or "")
    assert "Kept &lt;b&gt;as typed&lt;/b&gt;" in page
    assert not Petition.objects.exists()
    assert actions() == []


def test_a_fixed_goal_needs_its_number(signed_in, campaign):
    response = signed_in.post(new_url(campaign), form_data(goal_kind="fixed"))

    assert response.status_code == 422
    assert "Give the number of signatures the petition aims for." in text(response)
    assert not Petition.objects.exists()


def test_a_viewer_cannot_create_a_petition(client, campaign):
    viewer = member_create(organisation=campaign.organisation, role="viewer")
    workspace_login(client, viewer.user, verified=False)

    assert client.get(new_url(campaign)).status_code == 403
    assert client.post(new_url(campaign), form_data()).status_code == 403
    assert not Petition.objects.exists()


def test_another_organisations_campaign_does_not_exist_here(signed_in):
    other = campaign_create(organisation=organisation_create())

    assert signed_in.get(new_url(other)).status_code == 404
    assert signed_in.post(new_url(other), form_data()).status_code == 404
    assert not Petition.objects.exists()


# --- The petition's page ------------------------------------------------------------------


def test_the_campaign_page_links_to_each_petition_and_to_a_new_one(signed_in, petition):
    campaign = petition.campaign
    path = reverse(
        "workspace:campaign",
        kwargs={"org": campaign.organisation.slug, "campaign": campaign.public_id},
    )

    page = text(signed_in.get(path))

    assert elements(page, "a", href=url("petition", petition))
    assert elements(page, "a", href=new_url(campaign))


def test_the_page_shows_counts_goal_status_deadline_and_response(signed_in, campaign):
    petition = petition_create(
        campaign=campaign,
        target_name="Ivan Petrov",
        target_position="Prosecutor General",
        target_organisation="The Prosecutor's Office",
        closes_at=timezone.now() + timedelta(days=10),
        response_text="We will <review> the cases.",
        response_date=datetime.date(2026, 1, 15),
    )
    Petition.objects.filter(pk=petition.pk).update(signature_count=1234, paper_count=21)

    page = text(signed_in.get(url("petition", petition)))

    assert "1,234 confirmed signatures" in page
    assert "21 signatures on paper" in page
    assert "5,000 signatures" in page  # the next step of the ladder
    assert "Ivan Petrov, Prosecutor General, The Prosecutor&#x27;s Office" in page
    assert "Open" in page
    assert "We will &lt;review&gt; the cases." in page
    assert "Jan. 15, 2026" in page
    assert 'datetime="2026-01-15"' in page


def test_a_viewer_reads_the_page_without_forms_or_buttons(client, petition):
    viewer = member_create(organisation=petition.campaign.organisation, role="viewer")
    workspace_login(client, viewer.user, verified=False)

    response = client.get(url("petition", petition))

    assert response.status_code == 200
    page = text(response)
    assert "Release Ivan" in page
    assert not elements(page, "form", method="post")[1:]  # only the sign-out form
    assert "Open for signatures" not in page and "Edit the petition" not in page


@pytest.mark.parametrize(
    "name",
    ["petition", "petition-edit", "petition-open", "petition-close", "petition-win",
     "petition-paper", "petition-response"],
)  # fmt: skip
def test_another_organisations_petition_answers_404_to_an_owner(client, name):
    owner = member_create(role="owner")
    workspace_login(client, owner.user)
    theirs = petition_create(status=Petition.Status.OPEN)
    path = reverse(
        f"workspace:{name}", kwargs={"org": owner.organisation.slug, "petition": theirs.public_id}
    )

    assert client.get(path).status_code in (404, 405)
    assert client.post(path, paper_data()).status_code == 404
    theirs.refresh_from_db()
    assert (theirs.status, theirs.paper_count) == (Petition.Status.OPEN, 0)


# --- Editing ------------------------------------------------------------------------------


def test_the_edit_form_is_filled_in_and_saves_what_changed(signed_in, petition):
    page = text(signed_in.get(url("petition-edit", petition)))
    assert elements(page, "input", name="title", value="Release Ivan")

    response = signed_in.post(
        url("petition-edit", petition), form_data(title="Release Ivan now", slug=petition.slug)
    )

    assert response.status_code == 303
    petition.refresh_from_db()
    assert petition.title == "Release Ivan now"
    entry = AuditEntry.objects.get()
    assert entry.action == AuditEntry.Action.PETITION_UPDATE
    assert "title" in entry.details["fields"]


def test_an_open_petitions_address_is_not_offered_for_editing(signed_in, petition):
    Petition.objects.filter(pk=petition.pk).update(status=Petition.Status.OPEN)

    page = text(signed_in.get(url("petition-edit", petition)))
    signed_in.post(url("petition-edit", petition), form_data(slug="new-address"))

    assert not elements(page, "input", name="slug")
    assert Petition.objects.get(pk=petition.pk).slug == petition.slug


def test_a_closed_petition_is_not_edited(signed_in, petition):
    Petition.objects.filter(pk=petition.pk).update(status=Petition.Status.CLOSED)

    response = signed_in.post(url("petition-edit", petition), form_data(title="Changed"))

    assert response.status_code == 303
    assert Petition.objects.get(pk=petition.pk).title == "Release Ivan"
    assert "A closed petition keeps the text it closed with." in text(
        signed_in.get(response["Location"])
    )


def test_a_viewer_cannot_edit(client, petition):
    viewer = member_create(organisation=petition.campaign.organisation, role="viewer")
    workspace_login(client, viewer.user, verified=False)

    response = client.post(url("petition-edit", petition), form_data(title="Changed"))

    assert response.status_code == 403
    assert Petition.objects.get(pk=petition.pk).title == "Release Ivan"
    assert actions() == []


# --- Open, close, win ---------------------------------------------------------------------


def test_opening_a_draft_puts_it_on_the_public_page(signed_in, client, petition):
    response = signed_in.post(url("petition-open", petition))

    assert response.status_code == 303
    assert Petition.objects.get(pk=petition.pk).status == Petition.Status.OPEN
    assert actions() == [AuditEntry.Action.PETITION_PUBLISH]
    assert "The petition is open for signatures." in text(signed_in.get(response["Location"]))
    assert "Release Ivan" in text(client.get(f"/c/{petition.campaign.slug}/"))


def test_opening_is_refused_with_a_reason_while_the_campaign_is_a_draft(signed_in, petition):
    Campaign.objects.filter(pk=petition.campaign_id).update(status=Campaign.Status.DRAFT)

    response = signed_in.post(url("petition-open", petition), follow=True)

    assert "Publish the campaign first" in text(response)
    assert Petition.objects.get(pk=petition.pk).status == Petition.Status.DRAFT
    assert actions() == []


def test_opening_takes_a_post_only(signed_in, petition):
    assert signed_in.get(url("petition-open", petition)).status_code == 405
    assert Petition.objects.get(pk=petition.pk).status == Petition.Status.DRAFT


@pytest.mark.parametrize(
    ("name", "status", "action"),
    [
        ("petition-close", Petition.Status.CLOSED, AuditEntry.Action.PETITION_CLOSE),
        ("petition-win", Petition.Status.WON, AuditEntry.Action.PETITION_WIN),
    ],
)
def test_closing_and_winning_ask_to_confirm_first(signed_in, petition, name, status, action):
    Petition.objects.filter(pk=petition.pk).update(status=Petition.Status.OPEN)

    confirm = signed_in.get(url(name, petition))
    assert confirm.status_code == 200
    assert Petition.objects.get(pk=petition.pk).status == Petition.Status.OPEN
    assert elements(text(confirm), "form", method="post")

    response = signed_in.post(url(name, petition))

    assert response.status_code == 303
    petition.refresh_from_db()
    assert petition.status == status
    assert petition.closed_at is not None
    assert actions() == [action]


def test_a_won_petition_says_so_on_the_public_page_and_takes_no_signatures(
    signed_in, client, petition
):
    Petition.objects.filter(pk=petition.pk).update(status=Petition.Status.OPEN)
    signed_in.post(url("petition-win", petition))
    client.logout()

    page = text(client.get(f"/c/{petition.campaign.slug}/"))
    response = client.post(f"/p/{petition.slug}/sign/", {"email": "a@example.org", "name": "A"})

    assert "This petition has won." in page
    assert not elements(page, "form", action=f"/p/{petition.slug}/sign/#petition-{petition.slug}")
    assert response.status_code == 409


def test_a_viewer_cannot_open_close_or_win(client, petition):
    viewer = member_create(organisation=petition.campaign.organisation, role="viewer")
    workspace_login(client, viewer.user, verified=False)

    for name in ("petition-open", "petition-close", "petition-win"):
        assert client.post(url(name, petition)).status_code == 403

    assert Petition.objects.get(pk=petition.pk).status == Petition.Status.DRAFT
    assert actions() == []


def test_an_owner_with_a_second_factor_closes_a_petition(client, petition):
    owner = member_create(organisation=petition.campaign.organisation, role="owner")
    workspace_login(client, owner.user, verified=True)
    Petition.objects.filter(pk=petition.pk).update(status=Petition.Status.OPEN)

    response = client.post(url("petition-close", petition))

    assert response.status_code == 303
    assert Petition.objects.get(pk=petition.pk).status == Petition.Status.CLOSED
    assert AuditEntry.objects.get().actor == owner.user


# --- Paper signatures ---------------------------------------------------------------------


def test_paper_signatures_are_added_and_listed_with_who_added_them(signed_in, member, petition):
    response = signed_in.post(url("petition-paper", petition), paper_data())
    signed_in.post(url("petition-paper", petition), paper_data(count="1", collected_by="Rally"))

    assert response.status_code == 303
    assert response["Location"].endswith("#paper")
    assert Petition.objects.get(pk=petition.pk).paper_count == 121
    page = text(signed_in.get(url("petition", petition)))
    assert "121 signatures on paper" in page
    assert "Volunteers in Perm" in page and "Rally" in page
    assert member.user.email in page
    assert actions() == [AuditEntry.Action.PETITION_PAPER] * 2


def test_a_total_recorded_before_batches_is_listed_as_such(signed_in, petition):
    PaperBatch.objects.create(petition=petition, count=40, collected_on=datetime.date(2025, 5, 1))

    page = text(signed_in.get(url("petition", petition)))

    assert "The total recorded before batches were kept" in page


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"count": "0"}, "Give a number of signatures greater than zero."),
        ({"count": "-5"}, "Give a number of signatures greater than zero."),
        ({"count": "many"}, "Enter a whole number."),
        ({"collected_by": ""}, "This field is required."),
        (
            {"collected_on": (timezone.localdate() + timedelta(days=2)).isoformat()},
            "The date cannot be in the future.",
        ),
    ],
)
def test_a_bad_paper_batch_is_shown_by_its_field_and_nothing_is_stored(
    signed_in, petition, fields, message
):
    response = signed_in.post(url("petition-paper", petition), paper_data(**fields))

    assert response.status_code == 422
    page = text(response)
    assert message in page
    assert 'aria-invalid="true"' in page
    assert elements(page, "input", name="paper-collected_by")
    assert Petition.objects.get(pk=petition.pk).paper_count == 0
    assert not PaperBatch.objects.exists()


def test_a_viewer_cannot_add_paper_signatures(client, petition):
    viewer = member_create(organisation=petition.campaign.organisation, role="viewer")
    workspace_login(client, viewer.user, verified=False)

    assert client.post(url("petition-paper", petition), paper_data()).status_code == 403
    assert Petition.objects.get(pk=petition.pk).paper_count == 0
    assert not PaperBatch.objects.exists()


# --- The target's response ----------------------------------------------------------------


def test_the_response_is_recorded_and_shown_on_the_public_page(signed_in, client, petition):
    Petition.objects.filter(pk=petition.pk).update(status=Petition.Status.OPEN)

    response = signed_in.post(
        url("petition-response", petition),
        {"response-text": "We will review the cases.", "response-date": "2026-01-15"},
    )

    assert response.status_code == 303
    assert actions() == [AuditEntry.Action.PETITION_RESPONSE]
    client.logout()
    page = text(client.get(f"/c/{petition.campaign.slug}/"))
    assert "Response to the petition" in page
    assert "We will review the cases." in page
    assert 'datetime="2026-01-15"' in page


def test_a_response_dated_in_the_future_is_refused(signed_in, petition):
    Petition.objects.filter(pk=petition.pk).update(status=Petition.Status.OPEN)
    future = (timezone.localdate() + timedelta(days=3)).isoformat()

    response = signed_in.post(
        url("petition-response", petition), {"response-text": "Reply", "response-date": future}
    )

    assert response.status_code == 422
    assert "The date cannot be in the future." in text(response)
    assert Petition.objects.get(pk=petition.pk).response_text == ""


def test_a_drafts_page_offers_no_response_form(signed_in, petition):
    page = text(signed_in.get(url("petition", petition)))

    assert not elements(page, "textarea", name="response-text")


# --- In Russian ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "online", "paper"),
    [
        (1, "1 подтверждённая подпись", "1 подпись на бумаге"),
        (2, "2 подтверждённые подписи", "2 подписи на бумаге"),
        (5, "5 подтверждённых подписей", "5 подписей на бумаге"),
        (11, "11 подтверждённых подписей", "11 подписей на бумаге"),
        (21, "21 подтверждённая подпись", "21 подпись на бумаге"),
        (111, "111 подтверждённых подписей", "111 подписей на бумаге"),
    ],
)
def test_the_page_reads_in_russian_with_the_right_plural(signed_in, petition, count, online, paper):
    Petition.objects.filter(pk=petition.pk).update(signature_count=count, paper_count=count)

    page = text(signed_in.get(url("petition", petition), HTTP_ACCEPT_LANGUAGE="ru"))

    assert online in page
    assert paper in page
    assert "Подписи на бумаге" in page
    assert "Открыть для подписей" in page


def test_form_errors_read_in_russian(signed_in, petition):
    response = signed_in.post(
        url("petition-paper", petition), paper_data(count="0"), HTTP_ACCEPT_LANGUAGE="ru"
    )

    assert response.status_code == 422
    assert "Укажите число подписей больше нуля." in text(response)
