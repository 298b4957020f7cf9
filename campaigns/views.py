"""The home page: published campaigns.

The campaign page itself, with its petitions and sign forms, is petitions.campaign_page.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from campaigns.selectors import campaign_list_public


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "campaigns/home.html", {"campaigns": campaign_list_public()[:50]})
