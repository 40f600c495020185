from shop_assets.celery import app as celery_app

__all__ = ["celery_app"]
