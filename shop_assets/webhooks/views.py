"""Webhook endpoints in the dashboard: add, edit, secret (reveal, rotate), test event,
delivery log with every attempt, redeliver. Scoped to the signed-in user's merchant."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from shop_assets.accounts import access
from shop_assets.dashboard.views import merchant_required
from shop_assets.dates import human_moment
from shop_assets.webhooks import endpoints as endpoint_service
from shop_assets.webhooks import events
from shop_assets.webhooks.forms import EndpointForm
from shop_assets.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

DELIVERIES_PER_PAGE = 25


def _endpoints(request: HttpRequest):
    return WebhookEndpoint.objects.filter(merchant_id=access.merchant_id(request))


def _endpoint(request: HttpRequest, pk: int) -> WebhookEndpoint:
    return get_object_or_404(_endpoints(request), pk=pk)


def _apply(form: EndpointForm, save) -> WebhookEndpoint | None:
    """Run the endpoint service with the form's data; its refusals become field errors."""
    if not form.is_valid():
        return None
    data = form.cleaned_data
    try:
        return save(url=data["url"], events=data["events"], description=data["description"])
    except endpoint_service.EndpointInvalid as exc:
        form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        return None


@merchant_required
def webhook_list(request: HttpRequest) -> HttpResponse:
    form = EndpointForm(request.POST or None)
    if request.method == "POST":
        merchant = access.merchant(request)
        endpoint = _apply(form, lambda **kw: endpoint_service.create_endpoint(merchant, **kw))
        if endpoint is not None:
            messages.success(
                request, "Endpoint added. Send a test event to check that your server verifies it."
            )
            return redirect("webhooks:detail", pk=endpoint.pk)
    context = {"form": form, "endpoints": _endpoints(request)}
    return render(request, "webhooks/list.html", context, status=400 if form.errors else 200)


def _deliveries_context(request: HttpRequest, endpoint: WebhookEndpoint) -> dict:
    deliveries = (
        WebhookDelivery.objects.filter(endpoint=endpoint).select_related("event").prefetch_related("attempts")
    )
    page = Paginator(deliveries, DELIVERIES_PER_PAGE).get_page(request.GET.get("page"))
    pending = any(d.status == DeliveryStatus.PENDING for d in page)
    return {"endpoint": endpoint, "page": page, "pending": pending}


@merchant_required
def webhook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    initial = {"url": endpoint.url, "description": endpoint.description, "events": endpoint.events}
    form = EndpointForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if _apply(form, lambda **kw: endpoint_service.update_endpoint(endpoint, **kw)) is not None:
            messages.success(request, "Endpoint saved.")
            return redirect("webhooks:detail", pk=endpoint.pk)
        endpoint.refresh_from_db()
    context = {
        "form": form,
        "reveal": request.GET.get("reveal") == "1",
        "now": timezone.now(),
        "disable_after_days": settings.WEBHOOK_DISABLE_AFTER_DAYS,
        **_deliveries_context(request, endpoint),
    }
    response = render(request, "webhooks/detail.html", context, status=400 if form.errors else 200)
    response["Cache-Control"] = "no-store"
    return response


@merchant_required
def webhook_secret(request: access.HtmxRequest, pk: int) -> HttpResponse:
    """The secret, revealed (HTMX swaps it in; without JavaScript the page reloads showing it)."""
    endpoint = _endpoint(request, pk)
    if not request.htmx:
        return redirect(reverse("webhooks:detail", args=[pk]) + "?reveal=1")
    response = render(
        request, "webhooks/_secret.html", {"endpoint": endpoint, "reveal": request.GET.get("hide") != "1"}
    )
    response["Cache-Control"] = "no-store"
    return response


@merchant_required
def webhook_deliveries(request: HttpRequest, pk: int) -> HttpResponse:
    """The delivery log alone, polled by HTMX while deliveries are pending."""
    return render(request, "webhooks/_deliveries.html", _deliveries_context(request, _endpoint(request, pk)))


@merchant_required
@require_POST
def webhook_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = endpoint_service.rotate_secret(_endpoint(request, pk))
    assert endpoint.previous_secret_expires_at is not None  # rotate_secret sets it
    until = human_moment(endpoint.previous_secret_expires_at)
    messages.success(
        request,
        f"New secret made. Until {until} every webhook is signed with both the old "
        "and the new secret; switch your server to the new one before then.",
    )
    return redirect(reverse("webhooks:detail", args=[pk]) + "?reveal=1")


@merchant_required
@require_POST
def webhook_test(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = events.send_test_event(_endpoint(request, pk))
    messages.success(
        request, f"Test event {delivery.event.public_id} is on its way; its attempts appear below."
    )
    return redirect("webhooks:detail", pk=pk)


@merchant_required
@require_POST
def webhook_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    enable = request.POST.get("enable") == "1"
    endpoint_service.update_endpoint(endpoint, is_active=enable)
    messages.success(request, "Endpoint enabled." if enable else "Endpoint disabled; nothing is sent to it.")
    return redirect("webhooks:detail", pk=pk)


@merchant_required
@require_POST
def webhook_delete(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    endpoint.delete()
    messages.success(request, f"Endpoint {endpoint.url} deleted with its delivery log.")
    return redirect("webhooks:list")


@merchant_required
@require_POST
def delivery_redeliver(request: HttpRequest, pk: int, delivery_pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    delivery = get_object_or_404(
        WebhookDelivery.objects.select_related("event", "endpoint"), pk=delivery_pk, endpoint=endpoint
    )
    try:
        events.redeliver(delivery)
    except events.RedeliveryRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{delivery.event.type} {delivery.event.public_id} is being sent again.")
    return redirect("webhooks:detail", pk=pk)
