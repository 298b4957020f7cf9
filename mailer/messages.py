"""What goes into each kind of email: one context builder per ``OutboxMessage.Kind``.

Templates live in ``templates/emails/<kind>.subject.txt``, ``.txt`` and ``.html``.
Adding an email type: a Kind, a builder here, the three templates, and an entry point in
``mailer/services.py`` (see docs/emails.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.urls import reverse

from mailer.models import OutboxMessage
from petitions import tokens

ContextBuilder = Callable[[OutboxMessage], dict[str, Any]]


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def _signature_context(message: OutboxMessage) -> dict[str, Any]:
    # No name: anyone can type anyone's address into the sign form, so mail about a
    # signature carries nothing the person who typed it chose (no relaying their words).
    signature = message.signature
    assert signature is not None, "a signature email needs its signature"
    petition = signature.petition
    return {
        "petition": petition,
        "campaign": petition.campaign,
        "organisation": petition.campaign.organisation,
        "petition_url": absolute_url(reverse("campaign", args=[petition.campaign.slug])),
    }


def signature_confirm_context(message: OutboxMessage) -> dict[str, Any]:
    context = _signature_context(message)
    attempt = message.sign_attempt
    assert attempt is not None, "a confirmation email needs its sign attempt"
    # The token is signed at send time (SECRET_KEY_FALLBACKS covers a rotation after it);
    # the code is the attempt's own random one, which no key rotation touches.
    token = tokens.confirm_token_make(str(attempt.public_id))
    context |= {
        "confirm_url": absolute_url(reverse("signature-confirm", args=[token])),
        "code": tokens.confirm_code_display(attempt.confirm_code),
        "code_url": absolute_url(
            reverse("signature-confirm-code", args=[context["petition"].slug])
        ),
        "max_age_days": settings.CONFIRM_MAX_AGE_DAYS,
    }
    return context


def signature_already_signed_context(message: OutboxMessage) -> dict[str, Any]:
    return _signature_context(message)


def signature_manage_link_context(message: OutboxMessage) -> dict[str, Any]:
    # The token is made at send time, so a message that waited for a retry still carries a
    # link that lives its full time. It names the supporter, who may have signed for
    # several organisations: the email is sent by Sbor itself (no organisation).
    supporter = message.supporter
    token = tokens.manage_token_make(str(supporter.public_id))
    return {
        "name": supporter.name,
        "manage_url": absolute_url(reverse("signature-manage", args=[token])),
        "request_url": absolute_url(reverse("signature-manage-request")),
        "max_age_hours": tokens.MANAGE_TOKEN_MAX_AGE_SECONDS // 3600,
        "organisation": None,
    }


BUILDERS: dict[str, ContextBuilder] = {
    OutboxMessage.Kind.SIGNATURE_CONFIRM: signature_confirm_context,
    OutboxMessage.Kind.SIGNATURE_ALREADY_SIGNED: signature_already_signed_context,
    OutboxMessage.Kind.SIGNATURE_MANAGE_LINK: signature_manage_link_context,
}
