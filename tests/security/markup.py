"""What a strict Content-Security-Policy would block, found in a page's HTML.

The policy has no 'unsafe-inline', so a browser refuses inline scripts, ``<style>``
elements, ``style=""`` attributes, event-handler attributes and ``javascript:`` URLs. A page
that contains one is broken for its readers; these helpers list them so a test can say which.
"""

from __future__ import annotations

from html.parser import HTMLParser

# Script types a browser does not run: data blocks such as Django's json_script output.
_DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}
_URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href"}


def _blocked(attribute: str, value: str | None) -> bool:
    """Whether the policy blocks this attribute: a style, an event handler, a javascript: URL."""
    if attribute == "style" or attribute.startswith("on"):
        return True
    return attribute in _URL_ATTRIBUTES and (value or "").strip().lower().startswith("javascript:")


class _InlineFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._script: dict[str, str | None] | None = None
        self._script_text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.found.extend(
            f"<{tag} {name}={value!r}>" for name, value in attrs if _blocked(name, value)
        )
        if tag == "style":
            self.found.append("<style> element")
        if tag == "script":
            self._script = attributes
            self._script_text = ""

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag == "script":
            self.handle_endtag(tag)

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script_text += data

    def handle_endtag(self, tag: str) -> None:
        if tag != "script" or self._script is None:
            return
        script, text = self._script, self._script_text.strip()
        self._script = None
        if (script.get("type") or "").lower() in _DATA_SCRIPT_TYPES:
            return
        if not script.get("src"):
            self.found.append(f"inline <script>: {text[:80]!r}")
        elif text:
            self.found.append(f"<script src> with a body: {text[:80]!r}")


def inline_code(html: str) -> list[str]:
    """Everything in ``html`` that a CSP without 'unsafe-inline' blocks, described."""
    finder = _InlineFinder()
    finder.feed(html)
    finder.close()
    return finder.found


def csp_directives(header: str) -> dict[str, list[str]]:
    """A Content-Security-Policy header as {directive: [source, …]}."""
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        if words := part.split():
            directives[words[0].lower()] = words[1:]
    return directives
