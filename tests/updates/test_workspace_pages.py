"""The workspace's update pages: write, preview, test, send once, watch the progress."""

from __future__ import annotations

import time
from datetime import timedelta

import markdown
import pytest
from django.utils import timezone, translation

from campaigns.models import Campaign
from mailer.models import Delivery, Mailing
from petitions.models import Supporter
from tests.factories import (
    campaign_create,
    member_create,
    petition_create,
    post_and_run_tasks,
    workspace_login,
)
from tests.updates.conftest import signer
from updates import services
from updates.models import BODY_MAX_LENGTH, Update
from workspace.views.updates import audience_sentence

pytestmark = pytest.mark.django_db


# The send form's box: "I have checked the preview; send to N supporters now".
CONFIRMED = {"confirm": "yes"}


def base(campaign) -> str:
    return f"/workspace/{campaign.organisation.slug}/campaigns/{campaign.public_id}/updates/"


def page_of(update) -> str:
    return f"{base(update.campaign)}{update.public_id}/"


def draft(campaign, organiser, **fields) -> Update:
    fields.setdefault("subject", "News from the court")
    fields.setdefault("body", "The hearing is **tomorrow**.")
    return services.update_create(actor=organiser, campaign=campaign, **fields)


def test_an_organiser_writes_an_update_and_sees_how_many_it_will_reach(
    client, campaign, petition, organiser
):
    signer(petition)
    signer(petition)
    workspace_login(client, organiser)

    response = client.post(f"{base(campaign)}new/", {"subject": "Hello", "body": "First **news**"})

    update = Update.objects.get()
    assert response.status_code == 302
    assert response["Location"] == page_of(update)
    page = client.get(page_of(update)).content.decode()
    assert "Sent now, this update would reach 2 supporters." in page
    assert "Send now to 2 supporters" in page
    assert "<strong>news</strong>" in page


def test_bad_input_keeps_what_was_typed_and_says_what_is_wrong(client, campaign, organiser):
    workspace_login(client, organiser)

    response = client.post(f"{base(campaign)}new/", {"subject": "", "body": "<script>x</script>"})

    page = response.content.decode()
    assert response.status_code == 422
    assert "Write a subject." in page
    assert "Emails cannot carry this HTML: &lt;script&gt;" in page
    assert "&lt;script&gt;x&lt;/script&gt;</textarea>" in page
    assert 'aria-invalid="true"' in page
    assert not Update.objects.exists()


@pytest.fixture
def parses(monkeypatch) -> list[int]:
    """How many times Markdown is parsed (each call appends 1)."""
    calls: list[int] = []
    original = markdown.markdown

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(markdown, "markdown", counted)
    return calls


@pytest.mark.parametrize(
    "data",
    [
        {"subject": "Hello", "body": "First **news**"},
        {"subject": "", "body": "<script>x</script>"},
        {"subject": "Hello", "body": "<iframe></iframe>"},
    ],
)
def test_writing_an_update_parses_its_message_once_per_request(
    client, campaign, organiser, parses, data
):
    workspace_login(client, organiser)

    client.post(f"{base(campaign)}new/", data)

    assert len(parses) == 1


def test_editing_an_update_parses_its_message_once_per_request(client, campaign, organiser, parses):
    update = draft(campaign, organiser)
    workspace_login(client, organiser)
    parses.clear()

    response = client.post(f"{page_of(update)}edit/", {"subject": "New", "body": "New *text*"})

    assert response.status_code == 302
    assert len(parses) == 1
    update.refresh_from_db()
    assert update.body_html == "<p>New <em>text</em></p>"


def test_a_message_over_the_limit_gets_a_field_error_and_stores_nothing(
    client, campaign, organiser, parses
):
    workspace_login(client, organiser)

    response = client.post(
        f"{base(campaign)}new/", {"subject": "Hello", "body": "a" * (BODY_MAX_LENGTH + 1)}
    )

    page = response.content.decode()
    assert response.status_code == 422
    assert BODY_MAX_LENGTH == 20_000
    assert "Ensure this value has at most 20000 characters (it has 20001)." in page
    assert 'aria-invalid="true"' in page
    assert not Update.objects.exists()
    assert parses == [1]  # the subject's "-" stand-in, never the long message


