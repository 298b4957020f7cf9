"""Updates to a campaign's supporters: list, write, see, preview and watch them go out.

Every member may read (``Action.VIEW``); campaigners and owners write and send
(``Action.UPDATE_SEND``), and the services check that again. What the page says about a
send (how many it reaches, that a second click changed nothing) comes from the services. The
POST actions (test, send, schedule, cancel, delete, propose) are in ``update_actions``.
"""

from __future__ import annotations

import uuid

from csp.decorators import csp_replace
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_safe

from campaigns.access import Action, role_allows
from campaigns.models import Campaign
from updates import selectors, services
from updates.emails import update_render_sample
from updates.forms import ScheduleForm, TestForm, UpdateForm
from updates.models import Update
from workspace.access import campaign_for_member, member_view, signed_in_user


def update_for_member(request: HttpRequest, campaign: Campaign, public_id: uuid.UUID) -> Update:
    update = selectors.update_of_campaign(campaign=campaign, public_id=public_id)
    if update is None:
        raise Http404("No such update")
    return update


def update_url(update: Update, name: str = "workspace:update") -> str:
    campaign = update.campaign
    return reverse(
        name,
        kwargs={
            "org": campaign.organisation.slug,
            "campaign": campaign.public_id,
            "update": update.public_id,
        },
    )


def update_redirect(update: Update) -> HttpResponseRedirect:
    return HttpResponseRedirect(update_url(update))


def _base_context(request: HttpRequest, campaign: Campaign) -> dict[str, object]:
    return {
        "organisation": request.organisation,  # type: ignore[attr-defined]
        "campaign": campaign,
        "ws_section": "campaigns",
        "can_send": role_allows(
            role=request.membership.role,  # type: ignore[attr-defined]
            action=Action.UPDATE_SEND,
        ),
    }


def audience_sentence(size: int) -> str:
    return ngettext(
        "Sent now, this update would reach %(count)s supporter.",
        "Sent now, this update would reach %(count)s supporters.",
        size,
    ) % {"count": size}


@require_safe
@member_view(Action.VIEW)
def update_list(request: HttpRequest, campaign: uuid.UUID) -> HttpResponse:
    the_campaign = campaign_for_member(request, campaign)
    updates = list(selectors.updates_of_campaign(campaign=the_campaign))
    progress = selectors.updates_progress(updates=updates)
    context = _base_context(request, the_campaign) | {
        "rows": [(update, progress[update.pk]) for update in updates],
        "proposals": selectors.update_outcome_proposals(campaign=the_campaign),
        "audience": audience_sentence(
            selectors.update_audience_summary(campaign=the_campaign).size
        ),
    }
    return render(request, "workspace/updates/list.html", context)


@member_view(Action.UPDATE_SEND)
def update_new(request: HttpRequest, campaign: uuid.UUID) -> HttpResponse:
    the_campaign = campaign_for_member(request, campaign)
    form = UpdateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            update = services.update_create(
                actor=signed_in_user(request),
                campaign=the_campaign,
                subject=form.cleaned_data["subject"],
                body=form.cleaned_data["body"],
            )
        except services.UpdateInvalidError as error:
            form.service_errors_add(error)
        else:
            messages.success(
                request, _("Draft saved. Preview it, send yourself a test, then send it.")
            )
            return update_redirect(update)
    context = _base_context(request, the_campaign) | {"form": form, "update": None}
    status = 422 if form.is_bound else 200
    return render(request, "workspace/updates/edit.html", context, status=status)


@member_view(Action.UPDATE_SEND)
def update_edit(request: HttpRequest, campaign: uuid.UUID, update: uuid.UUID) -> HttpResponse:
    the_campaign = campaign_for_member(request, campaign)
    the_update = update_for_member(request, the_campaign, update)
    if not the_update.editable:
        messages.error(
            request, _("This update is being sent or was sent: it can no longer change.")
        )
        return update_redirect(the_update)
    initial = {"subject": the_update.subject, "body": the_update.body}
    form = UpdateForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_edit(
                actor=signed_in_user(request),
                update=the_update,
                subject=form.cleaned_data["subject"],
                body=form.cleaned_data["body"],
            )
        except services.UpdateInvalidError as error:
            form.service_errors_add(error)
        except services.UpdateNotEditableError:
            messages.error(
                request, _("This update is being sent or was sent: it can no longer change.")
            )
            return update_redirect(the_update)
        else:
            messages.success(request, pgettext("updates", "Saved."))
            return update_redirect(the_update)
    context = _base_context(request, the_campaign) | {"form": form, "update": the_update}
    status = 422 if form.is_bound else 200
    return render(request, "workspace/updates/edit.html", context, status=status)


