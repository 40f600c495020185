from django.apps import AppConfig


class LimitsConfig(AppConfig):
    name = "shop_assets.limits"
    label = "limits"
    verbose_name = "Limits"
