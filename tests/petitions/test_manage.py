"""None"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core import mail, signing
from django.test import Client
from django.utils import timezone
from django.utils.formats import date_format

from mailer.models import OutboxMessage
from petitions import tokens
from petitions.consent import UPDATES_WORDING_VERSION
from petitions.models import ManageLinkRequest, Petition, Signature, Supporter
from petitions.services import erasure, manage_links
from tests.factories import petition_create, signature_create
from tests.html import elements
from tests.petitions.manage_helpers import ADDRESS, manage_path, page, withdraw_path

pytestmark = pytest.mark.django_db
SAME_ANSWER = "If this address has signed, we have sent it a link"


def without_csrf_tokens(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


def manage_link_path(message) -> str:
    match = re.search(r"https?://\S+/manage/[^/\s]+/", message.body)
    assert match, "the email has no manage link"
    return urlsplit(match.group(0)).path


# --- Asking for a link --------------------------------------------------------------------


def test_the_request_page_asks_for_an_email_address(client):
    response = client.get("/manage/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    [field] = elements(page(response), "input", name="email")
    assert field["type"] == "email"
    assert elements(page(response), "label", **{"for": field["id"] or ""})


def test_a_known_and_an_unknown_address_get_exactly_the_same_answer(
    client, anna, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        known = client.post("/manage/", {"email": ADDRESS})
        unknown = client.post("/manage/", {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 200
    assert SAME_ANSWER in page(known)
    assert without_csrf_tokens(page(known)) == without_csrf_tokens(page(unknown))
    assert [message.to for message in mail.outbox] == [[ADDRESS]]


def test_the_link_goes_to_the_stored_address_for_any_spelling_of_it(
    client, anna, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/manage/", {"email": "  ANNA.KARENINA@EXAMPLE.ORG "})
    [message] = mail.outbox
    assert message.to == [ADDRESS]
    row = OutboxMessage.objects.get(kind="signature_manage_link")
    assert row.recipient_ref == f"petitions.supporter:{anna.supporter_id}"


def test_the_link_in_the_email_opens_the_manage_page(
    client, anna, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/manage/", {"email": ADDRESS})
    response = client.get(manage_link_path(mail.outbox[0]))
    assert response.status_code == 200
    assert "Anna Karenina" in page(response)


def test_a_malformed_address_is_refused_with_a_message_tied_to_the_field(client):
    response = client.post("/manage/", {"email": "not an address"})
    assert response.status_code == 422
    assert "Enter an email address like name@example.org." in page(response)
    [field] = elements(page(response), "input", name="email")
    assert field["value"] == "not an address"
    assert field["aria-invalid"] == "true"
    assert "id_email_error" in (field["aria-describedby"] or "")
    assert elements(page(response), "p", id="id_email_error")


@pytest.mark.parametrize("email", ["", "a@b\x00.org", "x" * 300 + "@example.org", "@"])
def test_odd_input_on_the_request_form_never_fails(client, email):
    response = client.post("/manage/", {"email": email})
    assert response.status_code == 422
    assert OutboxMessage.objects.count() == 0


def test_only_one_link_per_interval_is_sent(
    client, anna, settings, django_capture_on_commit_callbacks
):
    settings.MANAGE_LINK_INTERVAL_SECONDS = 120
    settings.RATE_MANAGE_ADDRESS_PER_HOUR = settings.RATE_MANAGE_IP_PER_HOUR = 10
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(4):
            response = client.post("/manage/", {"email": ADDRESS})
            assert SAME_ANSWER in page(response)
    assert len(mail.outbox) == 1
    OutboxMessage.objects.filter(kind="signature_manage_link").update(
        created_at=OutboxMessage.objects.get(kind="signature_manage_link").created_at
        - timedelta(seconds=121)
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/manage/", {"email": ADDRESS})
    assert len(mail.outbox) == 2


def test_past_the_limit_per_address_the_page_is_the_usual_one_and_no_link_is_sent(
    client, anna, settings, django_capture_on_commit_callbacks
):
    # The limit is shared by whoever types the address: a 429 would tell a stranger that
    # its owner asked this hour. The owner already got a link from the first request.
    settings.MANAGE_LINK_INTERVAL_SECONDS = 0
    settings.RATE_MANAGE_ADDRESS_PER_HOUR = 2
    settings.RATE_MANAGE_IP_PER_HOUR = 10
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        answers = [client.post("/manage/", {"email": ADDRESS}) for _ in range(4)]
    assert [response.status_code for response in answers] == [200] * 4
    assert len({without_csrf_tokens(page(response)) for response in answers}) == 1
    assert SAME_ANSWER in page(answers[-1])
    assert len(mail.outbox) == 2


def test_past_the_limit_per_client_the_page_says_so(client, settings):
    settings.RATE_MANAGE_IP_PER_HOUR = 1
    client.post("/manage/", {"email": "someone@example.org"})
    response = client.post("/manage/", {"email": "someone.else@example.org"})
    assert response.status_code == 429
    assert "Too many links have been asked for from your network" in page(response)
    assert SAME_ANSWER not in page(response)


def test_an_unknown_address_stores_nothing(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/manage/", {"email": "nobody@example.org"})
    assert Supporter.objects.count() == 0
    assert OutboxMessage.objects.count() == 0
    assert ManageLinkRequest.objects.count() == 0


# --- The manage page ----------------------------------------------------------------------


def test_the_manage_page_says_what_is_kept_and_until_when(client, petition, anna, anna_path):
    html = page(client.get(anna_path))
    assert elements(html, "h2", id="kept-heading")
    assert "while any signature of yours stands" in html
    assert "A signature you withdraw is detached from you at once" in html
    assert "the rest is deleted 7 days later" in html
    days = petition.campaign.retention_days
    assert f"while the petition is open, then {days} days after it closes" in html
    Petition.objects.filter(pk=petition.pk).update(
        status=Petition.Status.CLOSED, closed_at=timezone.now()
    )
    ends = timezone.localtime(timezone.now() + timedelta(days=days))
    assert date_format(ends, "DATE_FORMAT") in page(client.get(anna_path))


def test_after_the_last_withdrawal_the_page_gives_the_date_everything_goes(client, anna, anna_path):
    response = client.post(withdraw_path(anna_path, anna))
    html = page(client.get(response["Location"]))
    ends = timezone.localtime(timezone.now() + erasure.SUPPORTER_UNLINKED_KEEP)
    assert f"will be deleted on {date_format(ends, 'DATE_FORMAT')}" in html


def test_the_manage_page_shows_everything_stored(client, anna, anna_path, settings):
    settings.FRAUD_WINDOW_DAYS = 30
    html = page(client.get(anna_path))
    assert ADDRESS in html
    assert "Anna Karenina" in html
    assert "Lithuania" in html
    assert "Free the prisoners of conscience" in html
    assert "Confirmed" in html
    assert "Don&#x27;t show my name" in html or "Don't show my name" in html
    assert UPDATES_WORDING_VERSION in html
    assert "kept for 30 days" in html


def test_a_dropped_address_is_shown_as_not_kept(client, anna, anna_path):
    Supporter.objects.filter(pk=anna.supporter_id).update(email="")
    html = page(client.get(anna_path))
    assert "Not kept: only a keyed hash" in html
    assert ADDRESS not in html


def test_token_pages_are_never_cached_indexed_or_referred(client, anna_path):
    response = client.get(anna_path)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert response["X-Robots-Tag"].startswith("noindex")
    assert response["Referrer-Policy"] == "same-origin"


def test_names_and_titles_on_the_manage_page_are_escaped(client):
    payload = "<script>alert(1)</script>"
    petition = petition_create(title=f"Title {payload}")
    signature = signature_create(petition=petition, name=f"Eve {payload}", email="eve@example.org")
    assert signature.supporter is not None
    html = page(client.get(manage_path(signature.supporter)))
    assert payload not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_forged_link_is_refused(client, anna_path):
    token = anna_path.split("/")[2]
    response = client.get(f"/manage/{token[:-2]}xx/")
    assert response.status_code == 400
    assert "This link is not valid" in page(response)
    assert "no-store" in response["Cache-Control"]
    assert response["X-Robots-Tag"].startswith("noindex")


def test_a_confirmation_link_token_does_not_open_the_manage_page(client, anna):
    token = tokens.confirm_token_make(str(anna.supporter.public_id))
    assert client.get(f"/manage/{token}/").status_code == 400


def test_an_expired_link_offers_a_new_one(client, anna, monkeypatch):
    then = time.time() - tokens.MANAGE_TOKEN_MAX_AGE_SECONDS - 1
    with monkeypatch.context() as patch:
        patch.setattr(signing.time, "time", lambda: then)
        token = manage_links.manage_token_make(supporter=anna.supporter)
    response = client.get(f"/manage/{token}/")
    assert response.status_code == 400
    assert "This link has expired" in page(response)
    assert elements(page(response), "form", action="/manage/")
    assert "Anna" not in page(response)


def test_a_link_just_inside_its_lifetime_still_works(client, anna, monkeypatch):
    then = time.time() - tokens.MANAGE_TOKEN_MAX_AGE_SECONDS + 60
    with monkeypatch.context() as patch:
        patch.setattr(signing.time, "time", lambda: then)
        token = manage_links.manage_token_make(supporter=anna.supporter)
    assert client.get(f"/manage/{token}/").status_code == 200


@pytest.mark.parametrize("path", ["/manage/%00/", "/manage/..%2F/", "/manage/" + "a" * 5000 + "/"])
def test_garbage_tokens_are_refused_without_an_error(client, path):
    assert client.get(path).status_code in (400, 404)


# --- CSRF ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "action", ["erase/", "export/", "signatures/{sig}/withdraw/", "signatures/{sig}/display/"]
)
def test_every_change_needs_the_csrf_token(anna, anna_path, action):
    client = Client(enforce_csrf_checks=True)
    path = anna_path + action.format(sig=anna.public_id)
    data = {"confirm": "on", f"{anna.public_id}-display": "full"}
    assert client.post(path, data).status_code == 403
    anna.refresh_from_db()
    assert anna.status == Signature.Status.CONFIRMED
    assert anna.display == Signature.Display.HIDDEN


def test_every_form_on_the_manage_page_posts_with_a_csrf_token(client, anna_path):
    html = page(client.get(anna_path))
    forms = html.split("<form")[1:]
    assert len(forms) >= 5
    for form in forms:
        body = form.split("</form>")[0]
        assert 'method="post"' in body
        assert "csrfmiddlewaretoken" in body


# --- Links to the page --------------------------------------------------------------------


def test_the_footer_links_to_the_manage_page(client, petition):
    html = page(client.get(f"/c/{petition.campaign.slug}/"))
    assert elements(html, "a", href="/manage/")


@pytest.mark.parametrize("page_name", ["thanks", "confirmed"])
def test_the_thanks_and_confirmed_pages_link_to_the_manage_page(client, petition, page_name):
    html = page(client.get(f"/p/{petition.slug}/{page_name}/"))
    assert "Manage or withdraw your signature" in html


def test_what_is_kept_is_said_in_russian_with_russian_plurals(anna_path):
    html = page(Client(HTTP_ACCEPT_LANGUAGE="ru").get(anna_path))
    assert "Что мы храним и до какого времени" in html
    assert "удаляется через 7 дней" in html
