from django.urls import path

from shop_assets.webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("webhooks/", views.webhook_list, name="list"),
    path("webhooks/<int:pk>/", views.webhook_detail, name="detail"),
    path("webhooks/<int:pk>/secret/", views.webhook_secret, name="secret"),
    path("webhooks/<int:pk>/deliveries/", views.webhook_deliveries, name="deliveries"),
    path("webhooks/<int:pk>/rotate/", views.webhook_rotate, name="rotate"),
    path("webhooks/<int:pk>/test/", views.webhook_test, name="test"),
    path("webhooks/<int:pk>/toggle/", views.webhook_toggle, name="toggle"),
    path("webhooks/<int:pk>/delete/", views.webhook_delete, name="delete"),
    path(
        "webhooks/<int:pk>/deliveries/<int:delivery_pk>/redeliver/",
        views.delivery_redeliver,
        name="redeliver",
    ),
]
