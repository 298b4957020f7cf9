"""Markdown organisers write is bounded before it is parsed: the worst texts we know, at the
largest the checks let through, render in well under a second; worse ones are refused with a
clear message, never parsed; ordinary writing is far from every bound."""

from __future__ import annotations

import time
from typing import Any

import markdown
import pytest
from django.core.exceptions import ValidationError

from campaigns.admin import CampaignAdminForm
from campaigns.services import (
    MARKDOWN_MAX_LENGTH,
    campaign_save,
    markdown_problems,
    markdown_render,
    markdown_render_detailed,
)
from tests.factories import campaign_create

# Python-Markdown is super-linear on each of these (a run of "[" of 20 000 characters took
# over a minute before the bounds); mixed with plain text before or after, alone, and in a
# paragraph of their own.
WORST_UNITS = [
    "[", "![", "[[", "[x", "[x][", "[a](", "![](", "[a](<", "[a](b (", "[a](x 'y) ", "[^",
    "``\\", "`", "``_\\", "<![CDATA[", "<a ", "<a/", "<a\n", "<a x='", '<a x="', "<http://",
    "a\n=\n", "a\n-\n", "-\n", "---\n", "* * *\n", "> ===  \n", "> > ", "- ", "*", "_",
    "**a", "*a_", "_*", "__]_-&", "&\n\n", "- a\n", "- [a](b)\n",
]  # fmt: skip
FILLERS = [("", "after"), ("a ", "after"), ("a ", "before"), ("a\n", "after")]
# Generous: the worst of these takes about 0.3 s on a loaded 2-core machine.
SECONDS = 2.0


def _text(unit: str, count: int, filler: str, where: str) -> str:
    core = unit * count
    pad = (filler * MARKDOWN_MAX_LENGTH)[: MARKDOWN_MAX_LENGTH - len(core)] if filler else ""
    return core + pad if where == "after" else pad + core


def _largest_accepted(unit: str, filler: str, where: str) -> str:
    """The text with the most repetitions of ``unit`` that the checks let through."""
    low, high = 0, MARKDOWN_MAX_LENGTH // len(unit)
    while low < high:
        middle = (low + high + 1) // 2
        if markdown_problems(text=_text(unit, middle, filler, where)):
            high = middle - 1
        else:
            low = middle
    return _text(unit, low, filler, where)


def _seconds_to_render(text: str) -> float:
    start = time.perf_counter()
    markdown_render(text=text)
    return time.perf_counter() - start


@pytest.mark.parametrize("unit", WORST_UNITS)
def test_the_worst_texts_the_checks_let_through_render_in_well_under_a_second(unit):
    slowest = 0.0
    for filler, where in FILLERS:
        text = _largest_accepted(unit, filler, where)
        assert not markdown_problems(text=text)
        slowest = max(slowest, _seconds_to_render(text))

    assert slowest < SECONDS, f"{unit!r}: {slowest:.2f} s"


def _mixed(parts: list[str]) -> str:
    """The parts as paragraphs, the rest of the allowed length a dense list."""
    text = "\n\n".join(parts) + "\n\n"
    return text + ("- [a](b) *c*\n" * MARKDOWN_MAX_LENGTH)[: MARKDOWN_MAX_LENGTH - len(text)]


def test_the_worst_families_mixed_in_one_text_render_in_well_under_a_second():
    # Each family up to its own bound, one paragraph each, in one text.
    parts: list[str] = []
    for unit, end in (("a\n-\n", ""), ("``\\", ""), ("[", ""), ("<a ", ">")):
        count = 0
        while not markdown_problems(text=_mixed([*parts, unit * (count + 10) + end])):
            count += 10
        parts.append(unit * count + end)
    text = _mixed(parts)

    assert all(len(part) > 100 for part in parts), [len(part) for part in parts]
    assert not markdown_problems(text=text)
    assert _seconds_to_render(text) < SECONDS


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[" * 5_000, "square brackets"),
        ("[a](" * 2_000, "square brackets"),
        ("<a " * 3_000, "“<” followed by a letter"),
        ("a\n-\n" * 3_000, "lines made only of -, =, * or _"),
        ("``\\" * 4_000, "backticks"),
        ("- " * 600 + "a", "list or quote markers"),
        ("> " * 600 + "a", "list or quote markers"),
    ],
)
def test_costly_texts_are_refused_with_a_clear_message_before_anything_is_parsed(
    text, words, monkeypatch
):
    monkeypatch.setattr(markdown, "markdown", _must_not_parse)
    start = time.perf_counter()

    problems = markdown_problems(text=text)
    with pytest.raises(ValidationError) as refused:
        markdown_render(text=text)

    assert time.perf_counter() - start < SECONDS / 4
    assert any(words in problem for problem in problems), problems
    assert refused.value.messages == problems


