"""Who works in an organisation: invitations, joining, roles, removal and leaving.

Every function that acts for a member takes ``actor`` and asks ``campaigns.access`` itself,
with the organisation that owns the object, so a view that forgot to check changes nothing.
Each change and its audit entry (``campaigns.services.audit``) are one transaction.

Two rules hold under concurrency:

- An invitation is used once. Accepting is a conditional UPDATE (still pending, not
  revoked, not expired) that must touch one row; the membership's unique constraint
  decides two invitations of one person racing.
- An organisation keeps at least one owner. Demoting, removing and leaving lock the
  organisation's owner memberships (``SELECT ... FOR UPDATE``, in one order) before they
  count them, so two owners demoting each other at the same moment cannot both pass: the
  second sees the first's change and is refused.

The invitation email is the workspace's (``workspace.emails``: it makes the link); this
module only writes its outbox row, inside the transaction that creates the invitation.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from campaigns.access import Action, NotAllowed, NotAMember, access_check
from campaigns.models import AuditEntry, Invitation, Membership, Organisation, Role
from campaigns.selectors import invitation_is_pending, organiser_account_exists
from campaigns.services.audit import audit_record
from mailer import services as mailer

INVITATION_EMAIL_KIND = "workspace_invitation"
_INVITATION_REF = "campaigns.invitation:"


class MembersError(Exception):
    """A change to an organisation's members was refused; nothing was changed.

    ``message`` says why, in words for the person who asked (translated when shown).
    """

    message: str | Promise = _("This change to the organisation's members is not possible.")

    def __init__(self, message: str | Promise | None = None) -> None:
        if message is not None:
            self.message = message
        super().__init__(str(self.message))


class AlreadyAMember(MembersError):
    message = _("This person is already a member of the organisation.")


class LastOwner(MembersError):
    message = _("An organisation must keep at least one owner. Make another member an owner first.")


class NoLongerAMember(MembersError):
    message = _("This person is no longer a member of the organisation.")


class InvitationNotPending(MembersError):
    message = _("This invitation is no longer valid: it was accepted, revoked or has expired.")


class InvitationForAnotherAddress(MembersError):
    message = _(
        "This invitation was sent to another email address. An invitation can only be "
        "accepted by the account with the address it was sent to."
    )


class AccountExists(MembersError):
    message = _(
        "An account with this email address already exists. Sign in to accept the invitation."
    )


# --- References and small rules ------------------------------------------------------------


def invitation_ref(*, invitation_id: int) -> str:
    """How the invitation's outbox rows name their recipient (the invited address)."""
    return f"{_INVITATION_REF}{invitation_id}"


def invitation_id_from_ref(ref: str) -> int:
    """The invitation id in an ``invitation_ref``; ``ValueError`` for anything else."""
    prefix, _sep, number = ref.partition(":")
    if f"{prefix}:" != _INVITATION_REF or not number.isdigit():
        raise ValueError("not an invitation's message")
    return int(number)


def email_normalise(email: str) -> str:
    """Organisers' addresses, as accounts and invitations store them: trimmed, lower-case."""
    return email.strip().lower()


def account_label(user: Any) -> str:
    """How the audit log and the members page name an account: its address."""
    return str(getattr(user, "email", "") or user.get_username())


def _account_addresses(user: Any) -> set[str]:
    return {email_normalise(user.email or ""), email_normalise(user.get_username())} - {""}


def _invitation_mail_delete(*, invitation_ids: list[int], unsent_only: bool) -> None:
    mailer.outbox_messages_delete(
        recipient_refs=[invitation_ref(invitation_id=pk) for pk in invitation_ids],
        unsent_only=unsent_only,
    )


# --- Invitations ---------------------------------------------------------------------------


def invitation_create(
    *,
    actor: Any,
    organisation: Organisation,
    email: str,
    role: Role | str,
    language: str | None = None,
) -> Invitation:
    """Invite ``email`` to join ``organisation`` with ``role``, and queue the email.

    ``actor`` must be allowed to manage members. The address is stored lower-case; an
    address that is already a member's raises ``AlreadyAMember``; a pending invitation to
    the same address is replaced (revoked) by this one. The invitation is valid for
    ``settings.INVITATION_DAYS``. The email is written in ``language`` (by default the
    language active now: the inviter's). Raises ``ValidationError`` for a malformed address.
    """
    access_check(user=actor, organisation=organisation, action=Action.MEMBERS_MANAGE)
    return invitation_issue(
        organisation=organisation, email=email, role=role, invited_by=actor, language=language
    )


