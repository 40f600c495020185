from __future__ import annotations

from typing import Any

from django import forms

from generation.clips.spec import sequence_themes
from generation.posters.spec import MAX_HEADLINE, MAX_SHORT, MAX_SUBLINE
from generation.request import MAX_PROMPT, MAX_SEED, InvalidRequest
from shop_assets.accounts.models import BrandKit
from shop_assets.catalog.models import AudioTrack, Product, sku_problem
from shop_assets.dashboard import labels
from shop_assets.jobs.requests import capabilities, generation_config

OUTPUT_CHOICES = [
    ("packshot", "Marketplace packshot (white, square, 2000 px)"),
    ("cutout", "Cutout (transparent PNG)"),
    ("scene", "Scene images"),
    ("poster", "Posters (ad creatives)"),
    ("clip", "Product clip (MP4)"),
]


def segmenter_choices() -> list[tuple[str, str]]:
    """Only what can run on this install: no AI model is offered before one is installed."""
    from generation.segment import available_segmenters

    return [(name, labels.segmenter_label(name)) for name in available_segmenters(generation_config())]


def engine_choices() -> list[tuple[str, str]]:
    """The diffusion engine only once its models are installed."""
    choices = [("studio", "Studio (fast, CPU)")]
    if capabilities().scene_diffusion:
        choices.append(("diffusion", "Diffusion (GPU worker)"))
    return choices


# the form field that holds each option of the job request, for errors found after the form
def view_field() -> forms.ChoiceField:
    """How the product is shown (standing or lying flat): the same field on the new-job
    form and the campaign editor."""
    return forms.ChoiceField(
        choices=labels.VIEW_CHOICES,
        initial="auto",
        required=False,
        label=labels.VIEW_LABEL,
        help_text=labels.VIEW_HELP,
        widget=forms.Select(attrs={"aria-describedby": "view-help"}),
    )


