"""The emails petitions sends: their kinds, what goes into each, and how they are queued.

Each type is registered with the mailer (``mailer.registry``) in ``PetitionsConfig.ready``:
the mailer stores rows, sends and retries them, and at send time hands each row back to
the builder here, which reads the supporter's address and the template context. Templates
live in ``templates/emails/<kind>.subject.txt``, ``.txt`` and ``.html``. See
docs/emails.md.

Rows name their recipient ``petitions.supporter:<id>`` and are about
``{"petition": "<id>", "signature": "<id>", "sign_attempt": "<id>"}`` (whichever apply;
ids as strings, see ``mailer.models.AboutKey``; a reminder also says which one it is,
``"reminder": "1"``). The outbox
holds no foreign keys, so whoever deletes a supporter, signature, attempt or petition
deletes its mail here too (``supporters_mail_delete`` and the mailer's
``outbox_messages_delete``).

Bulk mailings to a campaign's supporters (its updates, made by a feature app above this
one) name the campaign in their ``about`` (``CAMPAIGN_ABOUT_KEY``), and their deliveries
name supporters as above: when people are released from a campaign (its lockdown, the
anonymisation of its petitions, a withdrawal), ``supporters_campaign_mail_delete`` deletes
the rows that would still say they were on its list.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import CharField, Expression, OuterRef, Value
from django.db.models.functions import Cast, Concat
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from mailer import services as mailer
from mailer.models import OutboxMessage
from mailer.registry import Envelope, email_type_register
from petitions import tokens
from petitions.models import SignAttempt, Signature, Supporter

SIGNATURE_CONFIRM = "signature_confirm"
SIGNATURE_CONFIRM_REMINDER = "signature_confirm_reminder"
SIGNATURE_ALREADY_SIGNED = "signature_already_signed"
SIGNATURE_MANAGE_LINK = "signature_manage_link"

_SUPPORTER_REF = "petitions.supporter:"
# The key of a bulk mailing's ``about`` that names the campaign whose supporters it goes to.
CAMPAIGN_ABOUT_KEY = "campaign"


def supporter_ref(*, supporter_id: int) -> str:
    """How outbox rows name a supporter as their recipient."""
    return f"{_SUPPORTER_REF}{supporter_id}"


def supporter_ref_expression(*, supporter_pk: Any = None) -> Expression:
    """``supporter_ref`` in SQL, by default of ``OuterRef("pk")`` (for ``Exists`` over people)."""
    pk = OuterRef("pk") if supporter_pk is None else supporter_pk
    return Concat(Value(_SUPPORTER_REF), Cast(pk, output_field=CharField()))


def supporter_id_from_ref(recipient_ref: str) -> int | None:
    """The supporter id a ``supporter_ref`` names; None for any other reference."""
    prefix, _, supporter_id = recipient_ref.partition(":")
    if f"{prefix}:" != _SUPPORTER_REF or not supporter_id.isdigit():
        return None
    return int(supporter_id)


def _supporter_of(message: OutboxMessage) -> Supporter | None:
    supporter_id = supporter_id_from_ref(message.recipient_ref)
    if supporter_id is None:
        raise ValueError("not a petitions message")
    return Supporter.objects.filter(pk=supporter_id).first()


def supporters_mail_delete(*, supporter_ids: Collection[int]) -> int:
    """Delete every outbox row and bulk delivery to these supporters (when they are
    deleted); returns how many outbox rows went."""
    refs = [supporter_ref(supporter_id=pk) for pk in supporter_ids]
    # An update planned for them is not sent to them (the builder would skip them anyway),
    # and no row keeps saying that they were on a campaign's list.
    mailer.deliveries_delete(recipient_refs=refs)
    return mailer.outbox_messages_delete(recipient_refs=refs)


def supporters_campaign_mail_delete(
    *, campaign_id: int, supporter_ids: Collection[int] | None = None
) -> int:
    """Delete the deliveries of mailings about the campaign (its updates) to these
    supporters, or to everyone when ``supporter_ids`` is None; returns how many.

    A delivery row (recipient, address digest) of a mailing about the campaign says the
    person supported it; the mailing keeps only its numbers (``mailer.bulk.removal``).
    """
    refs = None
    if supporter_ids is not None:
        refs = [supporter_ref(supporter_id=pk) for pk in supporter_ids]
        if not refs:
            return 0
    return mailer.deliveries_delete(
        about_key=CAMPAIGN_ABOUT_KEY, about_ids=[campaign_id], recipient_refs=refs
    )


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


# --- What goes into each email (read at send time) ----------------------------------------


def _signature_envelope(message: OutboxMessage) -> Envelope | None:
    # No name: anyone can type anyone's address into the sign form, so mail about a
    # signature carries nothing the person who typed it chose (no relaying their words).
    supporter = _supporter_of(message)
    if supporter is None or not supporter.email:
        return None
    signature = Signature.objects.select_related("petition__campaign__organisation").get(
        pk=int(message.about["signature"])
    )
    petition = signature.petition
    return Envelope(
        address=supporter.email,
        context={
            "petition": petition,
            "campaign": petition.campaign,
            "organisation": petition.campaign.organisation,
            "petition_url": absolute_url(reverse("campaign", args=[petition.campaign.slug])),
            # Why the person gets it and how to stop (every email says both).
            "max_age_days": settings.CONFIRM_MAX_AGE_DAYS,
            "reminders": len(settings.CONFIRM_REMINDER_DELAYS),
            "request_url": absolute_url(reverse("signature-manage-request")),
        },
    )


def signature_confirm_envelope(message: OutboxMessage) -> Envelope | None:
    envelope = _signature_envelope(message)
    if envelope is None:
        return None
    # An attempt is deleted with its unsent mail; a row without one is a bug, not a retry.
    attempt = SignAttempt.objects.get(pk=int(message.about["sign_attempt"]))
    context = envelope.context
    # The token is signed at send time (SECRET_KEY_FALLBACKS covers a rotation after it);
    # the code is the attempt's own random one, which no key rotation touches.
    token = tokens.confirm_token_make(str(attempt.public_id))
    context |= {
        "confirm_url": absolute_url(reverse("signature-confirm", args=[token])),
        "code": tokens.confirm_code_display(attempt.confirm_code),
        "code_url": absolute_url(
            reverse("signature-confirm-code", args=[context["petition"].slug])
        ),
        "expires_at": attempt.created_at + timedelta(days=settings.CONFIRM_MAX_AGE_DAYS),
    }
    return envelope


def signature_confirm_reminder_envelope(message: OutboxMessage) -> Envelope | None:
    """The confirmation email again, with the same attempt's link and code, as a reminder.

    The person may have confirmed (or the petition been locked down) between the queuing
    and the sending: then there is nothing to remind them of, and nothing is sent.
    """
    reminded = SignAttempt.objects.filter(
        pk=int(message.about["sign_attempt"]),
        confirmed_at__isnull=True,
        signature__status=Signature.Status.PENDING,
    )
    if not reminded.exists():
        return None
    envelope = signature_confirm_envelope(message)
    if envelope is not None:
        envelope.context["reminder"] = int(message.about.get("reminder") or 1)
    return envelope


def signature_already_signed_envelope(message: OutboxMessage) -> Envelope | None:
    return _signature_envelope(message)


def signature_manage_link_envelope(message: OutboxMessage) -> Envelope | None:
    # The token is made at send time, so a message that waited for a retry still carries a
    # link that lives its full time. It names the supporter, who may have signed for
    # several organisations: the email is sent by Sbor itself (no organisation).
    supporter = _supporter_of(message)
    if supporter is None or not supporter.email:
        return None
    token = tokens.manage_token_make(str(supporter.public_id))
    return Envelope(
        address=supporter.email,
        context={
            "name": supporter.name,
            "manage_url": absolute_url(reverse("signature-manage", args=[token])),
            "request_url": absolute_url(reverse("signature-manage-request")),
            "max_age_hours": tokens.MANAGE_TOKEN_MAX_AGE_SECONDS // 3600,
            "organisation": None,
        },
    )


def email_types_register() -> None:
    """Hand petitions' email types to the mailer (from ``PetitionsConfig.ready``)."""
    email_type_register(
        kind=SIGNATURE_CONFIRM,
        label=_("Confirm your signature"),
        build=signature_confirm_envelope,
    )
    email_type_register(
        kind=SIGNATURE_CONFIRM_REMINDER,
        label=_("Reminder: confirm your signature"),
        build=signature_confirm_reminder_envelope,
    )
    email_type_register(
        kind=SIGNATURE_ALREADY_SIGNED,
        label=_("You have already signed"),
        build=signature_already_signed_envelope,
    )
    email_type_register(
        kind=SIGNATURE_MANAGE_LINK,
        label=_("Link to manage your signature"),
        build=signature_manage_link_envelope,
    )


