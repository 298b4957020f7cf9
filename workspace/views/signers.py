"""The owners' staff tools: find signers, invalidate and revalidate, export, lock down.

Each page is for owners who gave their second factor (``member_view``), answers with
``Cache-Control: no-store`` (it shows or returns signers' personal data) and calls
``petitions.services.organisation_review``, which checks the right again, confines the
criteria to the organisation and records what was done in its audit log.

Criteria travel in POST bodies, never in URLs: an address or an IP typed to find a signer
must not stay in the browser's history, a server's request log or a Referer header. Once
the search form is sent, later forms (the next page, "Invalidate these…", the export)
carry the criteria as one hidden, URL-encoded field, ``criteria``.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    QueryDict,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from campaigns.access import Action
from campaigns.models import Organisation
from petitions.selectors import (
    campaign_lockdown_summary,
    organisation_invalidation_batches,
    organisation_petitions,
    signatures_csv_lines,
)
from petitions.selectors.criteria import CriteriaError
from petitions.services import organisation_review, retention
from petitions.services.review import InvalidationCountChangedError
from workspace.access import campaign_for_member, member_view, signed_in_user
from workspace.forms.signers import InvalidationReasonForm, LockdownForm, SignerCriteriaForm

PAGE_SIZE = 50
CRITERIA_FIELDS = tuple(SignerCriteriaForm.base_fields)


def _organisation(request: HttpRequest) -> Organisation:
    organisation: Organisation = request.organisation  # type: ignore[attr-defined]
    return organisation


def _criteria_data(data: QueryDict) -> QueryDict:
    """Only the criteria fields of ``data`` (no page number, no token), for links and forms."""
    criteria = QueryDict(mutable=True)
    for name in CRITERIA_FIELDS:
        values = [value for value in data.getlist(name) if value]
        if values:
            criteria.setlist(name, values)
    return criteria


def _criteria_form(request: HttpRequest, data: QueryDict) -> SignerCriteriaForm:
    """The criteria form bound to ``data``; 404 for a petition that is not the organisation's.

    Another organisation's petition does not exist here, like any other of its objects: the
    answer is the same as for an id that exists nowhere.
    """
    organisation = _organisation(request)
    petition_id = data.get("petition", "")
    if petition_id:
        try:
            public_id = uuid.UUID(petition_id)
        except ValueError:
            raise Http404 from None
        if not organisation_petitions(organisation=organisation).filter(public_id=public_id):
            raise Http404
    return SignerCriteriaForm(data, organisation=organisation)


def _page(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    organisation = _organisation(request)
    return render(
        request,
        f"workspace/signers/{template}",
        {"organisation": organisation, "ws_section": "signers", **context},
    )


def _posted_criteria(request: HttpRequest) -> QueryDict:
    """The criteria of a POST: the hidden ``criteria`` field, or the search form's fields."""
    if "criteria" in request.POST:
        return _criteria_data(QueryDict(request.POST["criteria"]))
    return _criteria_data(request.POST)


@never_cache
@member_view(Action.SIGNERS_SEARCH)
def signers(request: HttpRequest) -> HttpResponse:
    """The criteria form and, once criteria are sent, the matching signers with their
    names and addresses (decrypted for this page only)."""
    organisation = _organisation(request)
    criteria = _posted_criteria(request) if request.method == "POST" else QueryDict()
    form = (
        _criteria_form(request, criteria)
        if request.method == "POST"
        else SignerCriteriaForm(organisation=organisation)
    )
    page = None
    if request.method == "POST" and form.is_valid():
        try:
            found = organisation_review.organisation_signatures_search(
                actor=signed_in_user(request), organisation=organisation, criteria=form.criteria()
            )
        except CriteriaError as exc:
            form.add_error(None, str(exc))
        else:
            page = Paginator(found, PAGE_SIZE).get_page(request.POST.get("page"))
    return _page(
        request,
        "search.html",
        {
            "form": form,
            "page": page,
            "criteria": criteria.urlencode(),
            "campaigns": organisation.campaigns.order_by("title"),
        },
    )


