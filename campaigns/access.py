"""Who may do what in an organisation: one table, read by every view and every service.

Each workspace view and each service that acts for a member asks here, with the object's
own organisation. The answer distinguishes "not a member" (the caller shows a 404: another
organisation's objects do not exist for you) from "a member without the right" (a clear
refusal), and says whether the action needs a verified second factor.

The role matrix in ``tests/workspace/test_role_matrix.py`` is generated from ``RIGHTS``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.http import Http404

from campaigns.models import Membership, Organisation, Role

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


class Action(enum.Enum):
    """Everything a member can do in the workspace, by what it touches."""

    VIEW = "view"  # numbers, campaigns, petitions, updates: read-only
    CAMPAIGN_EDIT = "campaign_edit"  # create and edit campaigns and petitions, paper, response
    CAMPAIGN_PUBLISH = "campaign_publish"  # publish, close, win, duplicate
    UPDATE_SEND = "update_send"  # write, test, schedule and send updates to supporters
    MEMBERS_MANAGE = "members_manage"  # invite, revoke, change roles, remove
    AUDIT_READ = "audit_read"
    SIGNERS_SEARCH = "signers_search"  # reaches signers' personal data
    SIGNERS_INVALIDATE = "signers_invalidate"  # invalidate and revalidate
    SIGNERS_EXPORT = "signers_export"
    CAMPAIGN_LOCKDOWN = "campaign_lockdown"  # destroys signers' personal data
    # How long signers' data is kept: 0 days and a close erase it all, as a lockdown does.
    CAMPAIGN_RETENTION = "campaign_retention"


_ALL = frozenset(Role)
_CAMPAIGNERS = frozenset({Role.OWNER, Role.CAMPAIGNER})
_OWNERS = frozenset({Role.OWNER})


@dataclass(frozen=True)
class Right:
    roles: frozenset[Role]
    # Reaches or destroys personal data: a verified second factor is needed whatever the
    # role (and owners need one for everything, see ``two_factor_required``).
    two_factor: bool = False


RIGHTS: dict[Action, Right] = {
    Action.VIEW: Right(_ALL),
    Action.CAMPAIGN_EDIT: Right(_CAMPAIGNERS),
    Action.CAMPAIGN_PUBLISH: Right(_CAMPAIGNERS),
    # Mail to supporters (some at risk) from our sender: a stolen password alone must not
    # be enough to write to them.
    Action.UPDATE_SEND: Right(_CAMPAIGNERS, two_factor=True),
    Action.MEMBERS_MANAGE: Right(_OWNERS),
    Action.AUDIT_READ: Right(_OWNERS),
    Action.SIGNERS_SEARCH: Right(_OWNERS, two_factor=True),
    Action.SIGNERS_INVALIDATE: Right(_OWNERS, two_factor=True),
    Action.SIGNERS_EXPORT: Right(_OWNERS, two_factor=True),
    Action.CAMPAIGN_LOCKDOWN: Right(_OWNERS, two_factor=True),
    Action.CAMPAIGN_RETENTION: Right(_OWNERS, two_factor=True),
}


class NotAMember(Http404):
    """The user is not a member of the object's organisation: answer 404, never 403."""


class NotAllowed(PermissionDenied):
    """A member whose role lacks the right: a clear refusal (403), nothing changed."""


class SecondFactorNeeded(PermissionDenied):
    """The right needs a verified second factor this session has not given."""


def role_allows(*, role: Role | str, action: Action) -> bool:
    return Role(role) in RIGHTS[action].roles


def two_factor_required(*, role: Role | str, action: Action) -> bool:
    """Owners verify a second factor for everything; others for actions on personal data."""
    return Role(role) == Role.OWNER or RIGHTS[action].two_factor


def membership_get(
    *, user: AbstractBaseUser | AnonymousUser, organisation: Organisation
) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(organisation=organisation, user_id=user.pk).first()


def is_verified(user: Any) -> bool:
    """Whether this request's user gave a second factor (django-otp's middleware sets it)."""
    check = getattr(user, "is_verified", None)
    return bool(check and check())


def access_check(
    *, user: AbstractBaseUser | AnonymousUser, organisation: Organisation, action: Action
) -> Membership:
    """The user's membership if they may do ``action`` in ``organisation``; raises otherwise.

    Raises ``NotAMember`` (a 404) for anyone outside the organisation, ``NotAllowed`` (403)
    for a member whose role lacks the right, ``SecondFactorNeeded`` when the right needs a
    verified second factor this session lacks. Services call it with the acting user and
    the organisation that owns the object, so that a view forgetting to check changes
    nothing.
    """
    membership = membership_get(user=user, organisation=organisation)
    if membership is None:
        raise NotAMember
    if not role_allows(role=membership.role, action=action):
        raise NotAllowed
    if two_factor_required(role=membership.role, action=action) and not is_verified(user):
        raise SecondFactorNeeded
    return membership
