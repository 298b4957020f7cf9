"""The campaign pages of the workspace: the list, the editor with its preview, the overview
and the lifecycle buttons, for each role, in English and in Russian."""

from __future__ import annotations

import time

import markdown
import pytest

from campaigns.models import AuditEntry, Campaign
from campaigns.services import MARKDOWN_MAX_LENGTH
from campaigns.services.media import hero_image_set
from petitions.models import Petition, SignAttempt
from tests.campaigns.images import photo_jpeg, upload
from tests.factories import (
    campaign_create,
    member_create,
    petition_create,
    post_and_run_tasks,
    tasks_run_on_commit,
    workspace_login,
)
from tests.html import elements

pytestmark = pytest.mark.django_db

HOSTILE_STORY = (
    "Free them.\n\n"
    '<script>alert("script")</script>\n\n'
    "[a link](javascript:alert('link'))\n\n"
    '<iframe src="https://evil.example/"></iframe>\n\n'
    '<img src="x" onerror="alert(\'img\')">\n'
)
UNSAFE = ("<script", "alert(", "javascript:", "<iframe", "onerror", "evil.example")


def _form(**overrides):
    data = {
        "title": "Free them all",
        "slug": "",
        "summary": "Political prisoners must go free.",
        "body": "The *story*.",
        "language": "en",
        "retention_days": "180",
    }
    data.update(overrides)
    return data


def _page(response) -> str:
    return response.content.decode()


def _section(html: str, start: str, end: str = "</section>") -> str:
    """The part of ``html`` from the element whose opening contains ``start`` to ``end``."""
    begin = html.index(start)
    return html[begin : html.index(end, begin)]


@pytest.fixture
def campaigner(client):
    membership = member_create(role="campaigner")
    workspace_login(client, membership.user)
    return membership


def _urls(campaign: Campaign) -> dict[str, str]:
    base = f"/workspace/{campaign.organisation.slug}/campaigns/{campaign.public_id}/"
    return {
        "detail": base,
        "edit": f"{base}edit/",
        "publish": f"{base}publish/",
        "close": f"{base}close/",
        "win": f"{base}win/",
        "duplicate": f"{base}duplicate/",
    }


# --- The list -----------------------------------------------------------------------------


def test_the_list_shows_each_campaigns_status_petitions_and_stored_counts(client, campaigner):
    campaign = campaign_create(organisation=campaigner.organisation, title="Free them all")
    open_one = petition_create(campaign=campaign)
    closed_one = petition_create(campaign=campaign, status=Petition.Status.CLOSED)
    Petition.objects.filter(pk=open_one.pk).update(signature_count=1200)
    Petition.objects.filter(pk=closed_one.pk).update(signature_count=34)
    campaign_create(organisation=campaigner.organisation, title="Quiet draft", status="draft")
    campaign_create(title="Someone else's")

    html = _page(client.get(f"/workspace/{campaigner.organisation.slug}/"))

    row = _section(html, "Free them all", "</tr>")
    assert "Published" in row
    assert "2 (1 open)" in row
    assert "1,234" in row
    assert f"/c/{campaign.slug}/" in row
    draft_row = _section(html, "Quiet draft", "</tr>")
    assert "Draft" in draft_row and "not public yet" in draft_row
    assert "Someone else" not in html
    assert elements(html, "a", href=f"/workspace/{campaigner.organisation.slug}/campaigns/new/")


def test_the_list_of_a_new_organisation_explains_how_to_start(client, campaigner):
    html = _page(client.get(f"/workspace/{campaigner.organisation.slug}/"))

    assert "No campaigns yet." in html
    assert "Create your first campaign" in html


def test_a_viewer_sees_the_list_without_a_new_campaign_button(client):
    viewer = member_create(role="viewer")
    campaign_create(organisation=viewer.organisation, title="Free them all")
    workspace_login(client, viewer.user, verified=False)

    html = _page(client.get(f"/workspace/{viewer.organisation.slug}/"))

    assert "Free them all" in html
    assert "New campaign" not in html
    assert "/campaigns/new/" not in html


# --- The editor ---------------------------------------------------------------------------


