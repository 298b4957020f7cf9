"""The campaign editor, a campaign's overview and its lifecycle buttons.

The editor saves through ``campaigns.services.editing``; "Preview" re-shows the form with
the story rendered by the public page's own sanitiser and saves nothing. Publishing,
closing, winning and duplicating are POSTs; publishing, closing and winning show a
confirmation page first, since the address cannot change once public and signing, once
stopped, cannot start again. Ending and copying go through
``petitions.services`` so that a campaign's petitions close or are copied with it.

The hero image comes with the texts: ``HeroImageForm`` (prefix "hero", optional) is
validated with the editor's form, so a refused upload saves nothing, texts included; once
the texts are saved, ``hero_form_apply`` stores, describes or removes the image.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from campaigns.access import Action, role_allows
from campaigns.models import Campaign, Membership, Organisation, retention_days_default
from campaigns.selectors import HERO_SIZES, campaign_hero
from campaigns.services import markdown_render
from campaigns.services.editing import (
    CampaignStatusError,
    campaign_create,
    campaign_publish,
    campaign_update,
    slug_check,
    slug_suggest,
)
from petitions.selectors import petition_list_for_campaign
from petitions.services import campaign_duplicate_with_petitions, campaign_end
from workspace.access import campaign_for_member, member_view, signed_in_user
from workspace.forms.campaigns import CampaignForm
from workspace.forms.media import HeroImageForm, hero_form_apply

_FORM_FIELDS = ("title", "slug", "summary", "body", "language", "retention_days")


def _retention_editable(request: HttpRequest) -> bool:
    return role_allows(role=_membership(request).role, action=Action.CAMPAIGN_RETENTION)


def _campaign_form(request: HttpRequest, *args: Any, **kwargs: Any) -> CampaignForm:
    return CampaignForm(*args, retention_editable=_retention_editable(request), **kwargs)


def _organisation(request: HttpRequest) -> Organisation:
    return request.organisation  # type: ignore[attr-defined]


def _membership(request: HttpRequest) -> Membership:
    return request.membership  # type: ignore[attr-defined]


def member_rights(request: HttpRequest) -> dict[str, bool]:
    """What the member's role lets the page offer: buttons a role lacks are not shown."""
    role = _membership(request).role
    return {
        "can_edit": role_allows(role=role, action=Action.CAMPAIGN_EDIT),
        "can_publish": role_allows(role=role, action=Action.CAMPAIGN_PUBLISH),
    }


def _campaign_url(campaign: Campaign, name: str = "workspace:campaign") -> str:
    return reverse(name, kwargs={"org": campaign.organisation.slug, "campaign": campaign.public_id})


def public_url(request: HttpRequest, campaign: Campaign) -> str:
    return request.build_absolute_uri(reverse("campaign", kwargs={"slug": campaign.slug}))


def _public_prefix(request: HttpRequest) -> str:
    """The public address up to the slug ("https://sbor.example/c/"), shown before the field."""
    return request.build_absolute_uri(reverse("campaign", kwargs={"slug": "-"}))[:-2]


# --- The editor ---------------------------------------------------------------------------


def _preview(request: HttpRequest, campaign: Campaign | None) -> tuple[CampaignForm, str]:
    """The form as typed, without errors, and the story as the public page would show it.

    The form is unbound (its values are the typed ones as initial data) so that a preview
    never shows errors for a form nobody tried to save. An empty address is filled with the
    one saving would make.
    """
    typed = {name: request.POST.get(name, "") for name in _FORM_FIELDS}
    if campaign is not None and campaign.is_public:
        typed["slug"] = campaign.slug
    elif not typed["slug"].strip():
        typed["slug"] = slug_suggest(title=typed["title"], exclude=campaign)
    form = _campaign_form(request, initial=typed, campaign=campaign)
    try:
        html = markdown_render(text=typed["body"])
    except ValidationError as error:
        # Too long or too costly to format: nothing was parsed; saving gives the same words.
        html = format_html_join(
            "", '<p class="notice">{}</p>', ((message,) for message in error.messages)
        )
    return form, html


def _hero_form(request: HttpRequest, campaign: Campaign | None) -> HeroImageForm:
    """Bound to a save's POST; unbound for the first view and for a preview (which saves
    nothing, so a chosen file is not kept: the typed description is, and the page says the
    file must be chosen again)."""
    if request.method == "POST" and "preview" not in request.POST:
        return HeroImageForm(
            request.POST, request.FILES, campaign=campaign, prefix="hero", optional=True
        )
    if request.method == "POST":
        form = HeroImageForm(
            campaign=campaign,
            prefix="hero",
            optional=True,
            initial={"hero_alt": request.POST.get("hero-hero_alt", "")},
        )
        upload = request.FILES.get("hero-image")
        if upload is not None:
            form.file_dropped = upload.name or ""
            # The notice above the field is read with it, as its help is.
            ids = "id_hero-image_dropped id_hero-image_helptext"
            form.fields["image"].widget.attrs["aria-describedby"] = ids
        return form
    return HeroImageForm(campaign=campaign, prefix="hero", optional=True)