@never_cache
@member_view(Action.SIGNERS_INVALIDATE)
@require_POST
def signers_invalidate(request: HttpRequest) -> HttpResponse:
    """Preview how many signatures the criteria reach; invalidate exactly those, with a
    reason, once confirmed (refused if the number changed since the preview)."""
    organisation = _organisation(request)
    criteria = _posted_criteria(request)
    form = _criteria_form(request, criteria)
    deciding = "confirm" in request.POST
    reason_form = InvalidationReasonForm(request.POST if deciding else None)
    context: dict[str, Any] = {
        "form": form,
        "reason_form": reason_form,
        "criteria": criteria.urlencode(),
        "preview": None,
    }
    if not form.is_valid():
        return _page(request, "invalidate.html", context)
    actor = signed_in_user(request)
    if deciding and reason_form.is_valid():
        try:
            batch = organisation_review.organisation_signatures_invalidate(
                actor=actor,
                organisation=organisation,
                criteria=form.criteria(),
                preview_token=request.POST.get("preview", ""),
                category=reason_form.cleaned_data["category"],
                reason=reason_form.cleaned_data["reason"],
            )
        except organisation_review.InvalidationPreviewStaleError:
            context["refused"] = _(
                "Nothing was invalidated: the criteria changed or the preview is too old. "
                "Check the new preview."
            )
        except InvalidationCountChangedError as exc:
            context["refused"] = _(
                "Nothing was invalidated: %(expected)s signatures matched in the preview, "
                "%(actual)s match now. Check the new preview."
            ) % {"expected": exc.expected, "actual": exc.actual}
        except CriteriaError as exc:
            context["refused"] = str(exc)
        else:
            messages.success(
                request,
                ngettext(
                    "%(n)s signature invalidated.", "%(n)s signatures invalidated.", batch.count
                )
                % {"n": batch.count},
            )
            return HttpResponseRedirect(
                reverse("workspace:signers-invalidations", kwargs={"org": organisation.slug})
            )
    try:
        context["preview"] = organisation_review.organisation_invalidation_preview(
            actor=actor, organisation=organisation, criteria=form.criteria()
        )
    except CriteriaError as exc:
        form.add_error(None, str(exc))
    return _page(request, "invalidate.html", context)


@never_cache
@member_view(Action.SIGNERS_INVALIDATE)
def invalidations(request: HttpRequest) -> HttpResponse:
    """The organisation's invalidations, each undoable."""
    batches = organisation_invalidation_batches(organisation=_organisation(request))
    page = Paginator(batches, PAGE_SIZE).get_page(request.GET.get("page"))
    return _page(request, "invalidations.html", {"page": page})


@never_cache
@member_view(Action.SIGNERS_INVALIDATE)
@require_POST
def invalidation_revalidate(request: HttpRequest, batch: uuid.UUID) -> HttpResponse:
    organisation = _organisation(request)
    moved = organisation_review.organisation_invalidation_batch_revalidate(
        actor=signed_in_user(request), organisation=organisation, batch_public_id=batch
    )
    messages.success(
        request,
        ngettext("%(n)s signature revalidated.", "%(n)s signatures revalidated.", moved)
        % {"n": moved},
    )
    return HttpResponseRedirect(
        reverse("workspace:signers-invalidations", kwargs={"org": organisation.slug})
    )


@never_cache
@member_view(Action.SIGNERS_EXPORT)
@require_POST
def signers_export(request: HttpRequest) -> HttpResponseBase:
    """The signatures the criteria find, as CSV: the admin's export, streamed."""
    organisation = _organisation(request)
    criteria = _posted_criteria(request)
    form = _criteria_form(request, criteria)
    if not form.is_valid():
        return _page(
            request,
            "search.html",
            {"form": form, "page": None, "criteria": criteria.urlencode(), "campaigns": []},
        )
    try:
        signatures = organisation_review.organisation_signatures_export(
            actor=signed_in_user(request), organisation=organisation, criteria=form.criteria()
        )
    except CriteriaError as exc:
        form.add_error(None, str(exc))
        return _page(
            request,
            "search.html",
            {"form": form, "page": None, "criteria": criteria.urlencode(), "campaigns": []},
        )
    response = StreamingHttpResponse(
        signatures_csv_lines(signatures=signatures), content_type="text/csv; charset=utf-8"
    )
    filename = f"signatures-{organisation.slug}-{timezone.now():%Y%m%d-%H%M}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@never_cache
@member_view(Action.CAMPAIGN_LOCKDOWN)
def campaign_lockdown(request: HttpRequest, campaign: uuid.UUID) -> HttpResponse:
    """What a lockdown purges and keeps; the lockdown itself once the slug is typed."""
    found = campaign_for_member(request, campaign)
    form = LockdownForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            detached = organisation_review.organisation_campaign_lockdown(
                actor=signed_in_user(request),
                campaign=found,
                confirm_slug=form.cleaned_data["confirm_slug"],
            )
        except retention.LockdownConfirmationError as exc:
            form.add_error("confirm_slug", str(exc))
        else:
            messages.success(
                request,
                ngettext(
                    "Campaign locked down: %(n)s signature no longer points to a person.",
                    "Campaign locked down: %(n)s signatures no longer point to a person.",
                    detached,
                )
                % {"n": detached},
            )
            return HttpResponseRedirect(
                reverse("workspace:signers", kwargs={"org": _organisation(request).slug})
            )
    return _page(
        request,
        "lockdown.html",
        {
            "campaign": found,
            "summary": campaign_lockdown_summary(campaign=found),
            "form": form,
        },
    )
