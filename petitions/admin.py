from django.contrib import admin

from petitions.models import Petition, Signature


@admin.register(Petition)
class PetitionAdmin(admin.ModelAdmin):
    list_display = ["title", "campaign", "status", "signature_count", "closes_at"]
    list_filter = ["status", "campaign"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["signature_count", "count_refreshed_at"]


@admin.register(Signature)
class SignatureAdmin(admin.ModelAdmin):
    # Lists show no names or addresses: staff screens are shared and screenshotted.
    list_display = ["public_id", "petition", "status", "display", "source", "created_at"]
    list_filter = ["status", "petition", "source"]
    list_select_related = ["petition"]
    readonly_fields = [field.name for field in Signature._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False