def _editor_render(
    request: HttpRequest,
    *,
    form: CampaignForm,
    campaign: Campaign | None,
    hero_form: HeroImageForm | None = None,
    preview_html: str | None = None,
    status: int = 200,
) -> HttpResponse:
    preview_values = form.initial if preview_html is not None else {}
    context: dict[str, Any] = {
        "organisation": _organisation(request),
        "ws_section": "campaigns",
        "campaign": campaign,
        "form": form,
        "hero_form": hero_form or _hero_form(request, campaign),
        "hero": campaign_hero(campaign=campaign) if campaign else None,
        "hero_sizes": HERO_SIZES,
        "preview_html": preview_html,
        "preview": preview_values,
        "public_prefix": _public_prefix(request),
        "retention_editable": "retention_days" in form.fields,
        "retention_days": campaign.retention_days if campaign else retention_days_default(),
    }
    return render(request, "workspace/campaigns/form.html", context, status=status)


def _slug_errors_add(
    form: CampaignForm, *, organisation: Organisation, campaign: Campaign | None
) -> None:
    """On a form refused for other reasons, say at once whether the address is free too."""
    if "slug" in form.errors or form.fields["slug"].disabled:
        return
    slug = str(form.data.get("slug") or "").strip().lower()
    if not slug:
        return
    try:
        slug_check(slug=slug, campaign=campaign or Campaign(organisation=organisation))
    except ValidationError as error:
        form.service_errors_add(error)


def _both_valid(form: CampaignForm, hero_form: HeroImageForm) -> bool:
    # Both are checked, so that every error shows at once.
    texts_valid, hero_valid = form.is_valid(), hero_form.is_valid()
    return texts_valid and hero_valid


def _hero_save(request: HttpRequest, *, hero_form: HeroImageForm, campaign: Campaign) -> None:
    """Once the texts are saved: the image the valid hero form asks for."""
    try:
        hero_form_apply(actor=signed_in_user(request), form=hero_form, campaign=campaign)
    except ValidationError as error:
        # Only a race gets here (the image removed meanwhile): the texts stay saved.
        for message in error.messages:
            messages.error(request, message)


def _form_values(form: CampaignForm) -> dict[str, Any]:
    # Without the retention field (not an owner) the period is left as it is.
    return {name: form.cleaned_data[name] for name in _FORM_FIELDS if name in form.fields}


@member_view(Action.CAMPAIGN_EDIT)
def campaign_new(request: HttpRequest) -> HttpResponse:
    organisation = _organisation(request)
    if request.method != "POST":
        initial = {"language": get_language(), "retention_days": retention_days_default()}
        form = _campaign_form(request, initial=initial)
        return _editor_render(request, form=form, campaign=None)
    if "preview" in request.POST:
        form, preview_html = _preview(request, None)
        return _editor_render(request, form=form, campaign=None, preview_html=preview_html)
    form = _campaign_form(request, request.POST, request.FILES)
    hero_form = _hero_form(request, None)
    if _both_valid(form, hero_form):
        try:
            campaign = campaign_create(
                actor=signed_in_user(request), organisation=organisation, **_form_values(form)
            )
        except ValidationError as error:
            form.service_errors_add(error)
        else:
            _hero_save(request, hero_form=hero_form, campaign=campaign)
            messages.success(
                request,
                _("Campaign saved as a draft. Only members see it until you publish it."),
            )
            return HttpResponseRedirect(_campaign_url(campaign))
    else:
        _slug_errors_add(form, organisation=organisation, campaign=None)
    return _editor_render(request, form=form, campaign=None, hero_form=hero_form, status=400)


