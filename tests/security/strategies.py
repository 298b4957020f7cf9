"""Hypothesis strategies and checks shared by the fuzz tests."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from mailer.models import OutboxMessage
from petitions.models import Consent, Signature, Supporter

fuzz = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --- Strategies ---------------------------------------------------------------------------------

huge_integers = st.integers(min_value=10**300, max_value=10**1000) | st.integers(
    max_value=-(10**300)
)
text = st.text() | st.text(alphabet=st.characters(codec="utf-8")).map(lambda s: s + "\x00")
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | huge_integers
    | st.floats(allow_nan=False, allow_infinity=False)
    | text
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(text, children, max_size=5),
    max_leaves=30,
)
# Proof-of-work payloads are base64 of JSON: any JSON, deep nesting, or not base64 at all.
altcha_payloads = (
    json_values.map(lambda value: base64.b64encode(json.dumps(value).encode()).decode())
    | st.integers(min_value=1, max_value=3000).map(
        lambda depth: base64.b64encode(b"[" * depth + b"]" * depth).decode()
    )
    | text
)
# Raw bodies: text that is not JSON, bytes that are not UTF-8, JSON with literal oddities.
raw_bodies = (
    st.binary(max_size=2000)
    | text.map(str.encode)
    | st.sampled_from(
        [
            b"",
            b"{",
            b'{"name": NaN}',
            b'{"name": Infinity}',
            b'{"email": "\\ud800"}',  # a lone surrogate
            b'{"email": 1e999999}',
            b'{"email": ' + b"9" * 5000 + b"}",
            b"\xef\xbb\xbf{}",  # a byte-order mark
            b'{"name": "a", "name": "b"}',
            b"[" * 3000 + b"]" * 3000,
            b'{"a":' * 1500 + b"1" + b"}" * 1500,
        ]
    )
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=latin-1",
        "application/json; charset=no-such-charset",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "multipart/form-data",
        "application/xml",
        "",
    ]
)
junk_tokens = (
    st.text(min_size=1)
    | st.binary(min_size=1, max_size=200).map(lambda b: b.hex())
    | st.sampled_from(["..", "%00", "a" * 5000, "eyJhIjoxfQ:1abc:xyz", "\x00", "/"])
)


# --- Helpers ------------------------------------------------------------------------------------


def stored() -> dict[str, int]:
    return {
        "signatures": Signature.objects.count(),
        "supporters": Supporter.objects.count(),
        "outbox": OutboxMessage.objects.count(),
        "consents": Consent.objects.count(),
    }


def below_500(response: Any, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code}"


def refused_stores_nothing(send: Callable[[], Any], *, accepted: set[int]) -> Any:
    """Send; a 5xx fails, and any answer other than ``accepted`` must leave no new rows."""
    before = stored()
    response = send()
    below_500(response, "answer")
    if response.status_code not in accepted:
        assert stored() == before, f"{response.status_code} but something was stored"
    return response


def path_part(token: str) -> str:
    return quote(token, safe="") or "x"
