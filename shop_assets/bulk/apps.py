from django.apps import AppConfig


class BulkConfig(AppConfig):
    name = "shop_assets.bulk"
    label = "bulk"
    verbose_name = "Bulk import and campaigns"
