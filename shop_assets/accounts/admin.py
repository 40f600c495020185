from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from shop_assets.accounts.models import ApiKey, BrandKit, Merchant, User


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "default_currency", "created_at")
    search_fields = ("name", "slug")


@admin.register(User)
class MerchantUserAdmin(UserAdmin):
    list_display = ("username", "email", "merchant", "is_owner", "is_staff")
    list_filter = ("merchant", "is_staff")
    fieldsets = (*(UserAdmin.fieldsets or ()), ("Merchant", {"fields": ("merchant", "is_owner")}))


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("prefix", "name", "merchant", "created_at", "last_used_at", "revoked")
    list_filter = ("merchant", "revoked")
    readonly_fields = ("prefix", "key_hash", "created_at", "last_used_at")

    def has_add_permission(self, request) -> bool:
        return False  # keys are issued with `manage.py create_api_key`, which shows the secret once


@admin.register(BrandKit)
class BrandKitAdmin(admin.ModelAdmin):
    list_display = ("merchant", "primary_color", "heading_font", "body_font", "default_locale")
