"""The update email: per-recipient headers and links, text and HTML, why and how to stop."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client
from django.utils import translation

from mailer.models import Delivery
from mailer.registry import BulkDelivery, bulk_email_type_get
from petitions.services import subscriptions
from tests.factories import tasks_run_on_commit
from tests.updates.conftest import signer
from updates import emails, services
from updates.models import Update
from updates.tokens import subscription_token_read

pytestmark = pytest.mark.django_db


def sent_update(campaign, organiser, **fields) -> Update:
    fields.setdefault("subject", "News from the court")
    fields.setdefault(
        "body", "The hearing is **tomorrow**.\n\n[Read more](https://example.org/more)"
    )
    update = services.update_create(actor=organiser, campaign=campaign, **fields)
    with tasks_run_on_commit():
        services.update_send(actor=organiser, update=update)
    update.refresh_from_db()
    return update


def batch_of(update: Update):
    """What the builder gives the mailer for all of the update's deliveries, as one batch."""
    deliveries = [
        BulkDelivery(id=row.pk, recipient_ref=row.recipient_ref, language=row.language)
        for row in Delivery.objects.filter(mailing=update.mailing).order_by("pk")
    ]
    build = bulk_email_type_get(kind=emails.CAMPAIGN_UPDATE).build_batch
    return deliveries, build(update.mailing, deliveries)


@dataclass
class Received:
    subject: str
    text: str
    html: str
    headers: dict[str, str]


