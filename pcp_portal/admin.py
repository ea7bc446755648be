"""The platform's tables in the admin: partners' API keys and the deletion records."""

from django.contrib import admin
from rest_framework_api_key.admin import APIKeyModelAdmin

from pcp_portal.models import APIAccessKey, DeletedRecord


# Keys are created here or with `manage.py create_api_key`, shown once, and revoked here; a revoked
# or expired key stops working on its next request.
@admin.register(APIAccessKey)
class APIAccessKeyAdmin(APIKeyModelAdmin):
    list_display = (*APIKeyModelAdmin.list_display, "role")
    list_filter = ("role", "revoked", "created")


@admin.register(DeletedRecord)
class DeletedRecordAdmin(admin.ModelAdmin):
    list_display = ("resource", "object_id", "deleted_at")
    list_filter = ("resource",)
    search_fields = ("resource", "object_id")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
