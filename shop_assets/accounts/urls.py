from django.urls import path

from shop_assets.accounts import views

app_name = "accounts"

urlpatterns = [
    path("settings/api-keys/", views.api_keys, name="api_keys"),
    path("settings/api-keys/<int:pk>/revoke/", views.api_key_revoke, name="api_key_revoke"),
]
