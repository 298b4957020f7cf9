"""Campaigns' models: organisations and their campaigns; members, invitations, the audit log."""

from campaigns.models.campaigns import Campaign, Organisation, retention_days_default
from campaigns.models.members import AuditEntry, Invitation, Membership, Role

__all__ = [
    "AuditEntry",
    "Campaign",
    "Invitation",
    "Membership",
    "Organisation",
    "Role",
    "retention_days_default",
]