def test_a_new_campaign_is_saved_as_a_draft_with_an_address_from_its_title(client, campaigner):
    response = client.post(
        f"/workspace/{campaigner.organisation.slug}/campaigns/new/",
        _form(title="Свободу политзаключённым", language="ru"),
    )

    campaign = Campaign.objects.get()
    assert response.status_code == 302
    assert response["Location"] == _urls(campaign)["detail"]
    assert campaign.slug == "svobodu-politzaklyuchyonnym"
    assert campaign.status == Campaign.Status.DRAFT
    assert campaign.organisation == campaigner.organisation
    assert campaign.body_html == "<p>The <em>story</em>.</p>"
    assert AuditEntry.objects.get().action == AuditEntry.Action.CAMPAIGN_CREATE
    page = _page(client.get(response["Location"]))
    assert "Campaign saved as a draft" in page
    assert "http://testserver/c/svobodu-politzaklyuchyonnym/" in page


def test_the_editor_labels_every_field_and_starts_in_the_members_language(client, campaigner):
    html = _page(client.get(f"/workspace/{campaigner.organisation.slug}/campaigns/new/"))

    for name in ("title", "slug", "summary", "body", "language"):
        assert elements(html, "label", **{"for": f"id_{name}"}), name
    (english,) = elements(html, "option", value="en")
    assert "selected" in english
    # Only owners set the retention period: a campaigner reads it.
    assert not elements(html, "input", name="retention_days")
    assert "180 days after a petition closes" in html
    assert elements(html, "form", enctype="multipart/form-data")
    assert elements(html, "button", name="preview")


def test_preview_shows_the_sanitised_story_and_saves_nothing(client, campaigner):
    response = client.post(
        f"/workspace/{campaigner.organisation.slug}/campaigns/new/",
        _form(title="Свободу политзаключённым", body=HOSTILE_STORY, preview="1"),
    )

    html = _page(response)
    assert response.status_code == 200
    assert Campaign.objects.count() == 0
    assert AuditEntry.objects.count() == 0
    preview = _section(html, 'id="preview"')
    assert "Free them." in preview
    assert "Свободу политзаключённым" in preview
    for unsafe in UNSAFE:
        assert unsafe not in preview, unsafe
    # The form keeps what was typed, and shows the address saving would make.
    assert elements(html, "input", name="slug", value="svobodu-politzaklyuchyonnym")
    assert "alert(&quot;script&quot;)" in _section(html, "<textarea", "</textarea>")
    assert not elements(html, "input", **{"aria-invalid": "true"})


def test_preview_of_a_saved_campaign_leaves_it_unchanged(client, campaigner):
    campaign = campaign_create(organisation=campaigner.organisation, title="Old title")

    response = client.post(
        _urls(campaign)["edit"], _form(title="New title", body="**New**", preview="1")
    )

    campaign.refresh_from_db()
    assert campaign.title == "Old title"
    assert "<strong>New</strong>" in _section(_page(response), 'id="preview"')
    assert AuditEntry.objects.count() == 0


def test_an_address_clash_is_explained_on_the_field_with_the_input_kept(client, campaigner):
    campaign_create(organisation=campaigner.organisation, slug="free-them", title="First one")

    response = client.post(
        f"/workspace/{campaigner.organisation.slug}/campaigns/new/",
        _form(title="Second one", slug="free-them", summary="Kept summary"),
    )

    html = _page(response)
    assert response.status_code == 400
    assert Campaign.objects.count() == 1
    message = "The address “free-them” is already used by another campaign."
    assert message in html
    assert "“free-them-2”" in html
    (slug_input,) = elements(html, "input", name="slug")
    assert slug_input["value"] == "free-them"
    assert slug_input["aria-invalid"] == "true"
    assert "id_slug_error" in (slug_input["aria-describedby"] or "").split()
    assert elements(html, "p", id="id_slug_error")
    assert elements(html, "input", name="summary", value="Kept summary")
    assert elements(html, "a", href="#id_slug")  # the error summary links to the field


def test_a_missing_title_is_refused_with_a_clear_message(client, campaigner):
    response = client.post(
        f"/workspace/{campaigner.organisation.slug}/campaigns/new/", _form(title="")
    )

    assert response.status_code == 400
    assert "Nothing was saved" in _page(response)
    assert elements(_page(response), "input", name="title", **{"aria-invalid": "true"})
    assert Campaign.objects.count() == 0


