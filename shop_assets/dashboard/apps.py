from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "shop_assets.dashboard"
    label = "dashboard"
