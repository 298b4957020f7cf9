"""Malformed input never reaches a 500: every JSON and form endpoint, fuzzed with hypothesis.

Arbitrary JSON values, deep nesting, huge numbers, any Unicode, NUL bytes, bytes that are not
UTF-8, wrong and broken content types. Each answer must be below 500, and a refused request
must store nothing. (A schema fuzzer such as schemathesis joins these once the API has an
OpenAPI schema.)
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.parsers import MAX_JSON_DEPTH, BoundedJSONParser, json_depth_exceeds
from mailer.models import OutboxMessage
from petitions.models import Consent, Signature, Supporter
from petitions.services import manage_links

pytestmark = pytest.mark.django_db

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
SIGN_KEYS = ("name", "email", "country", "display", "website", "consent_updates", "altcha")
sign_bodies = st.fixed_dictionaries(
    {}, optional={key: json_values | st.emails() for key in SIGN_KEYS}
) | st.dictionaries(text, json_values, max_size=8)
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
form_values = st.lists(text | st.emails(), max_size=3)
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


@pytest.fixture
def sign_api(site) -> str:  # type: ignore[no-untyped-def]
    return f"/api/v1/petitions/{site.petition.slug}/signatures/"


# --- The JSON parser ----------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 50, 3000])
def test_a_body_nested_deeper_than_the_limit_is_a_400_that_says_so(client, sign_api, depth):
    body = "[" * depth + "]" * depth
    before = stored()
    response = client.post(sign_api, body, content_type="application/json")
    assert response.status_code == 400
    detail = f"JSON parse error - the body is nested too deeply (the limit is {MAX_JSON_DEPTH})."
    assert response.json() == {"detail": detail}
    assert stored() == before


def test_the_deep_body_of_the_bug_report_a_2_kb_object_nest_is_a_400(client, sign_api):
    body = '{"name":' * 220 + '"x"' + "}" * 220  # about 2 KB
    assert len(body) < 2100
    response = client.post(sign_api, body, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]


def test_a_body_as_deep_as_the_limit_is_parsed():
    nested: Any = "leaf"
    for _ in range(MAX_JSON_DEPTH):
        nested = [nested]
    assert not json_depth_exceeds(nested, limit=MAX_JSON_DEPTH)
    assert json_depth_exceeds([nested], limit=MAX_JSON_DEPTH)
    assert BoundedJSONParser.max_depth == MAX_JSON_DEPTH


@fuzz
@given(depth=st.integers(min_value=1, max_value=5000), opening=st.sampled_from(["[", '{"a":']))
def test_any_depth_of_nesting_is_parsed_or_refused_with_400(client, sign_api, depth, opening):
    closing = "]" if opening == "[" else "}"
    body = opening * depth + "1" + closing * depth
    response = refused_stores_nothing(
        lambda: client.post(sign_api, body, content_type="application/json"), accepted=set()
    )
    assert response.status_code in {400, 413}
    if depth > MAX_JSON_DEPTH and len(body) <= 16 * 1024:
        assert "nested too deeply" in response.json()["detail"]


def test_a_flat_signature_still_signs(client, sign_api):
    body = {"name": "Anna Karenina", "email": "anna@example.org"}
    response = client.post(sign_api, json.dumps(body), content_type="application/json")
    assert response.status_code == 202


# --- JSON endpoints -----------------------------------------------------------------------------


@fuzz
@given(body=sign_bodies)
def test_the_sign_api_answers_any_json_object_without_a_server_error(client, sign_api, body):
    refused_stores_nothing(
        lambda: client.post(sign_api, json.dumps(body), content_type="application/json"),
        accepted={202},
    )


@fuzz
@given(body=json_values)
def test_the_sign_api_answers_any_json_value_without_a_server_error(client, sign_api, body):
    response = refused_stores_nothing(
        lambda: client.post(sign_api, json.dumps(body), content_type="application/json"),
        accepted={202},
    )
    if not isinstance(body, dict):
        assert response.status_code == 400


@fuzz
@given(body=raw_bodies, content_type=content_types)
def test_the_sign_api_answers_any_bytes_with_any_content_type(client, sign_api, body, content_type):
    refused_stores_nothing(
        lambda: client.generic("POST", sign_api, body, content_type=content_type),
        accepted={202},
    )


@fuzz
@given(
    method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
    body=raw_bodies,
    content_type=content_types,
    lang=text,
)
def test_the_count_and_challenge_apis_answer_anything_without_a_server_error(
    client, site, method, body, content_type, lang
):
    for endpoint in ("count", "challenge"):
        path = f"/api/v1/petitions/{site.petition.slug}/{endpoint}/?lang={quote(lang)}"

        def send(path: str = path) -> Any:
            return client.generic(method, path, body, content_type=content_type)

        refused_stores_nothing(send, accepted=set())


@fuzz
@given(slug=junk_tokens)
def test_the_apis_answer_any_petition_slug_without_a_server_error(client, slug):
    for endpoint in ("count", "challenge", "signatures"):
        path = f"/api/v1/petitions/{path_part(slug)}/{endpoint}/"
        below_500(client.get(path), path)
        below_500(client.post(path, "{}", content_type="application/json"), path)


@fuzz
@given(payload=altcha_payloads)
def test_any_proof_of_work_payload_is_judged_without_a_server_error(client, site, payload):
    from petitions.models import Petition

    Petition.objects.filter(pk=site.petition.pk).update(challenge_required=True)
    signer = {"name": "Anna Karenina", "email": "anna@example.org", "display": "full"}
    body = json.dumps({**signer, "altcha": payload})
    path = f"/api/v1/petitions/{site.petition.slug}/signatures/"
    refused_stores_nothing(
        lambda: client.post(path, body, content_type="application/json"), accepted={202}
    )
    refused_stores_nothing(
        lambda: client.post(f"/p/{site.petition.slug}/sign/", {**signer, "altcha": payload}),
        accepted={302},
    )


# --- Form endpoints -----------------------------------------------------------------------------


@fuzz
@given(
    data=st.fixed_dictionaries(
        {},
        optional={
            key: form_values
            for key in ("name", "email", "country", "display", "website", "consent_updates")
        }
        | {"altcha": st.lists(altcha_payloads, max_size=2)},
    )
    | st.dictionaries(text, form_values, max_size=6)
)
def test_the_sign_form_answers_any_fields_without_a_server_error(client, site, data):
    refused_stores_nothing(
        lambda: client.post(f"/p/{site.petition.slug}/sign/", data), accepted={302}
    )


@fuzz
@given(body=raw_bodies, content_type=content_types)
def test_the_sign_form_answers_any_bytes_with_any_content_type(client, site, body, content_type):
    path = f"/p/{site.petition.slug}/sign/"
    refused_stores_nothing(
        lambda: client.generic("POST", path, body, content_type=content_type), accepted={302}
    )


@fuzz
@given(code=form_values, extra=st.dictionaries(text, form_values, max_size=3))
def test_the_confirmation_code_form_answers_any_code_without_a_server_error(
    client, site, code, extra
):
    before = Signature.objects.filter(status=Signature.Status.CONFIRMED).count()
    response = client.post(f"/p/{site.petition.slug}/confirm/", {**extra, "code": code})
    below_500(response, "confirm code")
    if response.status_code != 302:
        assert Signature.objects.filter(status=Signature.Status.CONFIRMED).count() == before


def test_an_empty_code_form_past_the_rate_limit_answers_429_not_500(client, site, settings):
    # Found by the fuzzer above: an empty POST made an unbound form that the limit's
    # message could not be added to.
    settings.RATE_CONFIRM_CODE_PER_HOUR = 1
    path = f"/p/{site.petition.slug}/confirm/"
    assert client.post(path, {}).status_code == 400
    response = client.post(path, {})
    assert response.status_code == 429
    assert "Too many codes were tried from your connection." in response.content.decode()


@fuzz
@given(email=form_values, extra=st.dictionaries(text, form_values, max_size=3))
def test_the_manage_form_answers_any_address_without_a_server_error(client, site, email, extra):
    refused_stores_nothing(
        lambda: client.post("/manage/", {**extra, "email": email}),
        accepted={200, 302},  # the same answer for known and unknown addresses
    )


@fuzz
@given(body=raw_bodies, content_type=content_types)
def test_the_manage_and_code_forms_answer_any_bytes_with_any_content_type(
    client, site, body, content_type
):
    for path in ("/manage/", f"/p/{site.petition.slug}/confirm/", "/i18n/setlang/"):
        below_500(client.generic("POST", path, body, content_type=content_type), path)


@fuzz
@given(data=st.dictionaries(text, form_values, max_size=4), next_url=text)
def test_the_language_switch_answers_anything_without_a_server_error(client, data, next_url):
    below_500(client.post("/i18n/setlang/", {**data, "next": next_url}), "setlang")


# --- Link paths with junk tokens ----------------------------------------------------------------


@fuzz
@given(token=junk_tokens)
def test_confirmation_links_with_junk_tokens_change_nothing(client, site, token):
    path = f"/confirm/{path_part(token)}/"
    before = stored()
    confirmed = Signature.objects.filter(status=Signature.Status.CONFIRMED).count()
    for response in (client.get(path), client.post(path)):
        below_500(response, path)
        assert response.status_code in {400, 404, 405}
    assert stored() == before
    assert Signature.objects.filter(status=Signature.Status.CONFIRMED).count() == confirmed


@fuzz
@given(token=junk_tokens, signature_id=st.uuids(), campaign_id=st.uuids())
def test_manage_links_with_junk_tokens_change_nothing(
    client, site, token, signature_id, campaign_id
):
    base = f"/manage/{path_part(token)}/"
    before = stored()
    below_500(client.get(base), base)
    for path in (
        f"{base}signatures/{signature_id}/display/",
        f"{base}signatures/{signature_id}/withdraw/",
        f"{base}consents/{campaign_id}/withdraw/",
        f"{base}export/",
        f"{base}erase/",
    ):
        response = client.post(path, {"confirm": "on", f"{signature_id}-display": "full"})
        below_500(response, path)
        assert response.status_code in {400, 404, 405}
    assert stored() == before


@fuzz
@given(data=st.dictionaries(text, form_values, max_size=6), signature_id=st.uuids())
def test_the_manage_page_forms_answer_any_fields_without_a_server_error(
    client, site, data, signature_id
):
    supporter = site.pending.supporter
    base = f"/manage/{manage_links.manage_token_make(supporter=supporter)}/"
    own = site.pending.public_id
    for path in (
        f"{base}signatures/{own}/display/",
        f"{base}signatures/{signature_id}/display/",
        f"{base}signatures/{signature_id}/withdraw/",
        f"{base}consents/{signature_id}/withdraw/",
    ):
        below_500(client.post(path, data), path)
    # The erase form without its confirmation box ticked erases nothing.
    if "confirm" not in data:
        below_500(client.post(f"{base}erase/", data), "erase")
        assert Supporter.objects.filter(pk=supporter.pk).exists()


def test_a_client_without_csrf_cookies_gets_403_not_500_on_every_form(site):
    client = Client(enforce_csrf_checks=True)
    for path in (f"/p/{site.petition.slug}/sign/", f"/p/{site.petition.slug}/confirm/", "/manage/"):
        response = client.post(path, {"email": "\x00"})
        assert response.status_code == 403, path
