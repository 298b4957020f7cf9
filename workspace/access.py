"""One way for a workspace view to say "this organisation, for this member, with this right".

``member_view(action)`` wraps a view whose URL carries ``org`` (the organisation's slug):

- anonymous visitors go to the sign-in page, with ``next`` back here;
- anyone who is not a member of that organisation gets a 404 (never a 403: another
  organisation's objects do not exist for them);
- a member whose role lacks the right gets a 403 page that says so;
- a right that needs a second factor the session has not given sends the member to the
  two-factor step (or to set one up), with ``next`` back here.

The view is then called with ``request.membership`` and ``request.organisation`` set.
Objects inside the organisation are fetched with the ``*_for_member`` helpers below, which
also answer 404 for an object of another organisation.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from campaigns.access import (
    Action,
    NotAllowed,
    SecondFactorNeeded,
    access_check,
)
from campaigns.models import Campaign, Organisation
from petitions.models import Petition

# HttpResponseBase: a view may stream (the signers' CSV export).
View = Callable[..., HttpResponseBase]


def _redirect_with_next(name: str, request: HttpRequest) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{reverse(name)}?{urlencode({'next': request.get_full_path()})}")


def member_view(action: Action) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, org: str, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return _redirect_with_next("workspace:login", request)
            organisation = get_object_or_404(Organisation, slug=org)
            try:
                membership = access_check(
                    user=request.user, organisation=organisation, action=action
                )
            except SecondFactorNeeded:
                return _redirect_with_next("workspace:two-factor", request)
            except NotAllowed:
                return render(
                    request,
                    "workspace/forbidden.html",
                    {"organisation": organisation, "action": action},
                    status=403,
                )
            request.membership = membership  # type: ignore[attr-defined]
            request.organisation = organisation  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def signed_in_user(request: HttpRequest) -> User:
    """The request's user, for views that already required a signed-in user."""
    user = request.user
    if not isinstance(user, User):
        raise TypeError("signed_in_user() needs a view that requires signing in")
    return user


def campaign_for_member(request: HttpRequest, public_id: Any) -> Campaign:
    """The campaign with this public id in the request's organisation, or 404."""
    organisation: Organisation = request.organisation  # type: ignore[attr-defined]
    return get_object_or_404(Campaign, public_id=public_id, organisation=organisation)


def petition_for_member(request: HttpRequest, public_id: Any) -> Petition:
    """The petition with this public id in a campaign of the request's organisation, or 404."""
    organisation: Organisation = request.organisation  # type: ignore[attr-defined]
    return get_object_or_404(
        Petition.objects.select_related("campaign__organisation"),
        public_id=public_id,
        campaign__organisation=organisation,
    )
