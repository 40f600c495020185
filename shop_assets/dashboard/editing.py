"""Changing what a merchant made: edit or delete a product, delete a photo, and the way
out of a failed job (retry with the same settings, or change them in the new-job form).

Every lookup goes through the signed-in merchant's rows, so another merchant's ids answer
404. Deletions remove the stored files once the database change commits.
"""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from shop_assets.catalog import notify as product_notify
from shop_assets.catalog import services as catalog
from shop_assets.catalog.models import ProductImage
from shop_assets.dashboard.forms import JobForm, ProductForm
from shop_assets.dashboard.views import _jobs, _product_page, _products, merchant_required
from shop_assets.jobs import lifecycle
from shop_assets.jobs.coming import made_from
from shop_assets.jobs.models import Asset, JobStatus
from shop_assets.limits import LimitExceeded
from shop_assets.limits.quotas import check_job_quota

BUSY = (JobStatus.QUEUED, JobStatus.RUNNING)


def _busy_message(count: int, what: str) -> str:
    jobs = "1 job" if count == 1 else f"{count} jobs"
    return (
        f"{jobs} of this {what} {'is' if count == 1 else 'are'} still queued or running; cancel them or wait."
    )


def _goes_with(product) -> str:
    """What deleting ``product`` takes with it, in words: "1 photo, 2 jobs and the 14 files
    made from them"; "" when it has no photo or job (never "0 photos, 0 jobs and 0 files")."""
    counts = (
        (product.images.count(), "photo"),
        (product.jobs.count(), "job"),
        (Asset.objects.filter(job__product=product).count(), "file"),
    )
    parts = [f"{n} {word}{'' if n == 1 else 's'}" for n, word in counts if n]
    if not parts:
        return ""
    if counts[2][0]:
        parts[-1] = f"the {parts[-1]} made from them"  # files come from a job of a photo
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


@merchant_required
def product_edit(request: HttpRequest, pk: int) -> HttpResponse:
    product = get_object_or_404(_products(request), pk=pk)
    form = ProductForm(request.POST or None, instance=product, merchant=product.merchant)
    if request.method == "POST" and form.is_valid():
        changed = set(form.changed_data)
        with transaction.atomic():
            product = form.save()
            if changed:
                product_notify.product_updated(product, changed)
        messages.success(request, "Product saved." if changed else "Nothing changed.")
        return redirect("dashboard:product", pk=product.pk)
    return render(
        request,
        "dashboard/product_edit.html",
        {"product": product, "form": form, "goes_with_it": _goes_with(product)},
        status=400 if form.errors else 200,
    )


@merchant_required
@require_POST
def product_delete(request: HttpRequest, pk: int) -> HttpResponse:
    with transaction.atomic():
        product = get_object_or_404(_products(request).select_for_update(), pk=pk)
        busy = product.jobs.filter(status__in=BUSY).count()
        if busy:
            messages.error(request, _busy_message(busy, "product"))
            return redirect("dashboard:product_edit", pk=product.pk)
        label = f"{product.title} ({product.sku})"
        catalog.delete_product(product)
    messages.success(request, f"Deleted {label} with its photos, jobs and files.")
    return redirect("dashboard:products")


@merchant_required
@require_POST
def photo_delete(request: HttpRequest, pk: int) -> HttpResponse:
    with transaction.atomic():
        image = get_object_or_404(
            ProductImage.objects.select_for_update().filter(product__in=_products(request)), pk=pk
        )
        product_pk = image.product_id
        busy = image.jobs.filter(status__in=BUSY).count()
        if busy:
            messages.error(request, _busy_message(busy, "photo"))
            return redirect("dashboard:product", pk=product_pk)
        catalog.delete_product_image(image)
    messages.success(request, "Photo deleted with the jobs and files made from it.")
    return redirect("dashboard:product", pk=product_pk)


@merchant_required
@require_POST
def job_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Run a failed or cancelled job again with the same settings (the same job, new attempts)."""
    job = get_object_or_404(_jobs(request), pk=pk)
    try:
        with transaction.atomic():
            check_job_quota(job.merchant_id)
            lifecycle.retry_job(job)
    except LimitExceeded as exc:
        messages.error(request, str(exc))
    except lifecycle.NotRetryable as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Job #{job.pk} is queued again with the same settings.")
    return redirect("dashboard:job", pk=job.pk)


@merchant_required
@require_POST
def job_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(_jobs(request), pk=pk)
    if not lifecycle.cancel_job(job):
        messages.error(request, "The job has already finished; there is nothing to cancel.")
    return redirect("dashboard:job", pk=job.pk)


@merchant_required
def job_again(request: HttpRequest, pk: int) -> HttpResponse:
    """The product page with the new-job form filled in from this job's settings."""
    job = get_object_or_404(_jobs(request).select_related("product"), pk=pk)
    poster = made_from(job)
    if poster is not None:
        # new words for a poster: that poster's own form, holding the words this job asked for
        # (the new-job form would start a fresh poster, without them)
        return redirect(f"{reverse('dashboard:poster_words', args=[poster.pk])}?from={job.pk}")
    form = JobForm(initial=JobForm.initial_from(job), merchant_id=job.merchant_id)
    messages.info(request, f"The form below holds the settings of Job #{job.pk}: change them and start.")
    return _product_page(request, job.product, job_form=form)
