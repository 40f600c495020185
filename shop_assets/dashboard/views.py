"""Merchant dashboard. Every query is filtered by the signed-in user's merchant, so
another merchant's ids answer 404, exactly like ids that do not exist."""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from generation.errors import ImageRejected
from generation.posters.sizes import list_sizes
from generation.posters.template import list_templates
from generation.request import IMAGE_FORMATS, ExpectedOutput, InvalidRequest
from generation.segment.rembg_sessions import install_status
from shop_assets.accounts import access, signed_out
from shop_assets.accounts.models import User
from shop_assets.catalog import services as catalog
from shop_assets.catalog.models import Product, ProductImage
from shop_assets.dashboard import labels, thumbnails
from shop_assets.dashboard.cutout_cards import cutout_context
from shop_assets.dashboard.forms import BrandKitForm, JobForm, ProductForm, UploadForm
from shop_assets.jobs import requests as job_requests
from shop_assets.jobs import storage
from shop_assets.jobs.coming import made_from, still_coming
from shop_assets.jobs.models import Asset, GenerationJob
from shop_assets.jobs.running import generation_config
from shop_assets.limits import LimitExceeded
from shop_assets.limits.quotas import check_job_quota, check_upload_rate


def merchant_required(view):
    """Signed in, and linked to a merchant (staff without one get a clear 403). Signed out:
    the sign-in page, or a plain 403 for a request the page made by itself (an htmx poll;
    ``signed_out``)."""
    return _signed_in_merchant(view, signed_out.fetched_by_a_page)


def merchant_file(view):
    """``merchant_required`` for a picture or file: signed out, a plain 403 unless the person
    navigated to it (a download link), since pages fetch these by themselves."""
    return _signed_in_merchant(view, lambda request: not signed_out.navigated(request))


def _signed_in_merchant(view, refuse_signed_out: Callable[[HttpRequest], bool]):
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        user = request.user
        if not user.is_authenticated:
            if refuse_signed_out(request):
                return signed_out.refused(request)
            return redirect_to_login(request.get_full_path())
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


def gallery(
    assets: list[Asset],
    not_made: list[dict] | None = None,
    coming: Sequence[ExpectedOutput] = (),
    *,
    fold: bool = True,
) -> dict:
    """Assets grouped for the job page: images, posters by template, clips with their frame.

    Side files (poster layouts, clip frames and previews) hang off their main asset.
    ``not_made`` (the job's) puts a card saying so where a poster that could not be made
    would have been; ``coming`` (``still_coming``) a card "being made" where each output
    still to come will appear. ``fold`` says what the cards of a section share once under
    its heading (``_shared_lines``); a page that watches its job run keeps each card's own,
    so a card that lands moves none.
    """
    by_name = {a.name: a for a in assets}
    images = [a for a in assets if a.kind in ("cutout", "packshot", "scene") and a.format in IMAGE_FORMATS]
    posters = [
        _poster_item(
            (a.metrics or {}).get("template"), (a.metrics or {}).get("size"), a.width, a.height, a.name
        )
        | {"asset": a, "layout": by_name.get(f"{a.name}-layout")}
        for a in assets
        if a.kind == "poster" and a.format in IMAGE_FORMATS
    ]
    for missing in not_made or []:
        if missing.get("kind") == "poster" and missing.get("name") not in by_name:
            preset = list_sizes().get(str(missing.get("size", "")))
            width, height = (preset.width, preset.height) if preset else (1, 1)
            item = _poster_item(missing.get("template"), missing.get("size"), width, height, missing["name"])
            reason = labels.not_made_reason(
                str(missing.get("reason") or ""), str(missing.get("template") or "")
            )
            posters.append(item | {"missing": reason})
    clips = [
        {"asset": a, "frame": by_name.get(f"{a.name}-frame")}
        for a in assets
        if a.kind == "clip" and a.format == "mp4"
    ]
    waiting = [_coming_card(out) for out in coming if out.kind != "poster"]
    for out in coming:
        if out.kind == "poster":
            width, height = (out.width, out.height) if out.width else (1080, 1080)
            posters.append(
                _poster_item(out.template, out.size, width, height, out.name or "poster")
                | {"coming": True, "format": out.fmt}
            )
    scene_count = sum(1 for a in images if a.kind == "scene")
    scenes_coming = sum(1 for out in coming if out.kind == "scene")
    return {
        "sections": _sections(images, _poster_groups(posters), clips, waiting, fold=fold),
        "scene_count": scene_count,
        # the scenes' compare row and ticks are there from the start when two or more are
        # asked for (the row's button waits for the second), so the second moves nothing
        "compare_scenes": scene_count + scenes_coming > 1,
        "poster_checks_ok": POSTER_CHECKS_OK,
    }


