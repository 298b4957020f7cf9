"""Pages that partners put on their own sites in an ``<iframe>``.

Every other page refuses to be framed (``X-Frame-Options: DENY`` and CSP
``frame-ancestors 'none'``), because a framed page with a form or a button can be
clickjacked. Embed views are the exception, so they carry no form and set no cookie: the
only thing to click is a link that opens the campaign page in a new tab, where framing is
denied again.
"""

from __future__ import annotations

from collections.abc import Callable

from csp.decorators import csp_replace
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_safe

from petitions.selectors import petition_get_public, petition_goal_shown

# Browsers and caches in front of partners' pages may reuse an embed this long; the count
# only changes every few seconds anyway (see COUNT_MAX_AGE in petitions/api.py).
EMBED_MAX_AGE = 10

View = Callable[..., HttpResponseBase]


def embeddable(view: View) -> View:
    """Let any site frame ``view``: no ``X-Frame-Options``, CSP ``frame-ancestors *``.

    Contract for the view: it shows no form and no state-changing button, and sets no
    cookie (so it must not render ``{% csrf_token %}`` or touch the session). Everything
    else in the site's Content-Security-Policy still applies.
    """
    return xframe_options_exempt(csp_replace({"frame-ancestors": ["*"]})(view))


def _language_choose(request: HttpRequest) -> str | None:
    """The language a partner asked for with ``?lang=``, if it is one of ours."""
    language = request.GET.get("lang", "")
    return language if language in dict(settings.LANGUAGES) else None


@require_safe
@embeddable
def petition_embed(request: HttpRequest, slug: str) -> HttpResponse:
    """A petition's title, count and goal, and a link to sign on the campaign page.

    Partners choose the language with ``?lang=``; without it the reader's own applies.
    """
    petition = petition_get_public(slug=slug)
    language = _language_choose(request)
    campaign_url = request.build_absolute_uri(reverse("campaign", args=[petition.campaign.slug]))
    context = {
        "petition": petition,
        "organisation": petition.campaign.organisation,
        "count": petition.signature_count,
        "goal": petition_goal_shown(petition=petition),
        # Signatures that arrive through an embed are told apart by their source.
        "petition_url": f"{campaign_url}?utm_medium=embed#petition-{petition.slug}",
    }
    with translation.override(language or translation.get_language()):
        response = render(request, "petitions/embed.html", context)
        # LocaleMiddleware would name the reader's language, not the one asked for.
        response["Content-Language"] = translation.get_language()
    patch_cache_control(response, public=True, max_age=EMBED_MAX_AGE)
    if language is None:
        # The reader's language may come from the language cookie as well as the header.
        patch_vary_headers(response, ["Cookie"])
    return response
