from django.contrib import admin
from django.utils.functional import Promise

from mailer.models import OutboxMessage
from mailer.registry import UnknownEmailKindError, email_type_get


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
