"""What organisers write on a petition: its texts and goal, paper signatures, the response.

Every function here acts for a member (``actor``): it checks that member's right in the
petition's own organisation (``campaigns.access.access_check``, so a view that forgot to
check changes nothing) and records an audit entry in the same transaction as the change.
Bad input raises ``django.core.exceptions.ValidationError`` with a message per field and
stores nothing. Opening, closing and winning are in ``petitions.services.lifecycle``.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.text import slugify
from django.utils.translation import gettext as _

from campaigns.access import Action, access_check
from campaigns.models import AuditEntry, Campaign
from campaigns.services.audit import audit_record
from petitions.models import PaperBatch, Petition
from petitions.services.slugs import slug_free, slug_from_title

# A batch larger than this is more likely a typo (an extra zero) than a stack of paper.
PAPER_BATCH_MAX = 1_000_000
# PostgreSQL's integer, which holds the paper total.
_PAPER_TOTAL_MAX = 2_147_483_647


class PetitionStateError(Exception):
    """The petition's state does not allow this action; ``message`` says why. Nothing changed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclasses.dataclass(frozen=True)
class PetitionDetails:
    """What an organiser writes on a petition (everything but its address and state)."""

    title: str
    ask: str
    target_name: str
    target_position: str = ""
    target_organisation: str = ""
    language: str = "en"
    goal_kind: str = Petition.GoalKind.LADDER
    goal_fixed: int | None = None
    closes_at: datetime.datetime | None = None


def latest_date_today() -> datetime.date:
    """Today's date where it is latest on Earth (UTC+14).

    A date an organiser gives as "today" is never refused as a future one, whatever their
    time zone; a date after that is in the future everywhere.
    """
    return (timezone.now() + datetime.timedelta(hours=14)).date()


def _details_errors(details: PetitionDetails, *, current: Petition | None) -> dict[str, list[str]]:
    """Rules beyond the model's own (lengths, choices): texts, the goal, the deadline."""
    errors: dict[str, list[str]] = {}
    for field in ("title", "ask", "target_name"):
        if not getattr(details, field).strip():
            errors[field] = [_("Fill in this field.")]
    if details.goal_kind == Petition.GoalKind.FIXED:
        if details.goal_fixed is None:
            errors["goal_fixed"] = [_("Give the number of signatures the petition aims for.")]
        elif details.goal_fixed <= 0:
            errors["goal_fixed"] = [_("The goal must be a positive number of signatures.")]
    deadline_changed = current is None or details.closes_at != current.closes_at
    if details.closes_at is not None and deadline_changed and details.closes_at <= timezone.now():
        errors["closes_at"] = [_("The deadline must be in the future.")]
    return errors


def _details_apply(petition: Petition, details: PetitionDetails) -> None:
    for field in dataclasses.fields(details):
        value = getattr(details, field.name)
        setattr(petition, field.name, value.strip() if isinstance(value, str) else value)
    if petition.goal_kind != Petition.GoalKind.FIXED:
        petition.goal_fixed = None


def _validate(instance: Petition | PaperBatch, errors: dict[str, list[str]]) -> None:
    """Raise every error at once: the rules above and the model's (lengths, choices)."""
    try:
        instance.full_clean(exclude=["campaign", "petition", "added_by", *errors])
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def petition_create(
    *, actor: Any, campaign: Campaign, details: PetitionDetails, slug: str = ""
) -> Petition:
    """Create a draft petition in ``campaign``.

    ``slug`` (the public address, /p/<slug>/) is made from the title when empty, and
    made unique with a number; one typed that another petition has is a field error.
    """
    access_check(user=actor, organisation=campaign.organisation, action=Action.CAMPAIGN_EDIT)
    petition = Petition(campaign=campaign, status=Petition.Status.DRAFT)
    _details_apply(petition, details)
    errors = _details_errors(details, current=None)
    typed = slugify(slug)
    if slug.strip() and not typed:
        errors["slug"] = [_("Use Latin letters, numbers and hyphens.")]
    elif typed and Petition.objects.filter(slug=typed).exists():
        errors["slug"] = [_("Another petition has this address. Choose another.")]
    petition.slug = typed or slug_free(base=slug_from_title(details.title))
    _validate(petition, errors)
    with transaction.atomic():
        petition.save()
        audit_record(
            organisation=campaign.organisation,
            actor=actor,
            action=AuditEntry.Action.PETITION_CREATE,
            target=petition.title,
            details={"petition": str(petition.public_id), "campaign": str(campaign.public_id)},
        )
    return petition


# The fields an edit may change (never the counts kept by tasks, nor the state).
_EDITABLE = [field.name for field in dataclasses.fields(PetitionDetails)] + ["slug"]


