"""One asset again: a poster with other words or at another size, or any asset regenerated.

Each makes a new job (``jobs/again.py``), so the first job and its assets stay as they were
and the new one goes through the same checks, quota and worker. A poster's new words are set
on its stored layout (the same template, background and scene), not on a poster made afresh.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from generation.request import InvalidRequest
from shop_assets.dashboard import labels
from shop_assets.dashboard.views import _asset, merchant_required
from shop_assets.jobs import again, rerender
from shop_assets.jobs.models import GenerationJob, OutputKind
from shop_assets.limits import LimitExceeded

# emptied, these come off the poster; an empty headline or price keeps the poster's own
REMOVABLE = ("subline", "cta", "ribbon", "badge")


class PosterWordsForm(forms.Form):
    headline = forms.CharField(max_length=160)
    subline = forms.CharField(max_length=320, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    cta = forms.CharField(max_length=60, required=False, label="Call to action")
    ribbon = forms.CharField(max_length=60, required=False, help_text="e.g. NEW or 限时特价")
    badge = forms.CharField(
        max_length=60,
        required=False,
        help_text="Empty: the automatic discount badge when there is a compare-at price, else none.",
    )
    price = forms.CharField(max_length=20, required=False, help_text="Empty keeps the poster's price.")
    compare_at_price = forms.CharField(max_length=20, required=False, label="Compare-at price")
    size = forms.ChoiceField(required=False, help_text="Another size keeps the template and background.")

    def __init__(self, *args, current_size: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        size = self.fields["size"]
        assert isinstance(size, forms.ChoiceField)
        size.choices = [("", f"Same size ({labels.size_dimensions(current_size)})")] + [
            c for c in labels.poster_size_choices() if c[0] != current_size
        ]

    def changes(self, current: dict[str, str]) -> dict[str, str]:
        """What differs from the poster as it is, as ``RerenderOptions`` fields."""
        data = self.cleaned_data
        out = {}
        for name in ("headline", *REMOVABLE, "price", "compare_at_price"):
            value = data[name].strip()
            if value == current.get(name, "") or (not value and name not in REMOVABLE):
                continue
            out[name] = value
        if data["size"]:
            out["size"] = data["size"]
        return out


def _asked_by(request: HttpRequest, poster) -> tuple[int, dict[str, str]] | None:
    """The words (and size) that the job in ``?from=`` asked for on ``poster``, when it is
    the merchant's job of new words for that poster ("Change settings" on a failed one)."""
    job_id = request.GET.get("from", "")
    job = (
        GenerationJob.objects.filter(
            merchant_id=poster.merchant_id, pk=int(job_id), parameters__rerender__asset_id=poster.pk
        ).first()
        if job_id.isdigit()
        else None
    )
    if job is None:
        return None
    asked = job.parameters["rerender"]
    words = {
        k: str(asked[k])
        for k in ("headline", *REMOVABLE, "price", "compare_at_price")
        if asked.get(k) is not None
    }
    if asked.get("size") and asked["size"] != poster.metrics.get("size"):
        words["size"] = asked["size"]
    return job.pk, words


@merchant_required
def poster_words(request: HttpRequest, pk: int) -> HttpResponse:
    """The poster with its current words, a form to change them (or the size), and the jobs
    already made from it."""
    asset = _asset(request, pk)
    if asset.kind != OutputKind.POSTER or asset.format == "json" or "size" not in (asset.metrics or {}):
        raise Http404("not a poster made from a template")
    layout = rerender.poster_layout(asset)  # read once for the words and the prices
    current = rerender.poster_words(asset, layout)
    initial = dict(current)
    if request.method == "GET" and (asked := _asked_by(request, asset)):
        initial.update(asked[1])
        messages.info(
            request,
            f"The form below holds the words Job\u00a0#{asked[0]} asked for: change them and make the poster again.",
        )
    form = PosterWordsForm(request.POST or None, initial=initial, current_size=asset.metrics["size"])
    status = 400 if form.errors else 200
    if request.method == "POST" and form.is_valid():
        try:
            new = again.rerender_job(asset, form.changes(current))
        except InvalidRequest as exc:
            name = exc.field.split(".")[-1]
            if exc.field.startswith("rerender.") and name in form.fields:
                form.add_error(name, exc.detail)
            else:
                messages.error(request, exc.detail)
        except LimitExceeded as exc:
            messages.error(request, str(exc))
        else:
            return redirect("dashboard:job", pk=new.pk)
        status = 400
    made = GenerationJob.objects.filter(
        merchant_id=asset.merchant_id, parameters__rerender__asset_id=asset.pk
    )
    shown = rerender.poster_prices_shown(asset, layout)
    context = {"asset": asset, "form": form, "current": current, "shown": shown, "made": made[:10]}
    return render(request, "dashboard/poster_words.html", context, status=status)


@merchant_required
@require_POST
def regenerate(request: HttpRequest, pk: int) -> HttpResponse:
    """This asset's kind again, with its recorded settings and a fresh seed."""
    asset = _asset(request, pk)
    try:
        new = again.regenerate_job(asset)
    except (InvalidRequest, LimitExceeded) as exc:
        messages.error(request, exc.detail)
        return redirect("dashboard:job", pk=asset.job_id)
    # the new job's page says what it makes again, and from which job (its outputs alone read
    # like any other job's)
    made = again.main_asset(asset)
    how = (
        "on a new scene"
        if OutputKind.SCENE in new.outputs and made.kind == OutputKind.POSTER
        else "with a new variation"
    )
    first = f"Job\u00a0#{made.job_id}"  # never "Job / #1" at a line's end
    messages.success(
        request, f"Regenerating {labels.asset_title(made)} of {first} {how}; {first} stays as it is."
    )
    return redirect("dashboard:job", pk=new.pk)
