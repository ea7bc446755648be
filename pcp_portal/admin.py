"""The platform's tables in the admin: partners' API keys, the deletion records, webhooks, users'
preferences."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.admin import APIKeyModelAdmin

from pcp_portal.models import (
    APIAccessKey,
    DeletedRecord,
    UserPreference,
    WebhookDelivery,
    WebhookSubscription,
)
from pcp_portal.webhooks import services as webhook_services


class ReadOnlyAdmin(admin.ModelAdmin):
    """For tables written only through the portal's own pages and services, which check what the
    admin's generic forms cannot: the admin lists and searches them, and changes nothing."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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


@admin.register(UserPreference)
class UserPreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "digits")
    list_filter = ("digits",)
    search_fields = ("user__username",)


# Webhooks: staff see every subscription and its delivery log; subscriptions are made by partners
# through the API (the secret is shown to them once), so here they are read, paused, resumed and
# their deliveries replayed.
class WebhookDeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    fields = ("event", "resource", "object_id", "status", "attempts", "status_code", "created_at")
    readonly_fields = fields
    ordering = ("-id",)
    extra = 0
    max_num = 0
    show_change_link = True
    can_delete = False


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ("id", "url", "api_key", "status", "failing_since", "created_at")
    list_filter = ("status",)
    search_fields = ("url", "api_key__name", "contact_email")
    fields = (
        "api_key",
        "url",
        "events",
        "contact_email",
        "status",
        "failing_since",
        "paused_at",
        "created_at",
    )
    readonly_fields = fields
    actions = ("pause", "resume")
    inlines = [WebhookDeliveryInline]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Pause the selected subscriptions"))
    def pause(self, request, queryset):
        for subscription in queryset:
            webhook_services.subscription_pause(subscription=subscription)

    @admin.action(description=_("Resume the selected subscriptions"))
    def resume(self, request, queryset):
        for subscription in queryset:
            webhook_services.subscription_resume(subscription=subscription)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "subscription",
        "event",
        "resource",
        "object_id",
        "status",
        "attempts",
        "status_code",
    )
    list_display += ("created_at", "delivered_at")
    list_filter = ("status", "event")
    search_fields = ("event_id",)
    list_select_related = ("subscription",)
    actions = ("replay",)

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in WebhookDelivery._meta.fields]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Send the selected deliveries again (same event ids)"))
    def replay(self, request, queryset):
        webhook_services.deliveries_replay(deliveries=queryset)
