"""API keys in the dashboard: a merchant's own users create and revoke them."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from shop_assets.accounts import access
from shop_assets.accounts.models import ApiKey
from shop_assets.dashboard.views import merchant_required


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="What uses this key, e.g. “Shopify storefront” or “ERP sync”.",
        widget=forms.TextInput(attrs={"placeholder": "Storefront"}),
    )


def _keys(request: HttpRequest):
    return ApiKey.objects.filter(merchant_id=access.merchant_id(request))


@merchant_required
def api_keys(request: HttpRequest) -> HttpResponse:
    """The list and the create form; after creating, the secret is shown on this page once."""
    form = ApiKeyForm(request.POST or None)
    context: dict = {"form": form}
    status = 200
    if request.method == "POST":
        if form.is_valid():
            key, secret = ApiKey.issue(access.merchant(request), form.cleaned_data["name"].strip())
            context.update(new_key=key, new_secret=secret, form=ApiKeyForm())
            status = 201
        else:
            status = 400
    context["keys"] = _keys(request)
    response = render(request, "accounts/api_keys.html", context, status=status)
    response["Cache-Control"] = "no-store"  # the page may carry a secret
    return response


@merchant_required
@require_POST
def api_key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    key = get_object_or_404(_keys(request), pk=pk)
    if not key.revoked:
        key.revoked = True
        key.save(update_fields=["revoked"])
        messages.success(
            request, f"Key “{key.name}” ({key.prefix}…) is revoked; requests with it now answer 401."
        )
    return redirect("accounts:api_keys")
