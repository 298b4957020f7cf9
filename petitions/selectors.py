"""Reads for petitions and signatures. Nothing here counts rows on a page view."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.db.models import QuerySet
from django.http import Http404
from django.utils.formats import number_format
from django.utils.translation import ngettext
from django_countries import countries

from campaigns.models import Campaign
from mailer.models import OutboxMessage
from mailer.selectors import outbox_messages_count
from petitions.models import Consent, Petition, Signature

# The goal shown next to the count rises through these steps once the count reaches one.
_GOAL_STEPS = (1, 5)
_FIRST_GOAL = 100
RECENT_SIGNERS_LIMIT = 8
RECENT_SIGNERS_CACHE_SECONDS = 10


@dataclass(frozen=True)
class PublicSigner:
    display_name: str
    country_code: str
    confirmed_at: datetime

    @property
    def country_name(self) -> str:
        # Resolved when rendered, so a cached list serves every language.
        return str(countries.name(self.country_code)) if self.country_code else ""


def petition_goal(*, count: int) -> int:
    """The next goal above ``count``: 100, 500, 1 000, 5 000, 10 000, 50 000, …"""
    magnitude = _FIRST_GOAL
    while True:
        for step in _GOAL_STEPS:
            goal = step * magnitude
            if goal > count:
                return goal
        magnitude *= 10


def petition_list_public(*, campaign: Campaign) -> QuerySet[Petition]:
    return campaign.petitions.exclude(status=Petition.Status.DRAFT).order_by("created_at")


def petition_get_public(*, slug: str) -> Petition:
    """A published petition of a public campaign; ``Http404`` otherwise."""
    try:
        return (
            Petition.objects.select_related("campaign__organisation")
            .exclude(status=Petition.Status.DRAFT)
            .exclude(campaign__status=Campaign.Status.DRAFT)
            .get(slug=slug)
        )
    except Petition.DoesNotExist:
        raise Http404("No such petition") from None


def display_name(*, name: str, display: str) -> str:
    """The name as its signer chose to show it: full, or first name and initial."""
    if display == Signature.Display.FULL:
        return name
    parts = name.split()
    if display == Signature.Display.SHORT and parts:
        if len(parts) == 1:
            return parts[0]
        return f"{parts[0]} {parts[-1][0]}."
    return ""


def _recent_signers_key(petition_id: int) -> str:
    return f"petition:{petition_id}:recent-signers"


def petition_recent_signers(*, petition: Petition) -> list[PublicSigner]:
    """The latest confirmed signers who chose to be shown, newest first (cached briefly)."""
    key = _recent_signers_key(petition.pk)
    cached: list[PublicSigner] | None = cache.get(key)
    if cached is not None:
        return cached
    rows = (
        Signature.objects.filter(petition=petition, status=Signature.Status.CONFIRMED)
        .exclude(display=Signature.Display.HIDDEN)
        .filter(supporter__isnull=False)  # anonymised rows have no name to show
        .select_related("supporter")
        .order_by("-confirmed_at")[:RECENT_SIGNERS_LIMIT]
    )
    signers = [
        PublicSigner(
            display_name=display_name(name=supporter.name, display=row.display),
            country_code=str(supporter.country or ""),
            confirmed_at=row.confirmed_at or row.created_at,
        )
        for row in rows
        if (supporter := row.supporter) is not None
    ]
    cache.set(key, signers, RECENT_SIGNERS_CACHE_SECONDS)
    return signers


def petition_count_label(*, count: int, goal: int) -> str:
    """ "1 234 of 5 000 signatures", with the plural form the count calls for."""
    # English reads "1 of 100 signatures" for every count, but Russian declines the noun by
    # the count, so this stays an ngettext call with two identical English forms.
    return ngettext(
        "%(count)s of %(goal)s signatures",
        "%(count)s of %(goal)s signatures",
        count,
    ) % {
        "count": number_format(count, force_grouping=True),
        "goal": number_format(goal, force_grouping=True),
    }


def petition_recent_signers_forget(*, petition_ids: Iterable[int]) -> None:
    """Drop the cached recent signers, after signatures left or lost their names."""
    cache.delete_many([_recent_signers_key(petition_id) for petition_id in petition_ids])


@dataclass(frozen=True)
class PetitionIntegrity:
    """The numbers behind a petition's integrity line, as last stored by the periodic task."""

    confirmed: int
    pending: int  # for staff only, never in ``parts``
    withdrawn: int
    invalidated_by_reason: tuple[tuple[str, int], ...]
    paper: int

    @property
    def invalidated(self) -> int:
        return sum(n for _, n in self.invalidated_by_reason)

    @property
    def parts(self) -> list[str]:
        """ "1,204 confirmed", "3 invalidated (…)", …: the public parts that are not zero.

        "Awaiting confirmation" is not among them: it rises when an address that has not
        signed signs, and not when one that has signs again, so watching it would tell
        whether a given address has signed. Staff see it in the admin.
        """
        parts = []
        if self.confirmed or self.invalidated or self.withdrawn or self.paper:
            parts.append(_integrity_part("confirmed", self.confirmed))
        if self.invalidated:
            reasons = ", ".join(
                _integrity_part(reason, n) for reason, n in self.invalidated_by_reason
            )
            parts.append(f"{_integrity_part('invalidated', self.invalidated)} ({reasons})")
        if self.withdrawn:
            parts.append(_integrity_part("withdrawn", self.withdrawn))
        if self.paper:
            parts.append(_integrity_part("paper", self.paper))
        return parts