def invitation_issue(
    *,
    organisation: Organisation,
    email: str,
    role: Role | str,
    invited_by: Any = None,
    language: str | None = None,
) -> Invitation:
    """``invitation_create`` without a member's access check.

    Only for callers that vouch for themselves: staff tools and the
    ``organisation_invite`` command, which invite an organisation's first owner.
    Members' requests go through ``invitation_create``.
    """
    email = email_normalise(email)
    validate_email(email)
    role = Role(role)
    with transaction.atomic():
        # One invitation at a time per organisation: two owners inviting one address at
        # once end with one pending invitation (the constraint is the backstop).
        Organisation.objects.select_for_update().filter(pk=organisation.pk).first()
        members = Membership.objects.filter(organisation=organisation)
        if members.filter(Q(user__email__iexact=email) | Q(user__username__iexact=email)).exists():
            raise AlreadyAMember
        now = timezone.now()
        replaced = list(
            Invitation.objects.filter(
                organisation=organisation,
                email=email,
                accepted_at__isnull=True,
                revoked_at__isnull=True,
            ).values_list("pk", flat=True)
        )
        if replaced:
            Invitation.objects.filter(pk__in=replaced).update(revoked_at=now, email="")
            _invitation_mail_delete(invitation_ids=replaced, unsent_only=True)
        invitation = Invitation.objects.create(
            organisation=organisation,
            email=email,
            role=role,
            invited_by=invited_by if getattr(invited_by, "pk", None) else None,
            expires_at=now + timedelta(days=settings.INVITATION_DAYS),
        )
        details: dict[str, Any] = {"role": role.value, "invitation": str(invitation.public_id)}
        if replaced:
            details["replaces_pending"] = True
        audit_record(
            organisation=organisation,
            actor=invited_by,
            action=AuditEntry.Action.MEMBER_INVITE,
            target=email,
            details=details,
        )
        mailer.outbox_message_queue(
            kind=INVITATION_EMAIL_KIND,
            recipient_ref=invitation_ref(invitation_id=invitation.pk),
            about={"invitation": str(invitation.pk)},
            language=language or translation.get_language() or settings.LANGUAGE_CODE,
        )
    return invitation


def invitation_revoke(*, actor: Any, invitation: Invitation) -> None:
    """Revoke a pending invitation: its link stops working, its unsent email is dropped.

    Raises ``InvitationNotPending`` if it was accepted or revoked meanwhile.
    """
    organisation = invitation.organisation
    access_check(user=actor, organisation=organisation, action=Action.MEMBERS_MANAGE)
    with transaction.atomic():
        current = (
            Invitation.objects.select_for_update()
            .filter(pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True)
            .first()
        )
        if current is None:
            raise InvitationNotPending
        Invitation.objects.filter(pk=current.pk).update(revoked_at=timezone.now(), email="")
        _invitation_mail_delete(invitation_ids=[current.pk], unsent_only=True)
        audit_record(
            organisation=organisation,
            actor=actor,
            action=AuditEntry.Action.MEMBER_INVITE_REVOKE,
            target=current.email,
            details={"role": current.role, "invitation": str(current.public_id)},
        )


def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """Make ``user`` a member with the invitation's role; the invitation is then used up.

    The user's address must be the invited one (``InvitationForAnotherAddress``). An
    invitation accepted, revoked or expired before this moment raises
    ``InvitationNotPending``; someone who is a member already, ``AlreadyAMember``. In
    every refusal nothing changes.
    """
    with transaction.atomic():
        current = Invitation.objects.filter(pk=invitation.pk).first()
        if current is None or not invitation_is_pending(invitation=current):
            raise InvitationNotPending
        if current.email not in _account_addresses(user):
            raise InvitationForAnotherAddress
        now = timezone.now()
        # Single use: of two requests with one link, one UPDATE touches the row.
        claimed = Invitation.objects.filter(
            pk=current.pk,
            email=current.email,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=now,
        ).update(accepted_at=now, accepted_by=user, email="")
        if claimed != 1:
            raise InvitationNotPending
        try:
            with transaction.atomic():
                membership = Membership.objects.create(
                    organisation_id=current.organisation_id, user=user, role=current.role
                )
        except IntegrityError:
            # Already a member (another invitation, accepted a moment ago): the outer
            # transaction rolls back, and this invitation stays as it was.
            raise AlreadyAMember from None
        _invitation_mail_delete(invitation_ids=[current.pk], unsent_only=True)
        audit_record(
            organisation=current.organisation,
            actor=user,
            action=AuditEntry.Action.MEMBER_JOIN,
            target=account_label(user),
            details={"role": current.role, "invitation": str(current.public_id)},
        )
    return membership


