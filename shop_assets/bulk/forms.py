from __future__ import annotations

from django import forms


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
