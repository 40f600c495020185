from __future__ import annotations

from django import forms

from shop_assets.catalog.models import Product

OUTPUT_CHOICES = [
    ("packshot", "Marketplace packshot (white, square, 2000 px)"),
    ("cutout", "Cutout (transparent PNG)"),
    ("scene", "Scene images"),
]


def theme_choices() -> list[tuple[str, str]]:
    try:
        from generation.engines.themes import list_themes
    except ImportError:  # pragma: no cover
        return [("studio_sweep", "Studio sweep")]
    return [(name, name.replace("_", " ").capitalize()) for name in list_themes()]


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = ["sku", "title", "description", "price", "compare_at_price", "currency", "brand_name", "brand_color"]

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
        qs = Product.objects.filter(merchant=self.merchant, sku=sku)
        if self.instance.pk:
            qs = qs.exclude(pk=self.instance.pk)
        if qs.exists():
            raise forms.ValidationError("You already have a product with this SKU.")
        return sku


class UploadForm(forms.Form):
    photo = forms.FileField(label="Product photo", help_text="JPEG, PNG, WebP or HEIC, up to the size limit.")


class JobForm(forms.Form):
    image = forms.IntegerField(widget=forms.HiddenInput)
    outputs = forms.MultipleChoiceField(
        choices=OUTPUT_CHOICES, widget=forms.CheckboxSelectMultiple, initial=["packshot"]
    )
    segmenter = forms.ChoiceField(
        choices=[("auto", "Automatic"), ("alpha", "Photo's own transparency"), ("rembg", "AI model (rembg)"),
                 ("classical", "Plain-background studio photo")],
        initial="auto",
    )
    packshot_shadow = forms.BooleanField(required=False, initial=True, label="Soft shadow under the packshot")
    theme = forms.ChoiceField(choices=(), required=False, initial="studio_sweep")
    scene_count = forms.IntegerField(min_value=1, max_value=8, initial=2, label="Scenes")
    engine = forms.ChoiceField(
        choices=[("studio", "Studio (fast, CPU)"), ("diffusion", "Diffusion (GPU worker)")], initial="studio"
    )
    seed = forms.IntegerField(min_value=0, max_value=2**31 - 1, initial=0)
    prompt = forms.CharField(max_length=300, required=False, label="Scene description (diffusion)")
    format = forms.ChoiceField(choices=[("png", "PNG"), ("jpg", "JPEG"), ("webp", "WebP")], initial="png")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["theme"].choices = theme_choices()

    def job_parameters(self) -> tuple[list[str], dict]:
        data = self.cleaned_data
        params: dict = {"segmenter": data["segmenter"], "format": data["format"]}
        if "packshot" in data["outputs"]:
            params["packshot"] = {"shadow": data["packshot_shadow"]}
        if "scene" in data["outputs"]:
            params["scene"] = {
                "theme": data["theme"] or "studio_sweep",
                "count": data["scene_count"],
                "engine": data["engine"],
                "seed": data["seed"],
                "prompt": data["prompt"],
            }
        return list(data["outputs"]), params


class BrandKitForm(forms.ModelForm):
    logo = forms.FileField(required=False, help_text="PNG with transparency works best.")
    remove_logo = forms.BooleanField(required=False, label="Remove the current logo")

    class Meta:
        from shop_assets.accounts.models import BrandKit

        model = BrandKit
        fields = ["primary_color", "secondary_color", "text_color", "heading_font", "body_font", "default_cta", "default_locale"]
        widgets = {
            "primary_color": forms.TextInput(attrs={"type": "color"}),
            "secondary_color": forms.TextInput(attrs={"type": "color"}),
            "text_color": forms.TextInput(attrs={"type": "color"}),
        }