def _coming_card(out: ExpectedOutput) -> dict:
    """A cutout, packshot, scene or clip still to come: its card's id, title and shape."""
    title = labels.output_label(out.kind)
    if out.kind == "scene":
        theme, _, number = out.name.removeprefix("scene-").rpartition("-")
        title = f"{title} · {labels.theme_label(theme)} {int(number)}" if number.isdigit() else title
    return {
        "kind": out.kind,
        "key": re.sub(r"[^A-Za-z0-9_-]", "-", out.name),
        "title": title,
        "format": out.fmt,
        "width": out.width or 1,
        "height": out.height or 1,
    }


def _poster_item(template, size, width: int, height: int, name: str) -> dict:
    """A poster's card, made or not: its template and its size in words, "Story 9:16" on the
    card and the whole name ("Story / Reels / TikTok / Douyin 9:16 · 1080×1920") on hover."""
    template, size = str(template or ""), str(size or "")
    full = labels.size_label(size) if size in list_sizes() else ""
    short = labels.size_short_label(size) if full else ""
    dims = f"{width}×{height}"
    return {
        "template": template,
        "size": size,
        "name": name,
        "size_title": short or dims,
        "size_full": f"{full}\u00a0·\u00a0{dims}" if full else dims,
        "wide": width > height,
        # its picture's width on a desktop (extras.css: 272 px tall), for the thumbnail's sizes
        "shown": min(round(272 * width / max(height, 1)), 1140),
        "width": width,
        "height": height,
    }


def _poster_groups(items: list[dict]) -> list[dict]:
    """Posters a row per template, in the form's order, its sizes side by side in the form's
    order (sizes the form does not name after them, tallest first; a template's words in two
    headlines: both, one after the other)."""
    template_order = {name: i for i, name in enumerate(list_templates())}
    size_order = {name: i for i, name in enumerate(list_sizes())}
    groups: dict[str, list[dict]] = {}
    for item in items:
        groups.setdefault(item["template"], []).append(item)
    out = []
    for template in sorted(groups, key=lambda t: (template_order.get(t, len(template_order)), t)):
        row = sorted(
            groups[template], key=lambda i: (size_order.get(i["size"], len(size_order)), _shape(i), i["name"])
        )
        key = template if re.fullmatch(r"[A-Za-z0-9_-]+", template) else "other"
        title = labels.template_label(template) if template else "Posters"
        out.append({"key": key, "title": title, "items": row})
    return out


def _shape(item: dict) -> float:
    return item["width"] / max(item["height"], 1)


def _sections(
    images: list[Asset], poster_groups: list[dict], clips: list[dict], coming: list[dict], *, fold: bool
) -> list[dict]:
    """The job page's sections, one per output kind in the order the form lists them, each
    with its count; the cutout and the packshot, a picture each, share one.

    ``kind`` names the section (its element is ``#assets-<kind>``); a section of pictures
    holds ``images``, the posters' ``poster_groups`` (a row per template) and the clips'
    ``clips``; ``coming``, the cards of its outputs still being made, after them. A poster
    that could not be made or is still being made is in its row but not in the count.
    """
    shots = [a for a in images if a.kind != "scene"]
    scenes = [a for a in images if a.kind == "scene"]
    shots_coming = [c for c in coming if c["kind"] in ("cutout", "packshot")]
    scenes_coming = [c for c in coming if c["kind"] == "scene"]
    clips_coming = [c for c in coming if c["kind"] == "clip"]
    sections = []
    if shots or shots_coming:
        kinds = [k for k in ("cutout", "packshot") if any(a.kind == k for a in shots)]
        kinds += [c["kind"] for c in shots_coming if c["kind"] not in kinds]
        title = "Cutout and packshot" if len(kinds) == 2 else labels.output_label(kinds[0])
        sections.append(
            {"kind": "cutout", "title": title, "count": len(shots), "images": shots, "coming": shots_coming}
        )
    if scenes or scenes_coming:
        sections.append(
            {
                "kind": "scene",
                "title": "Scenes",
                "count": len(scenes),
                "images": scenes,
                "coming": scenes_coming,
            }
        )
    if poster_groups:
        count = sum(1 for group in poster_groups for item in group["items"] if "asset" in item)
        sections.append(
            {"kind": "poster", "title": "Posters", "count": count, "poster_groups": poster_groups}
        )
    if clips or clips_coming:
        sections.append(
            {"kind": "clip", "title": "Clips", "count": len(clips), "clips": clips, "coming": clips_coming}
        )
    for section in sections:
        section.update(
            _shared_lines(section) if fold else {"notes": [], "same_fidelity": False, "same_checks": False}
        )
    return sections


