"""Outcome updates: when a petition is won or closed, or its target responds, the workspace
proposes telling the campaign's supporters, with a draft written for the organiser.

The draft is in the campaign's language and the organiser edits it before sending (or
deletes it); one draft per petition and outcome (a unique constraint: two clicks on "Tell
supporters" make one).
"""

from __future__ import annotations

import re
from typing import Any

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from campaigns.access import Action, access_check
from petitions.models import Petition
from updates.emails import absolute_url
from updates.models import Update
from updates.services.writing import update_create

# Characters Markdown reads as formatting inside a line (a title, a line of a response).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]])")


def _plain(text: str) -> str:
    """Organisers' plain text (a title, a response) made literal in Markdown."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text).replace("<", "&lt;")


def petition_outcomes(petition: Petition) -> list[str]:
    """The outcomes of a petition an update could tell supporters about (``Update.Origin``)."""
    outcomes: list[str] = []
    if petition.status == Petition.Status.WON:
        outcomes.append(Update.Origin.WON)
    elif petition.status == Petition.Status.CLOSED:
        outcomes.append(Update.Origin.CLOSED)
    if petition.response_recorded_at is not None and petition.response_text.strip():
        outcomes.append(Update.Origin.RESPONSE)
    return outcomes


def _outcome_text(*, petition: Petition, origin: str) -> tuple[str, str]:
    title = petition.title
    url = absolute_url(reverse("campaign", args=[petition.campaign.slug]))
    more = _("Read more on the campaign's page: %(url)s") % {"url": url}
    if origin == Update.Origin.WON:
        subject = _("We won: %(title)s") % {"title": title}
        body = _(
            "Good news: the petition “%(title)s” has won. Thank you for signing and for "
            "spreading the word: you made this happen."
        ) % {"title": _plain(title)}
    elif origin == Update.Origin.CLOSED:
        subject = _("The petition is closed: %(title)s") % {"title": title}
        body = _(
            "The petition “%(title)s” is now closed. Thank you for signing it. We will let "
            "you know what happens next."
        ) % {"title": _plain(title)}
    else:
        target = petition.target_label or petition.target_name
        subject = _("%(target)s responded: %(title)s") % {
            "target": petition.target_name,
            "title": title,
        }
        quoted = "\n".join(f"> {_plain(line)}" for line in petition.response_text.splitlines())
        body = _("%(target)s responded to the petition “%(title)s”:") % {
            "target": _plain(target),
            "title": _plain(title),
        }
        body = f"{body}\n\n{quoted}"
    return subject[:200], f"{body}\n\n{more}"


def update_propose(*, actor: Any, petition: Petition, origin: str) -> Update:
    """The draft telling supporters about ``petition``'s outcome ``origin``: made now,
    or the one made before. Raises ``ValueError`` if the petition has no such outcome."""
    campaign = petition.campaign
    access_check(user=actor, organisation=campaign.organisation, action=Action.UPDATE_SEND)
    if origin not in petition_outcomes(petition):
        raise ValueError(f"the petition has no outcome {origin!r}")
    existing = Update.objects.filter(petition=petition, origin=origin).first()
    if existing is not None:
        return existing
    with translation.override(campaign.language):
        subject, body = _outcome_text(petition=petition, origin=origin)
    try:
        with transaction.atomic():
            return update_create(
                actor=actor,
                campaign=campaign,
                subject=subject,
                body=body,
                origin=origin,
                petition=petition,
            )
    except IntegrityError:
        # Two clicks at once: the other made it.
        return Update.objects.get(petition=petition, origin=origin)
