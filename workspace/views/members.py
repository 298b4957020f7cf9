"""The members page: who is in the organisation; owners invite, change roles and remove.

Every member sees who the members are and their roles (viewers and campaigners only the
names and roles); owners also see addresses, pending invitations and the forms that change
them. Everyone can leave. Members and invitations are named in URLs by their public ids,
looked up inside the organisation of the URL: another organisation's answer 404.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from campaigns import selectors
from campaigns.access import Action, role_allows
from campaigns.models import Invitation, Membership, Organisation, Role
from campaigns.services import members as services
from workspace.access import member_view, signed_in_user
from workspace.forms.members import InviteForm, RoleForm
from workspace.roles import role_description


def _organisation(request: HttpRequest) -> Organisation:
    return request.organisation  # type: ignore[attr-defined]


def _own_membership(request: HttpRequest) -> Membership:
    return request.membership  # type: ignore[attr-defined]


def _members_url(request: HttpRequest) -> str:
    return reverse("workspace:members", kwargs={"org": _organisation(request).slug})


def _membership_for_member(request: HttpRequest, public_id: uuid.UUID) -> Membership:
    """The membership with this public id in the request's organisation, or 404."""
    return get_object_or_404(
        selectors.membership_list(organisation=_organisation(request)), public_id=public_id
    )


def _roles() -> list[dict[str, Any]]:
    return [
        {"value": role.value, "label": role.label, "description": role_description(role)}
        for role in Role
    ]


def address_masked(email: str) -> str:
    """An address shown to members who may not see it: its first character and its domain
    ("a•••@example.org"), enough to tell colleagues apart."""
    local, _at, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}" if domain else "•••"


def _shown_name(membership: Membership, *, full: bool) -> str:
    """How a member is named on the page: their name if the account has one, else their
    address, in full only to owners (and to the member themself)."""
    user = membership.user
    name = user.get_full_name() or user.email or user.get_username()
    if full or user.get_full_name():
        return name
    return address_masked(name)


def _members_page(
    request: HttpRequest,
    *,
    invite_form: InviteForm | None = None,
    error: str | Promise | None = None,
    status: int = 200,
) -> HttpResponse:
    organisation = _organisation(request)
    own = _own_membership(request)
    can_manage = role_allows(role=own.role, action=Action.MEMBERS_MANAGE)
    memberships = list(selectors.membership_list(organisation=organisation))
    for membership in memberships:
        # A display value for the template, on the row it belongs to.
        membership.shown_name = _shown_name(  # type: ignore[attr-defined]
            membership, full=can_manage or membership.pk == own.pk
        )
    context = {
        "organisation": organisation,
        "ws_section": "members",
        "own": own,
        "can_manage": can_manage,
        "memberships": memberships,
        "invitations": (
            selectors.invitation_list_pending(organisation=organisation) if can_manage else []
        ),
        "invite_form": invite_form or InviteForm(),
        "roles": _roles(),
        "error": error,
        "invitation_days": settings.INVITATION_DAYS,
    }
    return render(request, "workspace/members.html", context, status=status)


@member_view(Action.VIEW)
def members(request: HttpRequest) -> HttpResponse:
    return _members_page(request)


@member_view(Action.MEMBERS_MANAGE)
@require_POST
def member_invite(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST)
    if not form.is_valid():
        return _members_page(request, invite_form=form, status=400)
    try:
        invitation = services.invitation_create(
            actor=signed_in_user(request),
            organisation=_organisation(request),
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
        )
    except services.AlreadyAMember as refused:
        form.add_error("email", str(refused.message))
        return _members_page(request, invite_form=form, status=409)
    messages.success(
        request,
        ngettext(
            "Invitation sent to %(email)s. The link in it works for %(days)d day.",
            "Invitation sent to %(email)s. The link in it works for %(days)d days.",
            settings.INVITATION_DAYS,
        )
        % {"email": invitation.email, "days": settings.INVITATION_DAYS},
    )
    return HttpResponseRedirect(_members_url(request))


@member_view(Action.MEMBERS_MANAGE)
@require_POST
def invitation_revoke(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    invitation = get_object_or_404(
        Invitation.objects.select_related("organisation"),
        organisation=_organisation(request),
        public_id=public_id,
    )
    email = invitation.email
    try:
        services.invitation_revoke(actor=signed_in_user(request), invitation=invitation)
    except services.InvitationNotPending as refused:
        return _members_page(request, error=refused.message, status=409)
    messages.success(
        request,
        _("The invitation to %(email)s was revoked: its link no longer works.") % {"email": email},
    )
    return HttpResponseRedirect(_members_url(request))


@member_view(Action.MEMBERS_MANAGE)
@require_POST
def member_role(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    target = _membership_for_member(request, public_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        return _members_page(request, error=_("Choose one of the roles."), status=400)
    try:
        changed = services.member_role_change(
            actor=signed_in_user(request), membership=target, role=form.cleaned_data["role"]
        )
    except (services.LastOwner, services.NoLongerAMember) as refused:
        return _members_page(request, error=refused.message, status=409)
    messages.success(
        request,
        _("%(member)s is now: %(role)s.")
        % {"member": services.account_label(changed.user), "role": changed.get_role_display()},
    )
    return HttpResponseRedirect(_members_url(request))


@member_view(Action.MEMBERS_MANAGE)
def member_remove(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """GET asks to confirm; POST removes."""
    target = _membership_for_member(request, public_id)
    if target.pk == _own_membership(request).pk:
        return HttpResponseRedirect(
            reverse("workspace:member-leave", kwargs={"org": _organisation(request).slug})
        )
    context = {
        "organisation": _organisation(request),
        "ws_section": "members",
        "target": target,
        "label": services.account_label(target.user),
    }
    if request.method != "POST":
        return render(request, "workspace/member_remove.html", context)
    try:
        services.member_remove(actor=signed_in_user(request), membership=target)
    except (services.LastOwner, services.NoLongerAMember) as refused:
        return _members_page(request, error=refused.message, status=409)
    messages.success(
        request,
        _("%(member)s is no longer a member of the organisation.") % {"member": context["label"]},
    )
    return HttpResponseRedirect(_members_url(request))


@member_view(Action.VIEW)
def member_leave(request: HttpRequest) -> HttpResponse:
    """GET asks to confirm (or explains why the last owner cannot leave); POST leaves."""
    organisation = _organisation(request)
    own = _own_membership(request)
    last_owner = (
        own.role == Role.OWNER
        and not Membership.objects.filter(organisation=organisation, role=Role.OWNER)
        .exclude(pk=own.pk)
        .exists()
    )
    context = {
        "organisation": organisation,
        "ws_section": "members",
        "last_owner": last_owner,
    }
    if request.method != "POST":
        return render(request, "workspace/member_leave.html", context)
    try:
        services.member_leave(actor=signed_in_user(request), organisation=organisation)
    except services.LastOwner:
        context["last_owner"] = True
        return render(request, "workspace/member_leave.html", context, status=409)
    messages.success(request, _("You left %(name)s.") % {"name": organisation.name})
    return HttpResponseRedirect(reverse("workspace:home"))