def test_a_form_refused_for_another_field_also_says_the_address_is_taken(client, campaigner):
    campaign_create(organisation=campaigner.organisation, slug="free-them", title="First one")

    html = _page(
        client.post(
            f"/workspace/{campaigner.organisation.slug}/campaigns/new/",
            _form(title="", slug="Free-Them", retention_days="-1"),
        )
    )

    assert elements(html, "input", name="title", **{"aria-invalid": "true"})
    assert "is already used by another campaign" in html
    assert Campaign.objects.count() == 1


def test_editing_saves_the_texts(client, campaigner):
    campaign = campaign_create(organisation=campaigner.organisation, status="draft")

    response = client.post(
        _urls(campaign)["edit"], _form(title="New title", slug="new-address", body="## Why")
    )

    campaign.refresh_from_db()
    assert response.status_code == 302
    assert (campaign.title, campaign.slug) == ("New title", "new-address")
    assert campaign.body_html == "<h2>Why</h2>"
    assert AuditEntry.objects.get().action == AuditEntry.Action.CAMPAIGN_UPDATE


def test_a_published_campaigns_address_is_shown_but_cannot_change(client, campaigner):
    campaign = campaign_create(organisation=campaigner.organisation, slug="free-them")

    html = _page(client.get(_urls(campaign)["edit"]))
    client.post(_urls(campaign)["edit"], _form(slug="another-address", title="New title"))

    (slug_input,) = elements(html, "input", name="slug", value="free-them")
    assert "disabled" in slug_input
    campaign.refresh_from_db()
    assert (campaign.slug, campaign.title) == ("free-them", "New title")


# --- Publishing and the public page -------------------------------------------------------


def test_publishing_puts_the_page_at_its_public_address_at_once(client, campaigner):
    campaign = campaign_create(organisation=campaigner.organisation, status="draft")
    petition_create(campaign=campaign, title="Release them")
    public = f"/c/{campaign.slug}/"
    assert client.get(public).status_code == 404

    response = client.post(_urls(campaign)["publish"])

    assert response.status_code == 302
    assert client.get(public).status_code == 200
    assert "Release them" in _page(client.get(public))
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PUBLISHED
    assert AuditEntry.objects.get().action == AuditEntry.Action.CAMPAIGN_PUBLISH
    assert f"http://testserver{public}" in _page(client.get(response["Location"]))


def test_unsafe_markdown_never_reaches_the_public_page(client, campaigner):
    client.post(
        f"/workspace/{campaigner.organisation.slug}/campaigns/new/",
        _form(slug="hostile", body=HOSTILE_STORY),
    )
    campaign = Campaign.objects.get()
    client.post(_urls(campaign)["publish"])

    html = _page(client.get("/c/hostile/"))

    story = _section(html, 'class="story"')
    assert "Free them." in story
    for unsafe in UNSAFE:
        assert unsafe not in story, unsafe


def test_publishing_twice_says_why_and_changes_nothing(client, campaigner):
    campaign = campaign_create(organisation=campaigner.organisation)

    response = client.post(_urls(campaign)["publish"], follow=True)

    assert "Only a draft can be published" in _page(response)
    assert AuditEntry.objects.count() == 0


def test_publishing_asks_first_and_says_the_address_cannot_change(client, campaigner):
    campaign = campaign_create(
        organisation=campaigner.organisation, slug="free-them", status="draft"
    )

    response = client.get(_urls(campaign)["publish"])

    html = _page(response)
    assert response.status_code == 200
    assert "http://testserver/c/free-them/" in html
    assert "The address cannot change afterwards" in html
    assert "No petition is open yet" in html
    assert elements(html, "a", href=_urls(campaign)["detail"])
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT
    assert AuditEntry.objects.count() == 0


def test_the_publish_page_of_a_public_campaign_leads_back_to_its_overview(client, campaigner):
    campaign = campaign_create(organisation=campaigner.organisation)

    response = client.get(_urls(campaign)["publish"])

    assert response.status_code == 302
    assert response["Location"] == _urls(campaign)["detail"]


# --- Closing, winning, duplicating --------------------------------------------------------


def test_closing_asks_first_then_stops_signing(client, campaigner):
    campaign = campaign_create(organisation=campaigner.organisation, title="Free them")
    petition = petition_create(campaign=campaign)

    confirmation = _page(client.get(_urls(campaign)["close"]))
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PUBLISHED
    assert "Close “Free them”?" in confirmation
    assert "Signing stops at once on its 1 open petition." in confirmation

    client.post(_urls(campaign)["close"])
    signed = post_and_run_tasks(
        client,
        f"/p/{petition.slug}/sign/",
        {"name": "Anna", "email": "anna@example.org", "display": "hidden"},
    )

    campaign.refresh_from_db()
    petition.refresh_from_db()
    assert campaign.status == Campaign.Status.CLOSED
    assert petition.status == Petition.Status.CLOSED
    assert signed.status_code == 409
    assert SignAttempt.objects.count() == 0
    assert petition.signatures.count() == 0
    public = _page(client.get(f"/c/{campaign.slug}/"))
    assert "This campaign is closed" in public


