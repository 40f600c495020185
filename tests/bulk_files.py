"""Catalogue files as merchants' shops export them, for the bulk import tests.

``shopify_export`` writes Shopify's product CSV with its full column set (as the admin's
"Export products" writes it: UTF-8 with a BOM here, CRLF line ends, quoted multi-line
HTML bodies, variant rows without a title, image-only rows, a metafield column).
"""

from __future__ import annotations

import csv
import io
import zipfile

SHOPIFY_COLUMNS = [
    "Handle",
    "Title",
    "Body (HTML)",
    "Vendor",
    "Product Category",
    "Type",
    "Tags",
    "Published",
    "Option1 Name",
    "Option1 Value",
    "Option1 Linked To",
    "Option2 Name",
    "Option2 Value",
    "Option2 Linked To",
    "Option3 Name",
    "Option3 Value",
    "Option3 Linked To",
    "Variant SKU",
    "Variant Grams",
    "Variant Inventory Tracker",
    "Variant Inventory Qty",
    "Variant Inventory Policy",
    "Variant Fulfillment Service",
    "Variant Price",
    "Variant Compare At Price",
    "Variant Requires Shipping",
    "Variant Taxable",
    "Unit Price Total Measure",
    "Unit Price Total Measure Unit",
    "Unit Price Base Measure",
    "Unit Price Base Measure Unit",
    "Variant Barcode",
    "Image Src",
    "Image Position",
    "Image Alt Text",
    "Gift Card",
    "SEO Title",
    "SEO Description",
    "Google Shopping / Google Product Category",
    "Google Shopping / Gender",
    "Google Shopping / Age Group",
    "Google Shopping / MPN",
    "Google Shopping / Condition",
    "Google Shopping / Custom Product",
    "Google Shopping / Custom Label 0",
    "Google Shopping / Custom Label 1",
    "Google Shopping / Custom Label 2",
    "Google Shopping / Custom Label 3",
    "Google Shopping / Custom Label 4",
    "Color (product.metafields.shopify.color-pattern)",
    "Variant Image",
    "Variant Weight Unit",
    "Variant Tax Code",
    "Cost per item",
    "Status",
]

SHIRT_BODY = (
    '<p>Our <strong>linen shirt</strong>, washed for softness, "garment-dyed" in Portugal.</p>\n'
    "<ul>\n<li>100% European flax, 170 g/m²</li>\n<li>Mother-of-pearl buttons, relaxed fit</li>\n</ul>\n"
    "<p>亚麻衬衫，柔软透气。</p>"
)


def _row(**cells: str) -> list[str]:
    values = dict.fromkeys(SHOPIFY_COLUMNS, "")
    for key, value in cells.items():
        values[key.replace("_", " ")] = value
    return [values[c] for c in SHOPIFY_COLUMNS]


def shopify_rows(image_base: str) -> list[list[str]]:
    """Four products: a shirt in three variants with two images (one a variant image), a mug
    with one "Default Title" variant, a tea set without a SKU, and a gift card whose
    variants have no SKUs (they cannot be imported)."""
    product = {
        "Vendor": "Green Leaf",
        "Product Category": "Apparel & Accessories > Clothing > Shirts & Tops",
        "Type": "Shirts",
        "Tags": "linen, summer",
        "Published": "true",
        "Status": "active",
    }
    variant = {
        "Variant Grams": "240",
        "Variant Inventory Tracker": "shopify",
        "Variant Inventory Qty": "12",
        "Variant Inventory Policy": "deny",
        "Variant Fulfillment Service": "manual",
        "Variant Requires Shipping": "true",
        "Variant Taxable": "true",
        "Variant Weight Unit": "kg",
    }
    rows = [
        _row(
            Handle="linen-shirt",
            Title="Linen Shirt",
            **{"Body (HTML)": SHIRT_BODY, "SEO Title": "Linen shirt for hot days"},
            **product,
            **{
                "Option1 Name": "Color",
                "Option1 Value": "Sand",
                "Option2 Name": "Size",
                "Option2 Value": "S",
            },
            **variant,
            **{"Variant SKU": "LS-SAND-S", "Variant Price": "59.00", "Variant Compare At Price": "79.00"},
            **{
                "Image Src": f"{image_base}/shirt-front.jpg",
                "Image Position": "1",
                "Image Alt Text": "Front",
            },
        ),
        _row(
            Handle="linen-shirt",
            **{"Option1 Value": "Sand", "Option2 Value": "M"},
            **variant,
            **{"Variant SKU": "LS-SAND-M", "Variant Price": "59.00", "Variant Compare At Price": "79.00"},
            **{"Image Src": f"{image_base}/shirt-back.jpg", "Image Position": "2", "Image Alt Text": "Back"},
        ),
        _row(
            Handle="linen-shirt",
            **{"Option1 Value": "Olive", "Option2 Value": "M"},
            **variant,
            **{"Variant SKU": "LS-OLIVE-M", "Variant Price": "1,059.00", "Variant Compare At Price": ""},
            **{"Variant Image": f"{image_base}/shirt-olive.jpg"},
        ),
        _row(
            Handle="ceramic-mug",
            Title="Ceramic Mug, 350 ml",
            **{"Body (HTML)": "<p>Stoneware, dishwasher-safe.\r\nHand glazed.</p>"},
            **product,
            **{"Option1 Name": "Title", "Option1 Value": "Default Title"},
            **variant,
            **{"Variant SKU": "MUG-01", "Variant Price": "18.00", "Variant Compare At Price": "24.00"},
            **{"Image Src": f"{image_base}/mug.png", "Image Position": "1"},
        ),
        _row(Handle="ceramic-mug", **{"Image Src": f"{image_base}/mug-side.png", "Image Position": "2"}),
        _row(
            Handle="tea-set",
            Title="Tea Set 茶具",
            **product,
            **{"Option1 Name": "Title", "Option1 Value": "Default Title"},
            **variant,
            **{"Variant SKU": "", "Variant Price": "129.50"},
            **{"Image Src": f"{image_base}/tea.jpg", "Image Position": "1"},
        ),
        _row(
            Handle="gift-card",
            Title="Gift Card",
            **product,
            **{"Option1 Name": "Denominations", "Option1 Value": "$25", "Gift Card": "true"},
            **{"Variant SKU": "", "Variant Price": "25.00"},
        ),
        _row(Handle="gift-card", **{"Option1 Value": "$50", "Variant SKU": "", "Variant Price": "50.00"}),
    ]
    return rows


def shopify_export(
    image_base: str = "https://cdn.shopify.com/s/files/1/0001/files", *, bom: bool = True
) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(SHOPIFY_COLUMNS)
    writer.writerows(shopify_rows(image_base))
    return (b"\xef\xbb\xbf" if bom else b"") + buf.getvalue().encode("utf-8")


def simple_csv(rows: list[dict[str, str]], *, delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    columns = ["sku", "title", "price", "compare_at_price", "currency", "image", "headline"]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, columns, delimiter=delimiter, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in columns})
    return buf.getvalue().encode(encoding)


def zip_bytes(files: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()
