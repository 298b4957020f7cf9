"""Writing a campaign in the workspace: create, edit, publish, close, win, duplicate.

Every function takes the acting member (``actor``), checks their right in the campaign's
organisation (``campaigns.access``) and records what they did in the audit log, in the same
transaction as the change. Bad input raises ``ValidationError`` keyed by field, a step the
campaign's status does not allow raises ``CampaignStatusError``; either way nothing changes.

The lifecycle::

    draft ──publish──▶ published ──close──▶ closed
                           │                  │
                           └───────win────────┴──▶ won

A campaign is public from the moment it is published until forever: closing and winning
keep its page up (with the count and the story) and only stop signing. A closed or won
campaign is never reopened: its petitions may already be counting down to the anonymisation
of their signers (retention starts when a petition closes), and a reopened campaign would
mix two collections under one count. To campaign again, duplicate it. A campaign may be won
after it closed, as the answer often comes once the signatures were handed over.

Closing and winning here change the campaign only. Its petitions live in ``petitions``,
above this app, which wraps these two in ``petitions.services.campaign_lifecycle`` to close
the open petitions in the same transaction: call that, not these, to end a campaign.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from campaigns.access import Action, access_check
from campaigns.models import AuditEntry, Campaign, Organisation
from campaigns.services import campaign_save
from campaigns.services.audit import audit_record
from common.slugs import slug_from_text

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

SLUG_MAX_LENGTH = 80  # Campaign.slug's max_length
# A suggested slug leaves room for a "-2", "-3", … should the address be taken.
SLUG_SUGGESTED_LENGTH = 60
SLUG_FALLBACK = "campaign"
RETENTION_DAYS_MAX = 3650
# The texts a member edits; ``campaign_update`` records which of them changed.
EDITABLE_FIELDS = ("title", "slug", "summary", "body", "language", "retention_days")


class CampaignStatusError(ValueError):
    """The campaign's status does not allow this step; ``message`` says why to the member."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- Addresses ----------------------------------------------------------------------------


def slug_free(*, base: str, exclude: Campaign | None = None) -> str:
    """``base`` if no other campaign uses it, else the first free "<base>-2", "<base>-3", …"""
    base = base[:SLUG_MAX_LENGTH].strip("-") or SLUG_FALLBACK
    others = Campaign.objects.all()
    if exclude is not None and exclude.pk is not None:
        others = others.exclude(pk=exclude.pk)
    taken = set(others.filter(slug__startswith=base[:40]).values_list("slug", flat=True))
    if base not in taken:
        return base
    for number in itertools.count(2):
        suffix = f"-{number}"
        candidate = f"{base[: SLUG_MAX_LENGTH - len(suffix)].rstrip('-')}{suffix}"
        if candidate not in taken:
            return candidate
    raise AssertionError("unreachable")  # pragma: no cover


def slug_suggest(*, title: str, exclude: Campaign | None = None) -> str:
    """A free address for a campaign called ``title``, Cyrillic spelled in Latin letters.

    "Свободу политзаключённым" gives "svobodu-politzaklyuchyonnym" (or "…-2" when that is
    taken); a title with no letters or digits at all gives "campaign".
    """
    base = slug_from_text(title, max_length=SLUG_SUGGESTED_LENGTH) or SLUG_FALLBACK
    return slug_free(base=base, exclude=exclude)


def slug_check(*, slug: str, campaign: Campaign) -> None:
    """Raise a ``ValidationError`` on ``slug`` saying what is wrong and what would do."""
    try:
        validate_slug(slug)
    except ValidationError:
        example = slug_suggest(title=slug or campaign.title, exclude=campaign)
        raise ValidationError(
            {
                "slug": _("Use only Latin letters, digits and hyphens, for example “%(example)s”.")
                % {"example": example}
            }
        ) from None
    if len(slug) > SLUG_MAX_LENGTH:
        raise ValidationError(
            {"slug": _("Keep the address to %(max)d characters.") % {"max": SLUG_MAX_LENGTH}}
        )
    if Campaign.objects.filter(slug=slug).exclude(pk=campaign.pk).exists():
        raise ValidationError({"slug": _slug_clash_message(slug=slug, campaign=campaign)})