def test_winning_asks_first_then_stops_signing_and_says_so_publicly(client, campaigner):
    campaign = campaign_create(organisation=campaigner.organisation, title="Free them")
    petition = petition_create(campaign=campaign)

    assert "Mark “Free them” as won?" in _page(client.get(_urls(campaign)["win"]))
    client.post(_urls(campaign)["win"])

    campaign.refresh_from_db()
    petition.refresh_from_db()
    assert campaign.status == Campaign.Status.WON
    assert not petition.is_open
    assert "This campaign has won." in _page(client.get(f"/c/{campaign.slug}/"))


def test_closing_a_draft_is_refused_with_a_message(client, campaigner):
    campaign = campaign_create(organisation=campaigner.organisation, status="draft")

    response = client.post(_urls(campaign)["close"], follow=True)

    assert "Only a published campaign can be closed." in _page(response)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT


def test_the_overview_offers_the_steps_the_status_allows(client, campaigner):
    draft = campaign_create(organisation=campaigner.organisation, status="draft")
    published = campaign_create(organisation=campaigner.organisation)
    won = campaign_create(organisation=campaigner.organisation, status="won")

    draft_page = _page(client.get(_urls(draft)["detail"]))
    published_page = _page(client.get(_urls(published)["detail"]))
    won_page = _page(client.get(_urls(won)["detail"]))

    assert elements(draft_page, "a", href=_urls(draft)["publish"])
    assert not elements(draft_page, "a", href=_urls(draft)["close"])
    assert not elements(published_page, "a", href=_urls(published)["publish"])
    assert elements(published_page, "a", href=_urls(published)["close"])
    assert elements(published_page, "a", href=_urls(published)["win"])
    assert not elements(won_page, "a", href=_urls(won)["win"])
    for campaign, page in ((draft, draft_page), (published, published_page), (won, won_page)):
        assert elements(page, "form", action=_urls(campaign)["duplicate"])
        assert elements(page, "a", href=_urls(campaign)["edit"])


def test_duplicating_opens_the_new_draft_in_the_editor(client, campaigner):
    campaign = campaign_create(
        organisation=campaigner.organisation, slug="free-them", status="closed"
    )
    petition_create(campaign=campaign, title="Release them")

    response = client.post(_urls(campaign)["duplicate"])

    copy = Campaign.objects.exclude(pk=campaign.pk).get()
    assert response["Location"] == _urls(copy)["edit"]
    assert (copy.slug, copy.status) == ("free-them-2", Campaign.Status.DRAFT)
    assert copy.petitions.get().status == Petition.Status.DRAFT
    editor = _page(client.get(response["Location"]))
    assert "“free-them-2”" in editor
    assert elements(editor, "input", name="slug", value="free-them-2")


# --- A newcomer's way through -------------------------------------------------------------


def test_a_newcomer_follows_the_pages_from_an_empty_list_to_a_public_campaign(client, campaigner):
    listing = _page(client.get(f"/workspace/{campaigner.organisation.slug}/"))
    (start,) = [a["href"] for a in elements(listing, "a") if a["href"].endswith("/campaigns/new/")][
        :1
    ]

    saved = client.post(start, _form(title="Свободу политзаключённым"), follow=True)
    overview = _page(saved)
    (publish,) = [a["href"] for a in elements(overview, "a") if "publish" in (a["href"] or "")]
    confirmation = _page(client.get(publish))
    assert "Publish now" in confirmation
    published = _page(client.post(publish, follow=True))

    assert "Published. The campaign&#x27;s page is public now" in published
    (public,) = [a["href"] for a in elements(published, "a") if "/c/" in a["href"]]
    assert public == "http://testserver/c/svobodu-politzaklyuchyonnym/"
    assert "Свободу политзаключённым" in _page(client.get(public))


# --- Roles and other organisations --------------------------------------------------------