# --- Queuing (inside the business transaction) ---------------------------------------------


def _signature_email_queue(
    *,
    kind: str,
    signature: Signature,
    language: str,
    sign_attempt: SignAttempt | None = None,
    extra: dict[str, str] | None = None,
) -> OutboxMessage:
    if signature.supporter_id is None:
        raise ValueError("an anonymised signature has nobody to write to")
    about = {"petition": str(signature.petition_id), "signature": str(signature.pk)}
    if sign_attempt is not None:
        about["sign_attempt"] = str(sign_attempt.pk)
    about |= extra or {}
    return mailer.outbox_message_queue(
        kind=kind,
        recipient_ref=supporter_ref(supporter_id=signature.supporter_id),
        about=about,
        language=language,
    )


def signature_confirm_email_queue(*, sign_attempt: SignAttempt) -> OutboxMessage:
    """The email with the link and code of one sign attempt on a pending signature.

    It goes to the supporter's stored address, in the attempt's language, and names
    nothing the attempt's author typed: before the address is confirmed, the author may
    be anyone, and the email must not carry their words.
    """
    signature = sign_attempt.signature
    if signature is None:
        raise ValueError("a sign attempt is mailed once it has its signature")
    return _signature_email_queue(
        kind=SIGNATURE_CONFIRM,
        signature=signature,
        sign_attempt=sign_attempt,
        language=sign_attempt.language,
    )


