"""Writing an update: checking what the organiser wrote, creating, editing, deleting drafts."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.access import Action, access_check
from campaigns.models import Campaign
from campaigns.services import markdown_render_detailed
from petitions.models import Petition
from updates.models import BODY_MAX_LENGTH, SUBJECT_MAX_LENGTH, Update

# Characters no email can carry as text (NUL and the other C0 controls but tab and newline).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TEXT = re.compile(r"<[^>]*>")


class UpdateInvalidError(ValueError):
    """What the organiser wrote cannot be sent; ``errors`` maps a field to its messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(message for messages in errors.values() for message in messages))
        self.errors = errors


class UpdateNotEditableError(Exception):
    """The update is being sent, was sent or was cancelled: it can no longer change."""


def _body_render(body: str) -> tuple[str, list[str]]:
    """The message's sanitised HTML, and what is wrong with it ([]: nothing); one parse."""
    if not body:
        return "", [_("Write the message.")]
    if len(body) > BODY_MAX_LENGTH:
        return "", [_("Keep the message to %(limit)d characters.") % {"limit": BODY_MAX_LENGTH}]
    if _CONTROL.search(body):
        return "", [_("The message holds characters emails cannot carry.")]
    try:
        # Refuses, before parsing, Markdown too costly to format.
        rendered = markdown_render_detailed(text=body)
    except ValidationError as error:
        return "", list(error.messages)
    if rendered.removed_tags:
        tags = ", ".join(f"<{name}>" for name in rendered.removed_tags)
        return "", [
            _(
                "Emails cannot carry this HTML: %(tags)s. Remove it, or write that part "
                "in Markdown (for example **bold**, [a link](https://example.org))."
            )
            % {"tags": tags}
        ]
    if not _TEXT.sub("", rendered.html).strip():
        return "", [_("Nothing would be left of the message once formatted: write some text.")]
    return rendered.html, []


def update_content_check(*, subject: str, body: str) -> tuple[str, str, str]:
    """The subject (on one line), the body and its sanitised HTML, or ``UpdateInvalidError``.

    Refused: an empty subject or message, either too long, characters an email cannot
    carry, Markdown too costly to format (``campaigns.services.markdown_problems``), and HTML
    the sanitiser would remove (``<script>``, ``<iframe>``, styles…): the organiser would
    otherwise send something other than what they wrote. The body is parsed once.
    """
    errors: dict[str, list[str]] = {}
    subject = " ".join(subject.split())
    body = body.replace("\r\n", "\n").strip()
    if not subject:
        errors.setdefault("subject", []).append(_("Write a subject."))
    elif len(subject) > SUBJECT_MAX_LENGTH:
        errors.setdefault("subject", []).append(
            _("Keep the subject to %(limit)d characters.") % {"limit": SUBJECT_MAX_LENGTH}
        )
    if _CONTROL.search(subject):
        errors.setdefault("subject", []).append(
            _("The subject holds characters emails cannot carry.")
        )
    rendered, problems = _body_render(body)
    if problems:
        errors["body"] = problems
    if errors:
        raise UpdateInvalidError(errors)
    return subject, body, rendered


def _campaign_check(*, actor: Any, campaign: Campaign) -> None:
    access_check(user=actor, organisation=campaign.organisation, action=Action.UPDATE_SEND)


def update_create(
    *,
    actor: Any,
    campaign: Campaign,
    subject: str,
    body: str,
    origin: str = Update.Origin.MANUAL,
    petition: Petition | None = None,
) -> Update:
    """A new draft update of ``campaign`` by ``actor`` (who needs ``Action.UPDATE_SEND``)."""
    _campaign_check(actor=actor, campaign=campaign)
    if petition is not None and petition.campaign_id != campaign.pk:
        raise ValueError("the petition belongs to another campaign")
    subject, body, body_html = update_content_check(subject=subject, body=body)
    return Update.objects.create(
        campaign=campaign,
        subject=subject,
        body=body,
        body_html=body_html,
        origin=origin,
        petition=petition,
        created_by=actor if getattr(actor, "pk", None) else None,
    )


def update_edit(*, actor: Any, update: Update, subject: str, body: str) -> Update:
    """Change a draft's or a scheduled update's subject and message.

    Raises ``UpdateNotEditableError`` once it is being sent (checked under a row lock, so an
    edit never slips in after the send began), ``UpdateInvalidError`` for bad content.
    """
    _campaign_check(actor=actor, campaign=update.campaign)
    subject, body, body_html = update_content_check(subject=subject, body=body)
    with transaction.atomic():
        locked = Update.objects.select_for_update().get(pk=update.pk)
        if not locked.editable:
            raise UpdateNotEditableError
        Update.objects.filter(pk=update.pk).update(
            subject=subject, body=body, body_html=body_html, updated_at=timezone.now()
        )
    update.refresh_from_db()
    return update


def update_delete(*, actor: Any, update: Update) -> bool:
    """Delete a draft; False if it is no longer a draft (nothing changes then)."""
    _campaign_check(actor=actor, campaign=update.campaign)
    deleted, _rows = Update.objects.filter(pk=update.pk, status=Update.Status.DRAFT).delete()
    return deleted > 0