def _slug_clash_message(*, slug: str, campaign: Campaign) -> str:
    # The same words whoever's campaign it is (the member's own, or another organisation's,
    # perhaps a draft): no more than that the address is taken, and a free one.
    free = slug_free(base=slug, exclude=campaign)
    return _(
        "The address “%(slug)s” is already used by another campaign. "
        "Choose another one, for example “%(free)s”."
    ) % {"slug": slug, "free": free}


# --- Texts --------------------------------------------------------------------------------


def _retention_check(retention_days: int) -> None:
    if not 0 <= retention_days <= RETENTION_DAYS_MAX:
        raise ValidationError(
            {
                "retention_days": _("Enter a number of days from 0 to %(max)d.")
                % {"max": RETENTION_DAYS_MAX}
            }
        )


def _save_checked(*, campaign: Campaign) -> Campaign:
    """Save, turning a slug taken meanwhile (the unique index decides) into a field error."""
    try:
        with transaction.atomic():
            return campaign_save(campaign=campaign)
    except IntegrityError:
        if not Campaign.objects.filter(slug=campaign.slug).exclude(pk=campaign.pk).exists():
            raise
        message = _slug_clash_message(slug=campaign.slug, campaign=campaign)
        raise ValidationError({"slug": message}) from None


def campaign_create(
    *,
    actor: AbstractBaseUser,
    organisation: Organisation,
    title: str,
    slug: str = "",
    summary: str = "",
    body: str = "",
    language: str = "en",
    retention_days: int | None = None,
) -> Campaign:
    """A new draft campaign of ``organisation``. An empty ``slug`` is made from the title."""
    access_check(user=actor, organisation=organisation, action=Action.CAMPAIGN_EDIT)
    campaign = Campaign(
        organisation=organisation,
        status=Campaign.Status.DRAFT,
        title=title.strip(),
        summary=summary.strip(),
        body=body,
        language=language,
    )
    if retention_days is not None and retention_days != campaign.retention_days:
        # Only owners decide how long signers' data is kept (Action.CAMPAIGN_RETENTION).
        access_check(user=actor, organisation=organisation, action=Action.CAMPAIGN_RETENTION)
        _retention_check(retention_days)
        campaign.retention_days = retention_days
    campaign.slug = slug.strip().lower() or slug_suggest(title=campaign.title)
    slug_check(slug=campaign.slug, campaign=campaign)
    with transaction.atomic():
        _save_checked(campaign=campaign)
        audit_record(
            organisation=organisation,
            actor=actor,
            action=AuditEntry.Action.CAMPAIGN_CREATE,
            target=campaign.title,
            details={"campaign": str(campaign.public_id)},
        )
    return campaign


def campaign_update(
    *,
    actor: AbstractBaseUser,
    campaign: Campaign,
    title: str,
    slug: str,
    summary: str,
    body: str,
    language: str,
    retention_days: int | None = None,
) -> Campaign:
    """Change a campaign's texts, address, language and retention period.

    ``None`` keeps the retention period; changing it needs ``Action.CAMPAIGN_RETENTION``
    (owners with a verified second factor): a short period and a close erase every
    signer's data, as a lockdown does.

    The address can change only while the campaign is a draft: once published, links to it
    have been shared. An empty ``slug`` keeps the address a public campaign has, and makes a
    draft's from its title.
    """
    access_check(user=actor, organisation=campaign.organisation, action=Action.CAMPAIGN_EDIT)
    if retention_days is not None:
        _retention_check(retention_days)
    with transaction.atomic():
        current = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if retention_days is None:
            retention_days = current.retention_days
        elif retention_days != current.retention_days:
            access_check(
                user=actor, organisation=campaign.organisation, action=Action.CAMPAIGN_RETENTION
            )
        before = {name: getattr(current, name) for name in EDITABLE_FIELDS}
        slug = slug.strip().lower()
        if current.is_public:
            if slug and slug != current.slug:
                raise ValidationError(
                    {
                        "slug": _(
                            "The address of a published campaign cannot change: links to it "
                            "have been shared. It stays “%(slug)s”."
                        )
                        % {"slug": current.slug}
                    }
                )
            slug = current.slug
        current.title = title.strip()
        current.slug = slug or slug_suggest(title=current.title, exclude=current)
        current.summary = summary.strip()
        current.body = body
        current.language = language
        current.retention_days = retention_days
        changed = [name for name in EDITABLE_FIELDS if getattr(current, name) != before[name]]
        slug_check(slug=current.slug, campaign=current)
        _save_checked(campaign=current)
        if changed:
            audit_record(
                organisation=current.organisation,
                actor=actor,
                action=AuditEntry.Action.CAMPAIGN_UPDATE,
                target=current.title,
                details={"campaign": str(current.public_id), "fields": changed},
            )
    return current


