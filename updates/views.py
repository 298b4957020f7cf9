"""The public pages behind the links in every update: unsubscribe, one click, preferences.

The link's sealed token is the only key: every page acts for the person and campaign it
names, shows nothing about anyone else, and never shows the address in full. Whoever holds
the email holds the key (a provider, a relay, someone it was forwarded to), so a link only
ever stops mail; hearing from a campaign again is done on the person's manage page, whose
link is mailed to their address. Responses are kept out of caches, search engines and other
sites' Referer headers.

- ``/u/<token>/`` (the visible link): a GET shows what unsubscribing does and a button; the
  POST (with CSRF) unsubscribes. Mail scanners follow links: a GET never changes anything.
- ``/u/<token>/one-click/`` (the ``List-Unsubscribe`` header, RFC 8058): a POST from the
  mail client, without cookies or CSRF, unsubscribes at once and answers 200 with a short
  text; it never redirects, whatever happens. A GET shows the page above.
- ``/u/<token>/preferences/``: which of the organisation's campaigns the person hears
  from, with "stop" for each and "stop everything".

Unsubscribing always works, with a link however old; the preferences page wants a link
younger than ``UPDATES_LINK_MAX_AGE_DAYS`` (every update carries a fresh one).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from petitions.models import Supporter
from petitions.selectors import audience
from updates import services

View = Callable[..., HttpResponse]

_DONE = {
    "stopped": _("Done: you will get no more updates about this campaign."),
    "stopped_all": _("Done: you will get no more updates about any campaign."),
}


def address_masked(address: str) -> str:
    """``anna@example.org`` → ``a…@example.org``: enough to recognise, not to copy."""
    local, _at, domain = address.partition("@")
    if not local or not domain:
        return ""
    return f"{local[0]}…@{domain}"


def _headers(response: HttpResponse) -> HttpResponse:
    add_never_cache_headers(response)
    response["X-Robots-Tag"] = "noindex, nofollow"
    # The token is in the address: it must not reach another site ("same-origin" rather
    # than "no-referrer", which makes browsers send "Origin: null" on the page's own forms).
    response["Referrer-Policy"] = "same-origin"
    return response


def _language(request: HttpRequest, supporter: Supporter | None) -> str:
    """The person's own language, unless they picked one with the language switch."""
    if settings.LANGUAGE_COOKIE_NAME in request.COOKIES or supporter is None:
        return translation.get_language() or settings.LANGUAGE_CODE
    return supporter.language


def _link_page(view: View | None = None, *, fresh: bool = False) -> Any:
    """Open the link's page in the person's language, or say why the link does not work.

    ``fresh``: the page shows more than a button to stop mail, so a link past its lifetime
    does not open it (it says how to get a new one).
    """

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, token: str, **kwargs: Any) -> HttpResponse:
            try:
                link = services.subscription_link_read(token=token)
            except services.SubscriptionLinkInvalidError:
                return _headers(render(request, "updates/link_invalid.html", status=404))
            language = _language(request, link.supporter)
            with translation.override(language):
                request.LANGUAGE_CODE = language
                if fresh and link.expired:
                    context = {"max_age_days": settings.UPDATES_LINK_MAX_AGE_DAYS}
                    return _headers(
                        render(request, "updates/link_expired.html", context, status=410)
                    )
                return _headers(view(request, token=token, link=link, **kwargs))

        return wrapper

    return decorate(view) if view is not None else decorate


def _context(token: str, link: services.SubscriptionLink) -> dict[str, Any]:
    supporter, campaign = link.supporter, link.campaign
    subscribed = False
    if supporter is not None and campaign is not None:
        subscribed = any(
            subscription.active and subscription.campaign_id == campaign.pk
            for subscription in audience.supporter_subscriptions(
                supporter=supporter, organisation_id=campaign.organisation_id
            )
        )
    # An old link still unsubscribes, and shows no more than that: not even the masked
    # address, nor the way to the preferences page.
    address = supporter.email if supporter is not None and not link.expired else ""
    return {
        "token": token,
        "campaign": campaign,
        "organisation": campaign.organisation if campaign is not None else None,
        "address": address_masked(address) if address else "",
        "known": supporter is not None and campaign is not None,
        "subscribed": subscribed,
        "expired": link.expired,
    }


@_link_page
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(
    request: HttpRequest, *, token: str, link: services.SubscriptionLink
) -> HttpResponse:
    if request.method == "POST":
        services.subscription_stop(link=link)
        return render(request, "updates/unsubscribed.html", _context(token, link))
    return render(request, "updates/unsubscribe.html", _context(token, link))


def _one_click_answer(text: str, status: int) -> HttpResponse:
    return _headers(HttpResponse(text, status=status, content_type="text/plain; charset=utf-8"))


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def one_click(request: HttpRequest, token: str) -> HttpResponse:
    """RFC 8058's one-click unsubscribe; the body ("List-Unsubscribe=One-Click") is not read.

    A POST here comes from a mail client or provider, with no cookie and no CSRF token:
    the signed token is the proof. The answer is never a redirect (clients do not follow
    them for this POST) and sets no cookie.
    """
    if request.method != "POST":
        return unsubscribe(request, token=token)
    try:
        link = services.subscription_link_read(token=token)
    except services.SubscriptionLinkInvalidError:
        return _one_click_answer(gettext("This link is not valid."), 404)
    # However old the link: unsubscribing must always work.
    services.subscription_stop(link=link)
    return _one_click_answer(gettext("You are unsubscribed."), 200)


def _done_message(request: HttpRequest) -> str | None:
    message = _DONE.get(request.GET.get("done", ""))
    return str(message) if message is not None else None


def _preferences_redirect(token: str, done: str) -> HttpResponse:
    url = reverse("updates:preferences", args=[token])
    return HttpResponseRedirect(f"{url}?{urlencode({'done': done})}")


@_link_page(fresh=True)
@require_http_methods(["GET", "HEAD", "POST"])
def preferences(
    request: HttpRequest, *, token: str, link: services.SubscriptionLink
) -> HttpResponse:
    if request.method == "POST":
        return _preferences_change(request, token=token, link=link)
    context = _context(token, link)
    supporter, campaign = link.supporter, link.campaign
    subscriptions: list[audience.Subscription] = []
    if supporter is not None and campaign is not None:
        subscriptions = audience.supporter_subscriptions(
            supporter=supporter, organisation_id=campaign.organisation_id
        )
    # Nothing on the page depends on other organisations' campaigns: "stop everything" is
    # offered whatever the person follows elsewhere, and says what it covers.
    context |= {"subscriptions": subscriptions, "done": _done_message(request)}
    return render(request, "updates/preferences.html", context)


def _preferences_change(
    request: HttpRequest, *, token: str, link: services.SubscriptionLink
) -> HttpResponse:
    action = request.POST.get("action", "")
    if action == "stop_all":
        services.subscription_stop_all(link=link)
        return _preferences_redirect(token, "stopped_all")
    try:
        campaign_public_id = uuid.UUID(request.POST.get("campaign", ""))
    except ValueError:
        return render(request, "400.html", status=400)
    try:
        if action == "stop":
            services.subscription_stop_one(link=link, campaign_public_id=campaign_public_id)
            return _preferences_redirect(token, "stopped")
    except services.SubscriptionNotFoundError:
        return render(request, "404.html", status=404)
    return render(request, "400.html", status=400)
