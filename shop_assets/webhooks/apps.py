from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "shop_assets.webhooks"
    label = "webhooks"