def invitation_accept_new_account(
    *, invitation: Invitation, password: str
) -> tuple[User, Membership]:
    """Create the invitee's account (username and address: the invited one) and accept.

    The password must pass ``AUTH_PASSWORD_VALIDATORS`` (``ValidationError``). Raises
    ``AccountExists`` when an account with the address exists (its owner signs in and
    accepts), and what ``invitation_accept`` raises. Account and membership are made
    together or not at all.
    """
    with transaction.atomic():
        current = Invitation.objects.filter(pk=invitation.pk).first()
        if current is None or not invitation_is_pending(invitation=current):
            raise InvitationNotPending
        email = current.email
        if organiser_account_exists(email=email):
            raise AccountExists
        validate_password(password, user=User(username=email, email=email))
        try:
            with transaction.atomic():
                user = User.objects.create_user(username=email, email=email, password=password)
        except IntegrityError:
            raise AccountExists from None
        membership = invitation_accept(invitation=current, user=user)
    return user, membership


def invitations_expired_delete(*, now: datetime | None = None) -> int:
    """Delete invitations that expired without being accepted, and their mail (hourly).

    The invited address goes with them. Accepted invitations stay (without an address),
    so that the membership can be traced to who invited whom in the audit log.
    """
    now = now or timezone.now()
    with transaction.atomic():
        expired = list(
            Invitation.objects.filter(accepted_at__isnull=True, expires_at__lte=now).values_list(
                "pk", flat=True
            )
        )
        if not expired:
            return 0
        _invitation_mail_delete(invitation_ids=expired, unsent_only=False)
        deleted, _by_model = Invitation.objects.filter(pk__in=expired).delete()
    return deleted


# --- Members -------------------------------------------------------------------------------


def _owners_locked(organisation: Organisation) -> list[Membership]:
    """The organisation's owner memberships, locked until the transaction ends.

    Always locked in primary-key order, before any other membership row, so that two
    changes never wait for each other in opposite orders.
    """
    return list(
        Membership.objects.select_for_update()
        .filter(organisation=organisation, role=Role.OWNER)
        .order_by("pk")
    )


def _actor_still_owner(owners: list[Membership], actor: Any) -> None:
    # The access check ran before the lock; an owner demoted meanwhile may no longer act.
    if not any(owner.user_id == actor.pk for owner in owners):
        raise NotAllowed


def _membership_locked(membership: Membership) -> Membership:
    current = (
        Membership.objects.select_for_update()
        .select_related("user")
        .filter(pk=membership.pk)
        .first()
    )
    if current is None:
        raise NoLongerAMember
    return current


def member_role_change(*, actor: Any, membership: Membership, role: Role | str) -> Membership:
    """Give a member another role. The last owner cannot be demoted (``LastOwner``)."""
    role = Role(role)
    organisation = membership.organisation
    access_check(user=actor, organisation=organisation, action=Action.MEMBERS_MANAGE)
    with transaction.atomic():
        owners = _owners_locked(organisation)
        _actor_still_owner(owners, actor)
        current = _membership_locked(membership)
        previous = Role(current.role)
        if previous == role:
            return current
        if previous == Role.OWNER and len(owners) <= 1:
            raise LastOwner
        current.role = role
        current.save(update_fields=["role"])
        audit_record(
            organisation=organisation,
            actor=actor,
            action=AuditEntry.Action.MEMBER_ROLE,
            target=account_label(current.user),
            details={"from": previous.value, "to": role.value},
        )
    return current


def member_remove(*, actor: Any, membership: Membership) -> None:
    """Remove a member from the organisation. The last owner cannot be removed."""
    organisation = membership.organisation
    access_check(user=actor, organisation=organisation, action=Action.MEMBERS_MANAGE)
    with transaction.atomic():
        owners = _owners_locked(organisation)
        _actor_still_owner(owners, actor)
        current = _membership_locked(membership)
        if current.role == Role.OWNER and len(owners) <= 1:
            raise LastOwner
        current.delete()
        audit_record(
            organisation=organisation,
            actor=actor,
            action=AuditEntry.Action.MEMBER_REMOVE,
            target=account_label(current.user),
            details={"role": current.role},
        )


def member_leave(*, actor: Any, organisation: Organisation) -> None:
    """``actor`` leaves the organisation. Its last owner cannot leave (``LastOwner``)."""
    access_check(user=actor, organisation=organisation, action=Action.VIEW)
    with transaction.atomic():
        owners = _owners_locked(organisation)
        own = Membership.objects.select_for_update().filter(
            organisation=organisation, user_id=actor.pk
        )
        current = own.first()
        if current is None:
            raise NotAMember
        if current.role == Role.OWNER and len(owners) <= 1:
            raise LastOwner
        current.delete()
        audit_record(
            organisation=organisation,
            actor=actor,
            action=AuditEntry.Action.MEMBER_LEAVE,
            target=account_label(actor),
            details={"role": current.role},
        )
