from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from mailer.models import EmailEvent, Mailing, OutboxMessage, Suppression
from mailer.registry import UnknownEmailKindError, bulk_email_type_get, email_type_get
from mailer.services import suppression_remove
from trust.identity import email_digest


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = [
        "public_id", "kind_label", "status", "provider_status", "attempts", "created_at", "sent_at",
    ]  # fmt: skip
    list_filter = ["kind", "status", "provider_status"]
    readonly_fields = [field.name for field in OutboxMessage._meta.fields]

    @admin.display(description=OutboxMessage._meta.get_field("kind").verbose_name, ordering="kind")
    def kind_label(self, message: OutboxMessage) -> str | Promise:
        # The label the owning app registered; a kind nobody registers any more shows as is.
        try:
            return email_type_get(kind=message.kind).label
        except UnknownEmailKindError:
            return message.kind

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(Mailing)
class MailingAdmin(admin.ModelAdmin):
    list_display = ["public_id", "kind_label", "status", "created_at", "started_at", "finished_at"]
    list_filter = ["kind", "status"]
    readonly_fields = [field.name for field in Mailing._meta.fields]

    @admin.display(description=Mailing._meta.get_field("kind").verbose_name, ordering="kind")
    def kind_label(self, mailing: Mailing) -> str | Promise:
        try:
            return bulk_email_type_get(kind=mailing.kind).label
        except UnknownEmailKindError:
            return mailing.kind

    def has_add_permission(self, request: object) -> bool:
        return False


class _ByAddress(admin.ModelAdmin):
    """Read-only; the search box takes an address (looked up by its keyed hash) or a hash."""

    search_fields = ["address_digest"]
    search_help_text = _("An email address or its hash")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        digest = email_digest(term) if "@" in term else term.lower()
        return queryset.filter(address_digest=digest), False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Suppression)
class SuppressionAdmin(_ByAddress):
    list_display = ["address_digest", "reason", "created_at"]
    list_filter = ["reason"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    actions = ["remove_selected"]

    def get_actions(self, request: HttpRequest) -> dict:
        # Removal goes through the service, never through a bare delete.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(
        description=_("Remove the selected addresses from the suppression list"),
        permissions=["delete"],
    )
    def remove_selected(self, request: HttpRequest, queryset: QuerySet[Suppression]) -> None:
        self.log_deletions(request, queryset)
        removed = sum(
            suppression_remove(address_digest=digest)
            for digest in queryset.values_list("address_digest", flat=True)
        )
        self.message_user(
            request,
            ngettext(
                "%(n)s address removed from the suppression list: bulk mail goes to it again.",
                "%(n)s addresses removed from the suppression list: bulk mail goes to them again.",
                removed,
            )
            % {"n": removed},
            messages.SUCCESS,
        )


@admin.register(EmailEvent)
class EmailEventAdmin(_ByAddress):
    list_display = [
        "occurred_at", "esp", "event_type", "bounce_kind", "reject_reason", "processed_at",
    ]  # fmt: skip
    list_filter = ["event_type", "bounce_kind", "esp"]
    date_hierarchy = "occurred_at"
    ordering = ["-occurred_at"]

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
