"""The demo campaign: Russia Behind Bars' own "About us" text and one petition built on it.

Loading is idempotent: running it again updates the same rows and never duplicates them.
``demo_owner_invite`` gives a newcomer on ``make run`` a way into the workspace: an owner's
invitation to the demo organisation while it has no member yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from campaigns import selectors
from campaigns.models import Campaign, Invitation, Membership, Organisation, Role
from campaigns.services import campaign_save, organisation_upsert
from campaigns.services.members import invitation_issue
from petitions.models import Petition

ABOUT_US = Path(__file__).with_name("about-us.txt")
ORGANISATION_SLUG = "russia-behind-bars"
CAMPAIGN_SLUG = "russia-behind-bars"
PETITION_SLUG = "right-to-defence"


def about_us_markdown() -> str:
    """The text as published, with its headings marked as headings.

    The seed ends with an "Our Contacts" heading and no contacts under it: a heading with
    nothing after it is left out rather than shown empty on the page.
    """
    lines = ABOUT_US.read_text(encoding="utf-8").strip().splitlines()
    headings = {"About us", "Our Contacts"}
    while lines and lines[-1].strip() in headings:
        lines.pop()
    return "\n".join(f"### {line}" if line.strip() in headings else line for line in lines)


@transaction.atomic
def demo_load() -> Petition:
    organisation = organisation_upsert(slug=ORGANISATION_SLUG, name="Russia Behind Bars")
    campaign = Campaign.objects.filter(slug=CAMPAIGN_SLUG).first() or Campaign(slug=CAMPAIGN_SLUG)
    campaign.organisation = organisation
    campaign.title = "Russia Behind Bars"
    campaign.summary = (
        "Since 2011 we have supported people deprived of any legal defence, prisoners "
        "and their relatives."
    )
    campaign.body = about_us_markdown()
    campaign.language = "en"
    campaign.status = Campaign.Status.PUBLISHED
    campaign_save(campaign=campaign)
    petition, _ = Petition.objects.update_or_create(
        slug=PETITION_SLUG,
        defaults={
            "campaign": campaign,
            "title": "Restore the right to defence and the presumption of innocence",
            "target_name": (
                "The State Duma and the Prosecutor General's Office of the Russian Federation"
            ),
            "ask": (
                "Every person accused of a crime must be presumed innocent until proven guilty "
                "in a fair and independent court.\n\n"
                "We call for every detained person to have a lawyer of their own choice from the "
                "first hour of detention, for an end to confessions obtained under pressure, and "
                "for courts that weigh the evidence instead of following orders from above."
            ),
            "language": "en",
            "status": Petition.Status.OPEN,
        },
    )
    return petition


@dataclass(frozen=True)
class DemoOwnerInvitation:
    """The demo organisation's pending owner invitation; ``new``: issued (and mailed) now."""

    invitation: Invitation
    new: bool


def demo_owner_invite(*, email: str) -> DemoOwnerInvitation | None:
    """Invite ``email`` to own the demo organisation, unless it has a member already
    (``None``) or a pending owner's invitation (returned as it is: its email went out
    before).

    For ``make run`` only (``load_demo --invite-owner``): nobody else could invite the first
    owner of a fresh local database. Deployments invite theirs with ``organisation_invite``.
    """
    organisation = Organisation.objects.get(slug=ORGANISATION_SLUG)
    if Membership.objects.filter(organisation=organisation).exists():
        return None
    pending = (
        selectors.invitation_list_pending(organisation=organisation).filter(role=Role.OWNER).first()
    )
    if pending is not None:
        return DemoOwnerInvitation(invitation=pending, new=False)
    invitation = invitation_issue(organisation=organisation, email=email, role=Role.OWNER)
    return DemoOwnerInvitation(invitation=invitation, new=True)
