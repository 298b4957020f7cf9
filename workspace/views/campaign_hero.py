"""A campaign's hero image in the workspace: upload, describe, replace or remove it."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from campaigns.access import Action
from campaigns.selectors import HERO_SIZES
from campaigns.selectors import campaign_hero as hero_get
from workspace.access import campaign_for_member, member_view, signed_in_user
from workspace.forms.media import HeroImageForm, hero_form_apply


@member_view(Action.CAMPAIGN_EDIT)
def campaign_hero(request: HttpRequest, campaign: Any) -> HttpResponse:
    instance = campaign_for_member(request, campaign)
    if request.method == "POST":
        form = HeroImageForm(request.POST, request.FILES, campaign=instance)
        if form.is_valid():
            try:
                done = hero_form_apply(actor=signed_in_user(request), form=form, campaign=instance)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, done or _("Nothing was changed."))
                url = reverse(
                    "workspace:campaign-hero",
                    kwargs={"org": instance.organisation.slug, "campaign": instance.public_id},
                )
                return HttpResponseRedirect(url)
    else:
        form = HeroImageForm(campaign=instance)
    context = {
        "organisation": instance.organisation,
        "ws_section": "campaigns",
        "campaign": instance,
        "form": form,
        "hero": hero_get(campaign=instance),
        "hero_sizes": HERO_SIZES,
    }
    status = 422 if form.errors else 200
    return render(request, "workspace/campaign_hero.html", context, status=status)
