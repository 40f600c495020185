from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm

from shop_assets.accounts.models import ApiKey, BrandKit, Merchant, User


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "default_currency", "created_at")
    search_fields = ("name", "slug")


class MerchantUserChangeForm(UserChangeForm):
    """Refuses to leave a shop without an owner: an operator who clears the only owner's box
    says first who owns the shop instead (the model would otherwise pick its first user)."""

    class Meta(UserChangeForm.Meta):
        model = User

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        user = self.instance
        merchant = cleaned.get("merchant")
        stored = User.objects.filter(pk=user.pk).values_list("merchant_id", "is_owner").first()
        if stored is None or merchant is None or cleaned.get("is_owner", True):
            return cleaned
        was_in, was_owner = stored
        others = User.objects.filter(merchant_id=merchant.pk, is_owner=True).exclude(pk=user.pk)
        if was_owner and was_in == merchant.pk and not others.exists():
            if User.objects.filter(merchant_id=merchant.pk).exclude(pk=user.pk).exists():
                problem = f"{merchant} needs an owner: tick another of its users' Owner box first."
            else:
                problem = f"{user.username} is the only user of {merchant}, so its owner."
            self.add_error("is_owner", forms.ValidationError(problem, code="last_owner"))
        return cleaned


@admin.register(User)
class MerchantUserAdmin(UserAdmin):
    form = MerchantUserChangeForm
    list_display = ("username", "email", "merchant", "is_owner", "is_staff")
    list_filter = ("merchant", "is_staff")
    fieldsets = (*(UserAdmin.fieldsets or ()), ("Merchant", {"fields": ("merchant", "is_owner")}))
    # a merchant's user is made in one step; its first is the owner whatever the box says
    add_fieldsets = (*UserAdmin.add_fieldsets, ("Merchant", {"fields": ("merchant", "is_owner")}))

    def save_model(self, request, obj, form, change) -> None:
        stored = (
            User.objects.filter(pk=obj.pk).values_list("merchant_id", flat=True).first() if change else None
        )
        shops = {obj.merchant_id, stored} - {None}
        owners_before = set(
            User.objects.filter(merchant_id__in=shops, is_owner=True).values_list("pk", flat=True)
        )
        ticked = form.cleaned_data.get("is_owner", False)
        super().save_model(request, obj, form, change)
        # say what the owner rule did beyond what the operator ticked
        for owner in User.objects.filter(merchant_id__in=shops, is_owner=True).exclude(pk__in=owners_before):
            if owner.pk == obj.pk and ticked:
                continue
            since = "" if owner.pk == obj.pk else f" since {obj.username} left"
            messages.info(
                request, f"{owner.merchant}'s owner is now {owner.username}, its first user{since}."
            )
        if ticked and not obj.is_owner and obj.merchant is not None:
            messages.info(
                request, f"{obj.merchant} already has an owner: {obj.username} joins it as a colleague."
            )


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