def test_a_text_over_the_limit_is_refused_before_anything_is_parsed(monkeypatch):
    monkeypatch.setattr(markdown, "markdown", _must_not_parse)

    problems = markdown_problems(text="a" * (MARKDOWN_MAX_LENGTH + 1))

    assert problems == ["Keep the text to 20,000 characters; it has 20,001."]
    with pytest.raises(ValidationError):
        markdown_render(text="a" * (MARKDOWN_MAX_LENGTH + 1))


def test_nesting_the_checks_did_not_foresee_is_a_clear_refusal_not_a_server_error(monkeypatch):
    def too_deep(*args: object, **kwargs: object) -> str:
        raise RecursionError

    monkeypatch.setattr(markdown, "markdown", too_deep)

    with pytest.raises(ValidationError) as refused:
        markdown_render(text="Fine.")

    assert refused.value.messages == ["This text is nested too deeply to be formatted."]


def test_ordinary_writing_is_far_from_every_bound():
    story = "## Who we are\n\nWe support [political prisoners](https://example.org/) in Russia.\n\n"
    story += "".join(
        f'- [Prisoner {n}](https://example.org/p/{n} "Their page") — *sentenced* to {n} '
        f"years; see `case {n}` [1]\n"
        for n in range(120)
    )
    story += "\n---\n\nRead **more**: <https://example.org/> or write to <b>us</b>.\n\n"
    story += "> A quote\n> on two lines\n\n1. One\n2. Two\n\nTitle\n=====\n\n" * 20
    assert len(story) < MARKDOWN_MAX_LENGTH

    assert markdown_problems(text=story) == []
    assert "<strong>more</strong>" in markdown_render(text=story)


def test_the_detailed_render_names_the_tags_the_sanitiser_removed_in_one_parse(monkeypatch):
    calls = []
    original = markdown.markdown

    def counted(*args: Any, **kwargs: Any) -> str:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(markdown, "markdown", counted)

    rendered = markdown_render_detailed(text="Hi <b>you</b> <script>x</script> <iframe></iframe>")

    assert rendered.removed_tags == ["iframe", "script"]
    assert "<b>you</b>" in rendered.html
    assert len(calls) == 1


@pytest.mark.django_db
def test_saving_a_story_over_the_limit_is_a_field_error_and_stores_nothing():
    campaign = campaign_create(title="Free them", body="The story.")
    campaign.body = "a" * (MARKDOWN_MAX_LENGTH + 1)

    with pytest.raises(ValidationError) as refused:
        campaign_save(campaign=campaign)

    assert "body" in refused.value.message_dict
    campaign.refresh_from_db()
    assert campaign.body == "The story."


def _must_not_parse(*args: object, **kwargs: object) -> str:
    raise AssertionError("the text was parsed")


@pytest.mark.django_db
def test_the_admin_form_refuses_a_costly_story_on_its_field():
    campaign = campaign_create(title="Free them", body="The story.")
    data = {
        "organisation": campaign.organisation.pk,
        "slug": campaign.slug,
        "title": campaign.title,
        "summary": "",
        "language": "en",
        "status": campaign.status,
        "retention_days": 180,
    }

    form = CampaignAdminForm(data={**data, "body": "[" * 5_000}, instance=campaign)
    fine = CampaignAdminForm(data={**data, "body": "A *fine* story."}, instance=campaign)

    assert not form.is_valid()
    assert "Too many square brackets" in form.errors["body"][0]
    assert fine.is_valid(), fine.errors
