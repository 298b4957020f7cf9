"""A campaign's petitions in the workspace: create and edit, open, close, win, paper
signatures and the target's response.

Views parse forms and call ``petitions.services``, which check the member's right again and
record the audit entry; they decide nothing themselves. Every member sees a petition's page;
forms and buttons show to those whose role allows them (the services refuse the others).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from campaigns.access import Action, role_allows
from petitions import services
from petitions.models import PaperBatch, Petition
from petitions.selectors import petition_goal_shown
from workspace.access import (
    campaign_for_member,
    member_view,
    petition_for_member,
    signed_in_user,
)
from workspace.forms.petitions import PaperBatchForm, PetitionForm, TargetResponseForm

# Re-shown forms with errors answer 422, as the public sign form does.
_INVALID = 422


def _errors_add(form: forms.Form, exc: ValidationError) -> None:
    """Put a service's field errors on the form's fields of the same name."""
    for field, messages_ in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, messages_)


def _petition_url(request: HttpRequest, petition: Petition, anchor: str = "") -> str:
    url = reverse(
        "workspace:petition",
        kwargs={"org": request.organisation.slug, "petition": petition.public_id},  # type: ignore[attr-defined]
    )
    return f"{url}#{anchor}" if anchor else url


def _redirect(request: HttpRequest, petition: Petition, anchor: str = "") -> HttpResponse:
    # 303: the browser follows with a GET, so a reload never posts again.
    return HttpResponseRedirect(_petition_url(request, petition, anchor), status=303)


def _context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    return {"organisation": request.organisation, "ws_section": "campaigns", **extra}  # type: ignore[attr-defined]


@member_view(Action.CAMPAIGN_EDIT)
def petition_new(request: HttpRequest, campaign: UUID) -> HttpResponse:
    campaign_obj = campaign_for_member(request, campaign)
    language = services.petition_language_default(campaign=campaign_obj)
    form = PetitionForm(request.POST or None, initial={"language": language})
    if request.method == "POST" and form.is_valid():
        try:
            petition = services.petition_create(
                actor=signed_in_user(request),
                campaign=campaign_obj,
                details=form.details(),
                slug=form.cleaned_data.get("slug") or "",
            )
        except ValidationError as exc:
            _errors_add(form, exc)
        else:
            messages.success(request, _("The petition was created as a draft."))
            return _redirect(request, petition)
    return render(
        request,
        "workspace/petitions/petition_form.html",
        _context(request, campaign=campaign_obj, form=form, petition=None),
        status=_INVALID if form.errors else 200,
    )


def _detail(
    request: HttpRequest,
    petition: Petition,
    *,
    paper_form: PaperBatchForm | None = None,
    response_form: TargetResponseForm | None = None,
    status: int = 200,
) -> HttpResponse:
    role = request.membership.role  # type: ignore[attr-defined]
    batches = PaperBatch.objects.filter(petition=petition).select_related("added_by")
    context = _context(
        request,
        petition=petition,
        campaign=petition.campaign,
        goal=petition_goal_shown(petition=petition),
        batches=batches,
        can_edit=role_allows(role=role, action=Action.CAMPAIGN_EDIT),
        can_publish=role_allows(role=role, action=Action.CAMPAIGN_PUBLISH),
        paper_form=paper_form or PaperBatchForm(),
        response_form=response_form or TargetResponseForm(petition=petition),
    )
    return render(request, "workspace/petitions/petition_detail.html", context, status=status)


@member_view(Action.VIEW)
def petition_detail(request: HttpRequest, petition: UUID) -> HttpResponse:
    return _detail(request, petition_for_member(request, petition))


@member_view(Action.CAMPAIGN_EDIT)
def petition_edit(request: HttpRequest, petition: UUID) -> HttpResponse:
    petition_obj = petition_for_member(request, petition)
    if petition_obj.status in Petition.CLOSED_STATUSES:
        messages.error(request, _("A closed petition keeps the text it closed with."))
        return _redirect(request, petition_obj)
    slug_editable = petition_obj.status == Petition.Status.DRAFT
    form = PetitionForm(
        request.POST or None,
        initial=PetitionForm.initial_from(petition_obj),
        slug_editable=slug_editable,
    )
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.petition_update(
                actor=signed_in_user(request),
                petition=petition_obj,
                details=form.details(),
                slug=form.cleaned_data.get("slug") if slug_editable else None,
            )
        except ValidationError as exc:
            _errors_add(form, exc)
        except services.PetitionStateError as exc:
            messages.error(request, exc.message)
            return _redirect(request, petition_obj)
        else:
            if changed:
                messages.success(request, _("The petition was saved."))
            else:
                messages.info(request, _("Nothing to save: the petition is as it was."))
            return _redirect(request, petition_obj)
    return render(
        request,
        "workspace/petitions/petition_form.html",
        _context(request, campaign=petition_obj.campaign, form=form, petition=petition_obj),
        status=_INVALID if form.errors else 200,
    )


@member_view(Action.CAMPAIGN_PUBLISH)
@require_POST
def petition_open(request: HttpRequest, petition: UUID) -> HttpResponse:
    petition_obj = petition_for_member(request, petition)
    try:
        services.petition_open(actor=signed_in_user(request), petition=petition_obj)
    except services.PetitionStateError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The petition is open for signatures."))
    return _redirect(request, petition_obj)


def _confirmed_action(request: HttpRequest, petition: UUID, *, kind: str) -> HttpResponse:
    """Close or win: a GET asks to confirm (nothing changes), the POST does it."""
    petition_obj = petition_for_member(request, petition)
    if request.method != "POST":
        context = _context(
            request, petition=petition_obj, campaign=petition_obj.campaign, kind=kind
        )
        return render(request, "workspace/petitions/petition_confirm.html", context)
    service = services.petition_close if kind == "close" else services.petition_win
    try:
        service(actor=signed_in_user(request), petition=petition_obj)
    except services.PetitionStateError as exc:
        messages.error(request, exc.message)
    else:
        done = {
            "close": _("The petition is closed. It no longer takes signatures."),
            "win": _("The petition is marked as won. It no longer takes signatures."),
        }
        messages.success(request, done[kind])
    return _redirect(request, petition_obj)


@member_view(Action.CAMPAIGN_PUBLISH)
def petition_close(request: HttpRequest, petition: UUID) -> HttpResponse:
    return _confirmed_action(request, petition, kind="close")


@member_view(Action.CAMPAIGN_PUBLISH)
def petition_win(request: HttpRequest, petition: UUID) -> HttpResponse:
    return _confirmed_action(request, petition, kind="win")


@member_view(Action.CAMPAIGN_EDIT)
@require_POST
def paper_batch_add(request: HttpRequest, petition: UUID) -> HttpResponse:
    petition_obj = petition_for_member(request, petition)
    form = PaperBatchForm(request.POST)
    if form.is_valid():
        try:
            batch = services.paper_batch_add(
                actor=signed_in_user(request), petition=petition_obj, **form.cleaned_data
            )
        except ValidationError as exc:
            _errors_add(form, exc)
        else:
            added = ngettext(
                "%(count)s signature on paper was added.",
                "%(count)s signatures on paper were added.",
                batch.count,
            ) % {"count": number_format(batch.count, force_grouping=True)}
            messages.success(request, added)
            return _redirect(request, petition_obj, "paper")
    return _detail(request, petition_obj, paper_form=form, status=_INVALID)


@member_view(Action.CAMPAIGN_EDIT)
@require_POST
def target_response_record(request: HttpRequest, petition: UUID) -> HttpResponse:
    petition_obj = petition_for_member(request, petition)
    form = TargetResponseForm(request.POST)
    if form.is_valid():
        try:
            services.target_response_record(
                actor=signed_in_user(request), petition=petition_obj, **form.cleaned_data
            )
        except ValidationError as exc:
            _errors_add(form, exc)
        except services.PetitionStateError as exc:
            messages.error(request, exc.message)
            return _redirect(request, petition_obj, "response")
        else:
            messages.success(request, _("The response was recorded."))
            return _redirect(request, petition_obj, "response")
    return _detail(request, petition_obj, response_form=form, status=_INVALID)
