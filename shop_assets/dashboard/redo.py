"""One asset again: a poster with other words, or one more scene like this one.

Each makes a new job of its own from the asset's recorded settings, so the first job and its
assets stay as they were and the new one goes through the same checks, quota and worker.
"""

from __future__ import annotations

import secrets

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from generation.request import InvalidRequest
from shop_assets.dashboard.views import _asset, merchant_required
from shop_assets.jobs import requests as job_requests
from shop_assets.jobs.models import Asset, GenerationJob, OutputKind
from shop_assets.limits import LimitExceeded
from shop_assets.limits.quotas import check_job_quota

WORDS = ("headline", "subline", "cta", "ribbon")


class PosterWordsForm(forms.Form):
    headline = forms.CharField(max_length=160, required=False, help_text="Empty: the product title.")
    subline = forms.CharField(max_length=320, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    cta = forms.CharField(max_length=40, required=False, label="Call to action")
    ribbon = forms.CharField(max_length=30, required=False, help_text="e.g. NEW or 限时特价")


def _start(
    request: HttpRequest, job: GenerationJob, outputs: list[str], params: dict
) -> GenerationJob | None:
    """A new job for the same product and photo; None (with a message) when refused."""
    try:
        with transaction.atomic():
            check_job_quota(job.merchant_id)
            return job_requests.create_job(job.product, job.image, outputs, params)
    except (LimitExceeded, InvalidRequest) as exc:
        messages.error(request, str(exc))
        return None


def _common(job: GenerationJob) -> dict:
    return {k: job.parameters[k] for k in ("segmenter", "format") if k in job.parameters}


def poster_params(asset: Asset, words: dict[str, str]) -> dict:
    """The poster's template, size and background with new words. A poster drawn on a scene
    gets its scene's theme (same seed) as its background, so no scene is made again."""
    job, metrics = asset.job, asset.metrics or {}
    background = metrics.get("background") or "theme"
    poster: dict = {"templates": [metrics["template"]], "sizes": [metrics["size"]]}
    if background == "scene":
        background = "theme" if metrics.get("theme") else "brand"
    poster["background"] = background
    if metrics.get("theme") and background == "theme":
        poster["theme"] = metrics["theme"]
    if metrics.get("seed") is not None:
        poster["seed"] = metrics["seed"]
    poster.update({k: v for k, v in words.items() if v})
    return {**_common(job), "poster": poster}


@merchant_required
def poster_words(request: HttpRequest, pk: int) -> HttpResponse:
    asset = _asset(request, pk)
    if asset.kind != OutputKind.POSTER or not {"template", "size"} <= set(asset.metrics or {}):
        raise Http404("not a poster made from a template")
    recorded = asset.job.parameters.get("poster") or {}
    form = PosterWordsForm(request.POST or None, initial={k: recorded.get(k, "") for k in WORDS})
    status = 400 if form.errors else 200
    if request.method == "POST" and form.is_valid():
        new = _start(request, asset.job, [OutputKind.POSTER], poster_params(asset, form.cleaned_data))
        if new is not None:
            return redirect("dashboard:job", pk=new.pk)
        status = 400
    return render(request, "dashboard/poster_words.html", {"asset": asset, "form": form}, status=status)


@merchant_required
@require_POST
def scene_again(request: HttpRequest, pk: int) -> HttpResponse:
    """One more scene with this scene's theme and engine, from a fresh seed."""
    asset = _asset(request, pk)
    scene = dict(asset.job.parameters.get("scene") or {})
    if asset.kind != OutputKind.SCENE or not scene:
        raise Http404("not a scene")
    scene.pop("brand_color", None)  # create_job sets it again from the product
    scene.update(count=1, seed=secrets.randbelow(2**31 - 1))
    if (asset.metrics or {}).get("theme"):
        scene["theme"] = asset.metrics["theme"]
    new = _start(request, asset.job, [OutputKind.SCENE], {**_common(asset.job), "scene": scene})
    return redirect("dashboard:job", pk=new.pk if new else asset.job_id)
