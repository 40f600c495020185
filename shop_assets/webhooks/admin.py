from django.contrib import admin

from shop_assets.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("id", "merchant", "url", "is_active", "failing_since", "created_at")
    list_filter = ("is_active", "merchant")
    exclude = ("secret", "previous_secret")


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ("public_id", "merchant", "type", "created_at")
    list_filter = ("type", "merchant")
    search_fields = ("public_id",)


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    readonly_fields = (
        "number",
        "started_at",
        "duration_ms",
        "outcome",
        "status_code",
        "error",
        "next_attempt_at",
    )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("id", "event", "endpoint", "status", "attempt_count", "next_attempt_at")
    list_filter = ("status",)
    inlines = [WebhookAttemptInline]
