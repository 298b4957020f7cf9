"""Reading pages the way a test needs to: the start tags and their attributes."""

from __future__ import annotations

from html.parser import HTMLParser


class _Elements(HTMLParser):
    """Every start tag on a page with its attributes (entities already decoded)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))


def all_elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    """Every start tag on the page, in order, with its attributes."""
    parser = _Elements()
    parser.feed(html)
    return parser.elements


def elements(html: str, tag: str | None = None, **match: str) -> list[dict[str, str | None]]:
    """The attributes of each ``tag`` element (any tag if None) whose attributes match."""
    return [
        attrs
        for name, attrs in all_elements(html)
        if (tag is None or name == tag)
        and all(attrs.get(key) == value for key, value in match.items())
    ]