def test_a_viewer_reads_the_overview_without_buttons(client):
    viewer = member_create(role="viewer")
    campaign = campaign_create(organisation=viewer.organisation, title="Free them")
    workspace_login(client, viewer.user, verified=False)

    html = _page(client.get(_urls(campaign)["detail"]))

    assert "Free them" in html
    for name in ("edit", "publish", "close", "win", "duplicate"):
        assert _urls(campaign)[name] not in html


def test_a_viewer_posting_publish_gets_the_refusal_and_nothing_changes(client):
    viewer = member_create(role="viewer")
    campaign = campaign_create(organisation=viewer.organisation, status="draft")
    workspace_login(client, viewer.user, verified=False)

    response = client.post(_urls(campaign)["publish"])
    edit = client.post(_urls(campaign)["edit"], _form(title="Changed"))

    assert response.status_code == 403
    assert "Your role does not allow this" in _page(response)
    assert edit.status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT
    assert campaign.title != "Changed"
    assert AuditEntry.objects.count() == 0
    assert client.get(f"/c/{campaign.slug}/").status_code == 404


@pytest.mark.parametrize("action", ["detail", "edit", "publish", "close", "win", "duplicate"])
def test_a_campaigner_of_another_organisation_guessing_the_id_gets_404(client, action):
    victim = campaign_create(status="draft", title="Not yours")
    intruder = member_create(role="campaigner")
    workspace_login(client, intruder.user)
    # Under their own organisation's address, and under the victim's.
    own = _urls(victim)[action].replace(
        f"/workspace/{victim.organisation.slug}/", f"/workspace/{intruder.organisation.slug}/"
    )

    for url in (own, _urls(victim)[action]):
        response = client.post(url, _form(title="Hijacked"))
        assert response.status_code == 404, url
        assert "Not yours" not in _page(response)

    victim.refresh_from_db()
    assert (victim.title, victim.status) == ("Not yours", Campaign.Status.DRAFT)
    assert Campaign.objects.count() == 1
    assert AuditEntry.objects.count() == 0


# --- In Russian ---------------------------------------------------------------------------


def test_the_editor_speaks_russian(client, campaigner):
    client.cookies["django_language"] = "ru"

    html = _page(client.get(f"/workspace/{campaigner.organisation.slug}/campaigns/new/"))
    preview = _page(
        client.post(
            f"/workspace/{campaigner.organisation.slug}/campaigns/new/",
            _form(preview="1"),
        )
    )

    assert "Новая кампания" in html
    assert "Сохранить черновик" in html
    assert "Предпросмотр" in html
    assert "Название" in html
    assert "Ничего не сохранено, пока вы не нажмёте «Сохранить»." in preview


def test_a_slug_clash_is_explained_in_russian(client, campaigner):
    campaign_create(organisation=campaigner.organisation, slug="free-them", title="Первая")

    html = _page(
        client.post(
            f"/workspace/{campaigner.organisation.slug}/campaigns/new/",
            _form(slug="free-them"),
            HTTP_ACCEPT_LANGUAGE="ru",
        )
    )

    assert "Адрес «free-them» уже занят другой кампанией." in html
    assert "«free-them-2»" in html


def test_the_campaign_list_and_overview_speak_russian(client, campaigner):
    campaign = campaign_create(organisation=campaigner.organisation, status="draft")
    client.cookies["django_language"] = "ru"

    listing = _page(client.get(f"/workspace/{campaigner.organisation.slug}/"))
    overview = _page(client.get(_urls(campaign)["detail"]))

    assert "Кампании" in listing
    assert "Черновик" in listing
    assert "Опубликовать" in overview
    assert "Создать копию-черновик" in overview


# --- The retention period: owners only ----------------------------------------------------


def test_an_owner_sets_the_retention_period_in_the_editor(client):
    owner = member_create(role="owner")
    workspace_login(client, owner.user, verified=True)
    campaign = campaign_create(organisation=owner.organisation, title="Free them")
    url = f"/workspace/{owner.organisation.slug}/campaigns/{campaign.public_id}/edit/"

    html = _page(client.get(url))
    assert elements(html, "label", **{"for": "id_retention_days"})
    assert elements(html, "input", name="retention_days", value=str(campaign.retention_days))

    response = client.post(url, _form(title="Free them", retention_days="30"))
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.retention_days == 30


