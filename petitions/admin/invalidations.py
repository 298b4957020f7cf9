"""Invalidation batches (undoable decisions) and flagged-attempt tallies (read only)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from petitions.models import FlaggedAttemptTally, InvalidationBatch
from petitions.services import review


@admin.register(InvalidationBatch)
class InvalidationBatchAdmin(admin.ModelAdmin):
    list_display = ["created_at", "reason", "created_by", "count", "revalidated_at"]
    list_filter = ["revalidated_at"]
    readonly_fields = [
        "public_id", "created_at", "created_by", "reason", "criteria", "count", "revalidated_at",
    ]  # fmt: skip
    actions = ["undo"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the record of a decision stays, even once undone

    @admin.action(
        description=_("Undo the selected invalidations (revalidate their signatures)"),
        permissions=["change"],
    )
    def undo(self, request: HttpRequest, queryset: Iterable[InvalidationBatch]) -> None:
        moved = 0
        for batch in queryset:
            moved += review.invalidation_batch_revalidate(batch=batch, actor=request.user)
        self.message_user(
            request,
            ngettext("%(n)s signature revalidated.", "%(n)s signatures revalidated.", moved)
            % {"n": moved},
            messages.SUCCESS,
        )


@admin.register(FlaggedAttemptTally)
class FlaggedAttemptTallyAdmin(admin.ModelAdmin):
    """Flagged sign attempts, counted per petition, reason, rule and day: read only.

    They store nothing about a person, so there is nothing to revalidate: someone caught by
    a limit meant for a script simply signs again.
    """

    list_display = ["day", "petition", "reason", "detail", "count"]
    list_filter = ["reason", "detail", "petition"]
    date_hierarchy = "day"
    ordering = ["-day", "petition", "reason", "detail"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the integrity line counts from these rows
