from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.views import defaults

from shop_assets.accounts.signout import SignOutView
from shop_assets.api.views import api
from shop_assets.limits import LimitExceeded
from shop_assets.limits.uploads import refusal_response


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A file cut off at the upload limit while the body was parsed is a 413 with its reason."""
    if isinstance(exception, LimitExceeded):
        return refusal_response(request, exception)
    return defaults.bad_request(request, exception)


handler400 = bad_request

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="registration/login.html"), name="login"),
    path("logout/", SignOutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("", include("shop_assets.accounts.urls")),
    path("", include("shop_assets.webhooks.urls")),
    path("batches/", include("shop_assets.bulk.urls")),
    path("", include("shop_assets.dashboard.urls")),
]
