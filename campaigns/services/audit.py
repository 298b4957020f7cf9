"""The audit log: one entry per thing a member did, for the organisation's owners."""

from __future__ import annotations

from typing import Any

from campaigns.models import AuditEntry, Organisation


def audit_record(
    *,
    organisation: Organisation,
    actor: Any,
    action: AuditEntry.Action,
    target: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Record that ``actor`` did ``action`` in ``organisation``.

    ``target`` names the organisation's own object (a campaign's title, a member's email);
    ``details`` holds counts, reasons and public ids. Never pass a signer's address, name
    or IP: the log is kept for as long as the organisation and is read by every owner.
    Call it inside the transaction of the action it records, so both happen or neither.
    """
    label = getattr(actor, "email", "") or getattr(actor, "get_username", lambda: "")()
    return AuditEntry.objects.create(
        organisation=organisation,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=label or "system",
        action=action,
        target=target[:300],
        details=details or {},
    )