POSTER_CHECKS_OK = "Text legible, clear of the product, inside safe zones"


def _shared_lines(section: dict) -> dict:
    """What every card of a section would say alike (the product's pixels kept, the cutout it
    was made with, the posters' checks passed), said once under the section's heading and
    left off its cards: ``notes``, and ``same_fidelity`` / ``same_checks`` for the cards."""
    assets = list(section.get("images", []))
    assets += [
        item["asset"]
        for group in section.get("poster_groups", [])
        for item in group["items"]
        if "asset" in item
    ]
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
    assets = list(job.assets.all())
    context = {
        "job": job,
        "made_from": made_from(job),
        "assets_mark": assets_mark(job, [(a.pk, a.checksum) for a in assets]),
        # a page opened while the job runs keeps each card's own lines to the end
        **gallery(assets, job.not_made, still_coming(job, assets), fold=job.is_finished),
    }
    return render(request, "dashboard/job.html", context)


def assets_mark(job: GenerationJob, assets: list[tuple[int, str]]) -> str:
    """What the job page's gallery shows, in 16 characters: it changes when an asset is
    recorded, replaced or removed, a poster is found impossible or the job's status changes
    (its cards "being made" follow the made assets and the status), and only then."""
    seen = json.dumps([job.status, sorted(assets), job.not_made], sort_keys=True, default=str)
    return hashlib.sha256(seen.encode()).hexdigest()[:16]


@merchant_required
def job_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """Polled by HTMX while the job runs: the status, and the assets made so far for
    job_assets.js to merge into the page (out of band: ``#job-assets``).

    The poll says what its page shows (``?have=``, the ``assets_mark`` the last answer
    gave it); while that is still so, the answer is the status alone, from one query of
    the assets' ids and checksums, and the gallery is rendered only when it changed.
    """
    job = get_object_or_404(_jobs(request), pk=pk)
    mark = assets_mark(job, list(job.assets.values_list("pk", "checksum")))
    if request.GET.get("have") == mark:
        return render(request, "dashboard/_job_status.html", {"job": job, "assets_mark": mark})
    assets = list(job.assets.all())
    mark = assets_mark(job, [(a.pk, a.checksum) for a in assets])  # as rendered, if it moved meanwhile
    context = {
        "job": job,
        "oob": True,
        "assets_mark": mark,
        # only a page opened while the job ran polls: its cards keep their own lines
        **gallery(assets, job.not_made, still_coming(job, assets), fold=False),
    }
    return render(request, "dashboard/_job_poll.html", context)


@merchant_file
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


@merchant_file
def asset_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    asset = _asset(request, pk)
    return storage.file_response(
        asset.storage_key, filename=asset.download_filename, content_type=asset.content_type, attachment=True
    )


@merchant_file
def asset_preview(request: HttpRequest, pk: int) -> HttpResponseBase:
    asset = _asset(request, pk)
    return storage.file_response(
        asset.storage_key, filename=asset.download_filename, content_type=asset.content_type, attachment=False
    )


@merchant_file
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


@merchant_file
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


@merchant_file
def brand_logo(request: HttpRequest) -> HttpResponseBase:
    from shop_assets.accounts.models import BrandKit

    kit = get_object_or_404(BrandKit.objects.exclude(logo_key=""), merchant_id=access.merchant_id(request))
    return storage.file_response(
        kit.logo_key, filename="logo.png", content_type="image/png", attachment=False
    )
