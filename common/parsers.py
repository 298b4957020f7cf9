"""Request body parsers for the API (REST framework)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# Sbor's API bodies are flat objects (a signature's fields); a few levels leave room for
# what later endpoints may need without letting a body nest without end.
MAX_JSON_DEPTH = 8


def json_depth_exceeds(value: Any, *, limit: int) -> bool:
    """True if ``value`` nests arrays and objects more than ``limit`` levels deep.

    Walked with a stack, not recursion, so the check itself cannot overflow.
    """
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth + 1 > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class BoundedJSONParser(JSONParser):
    """REST framework's JSON parser, refusing bodies nested deeper than ``MAX_JSON_DEPTH``.

    Python's json module recurses once per level: a body of a few kilobytes of ``[`` raises
    ``RecursionError``, which REST framework does not catch, and anything that walks a deep
    value later could do the same. Both end here as a 400 with a message saying why.
    """

    max_depth = MAX_JSON_DEPTH

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        too_deep = _("JSON parse error - the body is nested too deeply (the limit is %(limit)d).")
        too_deep %= {"limit": self.max_depth}
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(too_deep) from None
        if json_depth_exceeds(data, limit=self.max_depth):
            raise ParseError(too_deep)
        return data
