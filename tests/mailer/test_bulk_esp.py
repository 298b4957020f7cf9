"""Bulk mail: the ESP batch path (anymail's test backend) and the shared throttle."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail

from mailer import services
from mailer.bulk.messages import BATCH_APIS
from mailer.bulk.sending import mailing_send
from mailer.models import Delivery, Mailing
from mailer.registry import BulkBatch, BulkRecipient, BulkTemplate, merge_field
from tests.bulkkind import kind as test_kind
from tests.bulkkind.kind import KIND, address, planned, ref
from tests.mailer.bulk_helpers import mailing_sending, statuses

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("bulk_kind")]
S = Delivery.Status


# --- The ESP batch path (anymail's test backend) ---------------------------------------------


def test_with_a_batch_api_a_batch_is_one_provider_call_per_language(esp):
    mailing = services.mailing_create(kind=KIND, about={"title": "News"})
    services.deliveries_add(
        mailing=mailing, recipients=planned(range(3), "en") + planned([3, 4], "ru")
    )
    Mailing.objects.filter(pk=mailing.pk).update(status=Mailing.Status.SENDING)

    report = mailing_send(mailing_id=mailing.pk)

    assert report.sent == 5
    assert len(mail.outbox) == 2
    english = next(m for m in mail.outbox if m.subject == "News (en)")
    params = english.anymail_test_params
    assert params["is_batch_send"] is True
    assert sorted(e.addr_spec for e in params["to"]) == [address(n) for n in range(3)]
    assert english.body.startswith("Hello {{name}},")
    assert 'href="{{unsubscribe_url__html}}"' in english.alternatives[0][0]
    data = params["merge_data"][address(1)]
    url = f"https://sbor.test/u/{mailing.public_id}/1/"
    assert data == {"name": "Person <1>", "unsubscribe_url": url, "name__html": "Person &lt;1&gt;",
                    "unsubscribe_url__html": url}  # fmt: skip
    assert params["merge_headers"][address(1)]["List-Unsubscribe"] == f"<{url}>"
    row = Delivery.objects.get(mailing=mailing, recipient_ref=ref(1))
    assert params["merge_metadata"][address(1)] == {"delivery": str(row.pk)}
    assert params["track_opens"] is False
    assert params["track_clicks"] is False
    assert "metadata" not in params
    assert params["extra_headers"]["Auto-Submitted"] == "auto-generated"
    assert row.status == S.SENT
    assert row.provider_message_id == str(mail.outbox.index(english))


def test_with_a_batch_api_one_address_twice_goes_in_two_calls(esp, monkeypatch):
    mailing = mailing_sending([1, 2])
    original = test_kind.build_batch

    def same_address(mailing: Mailing, deliveries: Any) -> Any:
        batch = original(mailing, deliveries)
        for key, recipient in batch.recipients.items():
            batch.recipients[key] = BulkRecipient(
                address=address(1),
                template=recipient.template,
                merge_data=recipient.merge_data,
                headers=recipient.headers,
            )
        return batch

    monkeypatch.setattr(test_kind, "active", same_address)

    mailing_send(mailing_id=mailing.pk)

    assert len(mail.outbox) == 2
    assert set(statuses(mailing).values()) == {S.SENT}


def test_with_a_batch_api_refused_recipients_fail_and_the_rest_are_sent(esp, monkeypatch):
    from anymail.message import AnymailRecipientStatus

    mailing = mailing_sending([1, 2])

    def post_to_esp(self: Any, payload: Any, message: Any) -> dict[str, Any]:
        mail.outbox.append(message)
        return {
            "recipient_status": {
                address(1): AnymailRecipientStatus(message_id="esp-1", status="queued"),
                address(2): AnymailRecipientStatus(message_id=None, status="rejected"),
            }
        }

    monkeypatch.setattr("anymail.backends.test.EmailBackend.post_to_esp", post_to_esp)

    mailing_send(mailing_id=mailing.pk)

    assert statuses(mailing) == {"1": S.SENT, "2": S.FAILED}
    assert Delivery.objects.get(recipient_ref=ref(1)).provider_message_id == "esp-1"


@pytest.mark.parametrize(
    ("status_code", "expected"),
    [(503, S.QUEUED), (400, S.FAILED), (None, S.UNKNOWN)],
    ids=["esp-503-retried", "esp-400-failed", "no-answer-in-doubt"],
)
def test_with_a_batch_api_a_failed_call_is_retried_failed_or_in_doubt(
    esp, monkeypatch, status_code, expected
):
    import requests
    from anymail.exceptions import AnymailRequestsAPIError

    mailing = mailing_sending([1, 2])

    def post_to_esp(self: Any, payload: Any, message: Any) -> None:
        if status_code is None:
            try:
                raise requests.exceptions.ReadTimeout("read timed out")
            except requests.exceptions.ReadTimeout as exc:
                raise AnymailRequestsAPIError("timed out", esp_name="Test") from exc
        response = requests.Response()
        response.status_code = status_code
        raise AnymailRequestsAPIError("no", response=response, esp_name="Test")

    monkeypatch.setattr("anymail.backends.test.EmailBackend.post_to_esp", post_to_esp)

    mailing_send(mailing_id=mailing.pk)

    assert set(statuses(mailing).values()) == {expected}


# --- The throttle, shared through Redis ------------------------------------------------------


@pytest.fixture
def redis_url(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The suite's Redis, or on the embedded defaults a throwaway redis-server of its own."""
    if settings.REDIS_URL:
        yield str(settings.REDIS_URL)
        return
    from tests.throwaway import RedisServer

    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server.url()
    finally:
        server.stop()


