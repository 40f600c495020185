from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "shop_assets.api"
    label = "api"
