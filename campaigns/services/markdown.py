"""Markdown that organisers write (campaign stories, updates) → sanitised HTML, within bounds.

Python-Markdown is fast on ordinary text but super-linear on a few constructs: a run of
``[`` costs seconds at 5 000 characters and over a minute at 20 000 (each bracket scans to
the end of its paragraph, once per link pattern), and so do link targets that never close,
tags that never close (the standard library's HTML parser rescans to the end of the text
for each) and lines of ``---`` or ``===`` in one paragraph (each splits it, and every block
processor searches the rest again). One form post could hold a web worker for minutes.

So every text is measured before it is parsed (``markdown_problems``, linear, a few
milliseconds): at most ``MARKDOWN_MAX_LENGTH`` characters, and for each costly construct an
estimate of the parser's work, refused above a bound. The bounds were measured so that the
worst text we could build renders in well under half a second on a small server, while
ordinary writing (hundreds of links, long lists, headings, HTML the sanitiser keeps) stays
far below them; ``tests/campaigns/test_markdown_bounds.py`` renders those worst texts.
``markdown_render`` refuses what the check refuses, so no caller can skip it.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

import markdown
import nh3
from django.core.exceptions import ValidationError
from django.utils.formats import number_format
from django.utils.translation import gettext as _

MARKDOWN_MAX_LENGTH = 20_000

# Tags a campaign story may use; anything else (scripts, iframes, styles, event
# handlers) is dropped by nh3, which also forces rel="noopener noreferrer" on links.
_ALLOWED_TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "strong", "em", "b", "i", "blockquote",
    "ul", "ol", "li", "a", "code", "pre",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}

# Estimated work (characters the parser walks) above which a text is refused; each costs at
# most about 0.1 s at its bound (see the module's docstring).
BRACKETS_WORK_MAX = 100_000
BACKTICKS_WORK_MAX = 300_000
TAGS_WORK_MAX = 500_000
RULE_LINES_WORK_MAX = 1_000_000
# List or quote markers at the start of one line ("- - - a" is a list in a list in a list):
# each is a level of recursion in the parser, which runs out of stack near 500.
NESTING_MARKERS_MAX = 50

# A paragraph ends at a blank line: the parser's inline work never crosses one.
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_BRACKETS = re.compile(r"\\.|[\[\]()]", re.DOTALL)
_LINK_TITLE_END = re.compile(r"[\"'] *\)")
# "<" and a letter: the HTML parser's start of a tag, which it reads up to the next ">".
_TAG_START = re.compile(r"<[A-Za-z]")
# A line of only -, =, * or _ (and spaces), perhaps in a quote: a rule or a heading's
# underline, which splits its paragraph in two.
_RULE_LINE = re.compile(r"^[ \t>]*[-=*_][-=*_ \t]*$", re.MULTILINE)
_NESTING_MARKERS = re.compile(
    r"^[ \t]*(?:(?:(?:[-*+]|\d{1,9}[.)])[ \t]+|>[ \t]*)){" + str(NESTING_MARKERS_MAX + 1) + "}",
    re.MULTILINE,
)
_BACKTICK_RUN = re.compile(r"`+")
_BACKTICK_OPENER = re.compile(r"(?<!\\)`+")
_TAG = re.compile(r"<\s*([a-zA-Z][a-zA-Z0-9]*)")


@dataclass(frozen=True)
class RenderedMarkdown:
    html: str
    # Tags the Markdown produced (raw HTML in it) that the sanitiser removed.
    removed_tags: list[str]


def _brackets_work(block: str) -> int:
    """Characters the link patterns walk in one paragraph.

    Each ``[`` is read up to its matching ``]`` (to the paragraph's end if none), and each
    ``](`` up to its matching ``)``; a quote in a link's target can make that walk go on to
    the end unless a quote closes right before a ``)``. Escaped brackets cost nothing.
    """
    work = 0
    end = len(block)
    squares: list[int] = []
    rounds: list[tuple[int, bool]] = []  # "(" opened, and whether it opens a link target
    targets: list[tuple[int, int]] = []  # (start, end) of each link target found
    previous_close = -2
    for match in _BRACKETS.finditer(block):
        char, at = match.group(), match.start()
        if char == "[":
            squares.append(at)
        elif char == "]":
            if squares:
                work += at - squares.pop()
                previous_close = at
        elif char == "(":
            rounds.append((at, previous_close == at - 1))
        elif char == ")" and rounds:
            opened, is_target = rounds.pop()
            if is_target:
                targets.append((opened, at))
    work += sum(end - at for at in squares)
    work += sum(end - at for at, is_target in rounds if is_target)
    for start, stop in targets:
        target = block[start:stop]
        if '"' in target or "'" in target:
            title_end = _LINK_TITLE_END.search(block, start)
            stop = title_end.end() if title_end else end
        work += stop - start
    return work


def _backticks_work(block: str) -> int:
    """Characters the code-span pattern walks in one paragraph: from each backtick that can
    open a span (not escaped) to the next run of as many backticks (the end if none)."""
    later_of_length: dict[int, list[int]] = {}
    for run in _BACKTICK_RUN.finditer(block):
        later_of_length.setdefault(len(run.group()), []).append(run.start())
    work = 0
    for match in _BACKTICK_OPENER.finditer(block):
        at, length = match.start(), len(match.group())
        candidates = later_of_length.get(length, [])
        index = bisect.bisect_left(candidates, match.end())
        work += (candidates[index] if index < len(candidates) else len(block)) - at
    return work


def _tags_work(text: str) -> int:
    """Characters the HTML parser walks: from each tag's start to the next ``>``."""
    closes = [match.start() for match in re.finditer(">", text)]
    work = 0
    for match in _TAG_START.finditer(text):
        at = match.start()
        index = bisect.bisect_left(closes, at)
        work += (closes[index] if index < len(closes) else len(text)) - at
    return work