def test_two_limiters_share_one_budget_through_redis(redis_url):
    from mailer.bulk.throttle import RateLimiter

    key = f"test:bulk-rate:{uuid.uuid4().hex}"
    first = RateLimiter(rate=100, redis_url=redis_url, key=key)
    second = RateLimiter(rate=100, redis_url=redis_url, key=key)

    # A second's worth goes at once (the burst); the next second's worth waits its turn,
    # whichever worker asks.
    assert first.reserve(100) == pytest.approx(0.0, abs=0.05)
    assert second.reserve(50) == pytest.approx(0.5, abs=0.05)
    assert first.reserve(50) == pytest.approx(1.0, abs=0.05)
    alone = RateLimiter(rate=100, redis_url=redis_url, key=key + ":other")
    assert alone.reserve(100) == pytest.approx(0.0, abs=0.05)


def test_without_redis_a_limiter_keeps_to_its_share_and_says_so_once(settings, caplog):
    from mailer.bulk.throttle import RateLimiter

    settings.MAILER_BULK_TASKS = 2
    limiter = RateLimiter(rate=100, redis_url="redis://127.0.0.1:1/0")

    # Its share: 50 a second.
    assert limiter.reserve(50) == pytest.approx(0.0, abs=0.05)
    assert limiter.reserve(50) == pytest.approx(1.0, abs=0.05)
    warnings = [r for r in caplog.records if "Redis unreachable" in r.getMessage()]
    assert len(warnings) == 1


def test_no_rate_means_no_waiting():
    from mailer.bulk.throttle import RateLimiter

    assert RateLimiter(rate=0, redis_url="redis://127.0.0.1:1/0").reserve(10_000) == 0.0


def test_a_rate_makes_batches_no_larger_than_a_second_of_it(settings):
    from mailer.bulk.sending import batch_size

    settings.MAILER_BULK_RATE = 14
    assert batch_size() == 14
    settings.MAILER_BULK_RATE = 0
    assert batch_size() == settings.MAILER_BULK_BATCH_SIZE


def test_with_a_batch_api_a_call_holds_at_most_the_call_size(esp, settings):
    settings.MAILER_BULK_BATCH_SIZE = 10
    settings.MAILER_BULK_CALL_SIZE = 4
    mailing = mailing_sending(range(10))

    mailing_send(mailing_id=mailing.pk)

    # One claim and one builder call; three provider calls, the most one crash can doubt.
    assert test_kind.calls == [10]
    assert sorted(len(message.to) for message in mail.outbox) == [2, 4, 4]
    assert set(statuses(mailing).values()) == {S.SENT}


# --- Mailgun: the real ESP family wired to the batch path -----------------------------------


