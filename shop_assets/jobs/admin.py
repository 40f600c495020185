from django.contrib import admin

from shop_assets.jobs.models import Asset, GenerationJob


class AssetInline(admin.TabularInline):
    model = Asset
    extra = 0
    readonly_fields = ("kind", "name", "format", "width", "height", "storage_key", "size_bytes", "checksum")


@admin.register(GenerationJob)
class GenerationJobAdmin(admin.ModelAdmin):
    list_display = ("id", "merchant", "product", "status", "progress", "attempts", "queue", "created_at")
    list_filter = ("status", "queue", "merchant")
    search_fields = ("product__sku",)
    readonly_fields = ("lease_token", "lease_expires_at", "started_at", "finished_at")
    inlines = [AssetInline]


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = ("storage_key", "kind", "width", "height", "size_bytes", "created_at")
    list_filter = ("kind", "merchant")
    search_fields = ("storage_key",)