def test_a_campaigner_posting_a_retention_period_changes_nothing(client, campaigner):
    campaign = campaign_create(organisation=campaigner.organisation, title="Free them")
    kept = campaign.retention_days
    url = f"/workspace/{campaigner.organisation.slug}/campaigns/{campaign.public_id}/edit/"

    for days in ("0", "3650"):
        response = client.post(url, _form(title="Free them", retention_days=days))
        assert response.status_code == 302  # the texts are saved, the period is not

    campaign.refresh_from_db()
    assert campaign.retention_days == kept
    new = client.post(
        f"/workspace/{campaigner.organisation.slug}/campaigns/new/",
        _form(title="Another", retention_days="0"),
    )
    assert new.status_code == 302
    assert Campaign.objects.get(title="Another").retention_days == kept


# --- Bounds on the story ------------------------------------------------------------------


def test_a_story_over_the_limit_gets_a_field_error_and_stores_nothing(client, campaigner):
    response = client.post(
        f"/workspace/{campaigner.organisation.slug}/campaigns/new/",
        _form(body="a" * (MARKDOWN_MAX_LENGTH + 1)),
    )

    html = _page(response)
    assert response.status_code == 400
    assert "Ensure this value has at most 20000 characters (it has 20001)." in html
    assert elements(html, "textarea", name="body", **{"aria-invalid": "true"})
    assert Campaign.objects.count() == 0


def test_a_story_too_costly_to_format_gets_a_field_error_fast_and_stores_nothing(
    client, campaigner
):
    start = time.perf_counter()

    response = client.post(
        f"/workspace/{campaigner.organisation.slug}/campaigns/new/", _form(body="[" * 10_000)
    )

    assert time.perf_counter() - start < 2
    html = _page(response)
    assert response.status_code == 400
    assert "Too many square brackets" in html
    assert elements(html, "textarea", name="body", **{"aria-invalid": "true"})
    assert Campaign.objects.count() == 0


def test_the_preview_of_a_story_too_costly_to_format_says_why_instead(
    client, campaigner, monkeypatch
):
    monkeypatch.setattr(markdown, "markdown", _must_not_parse)

    response = client.post(
        f"/workspace/{campaigner.organisation.slug}/campaigns/new/",
        _form(body="<a " * 5_000, preview="1"),
    )

    assert response.status_code == 200
    assert "without a closing “&gt;”" in _section(_page(response), 'id="preview"')
    assert Campaign.objects.count() == 0


def _must_not_parse(*args, **kwargs):
    raise AssertionError("the story was parsed")


# --- The hero image in the editor's preview and on the overview ---------------------------


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def test_preview_keeps_the_typed_description_and_says_the_chosen_image_must_be_chosen_again(
    client, campaigner, media_root
):
    response = client.post(
        f"/workspace/{campaigner.organisation.slug}/campaigns/new/",
        {
            **_form(preview="1"),
            "hero-hero_alt": "Protesters outside the court",
            "hero-image": upload(photo_jpeg(), "court.jpg"),
        },
    )

    html = _page(response)
    assert response.status_code == 200
    assert Campaign.objects.count() == 0
    assert elements(html, "input", name="hero-hero_alt", value="Protesters outside the court")
    notice = _section(html, 'id="id_hero-image_dropped"', "</p>")
    assert "court.jpg" in notice
    assert "choose it again before saving" in notice
    [field] = elements(html, "input", name="hero-image")
    assert "id_hero-image_dropped" in (field["aria-describedby"] or "")


def test_preview_without_a_chosen_image_says_nothing_about_one(client, campaigner):
    response = client.post(
        f"/workspace/{campaigner.organisation.slug}/campaigns/new/", _form(preview="1")
    )

    assert "id_hero-image_dropped" not in _page(response)


def test_the_overview_shows_the_campaigns_image_at_its_smallest_size(
    client, campaigner, media_root
):
    campaign = campaign_create(organisation=campaigner.organisation, title="Free them all")
    with tasks_run_on_commit():
        hero_image_set(
            actor=campaigner.user,
            campaign=campaign,
            upload=upload(photo_jpeg(size=(2000, 1200)), "court.jpg"),
            alt="Protesters outside the court",
        )
    campaign.refresh_from_db()

    html = _page(client.get(_urls(campaign)["detail"]))

    [image] = elements(html, "img", alt="Protesters outside the court")
    smallest = campaign.hero_image["renditions"][0]
    assert (image["src"] or "").endswith(smallest["jpeg"])