def test_with_mailgun_a_batch_is_one_api_call_with_recipient_variables(settings, monkeypatch):
    import requests

    settings.EMAIL_BACKEND = "anymail.backends.mailgun.EmailBackend"
    settings.ANYMAIL = {"MAILGUN_API_KEY": "key-test", "MAILGUN_SENDER_DOMAIN": "mg.example.org"}
    calls: list[dict[str, Any]] = []

    def request(self: Any, method: str, url: str, **kwargs: Any) -> requests.Response:
        calls.append({"url": url, **kwargs})
        response = requests.Response()
        response.status_code = 200
        response._content = b'{"id": "<20261130.1@mg.example.org>", "message": "Queued."}'
        return response

    monkeypatch.setattr(requests.Session, "request", request)
    mailing = mailing_sending([1, 2])

    mailing_send(mailing_id=mailing.pk)

    assert len(calls) == 1
    data = dict(calls[0]["data"])
    assert calls[0]["url"].endswith("/mg.example.org/messages")
    assert data["text"].startswith("Hello %recipient.name%,")
    assert 'href="%recipient.unsubscribe_url__html%"' in data["html"]
    assert data["o:tracking-opens"] == "no"
    assert data["o:tracking-clicks"] == "no"
    variables = json.loads(data["recipient-variables"])
    url = f"https://sbor.test/u/{mailing.public_id}/1/"
    one = variables[address(1)]
    assert one["name"] == "Person <1>"
    assert one["name__html"] == "Person &lt;1&gt;"
    assert one["unsubscribe_url"] == url
    assert one["h:List-Unsubscribe"] == f"<{url}>"
    assert one["v:delivery"] == str(Delivery.objects.get(recipient_ref=ref(1)).pk)
    # Each recipient's own header, through Mailgun's per-recipient substitution.
    assert data["h:List-Unsubscribe"] == "%recipient.h:List-Unsubscribe%"
    assert set(statuses(mailing).values()) == {S.SENT}
    assert set(
        Delivery.objects.filter(mailing=mailing).values_list("provider_message_id", flat=True)
    ) == {"<20261130.1@mg.example.org>"}


# --- Organisers' text in the ESP's own syntax stays text ------------------------------------

# What an organiser could write to make the ESP fill in someone's data: every recipient
# variable anymail sends (our fields, their escaped forms, the delivery id, the headers),
# Mailgun's mailing-list and unsubscribe variables, and the same glued onto our own fields.
MAILGUN_BAIT = (
    "%recipient.unsubscribe_url% %recipient.name__html% %RECIPIENT.name% "
    "%recipient.v:delivery% %recipient.h:List-Unsubscribe% %recipient% %recipient_email% "
    "%unsubscribe_url% %tag_unsubscribe_url% %mailing_list_unsubscribe_url%"
)
TEST_BAIT = "{{unsubscribe_url}} {{name__html}} {{{name}}} { {"


def _bait_batch(bait: str) -> Any:
    """The test kind's builder, with ``bait`` in the subject, text, HTML and values."""
    original = test_kind.build_batch
    name = merge_field("name")
    unsubscribe = merge_field("unsubscribe_url")

    def build(mailing: Mailing, deliveries: Any) -> Any:
        batch = original(mailing, deliveries)
        templates = {
            language: BulkTemplate(
                subject=f"{bait} {name}",
                # Glued on either side of our fields: "%" + ours, ours + "recipient.x%".
                text=f"{bait}\n%{name}{bait[1:]}\n{unsubscribe}{bait[1:]}{{\n",
                html=f'<p>{bait}</p><p>%{name}{bait[1:]}</p><a href="https://evil.test/?t={bait}'
                f'">x</a><a href="{unsubscribe}">{bait[1:]}</a>{{',
            )
            for language in batch.templates
        }
        recipients = {
            key: recipient
            and BulkRecipient(
                address=recipient.address,
                template=recipient.template,
                merge_data={**recipient.merge_data, "name": bait},
                headers=recipient.headers,
            )
            for key, recipient in batch.recipients.items()
        }
        return BulkBatch(templates=templates, recipients=recipients)

    return build


def _live(part: str, opening: str) -> int:
    """How many places in ``part`` the ESP would read as a reference (overlaps counted)."""
    return len(re.findall(f"(?=({re.escape(opening)}))", part, flags=re.IGNORECASE))


def _references(part: str, pattern: str) -> list[str]:
    """The names the ESP would fill in ``part``, overlaps counted, in order."""
    return re.findall(f"(?=(?:{pattern}))", part, flags=re.IGNORECASE)