def petition_update(
    *, actor: Any, petition: Petition, details: PetitionDetails, slug: str | None = None
) -> list[str]:
    """Change a petition's texts, goal or deadline; returns the names of the fields changed.

    Draft and open petitions can be edited; closed and won ones keep the text they closed
    with (``PetitionStateError``). The address (``slug``) can change only while the
    petition is a draft: once open, links to it are out there. Empty keeps it.
    """
    organisation = petition.campaign.organisation
    access_check(user=actor, organisation=organisation, action=Action.CAMPAIGN_EDIT)
    if petition.status in Petition.CLOSED_STATUSES:
        raise PetitionStateError(_("A closed petition keeps the text it closed with."))
    before = {field: getattr(petition, field) for field in _EDITABLE}
    errors = _details_errors(details, current=petition)
    _details_apply(petition, details)
    if slug and slugify(slug) != petition.slug:  # empty: keep the address it has
        if petition.status != Petition.Status.DRAFT:
            errors["slug"] = [_("The address cannot change once the petition is open.")]
        elif not slugify(slug):
            errors["slug"] = [_("Use Latin letters, numbers and hyphens.")]
        petition.slug = slugify(slug)
    try:
        _validate(petition, errors)
    except ValidationError:
        for field, value in before.items():
            setattr(petition, field, value)
        raise
    changed = [field for field in _EDITABLE if getattr(petition, field) != before[field]]
    if not changed:
        return []
    with transaction.atomic():
        petition.save(update_fields=changed)
        audit_record(
            organisation=organisation,
            actor=actor,
            action=AuditEntry.Action.PETITION_UPDATE,
            target=petition.title,
            details={"petition": str(petition.public_id), "fields": changed},
        )
    return changed


def paper_batch_add(
    *,
    actor: Any,
    petition: Petition,
    count: int,
    collected_by: str,
    collected_on: datetime.date,
) -> PaperBatch:
    """Record signatures collected on paper and add them to the petition's paper total.

    ``collected_by`` names who collected them (a group, an event), never a signer. The
    batch and the new total are stored in one transaction, so the total always equals the
    sum of the batches; the online count is never touched.
    """
    organisation = petition.campaign.organisation
    access_check(user=actor, organisation=organisation, action=Action.CAMPAIGN_EDIT)
    errors: dict[str, list[str]] = {}
    if count <= 0:
        errors["count"] = [_("Give a number of signatures greater than zero.")]
    elif count > PAPER_BATCH_MAX:
        errors["count"] = [
            _("A batch holds at most %(max)s signatures: add larger numbers in several batches.")
            % {"max": number_format(PAPER_BATCH_MAX, force_grouping=True)}
        ]
    if not collected_by.strip():
        errors["collected_by"] = [_("Say who collected these signatures.")]
    if collected_on > latest_date_today():
        errors["collected_on"] = [_("The date cannot be in the future.")]
    batch = PaperBatch(
        petition=petition,
        count=count,
        collected_by=collected_by.strip(),
        collected_on=collected_on,
        added_by=actor if getattr(actor, "pk", None) else None,
    )
    _validate(batch, errors)
    with transaction.atomic():
        locked = Petition.objects.select_for_update().get(pk=petition.pk)
        if locked.paper_count + count > _PAPER_TOTAL_MAX:
            raise ValidationError({"count": [_("This would make the paper total too large.")]})
        batch.save()
        Petition.objects.filter(pk=petition.pk).update(paper_count=F("paper_count") + count)
        petition.paper_count = locked.paper_count + count
        audit_record(
            organisation=organisation,
            actor=actor,
            action=AuditEntry.Action.PETITION_PAPER,
            target=petition.title,
            details={
                "petition": str(petition.public_id),
                "batch": str(batch.public_id),
                "count": count,
                "paper_total": petition.paper_count,
            },
        )
    return batch


def target_response_record(
    *, actor: Any, petition: Petition, text: str, date: datetime.date
) -> Petition:
    """Record (or correct) the target's response, shown under the petition with its date.

    A draft has not been sent to anyone, so it has no response (``PetitionStateError``).
    """
    organisation = petition.campaign.organisation
    access_check(user=actor, organisation=organisation, action=Action.CAMPAIGN_EDIT)
    if petition.status == Petition.Status.DRAFT:
        raise PetitionStateError(_("Open the petition before recording a response to it."))
    errors: dict[str, list[str]] = {}
    if not text.strip():
        errors["text"] = [_("Write the response, or a summary of it.")]
    if date > latest_date_today():
        errors["date"] = [_("The date cannot be in the future.")]
    if errors:
        raise ValidationError(errors)
    replaced = bool(petition.response_text)
    petition.response_text = text.strip()
    petition.response_date = date
    petition.response_recorded_at = timezone.now()
    with transaction.atomic():
        petition.save(update_fields=["response_text", "response_date", "response_recorded_at"])
        audit_record(
            organisation=organisation,
            actor=actor,
            action=AuditEntry.Action.PETITION_RESPONSE,
            target=petition.title,
            details={
                "petition": str(petition.public_id),
                "date": date.isoformat(),
                "replaced": replaced,
            },
        )
    return petition


def petition_language_default(*, campaign: Campaign) -> str:
    """A new petition's language: its campaign's, when the site offers it."""
    offered = dict(settings.LANGUAGES)
    return campaign.language if campaign.language in offered else settings.LANGUAGE_CODE
