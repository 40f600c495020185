"""Cutout review on the product page: see the automatic cutout, accept it, fix it with a
box and keep/remove strokes (drawn on the preview, refined on the server), or upload a
mask. Every photo and mask is looked up through the signed-in merchant's products, so
another merchant's ids answer 404 like ids that do not exist."""

from __future__ import annotations

import io
import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from generation.errors import ImageRejected
from generation.segment.refine import preview_image
from shop_assets.accounts import access
from shop_assets.catalog import masks
from shop_assets.catalog.models import PhotoMask, ProductImage
from shop_assets.catalog.services import read_upload
from shop_assets.dashboard.cutout_cards import cutout_context
from shop_assets.dashboard.views import _product_page, merchant_file, merchant_required
from shop_assets.jobs import storage


def _image(request: HttpRequest, pk: int) -> ProductImage:
    return get_object_or_404(
        ProductImage.objects.filter(product__merchant_id=access.merchant_id(request)).select_related(
            "product"
        ),
        pk=pk,
    )


@merchant_required
def cutout_card(request: HttpRequest, pk: int) -> HttpResponse:
    """The photo's cutout card (polled by HTMX until the automatic cutout is there)."""
    return render(request, "dashboard/_cutout.html", {"c": cutout_context(_image(request, pk))})


@merchant_file
def photo_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The photo at the editor's size, which boxes and strokes are drawn on."""
    image = _image(request, pk)
    small = preview_image(masks.load_photo(image))
    buf = io.BytesIO()
    small.save(buf, format="JPEG", quality=90)
    response = HttpResponse(buf.getvalue(), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=300"
    return response


@merchant_file
def mask_cutout(request: HttpRequest, pk: int) -> HttpResponseBase:
    """One mask version's cutout at preview size (WebP with transparency)."""
    mask = get_object_or_404(
        PhotoMask.objects.filter(image__product__merchant_id=access.merchant_id(request)).exclude(
            preview_key=""
        ),
        pk=pk,
    )
    return storage.file_response(
        mask.preview_key, filename=f"cutout-v{mask.version}.webp", content_type="image/webp", attachment=False
    )


def _back(image: ProductImage) -> HttpResponse:
    return redirect(reverse("dashboard:product", args=[image.product_id]) + "#cutout-review")


def _refused(request: HttpRequest, image: ProductImage, message: str) -> HttpResponse:
    return _product_page(request, image.product, cutout_errors={image.pk: message}, status=400)


@merchant_required
@require_POST
def mask_accept(request: HttpRequest, pk: int) -> HttpResponse:
    image = _image(request, pk)
    try:
        mask = masks.accept_automatic(image, request.user)
    except masks.MaskInvalid as exc:
        return _refused(request, image, str(exc))
    messages.success(
        request, f"Cutout accepted (version {mask.version}); every new job of this photo uses it."
    )
    return _back(image)


@merchant_required
@require_POST
def mask_upload(request: HttpRequest, pk: int) -> HttpResponse:
    image = _image(request, pk)
    upload = request.FILES.get("mask")
    if upload is None:
        return _refused(
            request, image, "Choose a mask file (PNG: white is the product, black the background)."
        )
    try:
        mask = masks.save_uploaded(image, read_upload(upload), request.user)
    except (masks.MaskInvalid, ImageRejected) as exc:
        return _refused(request, image, f"{upload.name}: {exc}")
    messages.success(request, f"Mask {upload.name} saved as version {mask.version}; new jobs use it.")
    return _back(image)


def _strokes(request: HttpRequest, image: ProductImage) -> masks.Strokes:
    box = request.POST.get("box", "")
    try:
        parsed = json.loads(box) if box else None
    except ValueError as exc:
        raise masks.MaskInvalid("The box must be four numbers: x, y, width, height.") from exc
    files = {name: request.FILES.get(name) for name in ("keep", "remove")}
    return masks.read_strokes(
        image,
        parsed,
        files["keep"].read() if files["keep"] else None,
        files["remove"].read() if files["remove"] else None,
    )


def _problem(exc: Exception) -> JsonResponse:
    return JsonResponse({"code": "invalid_strokes", "detail": str(exc)}, status=400)


@merchant_required
@require_POST
def mask_refine(request: HttpRequest, pk: int) -> HttpResponse:
    """The cutout refined from the box and strokes (preview pixels), as a PNG; its
    confidence and problems in the ``X-Matte-Confidence``/``X-Matte-Problems`` headers."""
    image = _image(request, pk)
    try:
        seg = masks.refine_preview(image, _strokes(request, image))
    except masks.MaskInvalid as exc:
        return _problem(exc)
    buf = io.BytesIO()
    masks.cutout_preview(seg.image, seg.matte).save(buf, format="PNG", compress_level=1)
    response = HttpResponse(buf.getvalue(), content_type="image/png")
    response["X-Matte-Confidence"] = f"{seg.confidence:.3f}"
    response["X-Matte-Trusted"] = "yes" if not seg.low_confidence else "no"
    response["X-Matte-Problems"] = json.dumps(seg.evidence.get("problems", []))
    response["Cache-Control"] = "no-store"
    return response


@merchant_required
@require_POST
def mask_save(request: HttpRequest, pk: int) -> HttpResponse:
    """Refine at full size from the same box and strokes and store it as the accepted mask."""
    image = _image(request, pk)
    try:
        mask = masks.save_refined(image, _strokes(request, image), request.user)
    except masks.MaskInvalid as exc:
        return _problem(exc)
    messages.success(request, f"Cutout saved as version {mask.version}; every new job of this photo uses it.")
    return JsonResponse(
        {
            "version": mask.version,
            "confidence": mask.confidence,
            "url": reverse("dashboard:product", args=[image.product_id]) + "#cutout-review",
        },
        status=201,
    )
