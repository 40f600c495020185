from __future__ import annotations

from typing import Any

from django import forms

from generation.clips.spec import STYLES, sequence_themes
from generation.posters.spec import BACKGROUND_MODES, FAMILIES, MAX_SHORT, MAX_SUBLINE
from generation.request import MAX_SEED, InvalidRequest
from shop_assets.accounts.models import BrandKit, hex_color_validator
from shop_assets.bulk import campaigns
from shop_assets.bulk.models import Campaign
from shop_assets.dashboard import labels as dashboard_labels
from shop_assets.dashboard.forms import OUTPUT_CHOICES, engine_choices, view_field


class BatchUploadForm(forms.Form):
    catalogue = forms.FileField(
        label="Catalogue (CSV)",
        help_text="Shopify's or WooCommerce's product export, or a CSV with sku, title, price, "
        "compare_at_price, currency, image, headline.",
    )
    images = forms.FileField(
        label="Photos (ZIP, optional)",
        required=False,
        help_text="Matched to rows by the path or file name in the image column, or named after the SKU.",
    )
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.none(),
        required=False,
        empty_label="No campaign (products only)",
        help_text="Each product gets one job with the campaign's look; you can still change it before confirming.",
    )

    def __init__(self, *args: Any, merchant_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["campaign"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = (
            Campaign.objects.filter(merchant_id=merchant_id)
            if merchant_id is not None
            else Campaign.objects.none()
        )


CLIP_STYLE_LABELS = {
    "push_in": "Push in",
    "pull_out": "Pull out",
    "pan": "Pan",
    "parallax": "Parallax 2.5D",
    "sequence": "Sequence of themes",
}
FAMILY_LABELS = {
    "inter": "Inter",
    "montserrat": "Montserrat",
    "playfair": "Playfair Display",
    "noto_sans": "Noto Sans",
}
BACKGROUND_LABELS = {
    "": "The template's own",
    "theme": "The scene theme",
    "brand": "Brand colour",
    "white": "White",
    "scene": "The campaign's scene",
}
# the form field that holds each option of the campaign's request, for errors found on save
CAMPAIGN_FIELDS = {
    "name": "name",
    "outputs": "outputs",
    "headline": "headline",
    "format": "format",
    "packshot.size": "packshot_size",
    "packshot.shadow": "packshot_shadow",
    "scene.theme": "theme",
    "scene.count": "scene_count",
    "scene.seed": "seed",
    "scene.engine": "engine",
    "scene.view": "view",
    "poster.view": "view",
    "clip.view": "view",
    "poster.templates": "poster_templates",
    "poster.sizes": "poster_sizes",
    "poster.subline": "subline",
    "poster.cta": "cta",
    "poster.ribbon": "ribbon",
    "poster.badge": "badge",
    "poster.background": "poster_background",
    "poster.seed": "seed",
    "clip.preset": "clip_preset",
    "clip.style": "clip_style",
    "clip.duration": "clip_duration",
    "clip.reveal": "clip_reveal",
    "clip.themes": "theme",
    "clip.cta": "cta",
    "clip.seed": "seed",
    "brand.primary": "brand_primary",
    "brand.text": "brand_text",
    "brand.heading_family": "brand_heading_family",
    "brand.body_family": "brand_body_family",
    "brand.default_cta": "cta",
    "brand.locale": "brand_locale",
}


def _choices(names: tuple[str, ...], labels: dict[str, str]) -> list[tuple[str, str]]:
    return [(name, labels.get(name, dashboard_labels.readable(name))) for name in names]


def _brand_colour_field(label: str) -> forms.CharField:
    """A campaign's brand colour: #rrggbb or blank for the brand kit's, checked here in the
    brand kit's words (the request model said "String should match pattern
    '^#[0-9a-fA-F]{6}$'")."""
    return forms.CharField(
        required=False,
        max_length=7,
        label=label,
        help_text="#rrggbb; blank: the brand kit's.",
        validators=[hex_color_validator],
        widget=forms.TextInput(attrs={"aria-describedby": "brand-colour-help"}),
    )


class CampaignForm(forms.Form):
    """A campaign: the typed request's options with human labels, and the headline rule.

    Blank brand fields take the brand kit's; everything is checked again by the request
    model when saved (``campaigns.save_campaign``), so the choices here are only a guide.
    """

    name = forms.CharField(max_length=campaigns.MAX_NAME)
    outputs = forms.MultipleChoiceField(
        choices=OUTPUT_CHOICES, widget=forms.CheckboxSelectMultiple, initial=["packshot", "poster"]
    )
    headline = forms.CharField(
        max_length=campaigns.MAX_RULE,
        initial="{title}",
        label="Headline rule",
        help_text="Filled from each product: " + ", ".join("{" + k + "}" for k in campaigns.PLACEHOLDERS),
    )
    format = forms.ChoiceField(choices=[("png", "PNG"), ("jpg", "JPEG"), ("webp", "WebP")], initial="png")
    seed = forms.IntegerField(
        min_value=0,
        max_value=MAX_SEED,
        initial=0,
        help_text="The same number gives the same look.",
        widget=forms.NumberInput(attrs={"aria-describedby": "seed-help"}),
    )
    packshot_size = forms.IntegerField(
        min_value=1600, max_value=8000, initial=2000, label="Packshot size (px)"
    )
    packshot_shadow = forms.BooleanField(required=False, initial=True, label="Soft shadow under the packshot")
    theme = forms.ChoiceField(choices=(), initial="studio_sweep", label="Theme (scenes and clips)")
    scene_count = forms.IntegerField(min_value=1, max_value=8, initial=1, label="Scenes per product")
    engine = forms.ChoiceField(choices=(), initial="studio", label="Scene engine")
    view = view_field()
    poster_templates = forms.MultipleChoiceField(
        choices=(),
        widget=forms.CheckboxSelectMultiple,
        initial=["hero_left"],
        label="Poster templates",
        required=False,
    )
    poster_sizes = forms.MultipleChoiceField(
        choices=(),
        widget=forms.CheckboxSelectMultiple,
        initial=["feed"],
        label="Poster sizes",
        required=False,
    )
    poster_background = forms.ChoiceField(choices=(), required=False, label="Poster background")
    subline = forms.CharField(max_length=MAX_SUBLINE, required=False)
    cta = forms.CharField(
        max_length=MAX_SHORT, required=False, label="Call to action", help_text="Blank: the brand kit's."
    )
    ribbon = forms.CharField(max_length=MAX_SHORT, required=False)
    badge = forms.CharField(
        max_length=MAX_SHORT, required=False, help_text="Blank: the discount, when there is one."
    )
    clip_preset = forms.ChoiceField(choices=(), initial="story", label="Clip format")
    clip_style = forms.ChoiceField(
        choices=_choices(STYLES, CLIP_STYLE_LABELS), initial="push_in", label="Clip camera"
    )
    clip_duration = forms.IntegerField(min_value=5, max_value=15, initial=8, label="Clip seconds")
    clip_reveal = forms.ChoiceField(
        choices=dashboard_labels.CLIP_REVEAL_CHOICES, initial="drop_in", required=False, label="Clip opening"
    )
    brand_primary = _brand_colour_field("Primary colour")
    brand_text = _brand_colour_field("Text colour")
    brand_heading_family = forms.ChoiceField(choices=(), required=False, label="Heading font")
    brand_body_family = forms.ChoiceField(choices=(), required=False, label="Body font")
    # a menu of the brand kit's languages (a box that took "zh_CN" asked the merchant for a code)
    brand_locale = forms.ChoiceField(
        choices=(), required=False, label="Language", help_text=dashboard_labels.LANGUAGE_HELP
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        families = [("", dashboard_labels.FROM_BRAND_KIT), *_choices(FAMILIES, FAMILY_LABELS)]
        for name, choices in (
            ("theme", dashboard_labels.theme_choices()),
            ("engine", engine_choices()),
            ("poster_templates", dashboard_labels.template_choices()),
            ("poster_sizes", dashboard_labels.poster_size_choices()),
            ("poster_background", _choices(("", *BACKGROUND_MODES), BACKGROUND_LABELS)),
            ("clip_preset", dashboard_labels.clip_preset_choices()),
            ("brand_heading_family", families),
            ("brand_body_family", families),
            ("brand_locale", self._locale_choices()),
        ):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField), name
            field.choices = choices

    def _locale_choices(self) -> list[tuple[str, str]]:
        """The brand kit's languages; a campaign saved through the API with another one keeps it."""
        choices = dashboard_labels.language_choices()
        saved = self.initial.get("brand_locale")
        if saved and saved not in dict(choices):
            choices.append((saved, saved))
        return choices

    def show_brand_kit(self, kit: BrandKit | None) -> None:
        """Greyed in the blank colour and call-to-action boxes: what blank gives, the brand
        kit's own values (the boxes stood empty; a shop with no kit yet keeps them empty)."""
        if kit is None:
            return
        for name, value in (
            ("brand_primary", kit.primary_color),
            ("brand_text", kit.text_color),
            ("cta", kit.default_cta),
        ):
            self.fields[name].widget.attrs["placeholder"] = value

    @staticmethod
    def initial_from(campaign: Campaign) -> dict[str, Any]:
        """The form's values for a saved campaign."""
        r = campaign.request
        packshot, scene, poster = r.get("packshot") or {}, r.get("scene") or {}, r.get("poster") or {}
        clip, brand = r.get("clip") or {}, r.get("brand") or {}
        themes = clip.get("themes") or []
        return {
            "name": campaign.name,
            "outputs": r.get("outputs", []),
            "headline": campaign.headline,
            "format": r.get("format", "png"),
            "seed": scene.get("seed", poster.get("seed", clip.get("seed", 0))),
            "packshot_size": packshot.get("size", 2000),
            "packshot_shadow": packshot.get("shadow", True),
            "theme": scene.get("theme") or (themes[0] if themes else "studio_sweep"),
            "scene_count": scene.get("count", 1),
            "engine": scene.get("engine", "studio"),
            "view": scene.get("view") or clip.get("view") or poster.get("view") or "auto",
            "poster_templates": poster.get("templates") or ["hero_left"],
            "poster_sizes": poster.get("sizes") or ["feed"],
            "poster_background": poster.get("background") or "",
            "subline": poster.get("subline", ""),
            "cta": poster.get("cta") or clip.get("cta") or "",
            "ribbon": poster.get("ribbon") or "",
            "badge": poster.get("badge") or "",
            "clip_preset": clip.get("preset", "story"),
            "clip_style": clip.get("style", "push_in"),
            "clip_duration": clip.get("duration", 8),
            "clip_reveal": clip.get("reveal", "drop_in"),
            "brand_primary": brand.get("primary", ""),
            "brand_text": brand.get("text", ""),
            "brand_heading_family": brand.get("heading_family") or "",
            "brand_body_family": brand.get("body_family") or "",
            "brand_locale": brand.get("locale", ""),
        }

    def request_parts(self) -> tuple[list[str], dict[str, Any]]:
        """(outputs, parameters) as the merchant chose them; only what differs from blank."""
        data = self.cleaned_data
        outputs = list(data["outputs"])
        params: dict[str, Any] = {"format": data["format"]}
        # how the product is set, where the merchant chose (the request's default: auto)
        view = {"view": data["view"]} if data.get("view") not in (None, "", "auto") else {}
        if "packshot" in outputs:
            params["packshot"] = {"size": data["packshot_size"], "shadow": data["packshot_shadow"]}
        if "scene" in outputs:
            params["scene"] = {
                "theme": data["theme"],
                "count": data["scene_count"],
                "engine": data["engine"],
                "seed": data["seed"],
                **view,
            }
        if "poster" in outputs:
            poster: dict[str, Any] = {
                "templates": data["poster_templates"] or ["hero_left"],
                "sizes": data["poster_sizes"] or ["feed"],
                "seed": data["seed"],
                **view,
            }
            for name in ("subline", "cta", "ribbon", "badge"):
                if data[name]:
                    poster[name] = data[name]
            if data["poster_background"]:
                poster["background"] = data["poster_background"]
            params["poster"] = poster
        if "clip" in outputs:
            params["clip"] = {
                "preset": data["clip_preset"],
                "style": data["clip_style"],
                "duration": data["clip_duration"],
                "reveal": data["clip_reveal"] or "drop_in",
                "themes": list(sequence_themes(data["theme"]))
                if data["clip_style"] == "sequence"
                else [data["theme"]],
                "seed": data["seed"],
                **view,
                **({"cta": data["cta"]} if data["cta"] else {}),
            }
        brand = {
            key: data[name]
            for key, name in (
                ("primary", "brand_primary"),
                ("text", "brand_text"),
                ("heading_family", "brand_heading_family"),
                ("body_family", "brand_body_family"),
                ("locale", "brand_locale"),
            )
            if data[name]
        }
        if brand:
            params["brand"] = brand
        return outputs, params

    def add_request_error(self, exc: InvalidRequest) -> None:
        """Show a refusal of the campaign on the form field it came from."""
        path = exc.field.split("[")[0]
        name = CAMPAIGN_FIELDS.get(path)
        self.add_error(
            name if name in self.fields else None,
            dashboard_labels.request_problem(exc.detail) if name else str(exc),
        )


class CampaignChoiceForm(forms.Form):
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.none(),
        required=False,
        empty_label="No campaign (products only)",
        help_text="Each product gets one job with the campaign's look.",
    )

    def __init__(self, *args: Any, merchant_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["campaign"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Campaign.objects.filter(merchant_id=merchant_id)
