"""Dashboard pages of the bulk import: upload with its preview, batches with live
progress (HTMX polling), per-row errors, retry, exports. Every query is filtered by the
signed-in user's merchant: another merchant's batch ids answer 404."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from shop_assets.accounts import access
from shop_assets.bulk import exports, fanout, imports
from shop_assets.bulk.forms import BatchUploadForm, CampaignChoiceForm
from shop_assets.bulk.models import Batch, BatchStatus, RowState
from shop_assets.bulk.parsers import FORMAT_LABELS, encoding_label
from shop_assets.dashboard.views import merchant_file, merchant_required

ROWS_PER_PAGE = 100


def _batches(request: HttpRequest):
    return Batch.objects.filter(merchant_id=access.merchant_id(request))


@merchant_required
def batch_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(_batches(request), 25).get_page(request.GET.get("page"))
    form = BatchUploadForm(merchant_id=access.merchant_id(request))
    return render(request, "bulk/batches.html", {"page": page, "form": form})


@merchant_required
def batch_upload(request: HttpRequest) -> HttpResponse:
    form = BatchUploadForm(
        request.POST or None, request.FILES or None, merchant_id=access.merchant_id(request)
    )
    if request.method == "POST" and form.is_valid():
        source, images = form.cleaned_data["catalogue"], form.cleaned_data.get("images")
        try:
            batch = imports.preview_batch(
                access.merchant(request),
                source.file,
                source.name,
                images.file if images else None,
                images.name if images else "",
                channel="dashboard",
                user=access.merchant_user(request),
            )
        except imports.BatchRefused as exc:
            form.add_error("images" if exc.code == "zip_refused" else "catalogue", str(exc))
        else:
            if form.cleaned_data.get("campaign") is not None:
                batch.campaign = form.cleaned_data["campaign"]
                batch.save(update_fields=["campaign"])
            return redirect("bulk:batch", pk=batch.pk)
    status = 400 if form.errors else 200
    return render(request, "bulk/upload.html", {"form": form}, status=status)


def _problem_rows(batch: Batch):
    rows = batch.rows.select_related("job")
    return rows.filter(state__in=(RowState.INVALID, RowState.FAILED)) | rows.filter(
        state=RowState.JOB, job__status="failed"
    )


def progress_words(batch: Batch, counts: fanout.BatchCounts) -> str:
    """What the batch's progress line says: one thing, true in the batch's state. The file was
    read (its rows counted) when it was uploaded; a confirmed batch writes its products, then
    runs its rows."""
    if batch.status == BatchStatus.IMPORTING:
        n = batch.valid_rows
        if counts.total:
            return f"Importing products: {counts.total:,} of {n:,}…"
        return f"Importing {n:,} product{'' if n == 1 else 's'}…"
    if counts.total:
        return f"{counts.finished:,} of {counts.total:,} done"
    if batch.status == BatchStatus.RUNNING:
        return "Starting…"
    if batch.status in (BatchStatus.FAILED, BatchStatus.DISCARDED):
        return "Nothing imported"
    return "No rows to run"


def _context(request: HttpRequest, batch: Batch) -> dict:
    problems = _problem_rows(batch)
    # the rows with problems first when there are any; else every row (an empty "with
    # problems" list looked like a file with nothing in it)
    show = request.GET.get("rows") or ("problems" if problems.exists() else "all")
    rows = batch.rows.select_related("job")
    if show == "problems":
        rows = problems
    elif show in RowState.values:
        rows = rows.filter(state=show)
    page = Paginator(rows.order_by("line"), ROWS_PER_PAGE).get_page(request.GET.get("page"))
    counts = fanout.batch_counts(batch)
    campaign_form = None
    if batch.status == BatchStatus.PREVIEW:
        campaign_form = CampaignChoiceForm(
            initial={"campaign": batch.campaign_id}, merchant_id=batch.merchant_id, auto_id="confirm_%s"
        )
    return {
        "batch": batch,
        "campaign_form": campaign_form,
        "counts": counts,
        "progress_words": progress_words(batch, counts),
        "format_label": FORMAT_LABELS.get(batch.format, batch.format),
        "encoding_label": encoding_label(batch.encoding),
        "rows": page,
        # the Problem column only where a row on this page has one
        "row_problems": any(r.error or (r.job is not None and r.job.error_message) for r in page.object_list),
        # the What column too: a refused row has no action (an empty column pushed Problem off
        # a phone's screen)
        "row_whats": any(r.action or r.image_status for r in page.object_list),
        "show": show,
        "row_filters": (("all", "all rows"), ("problems", "rows with problems")),
        "live": batch.status in (BatchStatus.IMPORTING, BatchStatus.RUNNING),
        # Results (CSV) and the ZIP list assets only: offered once the first one is made
        "has_assets": batch.status != BatchStatus.PREVIEW and exports.has_assets(batch),
        # the refused and failed rows' CSV: offered once it has a row
        "has_problem_rows": batch.status != BatchStatus.PREVIEW and exports.has_problem_rows(batch),
    }


@merchant_required
def batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_or_404(_batches(request), pk=pk)
    return render(request, "bulk/batch.html", _context(request, batch))


@merchant_required
def batch_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """Polled by HTMX every two seconds while the batch runs."""
    batch = get_object_or_404(_batches(request), pk=pk)
    return render(request, "bulk/_batch_status.html", _context(request, batch))


@merchant_required
@require_POST
def batch_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_or_404(_batches(request), pk=pk)
    form = CampaignChoiceForm(request.POST, merchant_id=batch.merchant_id)
    if not form.is_valid():
        messages.error(request, "Choose one of your campaigns, or none.")
        return redirect("bulk:batch", pk=batch.pk)
    campaign = form.cleaned_data["campaign"]
    try:
        with transaction.atomic():
            if campaign is None and batch.campaign_id is not None:  # "none" chosen on this page
                Batch.objects.filter(pk=batch.pk).update(campaign=None)
                batch.campaign = None
            fanout.confirm_batch(batch, campaign)
    except fanout.NotConfirmable as exc:
        messages.error(request, str(exc))
    else:
        look = f" with the campaign {campaign.name}: one job each" if campaign else ""
        messages.success(request, f"Importing {batch.valid_rows} products{look}.")
    return redirect("bulk:batch", pk=batch.pk)


@merchant_required
@require_POST
def batch_discard(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_or_404(_batches(request), pk=pk)
    with transaction.atomic():
        discarded = imports.discard_batch(batch)
    if discarded:
        messages.success(request, f"{batch.source_name} was discarded; nothing was imported.")
        return redirect("bulk:batches")
    messages.error(request, "Only a batch waiting for confirmation can be discarded.")
    return redirect("bulk:batch", pk=batch.pk)


@merchant_required
@require_POST
def batch_retry(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_or_404(_batches(request), pk=pk)
    count = fanout.retry_failed_rows(batch)
    messages.success(
        request, f"Trying {count} failed rows again." if count else "No failed rows to try again."
    )
    return redirect("bulk:batch", pk=batch.pk)


@merchant_file
def batch_results(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    batch = get_object_or_404(_batches(request), pk=pk)
    base = request.build_absolute_uri("/")[:-1]
    return exports.results_csv(batch, lambda a: base + reverse("dashboard:asset_download", args=[a.pk]))


@merchant_file
def batch_errors(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    return exports.errors_csv(get_object_or_404(_batches(request), pk=pk))


@merchant_file
def batch_assets(request: HttpRequest, pk: int) -> HttpResponse | StreamingHttpResponse:
    response = exports.assets_zip(get_object_or_404(_batches(request), pk=pk))
    if response is None:
        return HttpResponse(
            "This batch has no assets to download yet.", status=404, content_type="text/plain"
        )
    return response