def test_a_message_too_costly_to_format_gets_a_field_error_fast_and_stores_nothing(
    client, campaign, organiser, parses
):
    workspace_login(client, organiser)
    start = time.perf_counter()

    response = client.post(f"{base(campaign)}new/", {"subject": "Hello", "body": "[" * 10_000})

    assert time.perf_counter() - start < 2
    page = response.content.decode()
    assert response.status_code == 422
    assert "Too many square brackets" in page
    assert not Update.objects.exists()
    assert len(parses) <= 1


def test_send_twice_sends_once_and_the_second_click_is_told_so(
    client, campaign, petition, organiser
):
    signer(petition)
    update = draft(campaign, organiser)
    workspace_login(client, organiser)

    first = post_and_run_tasks(client, f"{page_of(update)}send/", CONFIRMED, follow=True)
    second = post_and_run_tasks(client, f"{page_of(update)}send/", CONFIRMED, follow=True)

    assert "Sending to 1 supporter." in first.content.decode()
    assert "nothing was sent twice" in second.content.decode()
    assert Mailing.objects.count() == 1
    assert Delivery.objects.count() == 1


def test_an_audience_of_zero_gets_a_message_and_no_send_button(
    client, campaign, petition, organiser
):
    update = draft(campaign, organiser)
    workspace_login(client, organiser)

    page = client.get(page_of(update)).content.decode()
    response = client.post(f"{page_of(update)}send/", CONFIRMED, follow=True)

    assert "would reach 0 supporters" in page
    assert "Send now" not in page
    assert "Nobody would receive this update" in response.content.decode()
    assert not Mailing.objects.exists()


def test_the_progress_page_and_its_json_show_the_tally(client, campaign, petition, organiser):
    signer(petition)
    signer(petition)
    update = draft(campaign, organiser)
    workspace_login(client, organiser)
    client.post(f"{page_of(update)}send/", CONFIRMED)
    services.update_plan(update_id=update.pk)  # planned and started; no batch sent yet
    Delivery.objects.filter(pk=Delivery.objects.first().pk).update(status=Delivery.Status.SENT)

    page = client.get(page_of(update)).content.decode()
    data = client.get(f"{page_of(update)}progress.json").json()

    assert 'data-progress-url="' in page
    assert "js/update_progress.js" in page
    assert ">Refresh</a>" in page
    assert data["total"] == 2
    assert data["sent"] == 1
    assert data["queued"] == 1
    assert data["finished"] is False
    assert data["label"] == "Sending…"


def test_the_final_tally_stays_once_everything_is_handed_over(
    client, campaign, petition, organiser
):
    signer(petition)
    update = draft(campaign, organiser)
    workspace_login(client, organiser)
    post_and_run_tasks(client, f"{page_of(update)}send/", CONFIRMED)
    Delivery.objects.update(status=Delivery.Status.BOUNCED)
    Mailing.objects.update(status=Mailing.Status.DONE)

    services.updates_finish()
    page = client.get(page_of(update)).content.decode()

    assert Update.objects.get().status == Update.Status.SENT
    assert "data-progress-url" not in page
    assert '<dd data-progress="bounced">1</dd>' in page
    assert '<dd data-progress="sent">1</dd>' in page


