"""The home page: published campaigns.

The campaign page itself, with its petitions and sign forms, is petitions.campaign_page.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from campaigns.selectors import campaign_list_public
from common.social import SITE_NAME, SocialCard, og_locale, site_url


def home(request: HttpRequest) -> HttpResponse:
    social = SocialCard(
        title=SITE_NAME,
        description=_("Sbor is open-source software for petitions and campaigns."),
        url=site_url(reverse("home")),
        locale=og_locale(translation.get_language() or ""),
    )
    context = {"campaigns": campaign_list_public()[:50], "social": social}
    return render(request, "campaigns/home.html", context)
