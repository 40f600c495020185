from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "shop_assets.accounts"
    label = "accounts"
