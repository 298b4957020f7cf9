"""Fuzzing the HTML forms and token links: any input gets an answer, never a server error."""

from __future__ import annotations

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from petitions.models import Signature, Supporter
from petitions.services import manage_links
from tests.security.strategies import (
    altcha_payloads,
    below_500,
    content_types,
    fuzz,
    junk_tokens,
    path_part,
    raw_bodies,
    refused_stores_nothing,
    stored,
    text,
)

pytestmark = pytest.mark.django_db
form_values = st.lists(text | st.emails(), max_size=3)


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