# --- Lifecycle ----------------------------------------------------------------------------


def _transition(
    *,
    actor: AbstractBaseUser,
    campaign: Campaign,
    allowed_from: frozenset[str],
    to: Campaign.Status,
    audit_action: AuditEntry.Action,
    refusal: str,
) -> Campaign:
    access_check(user=actor, organisation=campaign.organisation, action=Action.CAMPAIGN_PUBLISH)
    with transaction.atomic():
        # Locked, so that two members pressing buttons at once make one transition.
        current = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if current.status not in allowed_from:
            raise CampaignStatusError(refusal)
        previous = current.status
        current.status = to
        current.save(update_fields=["status", "updated_at"])
        audit_record(
            organisation=current.organisation,
            actor=actor,
            action=audit_action,
            target=current.title,
            details={"campaign": str(current.public_id), "from": previous},
        )
    return current


def campaign_publish(*, actor: AbstractBaseUser, campaign: Campaign) -> Campaign:
    """Publish a draft: its page answers at its public address from this commit on.

    The campaign page is rendered on every request (nothing caches it), so there is no
    cache to clear; its petitions that are open take signatures at once.
    """
    return _transition(
        actor=actor,
        campaign=campaign,
        allowed_from=frozenset({Campaign.Status.DRAFT}),
        to=Campaign.Status.PUBLISHED,
        audit_action=AuditEntry.Action.CAMPAIGN_PUBLISH,
        refusal=_("Only a draft can be published; this campaign is already public."),
    )


def campaign_close(*, actor: AbstractBaseUser, campaign: Campaign) -> Campaign:
    """Mark a published campaign closed (see the module's note on its petitions)."""
    return _transition(
        actor=actor,
        campaign=campaign,
        allowed_from=frozenset({Campaign.Status.PUBLISHED}),
        to=Campaign.Status.CLOSED,
        audit_action=AuditEntry.Action.CAMPAIGN_CLOSE,
        refusal=_("Only a published campaign can be closed."),
    )


def campaign_win(*, actor: AbstractBaseUser, campaign: Campaign) -> Campaign:
    """Mark a published or closed campaign won (see the module's note on its petitions)."""
    return _transition(
        actor=actor,
        campaign=campaign,
        allowed_from=frozenset({Campaign.Status.PUBLISHED, Campaign.Status.CLOSED}),
        to=Campaign.Status.WON,
        audit_action=AuditEntry.Action.CAMPAIGN_WIN,
        refusal=_("Only a published or closed campaign can be marked as won."),
    )


def campaign_duplicate(*, actor: AbstractBaseUser, campaign: Campaign) -> Campaign:
    """A new draft with the campaign's texts, language and retention period.

    Its address is the first free "<slug>-2", "<slug>-3", … Nothing else is copied: no
    status, no petitions (``petitions.services.campaign_lifecycle`` copies those).
    """
    access_check(user=actor, organisation=campaign.organisation, action=Action.CAMPAIGN_PUBLISH)
    copy = Campaign(
        organisation=campaign.organisation,
        status=Campaign.Status.DRAFT,
        title=campaign.title,
        summary=campaign.summary,
        body=campaign.body,
        language=campaign.language,
        retention_days=campaign.retention_days,
    )
    with transaction.atomic():
        # Two copies made at once may pick the same free address: the second tries again.
        for attempt in range(3):
            copy.slug = slug_free(base=campaign.slug)
            try:
                _save_checked(campaign=copy)
                break
            except ValidationError:
                if attempt == 2:
                    raise
        audit_record(
            organisation=campaign.organisation,
            actor=actor,
            action=AuditEntry.Action.CAMPAIGN_DUPLICATE,
            target=copy.title,
            details={"campaign": str(copy.public_id), "source": str(campaign.public_id)},
        )
    return copy
