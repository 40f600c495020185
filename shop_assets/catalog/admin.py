from django.contrib import admin

from shop_assets.catalog.models import Product, ProductImage


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    extra = 0
    readonly_fields = ("original_key", "normalized_key", "width", "height", "checksum")


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("sku", "title", "merchant", "price", "currency", "created_at")
    list_filter = ("merchant", "currency")
    search_fields = ("sku", "title")
    inlines = [ProductImageInline]


@admin.register(ProductImage)
class ProductImageAdmin(admin.ModelAdmin):
    list_display = ("product", "original_format", "width", "height", "created_at")
    search_fields = ("product__sku",)
