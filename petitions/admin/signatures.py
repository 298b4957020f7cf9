"""Signatures in the admin: search by IP, network, domain or hash; revalidate; invalidate by
criteria after a preview; export as CSV; erase the people who signed.

The search parser, the CSV rows, the preview tokens and the invalidation itself are selectors
and services that the organisers' workspace can call too.
"""

from __future__ import annotations

import logging
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from petitions.models import InvalidationBatch, Petition, Signature, Supporter
from petitions.selectors import (
    signature_search_parse,
    signatures_csv_lines,
    signatures_invalidatable_count,
)
from petitions.services import erasure, review

logger = logging.getLogger(__name__)


def _csv_response(*, signatures: QuerySet[Signature]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        signatures_csv_lines(signatures=signatures), content_type="text/csv; charset=utf-8"
    )
    filename = f"signatures-{timezone.now():%Y%m%d-%H%M}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@admin.register(Signature)
class SignatureAdmin(admin.ModelAdmin):
    list_display = [
        "public_id", "petition", "status", "invalid_reason", "display", "source", "created_at",
    ]  # fmt: skip
    list_filter = ["status", "invalid_reason", "petition"]
    list_select_related = ["petition"]
    date_hierarchy = "created_at"
    # The box is parsed by get_search_results; the field only makes Django show it.
    search_fields = ["public_id"]
    search_help_text = _(
        "ip:203.0.113.7, net:203.0.113.0/24, domain:example.org, hash:<hex> or a signature id"
    )
    # The signer's own name and country stay out of the page (as their address does): the
    # export, for staff allowed to see supporters, is where they appear.
    exclude = ["name", "country"]
    readonly_fields = [
        field.name for field in Signature._meta.fields if field.name not in ("name", "country")
    ]
    change_list_template = "admin/petitions/signature/change_list.html"
    actions = ["revalidate_selected", "export_csv", "erase_signers"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A deleted row would silently change counts and integrity lines. Staff invalidate
        # (recorded, undoable) or erase the person (the row stays, anonymised) instead; with
        # no delete right Django offers no "delete selected" action either.
        return False

    def has_erase_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("petitions.delete_supporter")

    def has_export_permission(self, request: HttpRequest) -> bool:
        # Names and addresses: only staff allowed to see supporters.
        return request.user.has_perm("petitions.view_supporter")

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra = {"can_invalidate": self.has_change_permission(request), **(extra_context or {})}
        return super().changelist_view(request, extra_context=extra)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Signature], search_term: str
    ) -> tuple[QuerySet[Signature], bool]:
        if not search_term.strip():
            return queryset, False
        try:
            criteria, public_id = signature_search_parse(term=search_term)
            q = review.signature_criteria_q(criteria=criteria)
        except review.CriteriaError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return queryset.none(), False
        if public_id is not None:
            q &= Q(public_id=public_id)
        return queryset.filter(q), False

    @admin.action(description=_("Revalidate selected signatures"), permissions=["change"])
    def revalidate_selected(self, request: HttpRequest, queryset: QuerySet[Signature]) -> None:
        ids = queryset.filter(status=Signature.Status.INVALIDATED).values_list("pk", flat=True)
        moved = review.signatures_revalidate(signature_ids=list(ids), actor=request.user)
        self.message_user(
            request,
            ngettext("%(n)s signature revalidated.", "%(n)s signatures revalidated.", moved)
            % {"n": moved},
            messages.SUCCESS,
        )

    @admin.action(description=_("Export selected signatures as CSV"), permissions=["export"])
    def export_csv(
        self, request: HttpRequest, queryset: QuerySet[Signature]
    ) -> StreamingHttpResponse:
        logger.info("user %s exported signatures as CSV", request.user.pk)
        return _csv_response(signatures=queryset)

    @admin.action(
        description=_("Erase the people who made the selected signatures…"),
        permissions=["erase"],
    )
    def erase_signers(
        self, request: HttpRequest, queryset: QuerySet[Signature]
    ) -> TemplateResponse | None:
        """The same erasure a person can ask for on their manage page, after a confirmation."""
        supporters = Supporter.objects.filter(
            pk__in=queryset.exclude(supporter=None).values("supporter_id")
        )
        if request.POST.get("post") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": _("Erase people"),
                "people": supporters.count(),
                "signatures": Signature.objects.filter(supporter__in=supporters).count(),
                "selected": list(queryset.values_list("pk", flat=True)),
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(
                request, "admin/petitions/signature/erase_confirm.html", context
            )
        erased = 0
        for supporter in supporters:
            erasure.supporter_erase(supporter=supporter)
            erased += 1
        logger.info("user %s erased %s supporters", request.user.pk, erased)
        self.message_user(
            request,
            ngettext("%(n)s person erased.", "%(n)s people erased.", erased) % {"n": erased},
            messages.SUCCESS,
        )
        return None

    def get_urls(self) -> list[URLPattern]:
        invalidate = path(
            "invalidate/",
            self.admin_site.admin_view(self.invalidate_view),
            name="petitions_signature_invalidate",
        )
        return [invalidate, *super().get_urls()]

    def invalidate_view(self, request: HttpRequest) -> HttpResponse:
        """Preview how many signatures match, then invalidate exactly those, as one batch."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        form = InvalidateForm(request.POST if request.method == "POST" else None)
        preview: dict[Petition, int] | None = None
        token = ""
        if request.method == "POST" and form.is_valid():
            criteria = form.criteria()
            if "confirm" in request.POST:
                done = self._invalidate(request, form=form, criteria=criteria)
                if done is not None:
                    return HttpResponseRedirect(
                        reverse("admin:petitions_invalidationbatch_change", args=[done.pk])
                    )
            preview = signatures_invalidatable_count(criteria=criteria)
            token = review.invalidation_preview_token_make(
                criteria=criteria, count=sum(preview.values())
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Invalidate signatures by criteria"),
            "form": form,
            "preview": preview,
            "preview_total": sum(preview.values()) if preview is not None else None,
            "preview_token": token,
        }
        return TemplateResponse(request, "admin/petitions/signature/invalidate.html", context)

    def _invalidate(
        self, request: HttpRequest, *, form: InvalidateForm, criteria: review.SignatureCriteria
    ) -> InvalidationBatch | None:
        expected = review.invalidation_preview_count(
            token=request.POST.get("preview", ""), criteria=criteria
        )
        if expected is None:
            self.message_user(
                request,
                _("The criteria changed or the preview is too old. Check the new preview."),
                messages.ERROR,
            )
            return None
        try:
            batch = review.signatures_invalidate(
                criteria=criteria,
                reason=form.cleaned_data["reason"],
                expected_count=expected,
                actor=request.user,
            )
        except review.InvalidationCountChangedError as exc:
            self.message_user(
                request,
                _(
                    "Nothing was invalidated: %(expected)s signatures matched in the preview, "
                    "%(actual)s match now. Check the new preview."
                )
                % {"expected": exc.expected, "actual": exc.actual},
                messages.ERROR,
            )
            return None
        self.message_user(
            request,
            ngettext("%(n)s signature invalidated.", "%(n)s signatures invalidated.", batch.count)
            % {"n": batch.count},
            messages.SUCCESS,
        )
        return batch


class _DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M")


class InvalidateForm(forms.Form):
    petition = forms.ModelChoiceField(
        label=_("Petition"),
        queryset=Petition.objects.order_by("title"),
        required=False,
        empty_label=_("Any petition"),
    )
    ip = forms.CharField(
        label=_("IP address or range"),
        required=False,
        max_length=64,
        help_text=_("An address (203.0.113.7) or a range (203.0.113.0/24). Only hashes are kept."),
    )
    domain = forms.CharField(
        label=_("Email domain"),
        required=False,
        max_length=253,
        help_text=_("For example example.org. Only a keyed hash of it is kept."),
    )
    created_from = forms.DateTimeField(
        label=_("Signed at or after (UTC)"), required=False, widget=_DateTimeInput()
    )
    created_to = forms.DateTimeField(
        label=_("Signed before (UTC)"), required=False, widget=_DateTimeInput()
    )
    statuses = forms.MultipleChoiceField(
        label=_("Signatures that are"),
        choices=[
            (Signature.Status.PENDING, Signature.Status.PENDING.label),
            (Signature.Status.CONFIRMED, Signature.Status.CONFIRMED.label),
        ],
        initial=[Signature.Status.PENDING, Signature.Status.CONFIRMED],
        widget=forms.CheckboxSelectMultiple,
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Recorded with the invalidation. Do not write names or addresses here."),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in ("ip", "domain"):
            if cleaned.get(name):
                try:
                    review.signature_criteria_q(
                        criteria=review.SignatureCriteria(**{name: cleaned[name]})
                    )
                except review.CriteriaError as exc:
                    self.add_error(name, str(exc))
        start, end = cleaned.get("created_from"), cleaned.get("created_to")
        if start and end and start >= end:
            self.add_error("created_to", _("The end must come after the start."))
        if not self.errors and self.criteria().is_empty():
            raise forms.ValidationError(
                _("Give at least one criterion: a petition, an IP, a domain or a time.")
            )
        return cleaned

    def criteria(self) -> review.SignatureCriteria:
        data = self.cleaned_data
        return review.SignatureCriteria(
            petition=data.get("petition"),
            ip=data.get("ip") or "",
            domain=data.get("domain") or "",
            created_from=data.get("created_from"),
            created_to=data.get("created_to"),
            statuses=tuple(data.get("statuses") or ()),
        )
