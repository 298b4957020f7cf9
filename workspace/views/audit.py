"""The audit log of an organisation, for its owners: newest first, by pages, by action."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from campaigns import selectors
from campaigns.access import Action
from campaigns.models import AuditEntry, Role
from workspace.access import member_view
from workspace.forms.members import AuditFilterForm

# How known details are shown; other keys are shown as they are named. ``None``: not shown
# (ids that mean nothing to a reader).
_DETAIL_LABELS: dict[str, Any] = {
    "role": _("Role"),
    "from": _("Role before"),
    "to": _("Role after"),
    "replaces_pending": _("Replaces the pending invitation"),
    "invitation": None,
}
_ROLE_KEYS = {"role", "from", "to"}


def _role_label(value: Any) -> str:
    try:
        return str(Role(value).label)
    except ValueError:
        return str(value)


def audit_details(entry: AuditEntry) -> list[tuple[str, str]]:
    """The entry's details as (label, value) lines for people; booleans as a label alone."""
    lines = []
    details = entry.details if isinstance(entry.details, dict) else {}
    for key, value in details.items():
        label = _DETAIL_LABELS.get(key, key.replace("_", " ").capitalize())
        if label is None:
            continue
        if value is True:
            lines.append((str(label), ""))
        elif key in _ROLE_KEYS:
            lines.append((str(label), _role_label(value)))
        else:
            lines.append((str(label), str(value)))
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
