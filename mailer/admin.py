from django.contrib import admin
from django.utils.functional import Promise

from mailer.models import Mailing, OutboxMessage, Suppression
from mailer.registry import UnknownEmailKindError, bulk_email_type_get, email_type_get


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ["public_id", "kind_label", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["kind", "status"]
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


# Addresses appear only as their keyed hash: staff see how many and why, never who.
@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ["reason", "created_at"]
    list_filter = ["reason"]
    readonly_fields = [field.name for field in Suppression._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False
