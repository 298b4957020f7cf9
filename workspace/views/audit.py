"""The audit log of an organisation, for its owners: newest first, by pages, by action."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from campaigns import selectors
from campaigns.access import Action
from campaigns.models import AuditEntry, Campaign, Role
from petitions.models import InvalidationBatch, Petition, Signature
from workspace.access import member_view
from workspace.forms.members import AuditFilterForm

# Ids of the organisation's objects mean nothing to a reader: the entry's "About" column
# names the object (``target``), so they are not shown.
_HIDDEN_KEYS = frozenset({"invitation", "campaign", "petition", "update", "batch", "source"})

# How known details are labelled; other keys are shown as they are named.
_DETAIL_LABELS: dict[str, Any] = {
    "role": _("Role"),
    "replaces_pending": _("Replaces the pending invitation"),
    "fields": _("Fields changed"),
    "change": _("Change"),
    "reason": _("Reason"),
    "criteria": _("Criteria"),
    "statuses": _("Statuses"),
    "count": _("Signatures"),
    "category": _("Category"),
    "paper_total": _("Paper signatures in total"),
    "date": _("Date of the response"),
    "replaced": _("Replaces an earlier response"),
    "detached": _("Signatures detached"),
    "audience": _("Recipients"),
    "scheduled_at": _("Scheduled for"),
    "scheduled": _("Sent at the scheduled time"),
}
# "from" and "to" hold a role for a role change and a status for a campaign's transition.
_BEFORE_AFTER: dict[str, tuple[Any, Any]] = {
    AuditEntry.Action.MEMBER_ROLE: (_("Role before"), _("Role after")),
    AuditEntry.Action.CAMPAIGN_PUBLISH: (_("Status before"), _("Status after")),
    AuditEntry.Action.CAMPAIGN_CLOSE: (_("Status before"), _("Status after")),
    AuditEntry.Action.CAMPAIGN_WIN: (_("Status before"), _("Status after")),
}
_VALUE_LABELS: dict[str, dict[str, Any]] = {
    "change": {
        "set": _("a new image"),
        "removed": _("the image removed"),
        "description": _("the description changed"),
    },
    "reason": {
        "organiser": _("closed by a member"),
        "deadline": _("the deadline passed"),
        "campaign_ended": _("the campaign ended"),
    },
    "criteria": {
        "petition": _("petition"),
        "ip": _("IP address"),
        "hash": _("IP hash"),
        "domain": _("email domain"),
        "email": _("email address"),
        "time": _("time window"),
    },
    "statuses": dict(Signature.Status.choices),
    "category": dict(InvalidationBatch.Category.choices),
}


def _role_label(value: Any) -> str:
    try:
        return str(Role(value).label)
    except ValueError:
        return str(value)


def _status_label(value: Any) -> str:
    try:
        return str(Campaign.Status(value).label)
    except ValueError:
        return str(value)


def _field_label(action: str, name: str) -> str:
    model = Petition if action.startswith("petition.") else Campaign
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return name
    return str(getattr(field, "verbose_name", name))


def _value(entry: AuditEntry, key: str, value: Any) -> str:
    if key == "fields" and isinstance(value, list):
        return ", ".join(_field_label(entry.action, str(name)) for name in value)
    if key == "scheduled_at":
        try:
            return date_format(datetime.fromisoformat(str(value)), "DATETIME_FORMAT") + " UTC"
        except ValueError:
            return str(value)
    known = _VALUE_LABELS.get(key, {})
    if isinstance(value, list):
        return ", ".join(str(known.get(item, item)) for item in value)
    return str(known.get(value, value))


def audit_details(entry: AuditEntry) -> list[tuple[str, str]]:
    """The entry's details as (label, value) lines for people; booleans as a label alone."""
    lines = []
    details = entry.details if isinstance(entry.details, dict) else {}
    before_after = _BEFORE_AFTER.get(entry.action)
    for key, value in details.items():
        if key in _HIDDEN_KEYS or value is False or value in ("", None, []):
            continue
        if key in ("from", "to") and before_after is not None:
            label = before_after[0] if key == "from" else before_after[1]
            shown = (
                _role_label(value)
                if entry.action == AuditEntry.Action.MEMBER_ROLE
                else _status_label(value)
            )
            lines.append((str(label), shown))
            continue
        label = _DETAIL_LABELS.get(key, key.replace("_", " ").capitalize())
        if value is True:
            lines.append((str(label), ""))
        elif key == "role":
            lines.append((str(label), _role_label(value)))
        else:
            lines.append((str(label), _value(entry, key, value)))
    if entry.action in _BEFORE_AFTER and entry.action != AuditEntry.Action.MEMBER_ROLE:
        # The status after a transition is the one the action names.
        after = {
            AuditEntry.Action.CAMPAIGN_PUBLISH: Campaign.Status.PUBLISHED,
            AuditEntry.Action.CAMPAIGN_CLOSE: Campaign.Status.CLOSED,
            AuditEntry.Action.CAMPAIGN_WIN: Campaign.Status.WON,
        }[AuditEntry.Action(entry.action)]
        if "from" in details and "to" not in details:
            lines.append((str(_("Status after")), str(after.label)))
    return lines


@member_view(Action.AUDIT_READ)
def audit(request: HttpRequest) -> HttpResponse:
    organisation = request.organisation  # type: ignore[attr-defined]
    form = AuditFilterForm(request.GET)
    action = form.cleaned_data["action"] if form.is_valid() else None
    page = selectors.audit_entry_page(
        organisation=organisation, action=action or None, page=request.GET.get("page")
    )
    context = {
        "organisation": organisation,
        "ws_section": "audit",
        "form": form,
        "page": page,
        "entries": [(entry, audit_details(entry)) for entry in page.object_list],
    }
    return render(request, "workspace/audit.html", context, status=200 if form.is_valid() else 400)
