"""None"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.parsers import MAX_JSON_DEPTH, BoundedJSONParser, json_depth_exceeds
from tests.security.strategies import (
    altcha_payloads,
    below_500,
    content_types,
    fuzz,
    json_values,
    junk_tokens,
    path_part,
    raw_bodies,
    refused_stores_nothing,
    stored,
    text,
)

pytestmark = pytest.mark.django_db
SIGN_KEYS = ("name", "email", "country", "display", "website", "consent_updates", "altcha")
sign_bodies = st.fixed_dictionaries(
    {}, optional={key: json_values | st.emails() for key in SIGN_KEYS}
) | st.dictionaries(text, json_values, max_size=8)


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
