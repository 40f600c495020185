from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import JsonResponse
from django.urls import include, path

from shop_assets.api.views import api


def healthz(request):
    return JsonResponse({"ok": True})


urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="registration/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("", include("shop_assets.accounts.urls")),
    path("", include("shop_assets.webhooks.urls")),
    path("", include("shop_assets.dashboard.urls")),
]
