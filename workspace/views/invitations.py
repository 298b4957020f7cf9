"""The page an invitation's link opens: see the invitation, then accept it.

A GET only shows; accepting is a POST (mail scanners follow links). What the page offers
depends on who opens it:

- signed in with the invited address: a button to join;
- signed in with another address: a clear refusal (an invitation is for its address);
- not signed in, and an account uses the invited address: a link to sign in and come back;
- not signed in, no such account: a form to choose a password; the account (its username
  the invited address) and the membership are made together, and the person is signed in.

After joining, an owner without a second factor goes to set one up (owners need it for
everything), everyone else to the organisation's page with a welcome.

A link that does not work answers one page, "This invitation link is no longer valid",
and changes nothing: status 404 for a forged or damaged token (no such invitation was
ever made), 410 Gone for a genuine one that expired, was used or was revoked.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import login
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django_otp import devices_for_user

from campaigns import selectors
from campaigns.access import is_verified
from campaigns.models import Invitation, Membership, Role
from campaigns.services import members as services
from workspace import tokens
from workspace.access import signed_in_user
from workspace.forms.members import NewAccountForm
from workspace.roles import role_description

_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _invalid(request: HttpRequest, *, status: int) -> HttpResponse:
    return render(request, "workspace/invitation_invalid.html", status=status)


def _url_or_none(name: str) -> str | None:
    # The account pages are another part of the workspace; the invitation works without.
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def _page(
    request: HttpRequest,
    invitation: Invitation,
    *,
    state: str,
    form: NewAccountForm | None = None,
    error: str | None = None,
    status: int = 200,
) -> HttpResponse:
    login_url = _url_or_none("workspace:login")
    context = {
        "invitation": invitation,
        "organisation_name": invitation.organisation.name,
        "role_label": Role(invitation.role).label,
        "role_description": role_description(invitation.role),
        "inviter": invitation.invited_by,
        "state": state,
        "form": form,
        "error": error,
        "login_url": login_url and f"{login_url}?{urlencode({'next': request.path})}",
    }
    return render(request, "workspace/invitation.html", context, status=status)


def _welcome(request: HttpRequest, membership: Membership) -> HttpResponse:
    organisation = membership.organisation
    organisation_url = reverse("workspace:organisation", kwargs={"org": organisation.slug})
    messages.success(
        request,
        _("Welcome to %(name)s! You joined as: %(role)s. %(description)s")
        % {
            "name": organisation.name,
            "role": membership.get_role_display(),
            "description": role_description(membership.role),
        },
    )
    user = signed_in_user(request)
    if membership.role == Role.OWNER and not is_verified(user):
        setup_url = _url_or_none("workspace:two-factor-setup")
        if setup_url and not any(devices_for_user(user, confirmed=True)):
            return HttpResponseRedirect(f"{setup_url}?{urlencode({'next': organisation_url})}")
    return HttpResponseRedirect(organisation_url)


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    try:
        public_id = tokens.invitation_token_read(token)
    except signing.SignatureExpired:
        return _invalid(request, status=410)
    except signing.BadSignature:
        return _invalid(request, status=404)
    invitation = selectors.invitation_get(public_id=public_id)
    if invitation is None or not selectors.invitation_is_pending(invitation=invitation):
        return _invalid(request, status=410)
    if request.user.is_authenticated:
        return _signed_in(request, invitation)
    if selectors.organiser_account_exists(email=invitation.email):
        return _page(request, invitation, state="sign_in")
    return _new_account(request, invitation)


def _signed_in(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    user = signed_in_user(request)
    if invitation.email not in {user.email.lower(), user.get_username().lower()}:
        return _page(request, invitation, state="wrong_account", status=403)
    if request.method != "POST":
        return _page(request, invitation, state="join")
    try:
        membership = services.invitation_accept(invitation=invitation, user=user)
    except services.InvitationNotPending:
        return _invalid(request, status=410)
    except services.InvitationForAnotherAddress:
        return _page(request, invitation, state="wrong_account", status=403)
    except services.AlreadyAMember as refused:
        return _page(request, invitation, state="member", error=str(refused.message), status=409)
    return _welcome(request, membership)


def _new_account(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    if request.method != "POST":
        return _page(request, invitation, state="new_account", form=_form(invitation))
    form = _form(invitation, data=request.POST)
    if not form.is_valid():
        return _page(request, invitation, state="new_account", form=form, status=400)
    try:
        user, membership = services.invitation_accept_new_account(
            invitation=invitation, password=form.cleaned_data["password1"]
        )
    except services.InvitationNotPending:
        return _invalid(request, status=410)
    except services.AccountExists:
        return _page(request, invitation, state="sign_in", status=409)
    except ValidationError as error:
        form.add_error("password1", error)
        return _page(request, invitation, state="new_account", form=form, status=400)
    login(request, user, backend=_BACKEND)
    return _welcome(request, membership)


def _form(invitation: Invitation, data: object = None) -> NewAccountForm:
    return NewAccountForm(data, email=invitation.email)
