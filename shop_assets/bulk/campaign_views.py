"""Dashboard pages of campaigns: the list, the editor with its live preview, deletion.

Every query is filtered by the signed-in user's merchant: another merchant's campaign
and product ids answer 404. The preview renders in this request (``bulk.preview``).
"""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from generation.errors import GenerationError
from generation.request import InvalidRequest
from shop_assets.accounts import access
from shop_assets.accounts.models import BrandKit
from shop_assets.bulk import campaigns, preview
from shop_assets.bulk.forms import CampaignForm
from shop_assets.bulk.models import Campaign
from shop_assets.catalog.models import Product
from shop_assets.dashboard.views import merchant_required
from shop_assets.limits import LimitExceeded
from shop_assets.limits.quotas import check_job_quota

PREVIEW_PRODUCTS = 200


def _campaigns(request: HttpRequest):
    return Campaign.objects.filter(merchant_id=access.merchant_id(request))


def _preview_products(request: HttpRequest):
    """Products with a photo, newest first: the ones a preview can be shown on."""
    return (
        Product.objects.filter(merchant_id=access.merchant_id(request), images__isnull=False)
        .distinct()
        .order_by("-created_at")[:PREVIEW_PRODUCTS]
    )


@merchant_required
def campaign_list(request: HttpRequest) -> HttpResponse:
    return render(request, "bulk/campaigns.html", {"campaigns": _campaigns(request)})


@merchant_required
def campaign_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    campaign = get_object_or_404(_campaigns(request), pk=pk) if pk is not None else None
    initial = CampaignForm.initial_from(campaign) if campaign else None
    form = CampaignForm(request.POST or None, initial=initial)
    form.show_brand_kit(BrandKit.objects.filter(merchant_id=access.merchant_id(request)).first())
    if request.method == "POST" and form.is_valid():
        outputs, parameters = form.request_parts()
        try:
            saved = campaigns.save_campaign(
                access.merchant(request),
                name=form.cleaned_data["name"],
                outputs=outputs,
                parameters=parameters,
                headline=form.cleaned_data["headline"],
                campaign=campaign,
            )
        except InvalidRequest as exc:
            form.add_request_error(exc)
        except campaigns.DuplicateName as exc:
            form.add_error("name", str(exc))
        else:
            messages.success(request, f"Campaign {saved.name} saved.")
            return redirect("bulk:campaign", pk=saved.pk)
    context = {
        "form": form,
        "campaign": campaign,
        "products": _preview_products(request),
        "placeholders": campaigns.PLACEHOLDERS,
    }
    return render(request, "bulk/campaign_form.html", context, status=400 if form.errors else 200)


@merchant_required
@require_POST
def campaign_delete(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(_campaigns(request), pk=pk)
    campaign.delete()
    messages.success(request, f"Campaign {campaign.name} deleted; batches made with it keep their copy.")
    return redirect("bulk:campaigns")


@merchant_required
def campaign_apply(request: HttpRequest, product_pk: int) -> HttpResponse:
    """On a product's page: GET the campaign picker (loaded by HTMX), POST starts the
    product's job with the chosen campaign, counted against the job quota."""
    product = get_object_or_404(
        Product.objects.filter(merchant_id=access.merchant_id(request)), pk=product_pk
    )
    choices = _campaigns(request)
    if request.method != "POST":
        return render(request, "bulk/_campaign_apply.html", {"product": product, "campaigns": choices})
    chosen = request.POST.get("campaign", "")
    campaign = get_object_or_404(choices, pk=int(chosen) if chosen.isdigit() else 0)
    image = product.images.first()
    if image is None:
        messages.error(request, "Upload a photo of this product first.")
        return redirect("dashboard:product", pk=product.pk)
    try:
        with transaction.atomic():
            check_job_quota(product.merchant_id)
            job = campaigns.create_job(campaign.request, campaign.headline, product, image)
    except LimitExceeded as exc:
        messages.error(request, str(exc))
        return redirect("dashboard:product", pk=product.pk)
    except InvalidRequest as exc:
        messages.error(request, f"The campaign {campaign.name} does not fit this product: {exc}")
        return redirect("dashboard:product", pk=product.pk)
    messages.success(request, f"Started with the campaign {campaign.name}.")
    return redirect("dashboard:job", pk=job.pk)


@merchant_required
@require_POST
def campaign_preview(request: HttpRequest) -> HttpResponse:
    """The editor's form as it stands, rendered small on the chosen product (HTMX)."""
    form = CampaignForm(request.POST)
    form.fields["name"].required = False  # a look can be previewed before it is named
    context: dict = {"error": "", "preview": None}
    product_id = request.POST.get("preview_product", "")
    product = (
        Product.objects.filter(merchant_id=access.merchant_id(request), pk=int(product_id)).first()
        if product_id.isdigit()
        else None
    )
    image = product.images.first() if product is not None else None
    if product is None or image is None:
        context["error"] = "Choose a product with a photo to see the campaign on it."
    elif not form.is_valid():
        problems = []
        for name, errors in form.errors.items():
            text = " ".join(str(e) for e in errors)
            problems.append(f"{form.fields[name].label or name}: {text}" if name in form.fields else text)
        context["error"] = "Fix the fields marked in the form: " + "; ".join(problems)
    else:
        outputs, parameters = form.request_parts()
        try:
            request_data = campaigns.check_request(outputs, parameters)
            rule = campaigns.check_headline_rule(form.cleaned_data["headline"])
            context["preview"] = preview.render_preview(product, image, request_data, rule)
        except InvalidRequest as exc:
            context["error"] = str(exc)
        except (GenerationError, preview.PreviewBusy) as exc:
            context["error"] = f"The preview could not be made: {exc}"
    context["product"] = product
    return render(request, "bulk/_campaign_preview.html", context)