def signature_confirm_reminder_email_queue(
    *, sign_attempt: SignAttempt, reminder: int
) -> OutboxMessage:
    """Reminder number ``reminder`` to confirm, carrying the attempt's own link and code.

    The caller (``petitions.services.reminders``) has claimed the reminder and counted it
    against the signature's confirmation emails.
    """
    signature = sign_attempt.signature
    if signature is None:
        raise ValueError("a sign attempt is mailed once it has its signature")
    return _signature_email_queue(
        kind=SIGNATURE_CONFIRM_REMINDER,
        signature=signature,
        sign_attempt=sign_attempt,
        language=sign_attempt.language,
        extra={"reminder": str(reminder)},
    )


def signature_already_signed_email_queue(
    *, signature: Signature, language: str | None = None
) -> OutboxMessage:
    """The email telling someone who signed again that their signature already counts.

    ``language`` is the one they used this time, which may differ from the first.
    """
    return _signature_email_queue(
        kind=SIGNATURE_ALREADY_SIGNED,
        signature=signature,
        language=language or signature.language,
    )


def signature_manage_link_email_queue(
    *, supporter: Supporter, language: str | None = None
) -> OutboxMessage:
    """The email with a link to the page where a supporter sees and manages their data.

    The caller makes sure the supporter has an address to write to (see
    ``petitions.services.manage_links.manage_link_request``).
    """
    return mailer.outbox_message_queue(
        kind=SIGNATURE_MANAGE_LINK,
        recipient_ref=supporter_ref(supporter_id=supporter.pk),
        language=language or supporter.language,
    )