def test_the_preview_shows_text_html_and_headers_in_each_language_of_the_audience(
    client, campaign, petition, organiser
):
    signer(petition, language="ru")
    signer(petition, language="en")
    update = draft(campaign, organiser)
    workspace_login(client, organiser)

    preview = client.get(f"{page_of(update)}preview/?lang=ru")
    page = preview.content.decode()
    frame = client.get(f"{page_of(update)}preview/ru/email.html")

    assert "One-click unsubscribe" in page
    assert "List-Unsubscribe=One-Click" in page
    # The rest is for mail programs: shown folded away, under a label saying so.
    technical = page[page.index('<details class="ws-technical">') : page.index("</details>")]
    assert "Technical headers" in technical
    for name in ("Auto-Submitted", "X-Auto-Response-Suppress", "Precedence", "List-Id"):
        assert f"<dt>{name}</dt>" in technical, name
    assert "<dt>List-Unsubscribe" not in page
    assert '<iframe class="ws-email-frame" sandbox src=' in page
    assert "?lang=en" in page
    assert "потому что подписали" in page
    assert "frame-src 'self'" in preview["Content-Security-Policy"]
    assert frame.status_code == 200
    assert "<strong>tomorrow</strong>" in frame.content.decode()
    assert "sandbox" in frame["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in frame["Content-Security-Policy"]
    assert frame["X-Frame-Options"] == "SAMEORIGIN"


def test_the_preview_falls_back_to_the_campaigns_language_when_the_audience_speaks_none_offered(
    client, campaign, petition, organiser
):
    # People signed in a language the site has since dropped.
    Supporter.objects.filter(pk=signer(petition).pk).update(language="xx")
    Campaign.objects.filter(pk=campaign.pk).update(language="ru")
    update = draft(campaign, organiser)
    workspace_login(client, organiser, verified=False)

    response = client.get(f"{page_of(update)}preview/")

    assert response.status_code == 200
    assert "потому что подписали" in response.content.decode()


def test_the_preview_falls_back_to_the_sites_language_when_the_campaigns_is_gone_too(
    client, campaign, petition, organiser, settings
):
    Supporter.objects.filter(pk=signer(petition).pk).update(language="xx")
    Campaign.objects.filter(pk=campaign.pk).update(language="xx")
    update = draft(campaign, organiser)
    workspace_login(client, organiser, verified=False)

    response = client.get(f"{page_of(update)}preview/")
    detail = client.get(page_of(update))

    assert response.status_code == 200
    assert f'src="{page_of(update)}preview/{settings.LANGUAGE_CODE}/email.html"' in (
        response.content.decode()
    )
    assert detail.status_code == 200


def test_a_test_email_goes_to_the_organiser(client, campaign, organiser, mailoutbox):
    update = draft(campaign, organiser)
    workspace_login(client, organiser)

    response = post_and_run_tasks(
        client, f"{page_of(update)}test/", {"language": "ru"}, follow=True
    )

    assert f"A test is on its way to {organiser.email}" in response.content.decode()
    [email] = mailoutbox
    assert email.to == [organiser.email]
    assert email.subject.startswith("[Тест] ")


def test_scheduling_and_cancelling_from_the_page(client, campaign, petition, organiser):
    signer(petition)
    update = draft(campaign, organiser)
    workspace_login(client, organiser)

    past = client.post(f"{page_of(update)}schedule/", {"send_at": "2001-01-01T09:00"}, follow=True)
    assert "at least a minute from now" in past.content.decode()
    garbled = client.post(f"{page_of(update)}schedule/", {"send_at": "soon"}, follow=True)
    assert "Enter a date and time" in garbled.content.decode()
    tomorrow = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    client.post(f"{page_of(update)}schedule/", {"send_at": tomorrow})
    assert Update.objects.get().status == Update.Status.SCHEDULED
    client.post(f"{page_of(update)}cancel/")
    assert Update.objects.get().status == Update.Status.DRAFT


def test_a_viewer_reads_but_cannot_send(client, campaign, petition, organiser):
    signer(petition)
    update = draft(campaign, organiser)
    viewer = member_create(organisation=campaign.organisation, role="viewer").user
    workspace_login(client, viewer, verified=False)

    page = client.get(page_of(update))
    send = client.post(f"{page_of(update)}send/", CONFIRMED)

    assert page.status_code == 200
    assert "Send now" not in page.content.decode()
    assert send.status_code == 403
    assert not Mailing.objects.exists()


def test_another_organisations_update_does_not_exist_for_you(client, campaign, organiser):
    update = draft(campaign, organiser)
    stranger = member_create(organisation=campaign_create().organisation, role="campaigner").user
    workspace_login(client, stranger, verified=False)

    assert client.get(page_of(update)).status_code == 404
    other = member_create(organisation=campaign.organisation, role="campaigner")
    mine = campaign_create(organisation=other.organisation)
    workspace_login(client, other.user, verified=False)
    wrong_campaign = f"{base(mine)}{update.public_id}/"
    assert client.get(wrong_campaign).status_code == 404


def test_a_closed_petition_proposes_a_prefilled_update_once(client, campaign, organiser):
    campaign.language = "ru"
    campaign.save()
    petition = petition_create(campaign=campaign, title="Освободить пятерых", status="closed")
    workspace_login(client, organiser)

    listing = client.get(base(campaign)).content.decode()
    form = {"petition": str(petition.public_id), "origin": "closed"}
    first = client.post(f"{base(campaign)}propose/", form)
    second = client.post(f"{base(campaign)}propose/", form)

    update = Update.objects.get()
    assert "Tell supporters" in listing
    assert first["Location"] == second["Location"] == f"{page_of(update)}edit/"
    assert update.origin == Update.Origin.CLOSED
    assert update.subject == "Петиция закрыта: Освободить пятерых"
    assert "Tell supporters" not in client.get(base(campaign)).content.decode()


def test_a_proposal_for_an_outcome_the_petition_does_not_have_is_refused(
    client, campaign, petition, organiser
):
    workspace_login(client, organiser)

    response = client.post(
        f"{base(campaign)}propose/",
        {"petition": str(petition.public_id), "origin": "won"},
        follow=True,
    )

    assert "no such outcome" in response.content.decode()
    assert not Update.objects.exists()


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (1, "1 стороннику"),
        (2, "2 сторонникам"),
        (5, "5 сторонникам"),
        (11, "11 сторонникам"),
        (21, "21 стороннику"),
        (111, "111 сторонникам"),
    ],
)
def test_the_audience_size_is_said_in_russian_with_the_right_plural(count, expected):
    with translation.override("ru"):
        assert expected in audience_sentence(count)


