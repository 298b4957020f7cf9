"""The public campaign pages: the demo campaign, the story, the home page and sharing."""

from __future__ import annotations

import html as htmllib
import re
from io import StringIO
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from django.core import mail
from django.core.management import call_command

from campaigns.models import Campaign, Organisation
from petitions.demo.loader import ABOUT_US, CAMPAIGN_SLUG, PETITION_SLUG
from petitions.models import Petition, Signature
from tests.factories import (
    campaign_create,
    organisation_create,
    petition_create,
    post_and_run_tasks,
)
from tests.html import all_elements, elements

pytestmark = pytest.mark.django_db


# --- Helpers ------------------------------------------------------------------------------


def page(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def load_demo() -> str:
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def is_same_origin(url: str) -> bool:
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc and not url.startswith("//")


# --- The demo campaign --------------------------------------------------------------------


def test_loading_the_demo_twice_makes_one_of_everything():
    first = load_demo()
    second = load_demo()

    assert "Demo campaign ready: /c/russia-behind-bars/" in first
    assert "Demo campaign ready: /c/russia-behind-bars/" in second
    assert Organisation.objects.count() == 1
    assert Campaign.objects.count() == 1
    assert Petition.objects.count() == 1
    petition = Petition.objects.select_related("campaign__organisation").get()
    assert petition.slug == PETITION_SLUG
    assert petition.status == Petition.Status.OPEN
    assert petition.campaign.slug == CAMPAIGN_SLUG
    assert petition.campaign.status == Campaign.Status.PUBLISHED
    assert petition.campaign.organisation.name == "Russia Behind Bars"


def test_loading_the_demo_again_keeps_its_signatures_and_count(client):
    load_demo()
    post_and_run_tasks(
        client,
        f"/p/{PETITION_SLUG}/sign/",
        {"name": "Anna Karenina", "email": "anna@example.org", "display": "hidden"},
    )
    Petition.objects.update(signature_count=7)
    load_demo()
    assert Signature.objects.count() == 1
    assert Petition.objects.get().signature_count == 7


def _paragraphs(text: str) -> list[str]:
    return [block.strip() for block in re.split(r"\n\s*\n", text) if block.strip()]


def test_the_demo_page_shows_the_organisation_mission_in_full(client):
    load_demo()
    html = page(client.get(f"/c/{CAMPAIGN_SLUG}/"))
    shown = htmllib.unescape(html)
    # Every paragraph but the last, an "Our Contacts" heading with no contacts under it.
    *paragraphs, empty_heading = _paragraphs(ABOUT_US.read_text(encoding="utf-8"))

    assert empty_heading == "Our Contacts"
    assert len(paragraphs) >= 5
    for paragraph in paragraphs:
        assert paragraph in shown, f"missing from the page: {paragraph[:60]}…"
    # Typographic apostrophes come through as typed, not mangled.
    assert "doesn’t want to stand aloof" in shown  # noqa: RUF001 - the source's apostrophe
    assert "compatriots’ lives" in shown  # noqa: RUF001 - the source's apostrophe
    assert "<h3>About us</h3>" in html
    # The seed's last heading has nothing under it (no contacts were given): not shown empty.
    assert "Our Contacts" not in html


def test_the_demo_page_shows_the_petition_and_its_form(client):
    load_demo()
    html = page(client.get(f"/c/{CAMPAIGN_SLUG}/"))
    assert "Restore the right to defence and the presumption of innocence" in html
    assert "Russia Behind Bars" in html
    assert elements(html, "form", action=f"/p/{PETITION_SLUG}/sign/#petition-{PETITION_SLUG}")


# --- The campaign story -------------------------------------------------------------------

HOSTILE_STORY = """\
A **bold** claim and a [safe link](https://example.org/report).

<script>alert("story")</script>

<img src="x.png" onerror="alert('img')">

<p onclick="alert('click')">Click me</p>

[a trap](javascript:alert('link'))

<a href="javascript:alert('raw')">raw trap</a>

<iframe src="https://evil.example/"></iframe>

<style>body { display: none }</style>
"""


def test_a_campaign_story_is_rendered_from_markdown_without_anything_that_runs(client):
    campaign = campaign_create(body=HOSTILE_STORY)
    html = page(client.get(f"/c/{campaign.slug}/"))
    story = html[html.index('<section class="story"') :]

    assert "<strong>bold</strong>" in story
    assert "Click me" in story
    assert "a trap" in story
    assert elements(story, "a", href="https://example.org/report")
    for dangerous in ("<script", "alert(", "onerror", "onclick", "javascript:", "<iframe",
                      "<style", "display: none", "<img"):  # fmt: skip
        assert dangerous not in story.lower(), dangerous


def test_links_in_a_story_do_not_leak_the_page_or_pass_on_reputation(client):
    campaign = campaign_create(body="Read [the report](https://example.org/report).")
    html = page(client.get(f"/c/{campaign.slug}/"))
    (link,) = elements(html, "a", href="https://example.org/report")
    assert set((link["rel"] or "").split()) >= {"noopener", "noreferrer", "nofollow"}


def test_the_campaign_page_escapes_titles_and_summaries(client):
    campaign = campaign_create(
        title="<script>alert('title')</script>", summary='"><img src=x onerror=alert(1)>'
    )
    petition_create(campaign=campaign, title="<b>Petition</b>", target_name="<i>Target</i>")
    html = page(client.get(f"/c/{campaign.slug}/"))
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "<b>Petition</b>" not in html
    assert "<i>Target</i>" not in html
    assert "&lt;b&gt;Petition&lt;/b&gt;" in html


# --- The home page ------------------------------------------------------------------------


def test_the_home_page_lists_public_campaigns_and_not_drafts(client):
    organisation = organisation_create(name="Memorial Friends")
    published = campaign_create(organisation=organisation, title="Published campaign",
                                summary="Read all about it")  # fmt: skip
    closed = campaign_create(title="Closed campaign", status=Campaign.Status.CLOSED)
    won = campaign_create(title="Won campaign", status=Campaign.Status.WON)
    draft = campaign_create(title="Secret draft campaign", status=Campaign.Status.DRAFT)

    html = page(client.get("/"))

    for campaign in (published, closed, won):
        assert campaign.title in html
        assert elements(html, "a", href=f"/c/{campaign.slug}/")
    assert "Memorial Friends" in html
    assert "Read all about it" in html
    assert draft.title not in html
    assert not elements(html, "a", href=f"/c/{draft.slug}/")


def test_the_home_page_says_so_when_there_are_no_campaigns(client):
    campaign_create(status=Campaign.Status.DRAFT)
    assert "There are no campaigns yet." in page(client.get("/"))


def test_a_draft_campaign_page_is_not_found(client):
    draft = campaign_create(status=Campaign.Status.DRAFT)
    response = client.get(f"/c/{draft.slug}/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


# --- No third-party assets ----------------------------------------------------------------


@pytest.fixture
def demo_pages(client) -> dict[str, str]:
    load_demo()
    petition = Petition.objects.get()
    return {
        "home": page(client.get("/")),
        "campaign": page(client.get(f"/c/{CAMPAIGN_SLUG}/")),
        "thanks": page(client.get(f"/p/{petition.slug}/thanks/")),
        "confirmed": page(client.get(f"/p/{petition.slug}/confirmed/")),
        "code": page(client.get(f"/p/{petition.slug}/confirm/")),
        "not-found": client.get("/c/no-such-campaign/").content.decode(),
    }


def test_pages_load_no_assets_from_other_sites(demo_pages):
    for name, html in demo_pages.items():
        loaded = []
        for tag, attrs in all_elements(html):
            for attribute in ("src", "srcset", "data", "poster", "background"):
                if attrs.get(attribute):
                    loaded.append(attrs[attribute])
            if tag == "link" and attrs.get("href"):
                loaded.append(attrs["href"])
            if tag == "form" and attrs.get("action"):
                loaded.append(attrs["action"])
        assert loaded, f"{name}: expected at least the site's own script and stylesheet"
        for url in loaded:
            assert is_same_origin(url or ""), f"{name} loads {url} from another site"
        assert "@import" not in html
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", html), name


def test_the_only_links_to_other_sites_are_share_links_on_the_thank_you_pages(demo_pages):
    share_hosts = {"t.me", "vk.com", "wa.me", "x.com", "www.facebook.com"}
    for name, html in demo_pages.items():
        for attrs in elements(html, "a"):
            host = urlsplit(attrs.get("href") or "").netloc
            if host and name in {"thanks", "confirmed"}:
                assert host in share_hosts, f"{name} links to {host}"
            else:
                assert not host, f"{name} links to {attrs['href']}"


def test_the_site_stylesheet_and_script_load_nothing_from_other_sites(client, demo_pages):
    html = demo_pages["campaign"]
    assets = [attrs["href"] for attrs in elements(html, "link", rel="stylesheet")]
    assets += [attrs["src"] for attrs in elements(html, "script") if attrs.get("src")]
    assert len(assets) == 2
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200
        body = b"".join(response.streaming_content) if response.streaming else response.content
        text = body.decode()
        assert "@import" not in text
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", text)
        assert not re.search(r"(src|href)\s*=\s*['\"](https?:)?//", text)


# --- Language switcher --------------------------------------------------------------------


def test_every_page_has_a_language_switcher(client, demo_pages):
    for name, html in demo_pages.items():
        (form,) = elements(html, "form", action="/i18n/setlang/")
        assert form["method"] == "post", name
        choices = {attrs["value"]: attrs for attrs in elements(html, "button", name="language")}
        assert set(choices) == {"en", "ru"}, name
        assert choices["en"]["aria-pressed"] == "true"
        assert choices["ru"]["aria-pressed"] == "false"
        assert choices["ru"]["lang"] == "ru"
    assert "Русский" in demo_pages["campaign"]


def test_the_language_switcher_switches_the_language_and_returns_to_the_page(client):
    load_demo()
    html = page(client.get(f"/c/{CAMPAIGN_SLUG}/?ref=vk"))
    (next_field,) = elements(html, "input", name="next")
    assert next_field["value"] == f"/c/{CAMPAIGN_SLUG}/?ref=vk"

    response = client.post("/i18n/setlang/", {"language": "ru", "next": next_field["value"]})
    assert response.status_code == 302
    assert response["Location"] == f"/c/{CAMPAIGN_SLUG}/?ref=vk"

    html = page(client.get(f"/c/{CAMPAIGN_SLUG}/"))
    assert '<html lang="ru">' in html
    (russian,) = elements(html, "button", name="language", value="ru")
    assert russian["aria-pressed"] == "true"


def test_signing_in_russian_records_the_language(client):
    load_demo()
    client.post("/i18n/setlang/", {"language": "ru", "next": "/"})
    post_and_run_tasks(
        client,
        f"/p/{PETITION_SLUG}/sign/",
        {"name": "Анна Каренина", "email": "anna@example.org", "display": "hidden"},
    )
    signature = Signature.objects.select_related("supporter").get()
    assert signature.language == "ru"
    assert signature.supporter.language == "ru"


# --- Sharing ------------------------------------------------------------------------------

CHANNELS = ["copy", "telegram", "vk", "whatsapp", "x", "facebook", "email"]


def shared_urls(html: str) -> dict[str, str]:
    """The petition address each share control hands out, by channel."""
    urls = {"copy": elements(html, "input", id="share-url")[0]["value"] or ""}
    for attrs in elements(html, "a"):
        classes = (attrs.get("class") or "").split()
        channel = next(
            (c.removeprefix("share--") for c in classes if c.startswith("share--")), None
        )
        if channel is None:
            continue
        href = attrs["href"] or ""
        query = parse_qs(urlsplit(href).query)
        if channel == "whatsapp":
            urls[channel] = query["text"][0].split()[-1]
        elif channel == "email":
            urls[channel] = query["body"][0].splitlines()[-1]
        elif channel == "facebook":
            urls[channel] = query["u"][0]
        else:
            urls[channel] = query["url"][0]
    return urls


@pytest.mark.parametrize("page_name", ["thanks", "confirmed"])
def test_share_links_carry_their_channel_as_the_source(client, page_name):
    load_demo()
    html = page(client.get(f"/p/{PETITION_SLUG}/{page_name}/"))
    urls = shared_urls(html)

    assert set(urls) == set(CHANNELS)
    for channel, url in urls.items():
        parts = urlsplit(url)
        assert parts.netloc == "testserver", channel
        assert parts.path == f"/c/{CAMPAIGN_SLUG}/", channel
        query = parse_qs(parts.query)
        assert query["utm_source"] == [channel], channel
        assert query["utm_medium"] == ["share"], channel


@pytest.mark.parametrize("page_name", ["thanks", "confirmed"])
def test_share_links_open_each_service_in_a_new_tab_without_loading_its_script(client, page_name):
    load_demo()
    html = page(client.get(f"/p/{PETITION_SLUG}/{page_name}/"))
    title = "Restore the right to defence and the presumption of innocence"
    links = [a for a in elements(html, "a") if "button--share" in (a.get("class") or "")]
    assert len(links) == 6
    for link in links:
        assert set((link["rel"] or "").split()) >= {"noopener", "noreferrer"}
        assert link["target"] == "_blank"
    assert any(title in unquote(link["href"] or "") for link in links)


@pytest.mark.parametrize("channel", CHANNELS)
def test_signing_from_a_share_link_records_where_the_signer_came_from(
    client, channel, django_capture_on_commit_callbacks
):
    load_demo()
    shared = shared_urls(page(client.get(f"/p/{PETITION_SLUG}/thanks/")))[channel]
    parts = urlsplit(shared)

    visitor = type(client)()
    landing = page(visitor.get(f"{parts.path}?{parts.query}"))
    hidden = {
        attrs["name"]: attrs.get("value") or ""
        for attrs in elements(landing, "input", type="hidden")
        if (attrs.get("name") or "").startswith("utm_")
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = post_and_run_tasks(visitor, f"/p/{PETITION_SLUG}/sign/",
            {"name": "Boris Pasternak", "email": "boris@example.org", "display": "full",
             **hidden},
        )  # fmt: skip

    assert response.status_code == 302
    signature = Signature.objects.get()
    assert signature.source == channel
    assert signature.medium == "share"
    assert len(mail.outbox) == 1
