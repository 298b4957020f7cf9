"""Shared links: Open Graph and Twitter tags on public pages, and the share image we draw."""

from __future__ import annotations

import logging
from io import BytesIO
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image

from campaigns.models import Campaign
from petitions import share_image, social
from petitions.models import Petition
from tests.factories import campaign_create, petition_create
from tests.html import elements

pytestmark = pytest.mark.django_db

SITE = "https://sign.example.org"
HOSTILE_TITLE = "Free \"them\" <script>alert(1)</script> & 'all'"


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE


def meta(page: str) -> dict[str, str]:
    """Every <meta property|name=… content=…> of the page, entities decoded."""
    tags = {}
    for attrs in elements(page, "meta"):
        key = attrs.get("property") or attrs.get("name")
        content = attrs.get("content")
        if key and content is not None:
            tags[key] = content
    return tags


def campaign_with_count(count: int, **fields) -> Campaign:
    campaign = campaign_create(**fields)
    petition = petition_create(campaign=campaign)
    Petition.objects.filter(pk=petition.pk).update(signature_count=count)
    return campaign


def count_set(campaign: Campaign, count: int) -> None:
    Petition.objects.filter(campaign=campaign).update(signature_count=count)


# --- The tags -----------------------------------------------------------------------------


def test_the_campaign_page_carries_open_graph_and_twitter_tags_with_absolute_urls(client):
    campaign = campaign_with_count(
        12_345, slug="free-them", title="Free them all", summary="Political prisoners."
    )

    page = client.get("/c/free-them/").content.decode()

    tags = meta(page)
    assert tags["og:type"] == "website"
    assert tags["og:title"] == tags["twitter:title"] == "Free them all"
    assert tags["og:description"] == tags["twitter:description"] == "Political prisoners."
    assert tags["og:url"] == f"{SITE}/c/free-them/"
    assert tags["og:locale"] == "en_GB"
    assert tags["og:image"].startswith(f"{SITE}/c/free-them/share.png?v=")
    assert tags["twitter:image"] == tags["og:image"]
    assert (tags["og:image:width"], tags["og:image:height"]) == ("1200", "630")
    assert tags["og:image:alt"] == (
        f"Free them all · 12,300 signatures · {campaign.organisation.name}"
    )
    assert tags["twitter:card"] == "summary_large_image"


def test_a_campaign_without_a_summary_is_described_by_the_start_of_its_story(client):
    campaign_create(slug="story-only", summary="", body="**Thirty** people are held.\n\nMore.")

    tags = meta(client.get("/c/story-only/").content.decode())

    assert tags["og:description"] == "Thirty people are held. More."
    assert tags["description"] == "Thirty people are held. More."


def test_a_title_with_quotes_and_markup_stays_text_in_every_tag(client):
    campaign_create(slug="hostile", title=HOSTILE_TITLE, summary='"Quoted" <b>summary</b>')

    page = client.get("/c/hostile/").content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "<b>summary</b>" not in page
    tags = meta(page)
    for key in ("og:title", "twitter:title"):
        assert tags[key] == HOSTILE_TITLE
    assert tags["og:description"] == '"Quoted" <b>summary</b>'
    assert f'content="{HOSTILE_TITLE}"' not in page
    assert 'content="Free &quot;them&quot; &lt;script&gt;alert(1)&lt;/script&gt;' in page


def test_the_home_page_has_a_card_without_an_image(client):
    tags = meta(client.get("/").content.decode())

    assert tags["og:title"] == "Sbor"
    assert tags["og:url"] == f"{SITE}/"
    assert tags["twitter:card"] == "summary"
    assert "og:image" not in tags


def test_the_image_url_changes_when_the_count_reaches_the_next_step(client):
    campaign = campaign_with_count(12_345, slug="stepping")

    def image_url() -> str:
        return meta(client.get("/c/stepping/").content.decode())["og:image"]

    first = image_url()
    count_set(campaign, 12_399)
    assert image_url() == first
    count_set(campaign, 12_400)
    assert image_url() != first


# --- The share image ----------------------------------------------------------------------


def test_the_share_image_is_a_1200_by_630_png_that_may_be_cached_publicly(client):
    campaign_with_count(42, slug="pictured", title="Свободу политзаключённым")

    response = client.get("/c/pictured/share.png")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert "public" in response["Cache-Control"]
    assert "max-age=3600" in response["Cache-Control"]
    image = Image.open(BytesIO(response.content))
    assert (image.format, image.size) == ("PNG", (1200, 630))
    # The title is drawn: the band where it sits is not blank paper.
    title_band = image.convert("L").crop((80, 128, 1120, 260))
    assert title_band.getextrema()[0] < 100


