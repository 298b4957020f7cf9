"""Reads for organisations and campaigns, their members, invitations and audit log."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.core.paginator import Page, Paginator
from django.db.models import Case, Q, QuerySet, Value, When
from django.http import Http404
from django.utils import timezone

from campaigns.models import AuditEntry, Campaign, Invitation, Membership, Organisation, Role


def campaign_list_public() -> QuerySet[Campaign]:
    return (
        Campaign.objects.exclude(status=Campaign.Status.DRAFT)
        .select_related("organisation")
        .order_by("-created_at")
    )


def campaign_get_public(*, slug: str) -> Campaign:
    """The published (or closed/won) campaign with this slug; ``Http404`` otherwise."""
    try:
        return campaign_list_public().get(slug=slug)
    except Campaign.DoesNotExist:
        raise Http404("No such campaign") from None


# --- Members, invitations and the audit log --------------------------------------------------

# Owners first, then campaigners, then viewers: whom to ask comes first.
_ROLE_ORDER = Case(
    When(role=Role.OWNER, then=Value(0)),
    When(role=Role.CAMPAIGNER, then=Value(1)),
    default=Value(2),
)
AUDIT_PAGE_SIZE = 50


def membership_list(*, organisation: Organisation) -> QuerySet[Membership]:
    """The organisation's members with their accounts, owners first, then by address."""
    return (
        Membership.objects.filter(organisation=organisation)
        .select_related("user")
        .order_by(_ROLE_ORDER, "user__email", "pk")
    )


def invitation_is_pending(*, invitation: Invitation, now: datetime | None = None) -> bool:
    """Whether the invitation can still be accepted (not used, not revoked, not expired)."""
    now = now or timezone.now()
    return (
        invitation.accepted_at is None
        and invitation.revoked_at is None
        and invitation.expires_at > now
    )


def invitation_list_pending(*, organisation: Organisation) -> QuerySet[Invitation]:
    """Invitations of the organisation that can still be accepted, newest first."""
    return (
        Invitation.objects.filter(
            organisation=organisation,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .select_related("invited_by")
        .order_by("-created_at", "-pk")
    )


def invitation_get(*, public_id: uuid.UUID | str) -> Invitation | None:
    """The invitation with this public id (whatever its state), with its organisation."""
    return (
        Invitation.objects.select_related("organisation", "invited_by")
        .filter(public_id=public_id)
        .first()
    )


def organiser_account_exists(*, email: str) -> bool:
    """Whether an account uses this address (as its username or its email)."""
    email = email.strip()
    return User.objects.filter(Q(username__iexact=email) | Q(email__iexact=email)).exists()


def audit_entry_list(
    *, organisation: Organisation, action: str | None = None
) -> QuerySet[AuditEntry]:
    """The organisation's audit log, newest first; only ``action`` entries if given."""
    entries = AuditEntry.objects.filter(organisation=organisation).order_by("-created_at", "-pk")
    if action:
        entries = entries.filter(action=action)
    return entries


def audit_entry_page(
    *,
    organisation: Organisation,
    action: str | None = None,
    page: str | int | None = 1,
    per_page: int = AUDIT_PAGE_SIZE,
) -> Page[AuditEntry]:
    """One page of ``audit_entry_list`` (at most ``per_page`` entries; a page number out
    of range or not a number gives the nearest page)."""
    per_page = max(1, min(per_page, AUDIT_PAGE_SIZE))
    paginator = Paginator(audit_entry_list(organisation=organisation, action=action), per_page)
    return paginator.get_page(page)


@dataclass(frozen=True)
class HeroImage:
    """A campaign's hero image as a page shows it: ``<img>`` attributes, ready to print."""

    src: str  # a middle-sized JPEG, for browsers that read no srcset
    srcset_jpeg: str
    srcset_webp: str
    width: int  # of the largest copy; with height, the box the browser keeps for it
    height: int
    alt: str
    largest_url: str  # the largest JPEG
    smallest_url: str  # the smallest JPEG, for a thumbnail


# The campaign column: 44rem (.wrap in sbor.css) less 1rem of padding on each side.
HERO_SIZES = "(min-width: 44rem) 42rem, calc(100vw - 2rem)"


def campaign_hero(*, campaign: Campaign) -> HeroImage | None:
    """The campaign's hero image with its URLs, or None without one."""
    renditions = (campaign.hero_image or {}).get("renditions") or []
    if not renditions:
        return None

    def srcset(key: str) -> str:
        return ", ".join(f"{default_storage.url(r[key])} {r['width']}w" for r in renditions)

    # Copies are stored narrowest first; old browsers get one that fits a laptop's column.
    fallback = next((r for r in reversed(renditions) if r["width"] <= 960), renditions[0])
    return HeroImage(
        src=default_storage.url(fallback["jpeg"]),
        srcset_jpeg=srcset("jpeg"),
        srcset_webp=srcset("webp"),
        width=int(campaign.hero_image["width"]),
        height=int(campaign.hero_image["height"]),
        alt=campaign.hero_alt,
        largest_url=default_storage.url(renditions[-1]["jpeg"]),
        smallest_url=default_storage.url(renditions[0]["jpeg"]),
    )