def _rule_lines_work(block: str) -> int:
    """Characters the block processors search again after each rule or underline."""
    return sum(len(block) - match.start() for match in _RULE_LINE.finditer(block))


def markdown_problems(*, text: str) -> list[str]:
    """Why ``text`` cannot be formatted, as messages for the person who wrote it ([]: fine).

    Linear in the text's length: call it before anything parses the text.
    """
    if len(text) > MARKDOWN_MAX_LENGTH:
        return [
            _("Keep the text to %(limit)s characters; it has %(count)s.")
            % {
                "limit": number_format(MARKDOWN_MAX_LENGTH, force_grouping=True),
                "count": number_format(len(text), force_grouping=True),
            }
        ]
    problems = []
    blocks = _BLANK_LINE.split(text)
    if sum(_brackets_work(block) for block in blocks) > BRACKETS_WORK_MAX:
        problems.append(
            _(
                "Too many square brackets or link targets without their closing partner "
                "(“[” without “]”, “](” without “)”), or nested too deep, for the text to "
                "be formatted. Remove some, or put a backslash before a bracket that is "
                "not a link (\\[)."
            )
        )
    if sum(_backticks_work(block) for block in blocks) > BACKTICKS_WORK_MAX:
        problems.append(
            _(
                "Too many backticks (`) without a partner of the same length, for the text "
                "to be formatted. Remove some, or put a backslash before them (\\`)."
            )
        )
    if _tags_work(text) > TAGS_WORK_MAX:
        problems.append(
            _(
                "Too many “<” followed by a letter without a closing “>”, for the text to "
                "be formatted. Remove some, or put a space after the “<”."
            )
        )
    if sum(_rule_lines_work(block) for block in blocks) > RULE_LINES_WORK_MAX:
        problems.append(
            _(
                "Too many lines made only of -, =, * or _ in one paragraph, for the text to "
                "be formatted. Put a blank line around them, or remove some."
            )
        )
    if _NESTING_MARKERS.search(text):
        problems.append(
            _(
                "More than %(limit)s list or quote markers (-, *, +, 1. or >) at the start "
                "of one line: lists or quotes nested that deep cannot be formatted."
            )
            % {"limit": NESTING_MARKERS_MAX}
        )
    return problems


def markdown_validate(value: str) -> None:
    """A form field's validator: the field gets ``markdown_problems``' messages.

    A text over ``MARKDOWN_MAX_LENGTH`` passes here: the field says so itself (give it
    ``max_length=MARKDOWN_MAX_LENGTH``), and the service refuses it anyway.
    """
    if len(value) > MARKDOWN_MAX_LENGTH:
        return
    _refuse(markdown_problems(text=value))


def _refuse(problems: list[str]) -> None:
    if problems:
        raise ValidationError(problems, code="markdown")


def markdown_render_detailed(*, text: str) -> RenderedMarkdown:
    """Markdown → sanitised HTML, and the tags the sanitiser removed; one parse.

    Raises ``ValidationError`` (``markdown_problems``' messages) for a text too long or
    too costly to parse: nothing is parsed then.
    """
    _refuse(markdown_problems(text=text))
    try:
        raw = markdown.markdown(text, extensions=["sane_lists"], output_format="html")
    except RecursionError:
        # Nesting the checks above did not foresee: a clear refusal, never a server error.
        raise ValidationError(
            _("This text is nested too deeply to be formatted."), code="markdown"
        ) from None
    html = nh3.clean(
        raw,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    kept = {name.lower() for name in _TAG.findall(html)}
    removed = sorted({name.lower() for name in _TAG.findall(raw)} - kept)
    return RenderedMarkdown(html=html, removed_tags=removed)


def markdown_render(*, text: str) -> str:
    """Markdown → HTML that is safe to insert into a page without escaping.

    Raises ``ValidationError`` for a text ``markdown_problems`` refuses.
    """
    return markdown_render_detailed(text=text).html
