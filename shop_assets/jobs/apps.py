from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "shop_assets.jobs"
    label = "jobs"

    def ready(self) -> None:
        from shop_assets.jobs import signals  # noqa: F401
