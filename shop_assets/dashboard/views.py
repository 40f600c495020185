"""Merchant dashboard. Every query is filtered by the signed-in user's merchant, so
another merchant's ids answer 404, exactly like ids that do not exist."""

from __future__ import annotations

import tempfile
import zipfile
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from generation.errors import ImageRejected
from generation.posters.sizes import list_sizes
from generation.request import InvalidRequest
from generation.segment.rembg_sessions import install_status
from shop_assets.accounts import access
from shop_assets.accounts.models import User
from shop_assets.catalog import services as catalog
from shop_assets.catalog.models import Product, ProductImage
from shop_assets.dashboard import labels, thumbnails
from shop_assets.dashboard.cutout_cards import cutout_context
from shop_assets.dashboard.forms import BrandKitForm, JobForm, ProductForm, UploadForm
from shop_assets.jobs import requests as job_requests
from shop_assets.jobs import storage
from shop_assets.jobs.models import Asset, GenerationJob
from shop_assets.jobs.running import generation_config
from shop_assets.limits import LimitExceeded
from shop_assets.limits.quotas import check_job_quota, check_upload_rate


def merchant_required(view):
    """Signed in, and linked to a merchant (staff without one get a clear 403)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        user = request.user
        if not isinstance(user, User) or user.merchant_id is None:
            return render(request, "dashboard/no_merchant.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def _products(request: HttpRequest):
    return Product.objects.filter(merchant_id=access.merchant_id(request))


def _jobs(request: HttpRequest):
    return GenerationJob.objects.filter(merchant_id=access.merchant_id(request))


@merchant_required
def products(request: access.HtmxRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    qs = _products(request).prefetch_related("images")
    if query:
        qs = qs.filter(Q(sku__icontains=query) | Q(title__icontains=query))
    page = Paginator(qs, 24).get_page(request.GET.get("page"))
    context = {"page": page, "query": query}
    if request.htmx:
        return render(request, "dashboard/_product_grid.html", context)
    return render(request, "dashboard/products.html", context)


@merchant_required
def product_new(request: HttpRequest) -> HttpResponse:
    merchant = access.merchant(request)
    form = ProductForm(
        request.POST or None, merchant=merchant, initial={"currency": merchant.default_currency}
    )
    if request.method == "POST" and form.is_valid():
        product = form.save(commit=False)
        product.merchant = merchant
        product.save()
        messages.success(request, f"Product {product.sku} created. Add a photo to start.")
        return redirect("dashboard:product", pk=product.pk)
    return render(request, "dashboard/product_new.html", {"form": form}, status=400 if form.errors else 200)


def _product_page(
    request: HttpRequest,
    product: Product,
    *,
    upload_form=None,
    job_form=None,
    cutout_errors: dict[int, str] | None = None,
    status=200,
):
    images = list(product.images.all())
    errors = cutout_errors or {}
    if job_form is None:
        job_form = JobForm(
            initial={"image": images[0].pk if images else None}, merchant_id=product.merchant_id
        )
    return render(
        request,
        "dashboard/product.html",
        {
            "product": product,
            "images": images,
            "upload_form": upload_form or UploadForm(),
            "job_form": job_form,
            "segmenters": install_status(generation_config()),
            "jobs": product.jobs.all()[:20],
            "cutouts": [cutout_context(image, errors.get(image.pk, "")) for image in images],
        },
        status=status,
    )


@merchant_required
def product_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _product_page(request, get_object_or_404(_products(request), pk=pk))


@merchant_required
@require_POST
def product_upload(request: HttpRequest, pk: int) -> HttpResponse:
    product = get_object_or_404(_products(request), pk=pk)
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _product_page(request, product, upload_form=form, status=400)
    upload = form.cleaned_data["photo"]
    try:
        check_upload_rate(request, product.merchant_id)
        catalog.add_product_image(product, catalog.read_upload(upload), filename=upload.name)
    except LimitExceeded as exc:
        form.add_error("photo", f"{upload.name}: {exc}")
        return exc.annotate(_product_page(request, product, upload_form=form))
    except ImageRejected as exc:
        form.add_error("photo", f"{upload.name}: {exc}")
        return _product_page(request, product, upload_form=form, status=400)
    messages.success(request, f"Photo {upload.name} added.")
    return redirect("dashboard:product", pk=product.pk)


@merchant_required
@require_POST
def job_start(request: HttpRequest, pk: int) -> HttpResponse:
    product = get_object_or_404(_products(request), pk=pk)
    form = JobForm(request.POST, merchant_id=product.merchant_id)
    if not form.is_valid():
        return _product_page(request, product, job_form=form, status=400)
    image = product.images.filter(pk=form.cleaned_data["image"]).first()
    if image is None:
        form.add_error(None, "Upload a photo of this product first.")
        return _product_page(request, product, job_form=form, status=400)
    outputs, params = form.job_parameters()
    try:
        with transaction.atomic():
            check_job_quota(product.merchant_id)
            job = job_requests.create_job(product, image, outputs, params)
    except LimitExceeded as exc:
        form.add_error(None, str(exc))
        return exc.annotate(_product_page(request, product, job_form=form))
    except InvalidRequest as exc:
        form.add_request_error(exc)
        return _product_page(request, product, job_form=form, status=400)
    return redirect("dashboard:job", pk=job.pk)


IMAGE_FORMATS = ("png", "jpg", "webp")


def gallery(assets: list[Asset]) -> dict:
    """Assets grouped for the job page: images, posters by size, clips with their frame.

    Side files (poster layouts, clip frames and previews) hang off their main asset.
    """
    by_name = {a.name: a for a in assets}
    images = [a for a in assets if a.kind in ("cutout", "packshot", "scene") and a.format in IMAGE_FORMATS]
    # posters by size, named as the new-job form names them ("Story / Reels / TikTok / Douyin
    # 9:16 · 1080×1920"), in the form's order
    order = {name: i for i, name in enumerate(list_sizes())}
    sizes: dict[tuple[int, str], list[dict]] = {}
    for a in assets:
        if a.kind == "poster" and a.format in IMAGE_FORMATS:
            size = str((a.metrics or {}).get("size", ""))
            label = f"{a.width}×{a.height}"
            if size in order:
                # no break around the "·": a phone's heading ended a line with it
                label = f"{labels.size_label(size)}\u00a0·\u00a0{label}"
            key = (order.get(size, len(order)), label)
            sizes.setdefault(key, []).append({"asset": a, "layout": by_name.get(f"{a.name}-layout")})
    clips = [
        {"asset": a, "frame": by_name.get(f"{a.name}-frame")}
        for a in assets
        if a.kind == "clip" and a.format == "mp4"
    ]
    scene_count = sum(1 for a in images if a.kind == "scene")
    poster_sizes = [(label, posters) for (_, label), posters in sorted(sizes.items())]
    return {
        "sections": _sections(images, poster_sizes, clips),
        "scene_count": scene_count,
        "poster_checks_ok": POSTER_CHECKS_OK,
    }


def _sections(images: list[Asset], poster_sizes: list, clips: list[dict]) -> list[dict]:
    """The job page's sections, one per output kind in the order the form lists them, each
    with its count; the cutout and the packshot, a picture each, share one.

    ``kind`` names the section (its element is ``#assets-<kind>``); a section of pictures
    holds ``images``, the posters' ``poster_sizes`` and the clips' ``clips``.
    """
    shots = [a for a in images if a.kind != "scene"]
    scenes = [a for a in images if a.kind == "scene"]
    sections = []
    if shots:
        kinds = [k for k in ("cutout", "packshot") if any(a.kind == k for a in shots)]
        title = "Cutout and packshot" if len(kinds) == 2 else labels.output_label(kinds[0])
        sections.append({"kind": "cutout", "title": title, "count": len(shots), "images": shots})
    if scenes:
        sections.append({"kind": "scene", "title": "Scenes", "count": len(scenes), "images": scenes})
    if poster_sizes:
        count = sum(len(posters) for _, posters in poster_sizes)
        sections.append({"kind": "poster", "title": "Posters", "count": count, "poster_sizes": poster_sizes})
    if clips:
        sections.append({"kind": "clip", "title": "Clips", "count": len(clips), "clips": clips})
    for section in sections:
        section.update(_shared_lines(section))
    return sections


POSTER_CHECKS_OK = "Text legible, clear of the product, inside safe zones"


def _shared_lines(section: dict) -> dict:
    """What every card of a section would say alike (the product's pixels kept, the cutout it
    was made with, the posters' checks passed), said once under the section's heading and
    left off its cards: ``notes``, and ``same_fidelity`` / ``same_checks`` for the cards."""
    assets = list(section.get("images", []))
    assets += [item["asset"] for _, posters in section.get("poster_sizes", []) for item in posters]
    assets += [item["asset"] for item in section.get("clips", [])]
    notes: list[str] = []
    shared = {"same_fidelity": False, "same_checks": False}
    if len(assets) < 2:
        return {"notes": notes, **shared}
    captions = [labels.fidelity(a.metrics) for a in assets]
    if all(not c["warn"] and c["text"] == captions[0]["text"] for c in captions) and captions[0]["text"]:
        notes.append(captions[0]["text"])
        shared["same_fidelity"] = True
    if section["kind"] == "poster" and all(((a.metrics or {}).get("checks") or {}).get("ok") for a in assets):
        notes.append(POSTER_CHECKS_OK)
        shared["same_checks"] = True
    return {"notes": notes, **shared}


@merchant_required
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(_jobs(request).select_related("product"), pk=pk)
    context = {"job": job, "made_from": _made_from(job), **gallery(list(job.assets.all()))}
    return render(request, "dashboard/job.html", context)


def _made_from(job: GenerationJob) -> Asset | None:
    """The poster a re-render job sets new words on (the merchant's own), else None."""
    source = (job.parameters or {}).get("rerender")
    asset_id = source.get("asset_id") if isinstance(source, dict) else None
    if not isinstance(asset_id, int):
        return None
    return Asset.objects.filter(merchant_id=job.merchant_id, pk=asset_id).first()


@merchant_required
def job_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """Polled by HTMX while the job runs; once finished it returns the gallery too."""
    job = get_object_or_404(_jobs(request), pk=pk)
    return render(request, "dashboard/_job_status.html", {"job": job, **gallery(list(job.assets.all()))})


@merchant_required
def job_zip(request: HttpRequest, pk: int) -> HttpResponse | FileResponse:
    job = get_object_or_404(_jobs(request).select_related("product"), pk=pk)
    assets = list(job.assets.select_related("job__product"))
    if not assets:
        return HttpResponse("This job has no assets to download.", status=404, content_type="text/plain")
    # Spooled to disk past 32 MB so a large set never sits in memory whole.
    spool = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)
    with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_STORED) as zf:
        for asset in assets:
            zf.writestr(asset.download_filename, storage.read_bytes(asset.storage_key))
    spool.seek(0)
    return FileResponse(
        spool,
        as_attachment=True,
        filename=f"{job.product.sku}-job{job.pk}.zip",
        content_type="application/zip",
    )


def _asset(request: HttpRequest, pk: int) -> Asset:
    return get_object_or_404(
        Asset.objects.filter(merchant_id=access.merchant_id(request)).select_related("job__product"), pk=pk
    )


@merchant_required
def asset_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    asset = _asset(request, pk)
    return storage.file_response(
        asset.storage_key, filename=asset.download_filename, content_type=asset.content_type, attachment=True
    )


@merchant_required
def asset_preview(request: HttpRequest, pk: int) -> HttpResponseBase:
    asset = _asset(request, pk)
    return storage.file_response(
        asset.storage_key, filename=asset.download_filename, content_type=asset.content_type, attachment=False
    )


@merchant_required
def asset_thumbnail(request: HttpRequest, pk: int, width: int) -> HttpResponseBase:
    """The asset's picture at one of the server's widths (``thumbnails``); 404 for another
    width or an asset that is not a picture."""
    asset = _asset(request, pk)
    try:
        key = thumbnails.thumbnail(asset, width)
    except ValueError as exc:
        raise Http404(str(exc)) from exc
    stem = asset.download_filename.rsplit(".", 1)[0]
    return storage.file_response(
        key, filename=f"{stem}-{width}w.webp", content_type="image/webp", attachment=False
    )


@merchant_required
def image_thumbnail(request: HttpRequest, pk: int) -> HttpResponseBase:
    image = get_object_or_404(
        ProductImage.objects.filter(product__merchant_id=access.merchant_id(request)), pk=pk
    )
    ext = image.thumbnail_key.rsplit(".", 1)[-1]
    return storage.file_response(
        image.thumbnail_key,
        filename=f"{image.product.sku}-{image.pk}.{ext}",
        content_type="image/webp" if ext == "webp" else "image/jpeg",
        attachment=False,
    )


@merchant_required
def brand_kit(request: HttpRequest) -> HttpResponse:
    from shop_assets.accounts.models import BrandKit
    from shop_assets.catalog.services import store_logo

    kit, _ = BrandKit.objects.get_or_create(merchant_id=access.merchant_id(request))
    form = BrandKitForm(request.POST or None, request.FILES or None, instance=kit)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data.get("logo")
        try:
            with transaction.atomic():
                kit = form.save()
                if form.cleaned_data.get("remove_logo") and kit.logo_key:
                    storage.delete_keys([kit.logo_key])
                    kit.logo_key = ""
                    kit.save(update_fields=["logo_key"])
                elif upload:
                    kit.logo_key = store_logo(kit.merchant_id, catalog.read_upload(upload))
                    kit.save(update_fields=["logo_key"])
        except ImageRejected as exc:
            form.add_error("logo", f"{upload.name}: {exc}" if upload else str(exc))
        else:
            messages.success(request, "Brand kit saved. New posters and clips will use it.")
            return redirect("dashboard:brand_kit")
    return brand_kit_page(request, form=form, kit=kit, status=400 if form.errors else 200)


def brand_kit_page(
    request: HttpRequest, *, form=None, kit=None, audio_form=None, status: int = 200
) -> HttpResponse:
    """The brand kit page: the kit's form, and the merchant's audio tracks with their upload form."""
    from shop_assets.accounts.models import BrandKit
    from shop_assets.dashboard.audio import AudioForm, tracks_of

    merchant_id = access.merchant_id(request)
    if kit is None:
        kit, _ = BrandKit.objects.get_or_create(merchant_id=merchant_id)
    context = {
        "form": form or BrandKitForm(instance=kit),
        "kit": kit,
        "audio_form": audio_form or AudioForm(),
        "tracks": tracks_of(merchant_id),
    }
    return render(request, "dashboard/brand_kit.html", context, status=status)


@merchant_required
def brand_logo(request: HttpRequest) -> HttpResponseBase:
    from shop_assets.accounts.models import BrandKit

    kit = get_object_or_404(BrandKit.objects.exclude(logo_key=""), merchant_id=access.merchant_id(request))
    return storage.file_response(
        kit.logo_key, filename="logo.png", content_type="image/png", attachment=False
    )