@require_safe
@member_view(Action.VIEW)
def update_detail(request: HttpRequest, campaign: uuid.UUID, update: uuid.UUID) -> HttpResponse:
    the_campaign = campaign_for_member(request, campaign)
    the_update = update_for_member(request, the_campaign, update)
    summary = selectors.update_audience_summary(campaign=the_campaign)
    progress = selectors.update_progress(update=the_update)
    context = _base_context(request, the_campaign) | {
        "update": the_update,
        "progress": progress,
        "progress_label": progress_label(progress),
        "audience_size": summary.size,
        "audience": audience_sentence(summary.size),
        "preview_languages": _preview_languages(the_campaign, summary.languages),
        "schedule_form": ScheduleForm(
            initial={"send_at": the_update.scheduled_at} if the_update.scheduled_at else None
        ),
    }
    return render(request, "workspace/updates/detail.html", context)


def _fallback_language(campaign: Campaign) -> str:
    """The campaign's language, or the site's if the site no longer offers it."""
    if campaign.language in dict(settings.LANGUAGES):
        return campaign.language
    return settings.LANGUAGE_CODE


def _preview_languages(campaign: Campaign, languages: list[str]) -> list[tuple[str, str]]:
    """The audience's languages the site offers, with names; never empty.

    Before anyone is in the audience, or when none of its languages is offered any more
    (a language dropped from the site after people signed in it), the campaign's.
    """
    names = dict(settings.LANGUAGES)
    known = [(code, str(names[code])) for code in languages if code in names]
    if known:
        return known
    code = _fallback_language(campaign)
    return [(code, str(names.get(code, code)))]


def _language_asked(campaign: Campaign, language: str | None) -> str:
    return language if language in dict(settings.LANGUAGES) else _fallback_language(campaign)


@require_safe
@csp_replace({"frame-src": ["'self'"]})  # the email's HTML, framed (update_preview_html)
@member_view(Action.VIEW)
def update_preview(request: HttpRequest, campaign: uuid.UUID, update: uuid.UUID) -> HttpResponse:
    the_campaign = campaign_for_member(request, campaign)
    the_update = update_for_member(request, the_campaign, update)
    languages = _preview_languages(
        the_campaign, selectors.update_audience_summary(campaign=the_campaign).languages
    )
    language = _language_asked(the_campaign, request.GET.get("lang") or languages[0][0])
    rendered = update_render_sample(update=the_update, language=language)
    context = _base_context(request, the_campaign) | {
        "update": the_update,
        "preview_languages": languages,
        "language": language,
        "rendered": rendered,
        "html_url": reverse(
            "workspace:update-preview-html",
            kwargs={
                "org": the_campaign.organisation.slug,
                "campaign": the_campaign.public_id,
                "update": the_update.public_id,
                "language": language,
            },
        ),
        "test_form": TestForm(initial={"language": language}),
        "from_email": settings.DEFAULT_FROM_EMAIL,
    }
    return render(request, "workspace/updates/preview.html", context)


# The email's own HTML, as mail programs show it: its inline styles need 'unsafe-inline',
# so it is served on its own, framed only by the preview page and sandboxed (no scripts,
# no forms, no navigation of the page around it).
_EMAIL_POLICY = {
    "default-src": ["'none'"],
    "style-src": ["'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "frame-ancestors": ["'self'"],
    "form-action": ["'none'"],
    "sandbox": True,
}


@require_safe
@xframe_options_sameorigin
@csp_replace(_EMAIL_POLICY)
@member_view(Action.VIEW)
def update_preview_html(
    request: HttpRequest, campaign: uuid.UUID, update: uuid.UUID, language: str
) -> HttpResponse:
    the_campaign = campaign_for_member(request, campaign)
    the_update = update_for_member(request, the_campaign, update)
    language = _language_asked(the_campaign, language)
    rendered = update_render_sample(update=the_update, language=language)
    response = HttpResponse(rendered.html, content_type="text/html; charset=utf-8")
    add_never_cache_headers(response)
    return response


_STATUS_LABELS = {
    "planning": lambda: _("Preparing the list of recipients…"),
    Update.Status.SENDING: lambda: _("Sending…"),
    Update.Status.SENT: lambda: pgettext("updates", "Sent."),
    Update.Status.CANCELLED: lambda: pgettext("updates", "Stopped."),
    "done": lambda: _("Every email has been handed over."),
}


def progress_label(progress: selectors.UpdateProgress) -> str:
    if progress.planning:
        return _STATUS_LABELS["planning"]()
    if progress.status == Update.Status.SENDING and progress.finished:
        return _STATUS_LABELS["done"]()
    label = _STATUS_LABELS.get(progress.status)
    return label() if label else ""


@require_safe
@member_view(Action.VIEW)
def update_progress(request: HttpRequest, campaign: uuid.UUID, update: uuid.UUID) -> HttpResponse:
    the_campaign = campaign_for_member(request, campaign)
    the_update = update_for_member(request, the_campaign, update)
    progress = selectors.update_progress(update=the_update)
    response = JsonResponse(progress.as_json() | {"label": progress_label(progress)})
    add_never_cache_headers(response)
    return response