def messages_of(update: Update) -> dict[str, Received]:
    """The messages the mailer sent (its bulk tasks ran eagerly), by address."""
    assert Delivery.objects.filter(mailing=update.mailing, status=Delivery.Status.SENT).exists()
    out = {}
    for sent in mail.outbox:
        # As the recipient's mail program reads it: the bytes on the wire, parsed.
        parsed = email.message_from_bytes(sent.message().as_bytes(), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        text = parsed.get_body(preferencelist=("plain",))
        html = parsed.get_body(preferencelist=("html",))
        assert text is not None and html is not None
        out[sent.to[0]] = Received(
            subject=str(parsed["Subject"]),
            text=text.get_content(),
            html=html.get_content(),
            headers={name: str(parsed[name]).strip() for name in sent.extra_headers},
        )
    return out


def test_every_recipient_gets_their_own_one_click_unsubscribe_headers(
    campaign, petition, organiser
):
    anna, boris = (
        signer(petition, email="anna@example.org"),
        signer(petition, email="boris@example.org"),
    )
    update = sent_update(campaign, organiser)

    messages = messages_of(update)

    anna_headers = messages["anna@example.org"].headers
    boris_headers = messages["boris@example.org"].headers
    assert anna_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert anna_headers["List-Unsubscribe"] != boris_headers["List-Unsubscribe"]
    for person, headers in ((anna, anna_headers), (boris, boris_headers)):
        url = re.fullmatch(
            r"<(http://testserver|https?://[^/]+)/u/([^/]+)/one-click/>",
            headers["List-Unsubscribe"],
        )
        assert url, headers["List-Unsubscribe"]
        ref = subscription_token_read(url.group(2))
        assert ref.supporter_public_id == person.public_id
        assert ref.campaign_public_id == campaign.public_id
        assert "@" not in url.group(2)
        assert headers["List-Id"] == f'"Free the Five" <{campaign.public_id}.updates.127.0.0.1>'


def test_the_list_id_of_a_non_ascii_title_is_an_encoded_phrase_before_the_label(campaign, settings):
    settings.SITE_URL = "https://sbor.example"
    campaign.title = "Свободу «пятерым»"

    value = emails.list_id(campaign=campaign)

    phrase, label = value.rsplit(" ", 1)
    assert value.isascii()
    assert label == f"<{campaign.public_id}.updates.sbor.example>"
    assert str(make_header(decode_header(phrase))) == "Свободу «пятерым»"


def test_a_title_with_quotes_stays_one_quoted_phrase(campaign):
    campaign.title = 'The "Five" \\ others'

    assert emails.list_id(campaign=campaign).startswith('"The \\"Five\\" \\\\ others" <')


def test_text_and_html_parts_say_why_and_how_to_stop(campaign, petition, organiser):
    signer(petition, email="anna@example.org")
    update = sent_update(campaign, organiser)

    message = messages_of(update)["anna@example.org"]

    assert message.subject == "News from the court"
    why = (
        "You get this email because you signed “Release the Five” and agreed to hear from "
        f"{campaign.organisation.name} about Free the Five."
    )
    assert why in message.text
    assert why in message.html
    assert "The hearing is **tomorrow**." in message.text
    assert "<strong>tomorrow</strong>" in message.html
    assert (
        '<a href="https://example.org/more" rel="noopener noreferrer nofollow">Read more</a>'
        in message.html
    )
    unsubscribe = re.search(r"http://\S+/u/\S+/(?=\s)", message.text).group(0)
    assert unsubscribe in message.html
    assert "/one-click/" not in unsubscribe
    assert "Stop these updates" in message.html
    assert "/preferences/" in message.text and "/preferences/" in message.html


def test_what_organisers_write_is_escaped_in_html_and_left_as_written_in_text(
    campaign, petition, organiser
):
    signer(petition, email="anna@example.org")
    petition.title = 'Free <b>"all"</b> & more'
    petition.save()
    campaign.title = "Five <i>& co</i>"
    campaign.save()
    update = sent_update(
        campaign, organiser, subject='Court <script>alert("x")</script> & us', body="Fish & *chips*"
    )

    message = messages_of(update)["anna@example.org"]

    assert message.subject == 'Court <script>alert("x")</script> & us'
    assert "<script>" not in message.html
    assert "Court &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; us" in message.html
    assert "Free &lt;b&gt;&quot;all&quot;&lt;/b&gt; &amp; more" in message.html
    assert "Five &lt;i&gt;&amp; co&lt;/i&gt;" in message.html
    assert "Fish &amp; <em>chips</em>" in message.html
    assert 'signed “Free <b>"all"</b> & more”' in message.text
    assert "Fish & *chips*" in message.text


def test_a_merge_field_typed_by_an_organiser_reaches_people_as_written(
    campaign, petition, organiser
):
    signer(petition, email="anna@example.org")
    update = sent_update(
        campaign, organiser, subject="[[sbor:unsubscribe_url]]", body="See [[sbor:nothing]] here"
    )

    message = messages_of(update)["anna@example.org"]

    assert message.subject == "[[\u200bsbor:unsubscribe_url]]"
    assert "See [[\u200bsbor:nothing]] here" in message.text


def test_the_batch_renders_each_language_once_and_in_that_language(campaign, petition, organiser):
    signer(petition, email="anna@example.org", language="en")
    signer(petition, email="ivan@example.org", language="ru")
    signer(petition, email="olga@example.org", language="ru")
    update = sent_update(campaign, organiser)

    _deliveries, batch = batch_of(update)
    messages = messages_of(update)

    assert set(batch.templates) == {"en", "ru"}
    ivan = messages["ivan@example.org"]
    assert "Вы получили это письмо, потому что подписали «Release the Five»" in ivan.text
    assert "Вы получили это письмо, потому что подписали «Release the Five»" in ivan.html
    assert 'lang="ru"' in ivan.html
    assert "Отказаться от этих новостей" in ivan.html


def test_someone_who_unsubscribed_after_planning_is_skipped_at_send_time(
    campaign, petition, organiser
):
    signer(petition, email="anna@example.org")
    boris = signer(petition, email="boris@example.org")
    update = sent_update(campaign, organiser)
    subscriptions.updates_unsubscribe(supporter=boris, campaign_id=campaign.pk)

    deliveries, batch = batch_of(update)

    addresses = {
        recipient.address if recipient else None for recipient in batch.recipients.values()
    }
    assert addresses == {"anna@example.org", None}
    assert set(batch.recipients) == {delivery.id for delivery in deliveries}


def test_the_preview_is_the_sent_email_with_links_that_change_nothing(
    campaign, petition, organiser
):
    update = services.update_create(actor=organiser, campaign=campaign, subject="Hi", body="Body")

    with translation.override("en"):
        rendered = emails.update_render_sample(update=update, language="ru")

    assert "потому что подписали «Release the Five»" in rendered.text
    token = re.search(r"/u/([^/]+)/one-click/", rendered.headers["List-Unsubscribe"]).group(1)
    assert subscription_token_read(token).campaign_public_id == campaign.public_id


def test_posting_the_list_unsubscribe_url_keeps_the_next_update_from_them(
    campaign, petition, organiser
):
    signer(petition, email="anna@example.org")
    signer(petition, email="boris@example.org")
    first = sent_update(campaign, organiser, subject="First")
    one_click = messages_of(first)["anna@example.org"].headers["List-Unsubscribe"].strip("<>")
    mail_client = Client(enforce_csrf_checks=True)  # a mail provider: no cookie, no CSRF

    answer = mail_client.post(
        urlsplit(one_click).path,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    mail.outbox.clear()
    second = sent_update(campaign, organiser, subject="Second")

    assert answer.status_code == 200
    assert [email.to[0] for email in mail.outbox] == ["boris@example.org"]
    assert second.audience_size == 1