REQUEST_FIELDS = {
    "segmenter": "segmenter",
    "format": "format",
    "packshot.shadow": "packshot_shadow",
    "scene.theme": "theme",
    "scene.count": "scene_count",
    "scene.engine": "engine",
    "scene.seed": "seed",
    "scene.prompt": "prompt",
    "scene.view": "view",
    "poster.view": "view",
    "clip.view": "view",
    "poster.templates": "poster_templates",
    "poster.sizes": "poster_sizes",
    "poster.headline": "headline",
    "poster.headlines": "headline",
    "poster.subline": "subline",
    "poster.cta": "cta",
    "poster.ribbon": "ribbon",
    "poster.locale": "language",
    "clip.locale": "language",
    "clip.preset": "clip_preset",
    "clip.style": "clip_style",
    "clip.duration": "clip_duration",
    "clip.reveal": "clip_reveal",
    "clip.headline": "headline",
    "clip.cta": "cta",
    "clip.themes": "theme",
    "clip.audio": "clip_audio",
}


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = [
            "sku",
            "title",
            "description",
            "price",
            "compare_at_price",
            "currency",
            "brand_name",
            "brand_color",
        ]
        labels = {
            "sku": "SKU",
            "compare_at_price": "Compare-at price",
            "brand_color": "Brand colour",
        }
        help_texts = {
            "sku": "Letters, digits, dots, dashes or underscores; used in file names.",
            "compare_at_price": "The price before a discount; posters show the saving.",
            "currency": "Three letters, such as USD, EUR or CNY.",
            "brand_name": "Who makes it; campaign headlines can use it as {vendor}.",
            "brand_color": "A hex colour such as #2F5D50: it tints this product's scenes, "
            "and its posters when the shop has no brand kit yet.",
        }
        widgets = {
            "brand_color": forms.TextInput(attrs={"placeholder": "#2F5D50"}),
            # three lines to start (Django's ten stood empty under most descriptions); it grows
            # with the words (app.css: textarea.grows)
            "description": forms.Textarea(attrs={"rows": 3, "class": "grows"}),
        }

    def __init__(self, *args, merchant, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.merchant = merchant

    def clean_currency(self) -> str:
        value = self.cleaned_data["currency"].upper()
        if len(value) != 3 or not value.isalpha():
            raise forms.ValidationError("Use a three-letter currency code such as USD, EUR or CNY.")
        return value

    def clean_sku(self) -> str:
        sku = self.cleaned_data["sku"]
        problem = sku_problem(sku)
        if problem:
            raise forms.ValidationError(problem)
        qs = Product.objects.filter(merchant=self.merchant, sku=sku)
        if self.instance.pk:
            qs = qs.exclude(pk=self.instance.pk)
        if qs.exists():
            raise forms.ValidationError("You already have a product with this SKU.")
        return sku


class UploadForm(forms.Form):
    photo = forms.FileField(label="Product photo")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["photo"].help_text = labels.upload_hint()


class JobForm(forms.Form):
    image = forms.IntegerField(widget=forms.HiddenInput)
    outputs = forms.MultipleChoiceField(
        choices=OUTPUT_CHOICES, widget=forms.CheckboxSelectMultiple, initial=["packshot"]
    )
    segmenter = forms.ChoiceField(choices=(), initial="auto")
    packshot_shadow = forms.BooleanField(required=False, initial=True, label="Soft shadow under the packshot")
    theme = forms.ChoiceField(choices=(), required=False, initial="studio_sweep")
    scene_count = forms.IntegerField(min_value=1, max_value=8, initial=2, label="Number of scenes")
    engine = forms.ChoiceField(choices=(), initial="studio")
    seed = forms.IntegerField(
        min_value=0,
        max_value=MAX_SEED,
        initial=0,
        widget=forms.NumberInput(attrs={"aria-describedby": "seed-help"}),
    )
    view = view_field()
    prompt = forms.CharField(max_length=MAX_PROMPT, required=False, label="Scene description (diffusion)")
    format = forms.ChoiceField(choices=[("png", "PNG"), ("jpg", "JPEG"), ("webp", "WebP")], initial="png")
    poster_templates = forms.MultipleChoiceField(
        choices=(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        initial=["hero_left"],
        label="Poster templates",
    )
    poster_sizes = forms.MultipleChoiceField(
        choices=(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        initial=["feed", "story"],
        label="Poster sizes",
    )
    headline = forms.CharField(
        max_length=MAX_HEADLINE, required=False, help_text="Default: the product title."
    )
    subline = forms.CharField(max_length=MAX_SUBLINE, required=False)
    cta = forms.CharField(
        max_length=MAX_SHORT, required=False, label="Call to action", help_text="Default: your brand kit's."
    )
    ribbon = forms.CharField(max_length=MAX_SHORT, required=False, help_text="e.g. NEW or 限时特价")
    language = forms.ChoiceField(
        choices=labels.language_choices, required=False, help_text=labels.LANGUAGE_HELP
    )
    clip_preset = forms.ChoiceField(choices=(), required=False, initial="story", label="Clip format")
    clip_style = forms.ChoiceField(
        choices=[
            ("push_in", "Push in"),
            ("pull_out", "Pull out"),
            ("pan", "Pan"),
            ("parallax", "Parallax 2.5D"),
            ("sequence", "Sequence of themes"),
        ],
        initial="push_in",
        required=False,
        label="Camera",
    )
    clip_duration = forms.IntegerField(min_value=5, max_value=15, initial=8, required=False, label="Seconds")
    clip_reveal = forms.ChoiceField(
        choices=labels.CLIP_REVEAL_CHOICES,
        initial="drop_in",
        required=False,
        label="Opening",
    )
    clip_audio = forms.TypedChoiceField(
        choices=(), coerce=int, empty_value=None, required=False, label="Audio"
    )

    def __init__(self, *args, merchant_id: int | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # the merchant's own tracks only; an id from elsewhere is not a choice
        tracks = (
            AudioTrack.objects.filter(merchant_id=merchant_id) if merchant_id else AudioTrack.objects.none()
        )
        audio = self.fields["clip_audio"]
        assert isinstance(audio, forms.TypedChoiceField)
        audio.choices = [("", "No audio")] + [(t.pk, f"{t.name} ({t.duration:.0f} s)") for t in tracks]
        for name, choices in (
            ("segmenter", segmenter_choices()),
            ("engine", engine_choices()),
            ("theme", labels.theme_choices()),
            ("poster_templates", labels.template_choices()),
            ("poster_sizes", labels.poster_size_choices()),
            ("clip_preset", labels.clip_preset_choices()),
        ):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField), name
            field.choices = choices

    @staticmethod
    def initial_from(job) -> dict:
        """The form's values for another run of ``job``: its outputs and its parameters as
        the job recorded them (defaults from the brand kit included)."""
        p = job.parameters or {}
        scene, poster, clip = p.get("scene") or {}, p.get("poster") or {}, p.get("clip") or {}
        themes = clip.get("themes") or []
        initial = {
            "image": job.image_id,
            "outputs": list(job.outputs),
            "segmenter": p.get("segmenter", "auto"),
            "format": p.get("format", "png"),
            "packshot_shadow": (p.get("packshot") or {}).get("shadow", True),
            "theme": scene.get("theme") or (themes[0] if themes else "studio_sweep"),
            "scene_count": scene.get("count", 2),
            "engine": scene.get("engine", "studio"),
            "seed": scene.get("seed", clip.get("seed", 0)),
            "prompt": scene.get("prompt", ""),
            "view": scene.get("view") or clip.get("view") or poster.get("view") or "auto",
            "poster_templates": poster.get("templates") or ["hero_left"],
            "poster_sizes": poster.get("sizes") or ["feed", "story"],
            "headline": poster.get("headline") or clip.get("headline", ""),
            "subline": poster.get("subline", ""),
            "cta": poster.get("cta") or clip.get("cta", ""),
            "ribbon": poster.get("ribbon", ""),
            "language": poster.get("locale") or "",
            "clip_preset": clip.get("preset", "story"),
            "clip_style": clip.get("style", "push_in"),
            "clip_duration": clip.get("duration", 8),
            "clip_reveal": clip.get("reveal", "drop_in"),
            "clip_audio": clip.get("audio"),
        }
        return initial

    def job_parameters(self) -> tuple[list[str], dict]:
        data = self.cleaned_data
        params: dict = {"segmenter": data["segmenter"], "format": data["format"]}
        # how the product is set, where the merchant chose (the request's default: auto)
        view = {"view": data["view"]} if data.get("view") not in (None, "", "auto") else {}
        if "packshot" in data["outputs"]:
            params["packshot"] = {"shadow": data["packshot_shadow"]}
        if "scene" in data["outputs"]:
            params["scene"] = {
                "theme": data["theme"] or "studio_sweep",
                "count": data["scene_count"],
                "engine": data["engine"],
                "seed": data["seed"],
                "prompt": data["prompt"],
                **view,
            }
        words = {k: data[k] for k in ("subline", "cta", "ribbon") if data.get(k)}
        if data.get("language"):
            words["locale"] = data["language"]
        if "poster" in data["outputs"]:
            params["poster"] = {
                "templates": data["poster_templates"] or ["hero_left"],
                "sizes": data["poster_sizes"] or ["feed"],
                **({"headline": data["headline"]} if data["headline"] else {}),
                **words,
                **view,
            }
            if "scene" in data["outputs"]:
                params["poster"]["background"] = "scene"
        if "clip" in data["outputs"]:
            theme = data["theme"] or "studio_sweep"
            params["clip"] = {
                "preset": data["clip_preset"] or "story",
                "style": data["clip_style"] or "push_in",
                "duration": data["clip_duration"] or 8,
                "reveal": data.get("clip_reveal") or "drop_in",
                "themes": list(sequence_themes(theme)) if data["clip_style"] == "sequence" else [theme],
                "seed": data["seed"],
                **view,
                **({"headline": data["headline"][:80]} if data["headline"] else {}),
                **({"cta": data["cta"]} if data.get("cta") else {}),
                **({"locale": data["language"]} if data.get("language") else {}),
                **({"audio": data["clip_audio"]} if data.get("clip_audio") else {}),
            }
        return list(data["outputs"]), params

    def add_request_error(self, exc: InvalidRequest) -> None:
        """Show a refusal of the job request on the form field it came from."""
        path = exc.field.split("[")[0]
        name = REQUEST_FIELDS.get(path)
        self.add_error(
            name if name in self.fields else None, labels.request_problem(exc.detail) if name else str(exc)
        )


class BrandKitForm(forms.ModelForm):
    logo = forms.FileField(required=False, help_text="PNG with transparency works best.")
    remove_logo = forms.BooleanField(required=False, label="Remove the current logo")

    class Meta:
        model = BrandKit
        fields = [
            "primary_color",
            "secondary_color",
            "text_color",
            "heading_font",
            "body_font",
            "default_cta",
            "default_locale",
        ]
        labels = {
            "primary_color": "Primary colour",
            "secondary_color": "Secondary colour",
            "text_color": "Text colour",
            "heading_font": "Heading font",
            "body_font": "Body font",
            "default_cta": "Default call to action",
            "default_locale": "Default language",
        }
        help_texts = {
            "default_locale": "Automatic: each poster's words and currency decide how its prices and "
            "discounts are written (Chinese words at 89 CNY print ¥89 and 6.9折).",
        }
        widgets = {
            "primary_color": forms.TextInput(attrs={"type": "color"}),
            "secondary_color": forms.TextInput(attrs={"type": "color"}),
            "text_color": forms.TextInput(attrs={"type": "color"}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # the menu says "Automatic" (it fits a phone); the help text says what it does
        field = self.fields["default_locale"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "Automatic")] + [c for c in BrandKit.LOCALE_CHOICES if c[0]]