def test_a_won_petitions_page_and_the_campaign_page_lead_to_telling_supporters(
    client, campaign, organiser
):
    won = petition_create(campaign=campaign, status="won")
    workspace_login(client, organiser)
    org = campaign.organisation.slug

    petition_page = client.get(f"/workspace/{org}/petitions/{won.public_id}/").content.decode()
    campaign_page = client.get(f"/workspace/{org}/campaigns/{campaign.public_id}/").content.decode()

    assert f'href="{base(campaign)}">Tell supporters</a>' in petition_page
    assert f'href="{base(campaign)}">Updates to supporters</a>' in campaign_page


def test_a_password_only_campaigner_reads_updates_but_is_sent_to_the_second_factor_to_send(
    client, campaign, petition, organiser
):
    update = draft(campaign, organiser)
    signer(petition)
    campaigner = member_create(organisation=campaign.organisation, role="campaigner").user
    workspace_login(client, campaigner, verified=False)

    assert client.get(page_of(update)).status_code == 200  # reading stays open
    response = client.post(f"{page_of(update)}send/", CONFIRMED)

    assert response.status_code == 302
    assert response["Location"].startswith("/workspace/account/two-factor/")
    update.refresh_from_db()
    assert update.status == Update.Status.DRAFT


def test_sending_without_the_confirmation_box_sends_nothing_and_says_why(
    client, campaign, petition, organiser
):
    signer(petition)
    update = draft(campaign, organiser)
    workspace_login(client, organiser)

    page = client.get(page_of(update)).content.decode()
    response = post_and_run_tasks(client, f"{page_of(update)}send/", follow=True)

    assert 'name="confirm" value="yes" required' in page
    assert "I have checked the preview; send to 1 supporter now" in page
    assert "Nothing was sent: tick the box" in response.content.decode()
    update.refresh_from_db()
    assert update.status == Update.Status.DRAFT
    assert not Mailing.objects.exists()


def test_once_everything_is_handed_over_the_page_says_sent_and_offers_no_stop(
    client, campaign, petition, organiser
):
    signer(petition)
    update = draft(campaign, organiser)
    workspace_login(client, organiser)
    post_and_run_tasks(client, f"{page_of(update)}send/", CONFIRMED)
    services.update_plan(update_id=update.pk)
    Delivery.objects.update(status=Delivery.Status.SENT)

    page = client.get(page_of(update)).content.decode()

    assert Update.objects.get().status == Update.Status.SENDING  # the periodic task is due
    assert "Stop sending" not in page
    assert '<p class="ws-meta">Sent' in page
    assert "Every email has been handed over." in page


def test_while_sending_the_page_offers_stop_and_tells_the_script_what_to_say_when_done(
    client, campaign, petition, organiser
):
    signer(petition)
    signer(petition)
    update = draft(campaign, organiser)
    workspace_login(client, organiser)
    client.post(f"{page_of(update)}send/", CONFIRMED)

    page = client.get(page_of(update)).content.decode()

    assert "Stop sending" in page
    assert "data-progress-stop" in page
    assert 'data-progress-done="Sent">Sending</span>' in page
