"""The update email: one bulk kind for supporters, one transactional kind for the test.

``campaign_update`` is registered with the mailer's bulk registry: at send time the mailer
hands a batch of deliveries to ``campaign_update_build_batch``, which reads the batch's
people in two queries, renders the update once per language with merge fields for what
differs per person (their unsubscribe and preferences links, the petition they signed),
and gives each person their own ``List-Unsubscribe`` headers. ``campaign_update_test``
goes through the transactional outbox to the organiser who asked for it, rendered by the
same templates with sample links that change nothing.

Templates: ``templates/emails/campaign_update.subject.txt``, ``.txt`` and ``.html``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from email.header import Header
from email.utils import quote
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from mailer import services as mailer
from mailer.bulk import messages as bulk_messages
from mailer.models import Mailing, OutboxMessage
from mailer.registry import (
    MERGE_FIELD_PATTERN,
    BulkBatch,
    BulkDelivery,
    BulkRecipient,
    BulkTemplate,
    Envelope,
    bulk_email_type_register,
    email_type_register,
    merge_field,
)
from petitions import emails as petition_emails
from petitions.selectors import audience
from updates.models import Update
from updates.tokens import subscription_token_make

if TYPE_CHECKING:
    from campaigns.models import Campaign

CAMPAIGN_UPDATE = "campaign_update"
CAMPAIGN_UPDATE_TEST = "campaign_update_test"
TEMPLATES = "emails/campaign_update"

# What differs per recipient. Everything else is rendered once per language and batch.
UNSUBSCRIBE_URL = "unsubscribe_url"
PREFERENCES_URL = "preferences_url"
PETITION_TITLE = "petition_title"
MERGE_FIELDS = (UNSUBSCRIBE_URL, PREFERENCES_URL, PETITION_TITLE)

_USER_REF = "auth.user:"


@dataclass(frozen=True)
class RenderedUpdate:
    """One update as one person receives it: subject, text and HTML, and its headers."""

    subject: str
    text: str
    html: str
    headers: dict[str, str]


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def _inert(text: str) -> str:
    """Organisers' text with anything that looks like a merge field broken up.

    The mailer fills ``[[sbor:name]]`` placeholders per recipient; a subject or message that
    happened to contain one must reach people as written, not be filled in (or fail the
    batch with a field nobody gives). A zero-width space after the brackets is invisible.
    """
    return MERGE_FIELD_PATTERN.sub(lambda match: f"[[\u200b{match.group(0)[2:]}", text)


# --- Links and headers per recipient --------------------------------------------------------


@dataclass(frozen=True)
class RecipientLinks:
    unsubscribe_url: str
    one_click_url: str
    preferences_url: str


_LINK_SLOT = "SLOT"


def _link_patterns() -> tuple[str, str, str]:
    """The three links with a slot for the token: one reverse() per batch, not per person."""
    return tuple(  # type: ignore[return-value]
        absolute_url(reverse(name, args=[_LINK_SLOT]))
        for name in ("updates:unsubscribe", "updates:one-click", "updates:preferences")
    )


def recipient_links(
    *,
    supporter_public_id: uuid.UUID,
    campaign: Campaign,
    patterns: tuple[str, str, str] | None = None,
) -> RecipientLinks:
    token = subscription_token_make(
        supporter_public_id=supporter_public_id, campaign_public_id=campaign.public_id
    )
    unsubscribe, one_click, preferences = patterns or _link_patterns()
    return RecipientLinks(
        unsubscribe_url=unsubscribe.replace(_LINK_SLOT, token),
        one_click_url=one_click.replace(_LINK_SLOT, token),
        preferences_url=preferences.replace(_LINK_SLOT, token),
    )


def list_id(*, campaign: Campaign) -> str:
    """The ``List-Id`` of a campaign's updates (RFC 2919): its title and a stable label.

    The label is the campaign's public id under ``updates.<site host>``; the title is a
    quoted phrase, or an RFC 2047 encoded word when it is not ASCII (Django would otherwise
    encode the whole header, angle brackets and all, and mail clients would not find the
    label).
    """
    host = urlsplit(settings.SITE_URL).hostname or "localhost"
    label = f"{campaign.public_id}.updates.{host}"
    title = " ".join(campaign.title.split())[:150]
    if title.isascii():
        phrase = f'"{quote(title)}"'
    else:
        phrase = Header(title, "utf-8").encode(maxlinelen=10_000)
    return f"{phrase} <{label}>"


def recipient_headers(*, links: RecipientLinks, list_id_value: str) -> dict[str, str]:
    # RFC 8058: one HTTPS link that unsubscribes on a POST with no cookies and no form;
    # the POST header tells the mail client it may send that POST itself.
    return {
        "List-Unsubscribe": f"<{links.one_click_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": list_id_value,
    }


# --- Rendering ------------------------------------------------------------------------------


def _context(*, update: Update, fields: dict[str, str], test: bool) -> dict[str, Any]:
    campaign = update.campaign
    return {
        "subject": _inert(update.subject),
        "body_text": _inert(update.body.strip()),
        # Sanitised when the update was saved (campaigns.services.markdown_render).
        "body_html": mark_safe(_inert(update.body_html)),  # noqa: S308
        "campaign_title": _inert(campaign.title),
        # What the organiser wrote is in the campaign's language, whatever the reader's.
        "campaign_language": campaign.language,
        "organisation_name": _inert(campaign.organisation.name),
        # The layout's footer ("Sent by Sbor on behalf of …") reads the organisation.
        "organisation": {"name": _inert(campaign.organisation.name)},
        "campaign_url": absolute_url(reverse("campaign", args=[campaign.slug])),
        "test": test,
        **fields,
    }


def update_template(*, update: Update, language: str) -> BulkTemplate:
    """The update in ``language`` with merge fields for what differs per recipient."""
    fields = {name: merge_field(name) for name in MERGE_FIELDS}
    context = _context(update=update, fields=fields, test=False)
    with translation.override(language):
        subject = render_to_string(f"{TEMPLATES}.subject.txt", context)
        text = render_to_string(f"{TEMPLATES}.txt", context)
        body = render_to_string(f"{TEMPLATES}.html", context)
    # A header cannot hold a newline; templates end with one.
    return BulkTemplate(subject=" ".join(subject.split()), text=text, html=body)


def _merge_data(*, links: RecipientLinks, petition_title: str) -> dict[str, str]:
    return {
        UNSUBSCRIBE_URL: links.unsubscribe_url,
        PREFERENCES_URL: links.preferences_url,
        PETITION_TITLE: petition_title,
    }


def _sample_petition_title(update: Update) -> str:
    petition = update.campaign.petitions.exclude(status="draft").order_by("created_at").first()
    return petition.title if petition is not None else update.campaign.title


def update_render_sample(*, update: Update, language: str) -> RenderedUpdate:
    """The update as a recipient in ``language`` receives it, with sample links.

    The preview uses this: the same templates as sending, filled and assembled by the
    mailer's own code (``mailer.bulk.messages``), with links made for nobody (they open a
    page saying the link is not valid).
    """
    links = recipient_links(supporter_public_id=uuid.uuid4(), campaign=update.campaign)
    recipient = BulkRecipient(
        address="supporter@example.org",
        template=language,
        merge_data=_merge_data(links=links, petition_title=_sample_petition_title(update)),
        headers=recipient_headers(links=links, list_id_value=list_id(campaign=update.campaign)),
    )
    email = bulk_messages.message_one(
        delivery_id=0,
        recipient=recipient,
        template=bulk_messages.template_compile(update_template(update=update, language=language)),
        connection=None,
        message_id="<preview@sbor>",
    )
    headers = {name: value for name, value in email.extra_headers.items() if name != "Message-ID"}
    html = next(str(content) for content, mimetype in email.alternatives if mimetype == "text/html")
    return RenderedUpdate(
        subject=str(email.subject), text=str(email.body), html=html, headers=headers
    )


# --- The bulk kind --------------------------------------------------------------------------


def campaign_update_build_batch(mailing: Mailing, deliveries: Sequence[BulkDelivery]) -> BulkBatch:
    """Everything the mailer needs to send one batch of an update (see the module's doc).

    A person who unsubscribed, withdrew, was erased or lost their address since planning
    gets ``None`` (the delivery is skipped): unsubscribing takes effect at once.
    """
    update = Update.objects.select_related("campaign__organisation").get(
        pk=int(mailing.about["update"])
    )
    campaign = update.campaign
    supporter_ids = {
        delivery.id: petition_emails.supporter_id_from_ref(delivery.recipient_ref)
        for delivery in deliveries
    }
    people = audience.update_recipients(
        campaign_id=campaign.pk,
        supporter_ids=[pk for pk in supporter_ids.values() if pk is not None],
    )
    list_id_value = list_id(campaign=campaign)
    patterns = _link_patterns()
    templates: dict[str, BulkTemplate] = {}
    recipients: dict[int, BulkRecipient | None] = {}
    for delivery in deliveries:
        supporter_id = supporter_ids[delivery.id]
        person = people.get(supporter_id) if supporter_id is not None else None
        if person is None:
            recipients[delivery.id] = None
            continue
        language = delivery.language
        if language not in templates:
            templates[language] = update_template(update=update, language=language)
        links = recipient_links(
            supporter_public_id=person.supporter_public_id, campaign=campaign, patterns=patterns
        )
        recipients[delivery.id] = BulkRecipient(
            address=person.address,
            template=language,
            merge_data=_merge_data(links=links, petition_title=person.petition_title),
            headers=recipient_headers(links=links, list_id_value=list_id_value),
        )
    return BulkBatch(templates=templates, recipients=recipients)


# --- The test email (transactional) ---------------------------------------------------------


def user_ref(*, user_id: int) -> str:
    return f"{_USER_REF}{user_id}"


def campaign_update_test_envelope(message: OutboxMessage) -> Envelope | None:
    prefix, _, user_id = message.recipient_ref.partition(":")
    if f"{prefix}:" != _USER_REF or not user_id.isdigit():
        raise ValueError("not an update test message")
    user = get_user_model().objects.filter(pk=int(user_id)).first()
    update = (
        Update.objects.select_related("campaign__organisation")
        .filter(pk=int(message.about["update"]))
        .first()
    )
    address = getattr(user, "email", "")
    if user is None or update is None or not address:
        return None
    links = recipient_links(supporter_public_id=uuid.uuid4(), campaign=update.campaign)
    fields = _merge_data(links=links, petition_title=_sample_petition_title(update))
    return Envelope(address=address, context=_context(update=update, fields=fields, test=True))


def update_test_email_queue(*, update: Update, user_id: int, language: str) -> OutboxMessage:
    return mailer.outbox_message_queue(
        kind=CAMPAIGN_UPDATE_TEST,
        recipient_ref=user_ref(user_id=user_id),
        about={"update": str(update.pk)},
        language=language,
    )


def email_types_register() -> None:
    """Hand the update's email kinds to the mailer (from ``UpdatesConfig.ready``)."""
    bulk_email_type_register(
        kind=CAMPAIGN_UPDATE,
        label=_("Update to a campaign's supporters"),
        build_batch=campaign_update_build_batch,
    )
    email_type_register(
        kind=CAMPAIGN_UPDATE_TEST,
        label=_("Test of an update, to its author"),
        build=campaign_update_test_envelope,
        templates=TEMPLATES,
    )
