from django.contrib import admin

from shop_assets.jobs.models import Asset, GenerationJob, JobAttempt


class AssetInline(admin.TabularInline):
    model = Asset
    extra = 0
    readonly_fields = ("kind", "name", "format", "width", "height", "storage_key", "size_bytes", "checksum")


class JobAttemptInline(admin.TabularInline):
    model = JobAttempt
    extra = 0
    can_delete = False
    fields = readonly_fields = ("number", "worker", "started_at", "ended_at", "outcome", "error_code")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(GenerationJob)
class GenerationJobAdmin(admin.ModelAdmin):
    list_display = ("id", "merchant", "product", "status", "progress", "attempts", "queue", "created_at")
    list_filter = ("status", "queue", "merchant")
    search_fields = ("product__sku",)
    readonly_fields = ("lease_token", "lease_expires_at", "started_at", "finished_at")
    inlines = [JobAttemptInline, AssetInline]


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = ("storage_key", "kind", "width", "height", "size_bytes", "created_at")
    list_filter = ("kind", "merchant")
    search_fields = ("storage_key",)