def test_with_mailgun_an_organisers_recipient_variables_stay_text(settings, monkeypatch):
    import requests

    settings.EMAIL_BACKEND = "anymail.backends.mailgun.EmailBackend"
    settings.ANYMAIL = {"MAILGUN_API_KEY": "key-test", "MAILGUN_SENDER_DOMAIN": "mg.example.org"}
    calls: list[dict[str, Any]] = []

    def request(self: Any, method: str, url: str, **kwargs: Any) -> requests.Response:
        calls.append(dict(kwargs["data"]))
        response = requests.Response()
        response.status_code = 200
        response._content = b'{"id": "<20261130.2@mg.example.org>", "message": "Queued."}'
        return response

    monkeypatch.setattr(requests.Session, "request", request)
    monkeypatch.setattr(test_kind, "active", _bait_batch(MAILGUN_BAIT))
    mailing = mailing_sending([1, 2])

    mailing_send(mailing_id=mailing.pk)

    data = calls[0]
    # Only the references the mailer made: one in the subject, two in each body.
    assert _live(data["subject"], "%recipient") == 1
    assert data["subject"].endswith(" %recipient.name%")
    assert _live(data["text"], "%recipient") == 2
    assert "%%recipient.name%" in data["text"]
    assert "%recipient.unsubscribe_url%" in data["text"]
    assert _live(data["html"], "%recipient") == 2
    assert "%%recipient.name__html%" in data["html"]
    assert 'href="%recipient.unsubscribe_url__html%"' in data["html"]
    # The HTML part refers to escaped values only, the text part to plain ones only.
    mailgun = r"%recipient\.([^%]*)%"
    assert _references(data["subject"], mailgun) == ["name"]
    assert _references(data["text"], mailgun) == ["name", "unsubscribe_url"]
    assert _references(data["html"], mailgun) == ["name__html", "unsubscribe_url__html"]
    for part in (data["subject"], data["text"], data["html"]):
        assert not re.search(r"%[a-z_]*unsubscribe", part, flags=re.IGNORECASE)
    # What the organiser wrote still reads as written.
    assert "%\u200drecipient.unsubscribe_url%" in data["text"]
    assert "https://evil.test/?t=&#37;recipient.unsubscribe_url%" in data["html"]
    # Values hold nothing to fill in either, should Mailgun look at them again.
    variables = json.loads(data["recipient-variables"])[address(1)]
    assert _live(variables["name"], "%recipient") == 0
    assert _live(variables["name__html"], "%recipient") == 0
    assert set(statuses(mailing).values()) == {S.SENT}


def test_with_the_test_backend_an_organisers_merge_syntax_stays_text(esp, monkeypatch):
    monkeypatch.setattr(test_kind, "active", _bait_batch(TEST_BAIT))
    mailing = mailing_sending([1])

    mailing_send(mailing_id=mailing.pk)

    (message,) = mail.outbox
    html = message.alternatives[0][0]
    assert _live(message.subject, "{{") == 1
    assert message.subject.endswith(" {{name}}")
    assert _live(message.body, "{{") == 2
    assert "{{unsubscribe_url}}" in message.body
    assert "{{{" not in message.body
    assert _live(html, "{{") == 2
    assert 'href="{{unsubscribe_url__html}}"' in html
    assert "{{{" not in html
    handlebars = r"\{\{([^}]*)\}\}"
    assert _references(message.subject, handlebars) == ["name"]
    assert _references(message.body, handlebars) == ["name", "unsubscribe_url"]
    assert _references(html, handlebars) == ["name__html", "unsubscribe_url__html"]
    data = message.anymail_test_params["merge_data"][address(1)]
    assert _live(data["name"], "{{") == 0
    assert _live(data["name__html"], "{{") == 0
    assert statuses(mailing) == {"1": S.SENT}


@pytest.mark.parametrize("api", BATCH_APIS.values(), ids=lambda api: api.name)
@pytest.mark.parametrize("html", [False, True], ids=["text", "html"])
def test_every_batch_api_makes_its_own_references_inert(api, html):
    reference = api.field("unsubscribe_url")
    alone = api.neutralise(reference, html=html, after_field=False)
    glued = api.field("name") + api.neutralise(reference[1:], html=html, after_field=True)

    assert reference not in alone
    assert reference not in glued
    assert api.neutralise("plain words", html=html, after_field=True) == "plain words"