@member_view(Action.CAMPAIGN_EDIT)
def campaign_edit(request: HttpRequest, campaign: UUID) -> HttpResponse:
    current = campaign_for_member(request, campaign)
    if request.method != "POST":
        initial = {name: getattr(current, name) for name in _FORM_FIELDS}
        form = _campaign_form(request, initial=initial, campaign=current)
        return _editor_render(request, form=form, campaign=current)
    if "preview" in request.POST:
        form, preview_html = _preview(request, current)
        return _editor_render(request, form=form, campaign=current, preview_html=preview_html)
    form = _campaign_form(
        request, request.POST, request.FILES, campaign=current, initial={"slug": current.slug}
    )
    hero_form = _hero_form(request, current)
    if _both_valid(form, hero_form):
        try:
            updated = campaign_update(
                actor=signed_in_user(request), campaign=current, **_form_values(form)
            )
        except ValidationError as error:
            form.service_errors_add(error)
        else:
            _hero_save(request, hero_form=hero_form, campaign=updated)
            messages.success(request, _("Changes saved."))
            return HttpResponseRedirect(_campaign_url(updated))
    else:
        _slug_errors_add(form, organisation=current.organisation, campaign=current)
    return _editor_render(request, form=form, campaign=current, hero_form=hero_form, status=400)


# --- The overview and the lifecycle -------------------------------------------------------


@member_view(Action.VIEW)
def campaign_detail(request: HttpRequest, campaign: UUID) -> HttpResponse:
    current = campaign_for_member(request, campaign)
    petitions = list(petition_list_for_campaign(campaign=current))
    context = {
        "organisation": _organisation(request),
        "ws_section": "campaigns",
        "campaign": current,
        "petitions": petitions,
        "open_petitions": sum(1 for petition in petitions if petition.is_open),
        "public_url": public_url(request, current),
        "hero": campaign_hero(campaign=current),
        **member_rights(request),
    }
    return render(request, "workspace/campaigns/detail.html", context)


def _status_refused(
    request: HttpRequest, campaign: Campaign, error: CampaignStatusError
) -> HttpResponse:
    messages.error(request, error.message)
    return HttpResponseRedirect(_campaign_url(campaign))


@member_view(Action.CAMPAIGN_PUBLISH)
def campaign_publish_view(request: HttpRequest, campaign: UUID) -> HttpResponse:
    """GET: what publishing does (the address is fixed from then on); POST: publish."""
    current = campaign_for_member(request, campaign)
    if request.method != "POST":
        if current.status != Campaign.Status.DRAFT:
            return HttpResponseRedirect(_campaign_url(current))
        petitions = list(petition_list_for_campaign(campaign=current))
        context = {
            "organisation": _organisation(request),
            "ws_section": "campaigns",
            "campaign": current,
            "public_url": public_url(request, current),
            "open_petitions": sum(1 for petition in petitions if petition.is_open),
        }
        return render(request, "workspace/campaigns/publish.html", context)
    try:
        published = campaign_publish(actor=signed_in_user(request), campaign=current)
    except CampaignStatusError as error:
        return _status_refused(request, current, error)
    messages.success(
        request,
        _("Published. The campaign's page is public now: %(url)s")
        % {"url": public_url(request, published)},
    )
    return HttpResponseRedirect(_campaign_url(published))


def _campaign_end(request: HttpRequest, campaign: UUID, *, won: bool) -> HttpResponse:
    current = campaign_for_member(request, campaign)
    if request.method != "POST":
        petitions = petition_list_for_campaign(campaign=current)
        context = {
            "organisation": _organisation(request),
            "ws_section": "campaigns",
            "campaign": current,
            "won": won,
            "open_petitions": sum(1 for petition in petitions if petition.is_open),
        }
        return render(request, "workspace/campaigns/end.html", context)
    try:
        ended = campaign_end(actor=signed_in_user(request), campaign=current, won=won)
    except CampaignStatusError as error:
        return _status_refused(request, current, error)
    if won:
        messages.success(request, _("Marked as won. Signing has stopped; the page stays up."))
    else:
        messages.success(request, _("Closed. Signing has stopped; the page stays up."))
    return HttpResponseRedirect(_campaign_url(ended))


@member_view(Action.CAMPAIGN_PUBLISH)
def campaign_close_view(request: HttpRequest, campaign: UUID) -> HttpResponse:
    return _campaign_end(request, campaign, won=False)


@member_view(Action.CAMPAIGN_PUBLISH)
def campaign_win_view(request: HttpRequest, campaign: UUID) -> HttpResponse:
    return _campaign_end(request, campaign, won=True)


@member_view(Action.CAMPAIGN_PUBLISH)
@require_POST
def campaign_duplicate_view(request: HttpRequest, campaign: UUID) -> HttpResponse:
    current = campaign_for_member(request, campaign)
    copy = campaign_duplicate_with_petitions(actor=signed_in_user(request), campaign=current)
    messages.success(
        request,
        _("This is a new draft copy, at the address “%(slug)s”. Change what you need, then save.")
        % {"slug": copy.slug},
    )
    return HttpResponseRedirect(_campaign_url(copy, "workspace:campaign-edit"))
