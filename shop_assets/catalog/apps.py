from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "shop_assets.catalog"
    label = "catalog"