def _integrity_part(kind: str, n: int) -> str:
    # One ngettext call per wording, so that each gets its own plural forms in Russian.
    if kind == "confirmed":
        text = ngettext("%(n)s confirmed", "%(n)s confirmed", n)
    elif kind == "invalidated":
        text = ngettext("%(n)s invalidated", "%(n)s invalidated", n)
    elif kind == "withdrawn":
        text = ngettext("%(n)s withdrawn", "%(n)s withdrawn", n)
    elif kind == "paper":
        text = ngettext("%(n)s on paper", "%(n)s on paper", n)
    elif kind == Signature.InvalidReason.AUTOMATED:
        text = ngettext("%(n)s automated", "%(n)s automated", n)
    elif kind == Signature.InvalidReason.RATE_LIMIT:
        text = ngettext("%(n)s over the rate limit", "%(n)s over the rate limit", n)
    elif kind == Signature.InvalidReason.BLOCKLIST:
        text = ngettext("%(n)s blocklisted", "%(n)s blocklisted", n)
    elif kind == Signature.InvalidReason.DISPOSABLE:
        text = ngettext("%(n)s from a disposable address", "%(n)s from disposable addresses", n)
    else:
        text = ngettext("%(n)s removed after review", "%(n)s removed after review", n)
    return text % {"n": number_format(n, force_grouping=True)}


def petition_integrity(*, petition: Petition) -> PetitionIntegrity:
    """The integrity line's numbers from the petition row alone: no query, no row counted."""
    stored = petition.integrity if isinstance(petition.integrity, dict) else {}
    invalidated = stored.get("invalidated")
    by_reason = invalidated if isinstance(invalidated, dict) else {}
    order = list(Signature.InvalidReason.values)
    reasons = sorted(
        ((str(reason), int(n)) for reason, n in by_reason.items() if int(n) > 0),
        key=lambda item: (-item[1], order.index(item[0]) if item[0] in order else len(order)),
    )
    return PetitionIntegrity(
        confirmed=petition.signature_count,
        pending=int(stored.get("pending") or 0),
        withdrawn=int(stored.get("withdrawn") or 0),
        invalidated_by_reason=tuple(reasons),
        paper=petition.paper_count,
    )


@dataclass(frozen=True)
class LockdownSummary:
    """What a campaign lockdown would purge and what it keeps, for the confirmation page."""

    petitions: int
    open_petitions: int
    signatures_linked: int  # signatures that still point to a person
    supporters: int  # distinct people among them
    supporters_deleted: int  # of whom signed nothing outside this campaign
    consents: int
    queued_emails: int
    counted: int  # the online count kept, over all petitions
    paper: int


def campaign_lockdown_summary(*, campaign: Campaign) -> LockdownSummary:
    """Counts rows; for a staff confirmation page, never for public pages."""
    petitions = Petition.objects.filter(campaign=campaign)
    linked = Signature.objects.filter(petition__campaign=campaign, supporter__isnull=False)
    people = linked.values("supporter_id").distinct()
    elsewhere = (
        Signature.objects.filter(supporter_id__in=people)
        .exclude(petition__campaign=campaign)
        .values("supporter_id")
        .distinct()
        .count()
    )
    supporters = people.count()
    totals = [(p.status, p.is_open, p.signature_count, p.paper_count) for p in petitions]
    return LockdownSummary(
        petitions=len(totals),
        open_petitions=sum(1 for _, is_open, _, _ in totals if is_open),
        signatures_linked=linked.count(),
        supporters=supporters,
        supporters_deleted=supporters - elsewhere,
        consents=Consent.objects.filter(campaign=campaign).count(),
        queued_emails=outbox_messages_count(
            about_key="petition",
            about_ids=[p.pk for p in petitions],
            statuses=[OutboxMessage.Status.QUEUED],
        ),
        counted=sum(count for _, _, count, _ in totals),
        paper=sum(paper for _, _, _, paper in totals),
    )


SIGNATURE_CSV_HEADER = (
    "public_id", "petition", "status", "invalid_reason", "display", "name", "email",
    "country", "created_at", "confirmed_at", "source",
)  # fmt: skip
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """A value as a CSV cell that no spreadsheet will run as a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def signatures_csv_rows(*, signatures: QuerySet[Signature]) -> Iterator[list[str]]:
    """The header, then one row per signature, names and addresses decrypted (staff only).

    Reads in chunks, so an export of a large petition streams without loading it whole.
    """
    yield list(SIGNATURE_CSV_HEADER)
    rows = signatures.select_related("petition", "supporter").order_by("pk")
    for signature in rows.iterator(chunk_size=2000):
        supporter = signature.supporter
        values: list[object] = [
            signature.public_id,
            signature.petition.slug,
            signature.status,
            signature.invalid_reason,
            signature.display,
            supporter.name if supporter else "",
            supporter.email if supporter else "",
            str(supporter.country or "") if supporter else "",
            signature.created_at.isoformat(),
            signature.confirmed_at.isoformat() if signature.confirmed_at else "",
            signature.source,
        ]
        yield [csv_cell(value) for value in values]