def test_the_share_image_is_drawn_once_per_count_step(client):
    campaign = campaign_with_count(12_345, slug="viral")

    with mock.patch.object(social, "share_image_draw", wraps=social.share_image_draw) as draw:
        for _ in range(3):
            assert client.get("/c/viral/share.png").status_code == 200
        count_set(campaign, 12_399)  # the same step: 12 300
        client.get("/c/viral/share.png")
        assert draw.call_count == 1

        count_set(campaign, 12_400)
        client.get("/c/viral/share.png")
        assert draw.call_count == 2
        assert draw.call_args.args[0].count == "12,400 signatures"

        Campaign.objects.filter(pk=campaign.pk).update(title="A new title")
        client.get("/c/viral/share.png")
        assert draw.call_count == 3


def test_the_share_image_reads_stored_counts_and_never_counts_signatures(client):
    campaign_with_count(7, slug="counted")

    with CaptureQueriesContext(connection) as queries:
        client.get("/c/counted/share.png")

    assert not [q for q in queries.captured_queries if "petitions_signature" in q["sql"]]


@pytest.mark.parametrize("status", [Campaign.Status.DRAFT])
def test_a_draft_campaign_has_no_share_image(client, status):
    campaign_with_count(3, slug="secret-draft", status=status)

    assert client.get("/c/secret-draft/share.png").status_code == 404
    assert client.get("/c/no-such-campaign/share.png").status_code == 404


def test_the_share_image_only_answers_get_and_head(client):
    campaign_with_count(3, slug="read-only")

    assert client.head("/c/read-only/share.png").status_code == 200
    assert client.post("/c/read-only/share.png").status_code == 405


def test_a_campaign_without_public_petitions_shows_no_count(client):
    campaign_create(slug="no-petitions", title="Soon")

    with mock.patch.object(social, "share_image_draw", wraps=social.share_image_draw) as draw:
        assert client.get("/c/no-petitions/share.png").status_code == 200

    assert draw.call_args.args[0].count == ""
    tags = meta(client.get("/c/no-petitions/").content.decode())
    assert tags["og:image:alt"].startswith("Soon · ")
    assert "signature" not in tags["og:image:alt"]


def test_a_missing_font_falls_back_to_pillows_own_with_one_warning(client, settings, caplog):
    settings.SHARE_FONT = "/nonexistent/regular.ttf"
    settings.SHARE_FONT_BOLD = "/nonexistent/bold.ttf"
    campaign = campaign_with_count(5, slug="fontless")

    with caplog.at_level(logging.WARNING, logger="petitions.share_image"):
        assert client.get("/c/fontless/share.png").status_code == 200
        Campaign.objects.filter(pk=campaign.pk).update(title="Drawn again")
        response = client.get("/c/fontless/share.png")

    assert Image.open(BytesIO(response.content)).size == (1200, 630)
    warnings = [r for r in caplog.records if "SBOR_SHARE_FONT" in r.getMessage()]
    assert len(warnings) == 2  # once per missing font, not once per image


# --- The count, in the campaign's language -------------------------------------------------


@pytest.mark.parametrize(
    ("count", "shown"),
    [(0, 0), (7, 7), (999, 999), (1000, 1000), (12_345, 12_300), (99_999, 99_900),
     (1_234_567, 1_230_000)],
)  # fmt: skip
def test_counts_are_exact_below_a_thousand_then_three_significant_digits(count, shown):
    assert social.count_bucket(count) == shown


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (1, "1 подпись"),
        (2, "2 подписи"),
        (5, "5 подписей"),
        (21, "21 подпись"),
        (12_345, "12\xa0300 подписей"),
    ],
)
def test_a_russian_campaign_counts_in_russian_whatever_the_reader_speaks(client, count, expected):
    campaign_with_count(count, slug="russian", language="ru", title="Свобода")

    with mock.patch.object(social, "share_image_draw", wraps=social.share_image_draw) as draw:
        client.get("/c/russian/share.png", HTTP_ACCEPT_LANGUAGE="en")

    assert draw.call_args.args[0].count == expected
    tags = meta(client.get("/c/russian/", HTTP_ACCEPT_LANGUAGE="en").content.decode())
    assert expected in tags["og:image:alt"]
    assert tags["og:locale"] == "ru_RU"


# --- Drawing ------------------------------------------------------------------------------


def test_a_long_title_is_wrapped_and_cut_with_an_ellipsis_to_fit():
    font = share_image._bold(68)
    words = "Свобода " * 60
    lines = share_image.text_wrap(words, font, 1040)
    assert all(font.getlength(line) <= 1040 for line in lines)

    fitted_font, fitted = share_image._title_layout(words, 1040, 440 - 128)
    assert fitted[-1].endswith("…")
    assert len(fitted) * share_image._line_height(fitted_font) <= 440 - 128


def test_a_word_longer_than_a_line_is_cut():
    font = share_image._bold(68)

    lines = share_image.text_wrap("A" * 80, font, 1040)

    assert len(lines) > 1
    assert "".join(lines) == "A" * 80
