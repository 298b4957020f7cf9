"""Who works in an organisation, with which role; invitations to join; what they did.

An organiser is a Django user (``settings.AUTH_USER_MODEL``): an account with a password
and a second factor. It shares nothing with signers' data (``petitions.Supporter``): no
foreign key, no hash, no table in common.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from campaigns.models.campaigns import Organisation


class Role(models.TextChoices):
    """A member's role in one organisation. What each may do: ``campaigns.access``."""

    OWNER = "owner", _("Owner")
    CAMPAIGNER = "campaigner", _("Campaigner")
    VIEWER = "viewer", _("Viewer")


class Membership(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "user"], name="membership_one_per_organisation"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.organisation}"


class Invitation(models.Model):
    """An invitation to join an organisation with a role, sent by email.

    The link carries a signed token naming this row's ``public_id``; the row makes it
    single-use (``accepted_at``) and revocable (``revoked_at``). The invited address is
    kept until the invitation is accepted or revoked (then emptied: the account, or the
    audit entry, says who it was) or expired (then the row is deleted by the hourly
    ``invitations-expired-delete``). It is an organiser's address, not a signer's.
    At most one invitation per address and organisation is pending: a new one replaces it
    (``campaigns.services.members.invitation_create``).
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField(_("email address"))
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "email"],
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_pending_per_address",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} as {self.role} in {self.organisation}"


class AuditEntry(models.Model):
    """One thing a member did in an organisation, for its owners to read.

    Holds no signer's personal data: ``target`` names an organisation's own object
    (a campaign's title, a member's account), ``details`` holds counts, reasons and
    ids of the organisation's objects, never an address, a name or an IP of a signer.
    """

    class Action(models.TextChoices):
        CAMPAIGN_CREATE = "campaign.create", _("created a campaign")
        CAMPAIGN_UPDATE = "campaign.update", _("edited a campaign")
        CAMPAIGN_PUBLISH = "campaign.publish", _("published a campaign")
        CAMPAIGN_CLOSE = "campaign.close", _("closed a campaign")
        CAMPAIGN_WIN = "campaign.win", _("marked a campaign as won")
        CAMPAIGN_DUPLICATE = "campaign.duplicate", _("duplicated a campaign")
        CAMPAIGN_HERO = "campaign.hero", _("changed a campaign's image")
        PETITION_CREATE = "petition.create", _("created a petition")
        PETITION_UPDATE = "petition.update", _("edited a petition")
        PETITION_PUBLISH = "petition.publish", _("opened a petition")
        PETITION_CLOSE = "petition.close", _("closed a petition")
        PETITION_WIN = "petition.win", _("marked a petition as won")
        PETITION_PAPER = "petition.paper", _("added paper signatures")
        PETITION_RESPONSE = "petition.response", _("recorded the target's response")
        MEMBER_INVITE = "member.invite", _("invited a member")
        MEMBER_INVITE_REVOKE = "member.invite_revoke", _("revoked an invitation")
        MEMBER_JOIN = "member.join", _("joined")
        MEMBER_ROLE = "member.role", _("changed a member's role")
        MEMBER_REMOVE = "member.remove", _("removed a member")
        MEMBER_LEAVE = "member.leave", _("left the organisation")
        SIGNERS_SEARCH = "signers.search", _("searched signers")
        SIGNERS_INVALIDATE = "signers.invalidate", _("invalidated signatures")
        SIGNERS_REVALIDATE = "signers.revalidate", _("revalidated signatures")
        CAMPAIGN_LOCKDOWN = "campaign.lockdown", _("locked down a campaign")
        SIGNERS_EXPORT = "signers.export", _("exported signers")
        UPDATE_SEND = "update.send", _("sent an update")
        UPDATE_SCHEDULE = "update.schedule", _("scheduled an update")
        UPDATE_CANCEL = "update.cancel", _("cancelled an update")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="audit_entries"
    )
    # Kept when the account goes: the entry then shows the name it had.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    actor_label = models.CharField(max_length=254)
    action = models.CharField(max_length=40, choices=Action.choices)
    target = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organisation", "-created_at"], name="audit_by_org")]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.action} {self.target}"
