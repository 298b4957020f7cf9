from django.contrib import admin

from mailer.models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ["public_id", "kind", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["kind", "status"]
    readonly_fields = [field.name for field in OutboxMessage._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False
