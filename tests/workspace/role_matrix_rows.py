"""The role matrix's table: every organisation route of the workspace, as a request.

Each ``Row`` names a route (its URL name), the objects of organisation A its URL names, the
method and the body it sends, the ``Action`` its view asks for, and how to tell that the
request did its work. ``tests/workspace/test_role_matrix.py`` sends each row for every role,
from inside and outside the organisation, and computes the expected answer from
``campaigns.access.RIGHTS``. A new route needs a row here (the matrix fails without one).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from campaigns.access import Action
from campaigns.models import AuditEntry, Campaign, Invitation, Membership, Role
from mailer.models import OutboxMessage
from petitions.models import InvalidationBatch, Petition, Signature
from tests.campaigns.images import png_with_text, upload
from tests.workspace.role_matrix_world import World, fresh
from updates.emails import user_ref
from updates.models import Update

# --- The table ------------------------------------------------------------------------------

Kwargs = Callable[[World], dict[str, Any]]
Data = Callable[[World], dict[str, Any]]
# Whether the change happened; takes the world and the acting member.
Done = Callable[[World, Membership], bool]


def _none(world: World) -> dict[str, Any]:
    return {}


def _draft_campaign(world: World) -> dict[str, Any]:
    return {"campaign": world.draft.public_id}


def _published_campaign(world: World) -> dict[str, Any]:
    return {"campaign": world.published.public_id}


def _open_petition(world: World) -> dict[str, Any]:
    return {"petition": world.open_petition.public_id}


def _draft_petition(world: World) -> dict[str, Any]:
    return {"petition": world.draft_petition.public_id}


def _colleague(world: World) -> dict[str, Any]:
    return {"public_id": world.colleague.public_id}


def _invitation(world: World) -> dict[str, Any]:
    return {"public_id": world.invitation.public_id}


def _update(world: World) -> dict[str, Any]:
    return {"campaign": world.published.public_id, "update": world.update.public_id}


def _update_with_audience(world: World) -> dict[str, Any]:
    world.supporter  # noqa: B018 - someone to send it to
    return _update(world)


def _scheduled_update(world: World) -> dict[str, Any]:
    return {"campaign": world.published.public_id, "update": world.scheduled_update.public_id}


def _update_status(status: str) -> Done:
    def done(world: World, me: Membership) -> bool:
        return bool(fresh(world.update).status == status)

    return done


def _batch(world: World) -> dict[str, Any]:
    return {"batch": world.invalidation.public_id}


def _audited(action: str) -> Done:
    def done(world: World, me: Membership) -> bool:
        return AuditEntry.objects.filter(organisation=world.organisation, action=action).exists()

    return done


def _campaign_form(campaign: Campaign | None, title: str) -> dict[str, Any]:
    return {
        "title": title,
        "slug": campaign.slug if campaign else "",
        "summary": "One sentence.",
        "body": "A story.",
        "language": "en",
        "retention_days": str(campaign.retention_days if campaign else 30),
    }


def _petition_form(petition: Petition | None, title: str) -> dict[str, Any]:
    return {
        "title": title,
        "ask": "Free everyone.",
        "target_name": "The Minister",
        "target_position": "",
        "target_organisation": "",
        "language": "en",
        "goal_kind": Petition.GoalKind.LADDER,
        "goal_fixed": "",
        "closes_at": "",
        "slug": petition.slug if petition else "",
    }


def _campaign_status(status: str) -> Done:
    def done(world: World, me: Membership) -> bool:
        campaign = world.draft if status == Campaign.Status.PUBLISHED else world.published
        return bool(fresh(campaign).status == status)

    return done


def _petition_status(status: str, petition: str) -> Done:
    def done(world: World, me: Membership) -> bool:
        return bool(fresh(getattr(world, petition)).status == status)

    return done


@dataclass(frozen=True)
class Row:
    """One workspace request. ``data`` is the POST body; ``done`` tells that a POST did its
    work (GETs must change nothing)."""

    name: str
    action: Action
    method: str = "GET"
    kwargs: Kwargs = _none
    data: Data = field(default=_none)
    done: Done | None = None
    # The body names organisation A's objects (a petition in the criteria).
    data_names_objects: bool = False
    # Whether the organisation's audit log records it (drafts of updates and their tests
    # are not recorded; sending, scheduling and cancelling are).
    audited: bool = True

    @property
    def id(self) -> str:
        return f"{self.method} {self.name}"

    @property
    def names_objects(self) -> bool:
        return bool(self.kwargs is not _none or self.data_names_objects)


ROWS: list[Row] = [
    # The organisation's page: its campaigns.
    Row("organisation", Action.VIEW),
    # Members, invitations, the audit log.
    Row("members", Action.VIEW),
    Row(
        "member-invite",
        Action.MEMBERS_MANAGE,
        "POST",
        data=lambda world: {"email": "new.person@example.org", "role": Role.VIEWER},
        done=lambda world, me: Invitation.objects.filter(
            organisation=world.organisation, email="new.person@example.org"
        ).exists(),
    ),
    Row("member-leave", Action.VIEW),
    Row(
        "member-leave",
        Action.VIEW,
        "POST",
        done=lambda world, me: not Membership.objects.filter(pk=me.pk).exists(),
    ),
    Row(
        "invitation-revoke",
        Action.MEMBERS_MANAGE,
        "POST",
        _invitation,
        done=lambda world, me: fresh(world.invitation).revoked_at is not None,
    ),
    Row(
        "member-role",
        Action.MEMBERS_MANAGE,
        "POST",
        _colleague,
        data=lambda world: {"role": Role.VIEWER},
        done=lambda world, me: fresh(world.colleague).role == Role.VIEWER,
    ),
    Row("member-remove", Action.MEMBERS_MANAGE, "GET", _colleague),
    Row(
        "member-remove",
        Action.MEMBERS_MANAGE,
        "POST",
        _colleague,
        done=lambda world, me: not Membership.objects.filter(pk=world.colleague.pk).exists(),
    ),
    Row("audit", Action.AUDIT_READ),
    # Campaigns.
    Row("campaign-new", Action.CAMPAIGN_EDIT),
    Row(
        "campaign-new",
        Action.CAMPAIGN_EDIT,
        "POST",
        data=lambda world: _campaign_form(None, "A brand new campaign"),
        done=lambda world, me: Campaign.objects.filter(
            organisation=world.organisation, title="A brand new campaign"
        ).exists(),
    ),
    Row("campaign", Action.VIEW, "GET", _published_campaign),
    Row("campaign-edit", Action.CAMPAIGN_EDIT, "GET", _draft_campaign),
    Row(
        "campaign-edit",
        Action.CAMPAIGN_EDIT,
        "POST",
        _draft_campaign,
        data=lambda world: _campaign_form(world.draft, "Renamed by the matrix"),
        done=lambda world, me: fresh(world.draft).title == "Renamed by the matrix",
    ),
    Row("campaign-publish", Action.CAMPAIGN_PUBLISH, "GET", _draft_campaign),
    Row(
        "campaign-publish",
        Action.CAMPAIGN_PUBLISH,
        "POST",
        _draft_campaign,
        done=_campaign_status(Campaign.Status.PUBLISHED),
    ),
    Row("campaign-close", Action.CAMPAIGN_PUBLISH, "GET", _published_campaign),
    Row(
        "campaign-close",
        Action.CAMPAIGN_PUBLISH,
        "POST",
        _published_campaign,
        done=_campaign_status(Campaign.Status.CLOSED),
    ),
    Row("campaign-win", Action.CAMPAIGN_PUBLISH, "GET", _published_campaign),
    Row(
        "campaign-win",
        Action.CAMPAIGN_PUBLISH,
        "POST",
        _published_campaign,
        done=_campaign_status(Campaign.Status.WON),
    ),
    Row(
        "campaign-duplicate",
        Action.CAMPAIGN_PUBLISH,
        "POST",
        _published_campaign,
        done=lambda world, me: (
            Campaign.objects.filter(organisation=world.organisation).count() == 2
        ),
    ),
    Row("campaign-hero", Action.CAMPAIGN_EDIT, "GET", _draft_campaign),
    Row(
        "campaign-hero",
        Action.CAMPAIGN_EDIT,
        "POST",
        _draft_campaign,
        data=lambda world: {
            "image": upload(png_with_text(size=(480, 320)), "hero.png", "image/png"),
            "hero_alt": "Portraits held up outside the court",
        },
        done=lambda world, me: bool(fresh(world.draft).hero_image),
    ),
    # Petitions.
    Row("petition-new", Action.CAMPAIGN_EDIT, "GET", _published_campaign),
    Row(
        "petition-new",
        Action.CAMPAIGN_EDIT,
        "POST",
        _published_campaign,
        data=lambda world: _petition_form(None, "A brand new petition"),
        done=lambda world, me: Petition.objects.filter(
            campaign=world.published, title="A brand new petition"
        ).exists(),
    ),
    Row("petition", Action.VIEW, "GET", _open_petition),
    Row("petition-edit", Action.CAMPAIGN_EDIT, "GET", _draft_petition),
    Row(
        "petition-edit",
        Action.CAMPAIGN_EDIT,
        "POST",
        _draft_petition,
        data=lambda world: _petition_form(world.draft_petition, "Renamed by the matrix"),
        done=lambda world, me: fresh(world.draft_petition).title == "Renamed by the matrix",
    ),
    Row(
        "petition-open",
        Action.CAMPAIGN_PUBLISH,
        "POST",
        _draft_petition,
        done=_petition_status(Petition.Status.OPEN, "draft_petition"),
    ),
    Row("petition-close", Action.CAMPAIGN_PUBLISH, "GET", _open_petition),
    Row(
        "petition-close",
        Action.CAMPAIGN_PUBLISH,
        "POST",
        _open_petition,
        done=_petition_status(Petition.Status.CLOSED, "open_petition"),
    ),
    Row("petition-win", Action.CAMPAIGN_PUBLISH, "GET", _open_petition),
    Row(
        "petition-win",
        Action.CAMPAIGN_PUBLISH,
        "POST",
        _open_petition,
        done=_petition_status(Petition.Status.WON, "open_petition"),
    ),
    Row(
        "petition-paper",
        Action.CAMPAIGN_EDIT,
        "POST",
        _open_petition,
        data=lambda world: {
            "paper-count": "25",
            "paper-collected_by": "Volunteers in Perm",
            "paper-collected_on": timezone.localdate().isoformat(),
        },
        done=lambda world, me: fresh(world.open_petition).paper_count == 25,
    ),
    Row(
        "petition-response",
        Action.CAMPAIGN_EDIT,
        "POST",
        _open_petition,
        data=lambda world: {
            "response-text": "The ministry will consider it.",
            "response-date": timezone.localdate().isoformat(),
        },
        done=lambda world, me: fresh(world.open_petition).response_text != "",
    ),
    # The owners' staff tools. Criteria travel in POST bodies.
    Row("signers", Action.SIGNERS_SEARCH),
    Row(
        "signers",
        Action.SIGNERS_SEARCH,
        "POST",
        data=lambda world: {"criteria": world.criteria},
        done=_audited(AuditEntry.Action.SIGNERS_SEARCH),
        data_names_objects=True,
    ),
    Row(
        "signers-export",
        Action.SIGNERS_EXPORT,
        "POST",
        data=lambda world: {"criteria": world.criteria},
        done=_audited(AuditEntry.Action.SIGNERS_EXPORT),
        data_names_objects=True,
    ),
    Row(
        "signers-invalidate",
        Action.SIGNERS_INVALIDATE,
        "POST",
        data=lambda world: {
            "criteria": world.criteria,
            "preview": world.invalidation_preview_token(),
            "category": InvalidationBatch.Category.AUTOMATED,
            "reason": "A script signed.",
            "confirm": "1",
        },
        done=lambda world, me: fresh(world.signature).status == Signature.Status.INVALIDATED,
        data_names_objects=True,
    ),
    Row("signers-invalidations", Action.SIGNERS_INVALIDATE),
    Row(
        "signers-revalidate",
        Action.SIGNERS_INVALIDATE,
        "POST",
        _batch,
        done=lambda world, me: fresh(world.invalidation).revalidated_at is not None,
    ),
    # Updates to a campaign's supporters.
    Row("updates", Action.VIEW, "GET", _published_campaign),
    Row("update-new", Action.UPDATE_SEND, "GET", _published_campaign),
    Row(
        "update-new",
        Action.UPDATE_SEND,
        "POST",
        _published_campaign,
        data=lambda world: {"subject": "A new update", "body": "Thank you for signing."},
        done=lambda world, me: Update.objects.filter(subject="A new update").exists(),
        audited=False,
    ),
    Row(
        "update-propose",
        Action.UPDATE_SEND,
        "POST",
        _published_campaign,
        data=lambda world: {
            "petition": world.won_petition.public_id,
            "origin": Update.Origin.WON,
        },
        done=lambda world, me: Update.objects.filter(
            petition=world.won_petition, origin=Update.Origin.WON
        ).exists(),
        audited=False,
    ),
    Row("update", Action.VIEW, "GET", _update),
    Row("update-edit", Action.UPDATE_SEND, "GET", _update),
    Row(
        "update-edit",
        Action.UPDATE_SEND,
        "POST",
        _update,
        data=lambda world: {"subject": "Renamed by the matrix", "body": "Still on Monday."},
        done=lambda world, me: fresh(world.update).subject == "Renamed by the matrix",
        audited=False,
    ),
    Row("update-preview", Action.VIEW, "GET", _update),
    Row(
        "update-preview-html",
        Action.VIEW,
        "GET",
        lambda world: {**_update(world), "language": "en"},
    ),
    Row(
        "update-test",
        Action.UPDATE_SEND,
        "POST",
        _update,
        data=lambda world: {"language": "en"},
        done=lambda world, me: OutboxMessage.objects.filter(
            recipient_ref=user_ref(user_id=me.user.pk)
        ).exists(),
        audited=False,
    ),
    Row(
        "update-send",
        Action.UPDATE_SEND,
        "POST",
        _update_with_audience,
        data=lambda world: {"confirm": "yes"},
        done=_update_status(Update.Status.SENDING),
    ),
    Row(
        "update-schedule",
        Action.UPDATE_SEND,
        "POST",
        _update_with_audience,
        data=lambda world: {
            "send_at": (timezone.now() + datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
        },
        done=_update_status(Update.Status.SCHEDULED),
    ),
    Row(
        "update-cancel",
        Action.UPDATE_SEND,
        "POST",
        _scheduled_update,
        done=_update_status(Update.Status.DRAFT),
    ),
    Row(
        "update-delete",
        Action.UPDATE_SEND,
        "POST",
        _update,
        done=lambda world, me: not Update.objects.filter(pk=world.update.pk).exists(),
        audited=False,
    ),
    Row("update-progress", Action.VIEW, "GET", _update),
    Row("campaign-lockdown", Action.CAMPAIGN_LOCKDOWN, "GET", _published_campaign),
    Row(
        "campaign-lockdown",
        Action.CAMPAIGN_LOCKDOWN,
        "POST",
        _published_campaign,
        data=lambda world: {"confirm_slug": world.published.slug},
        done=lambda world, me: fresh(world.published).locked_down_at is not None,
    ),
]

# Workspace routes that are not an organisation's: the person's own account and the link of
# an invitation (tested in test_accounts.py, test_two_factor.py and test_invitations.py).
NOT_AN_ORGANISATIONS = frozenset(
    {
        "home",
        "invitation-accept",
        "account",
        "login",
        "logout",
        "two-factor",
        "two-factor-setup",
        "two-factor-recovery-codes",
        "two-factor-remove",
        "password-change",
        "password-reset",
        "password-reset-sent",
        "password-reset-confirm",
    }
)
