"""Catalogue files -> product rows: Shopify, WooCommerce and the simple CSV, and the
malformed files merchants send (wrong delimiter, missing columns, bad prices,
duplicate SKUs, encodings)."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest

from shop_assets.bulk.parsers import (
    Catalogue,
    CatalogueInvalid,
    ProductRow,
    RowError,
    encoding_label,
    read_catalogue,
)
from tests.bulk_files import SHIRT_BODY, shopify_export, simple_csv


def read(data: bytes) -> tuple[list[ProductRow], list[RowError], Catalogue]:
    info = Catalogue("", "", "")
    items = list(read_catalogue(io.BytesIO(data), info))
    return (
        [i for i in items if isinstance(i, ProductRow)],
        [i for i in items if isinstance(i, RowError)],
        info,
    )


def test_shopify_export_variants_images_and_multiline_bodies():
    # given Shopify's export (BOM, CRLF, multi-line quoted HTML, variant rows without titles)
    data = shopify_export("https://cdn.example.com/files")
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data

    # when it is read
    rows, errors, info = read(data)

    # then every variant with a SKU is a product, titled with its options
    assert info.format == "shopify" and info.encoding == "utf-8-sig" and info.delimiter == ","
    assert [(r.sku, r.title) for r in rows] == [
        ("LS-SAND-S", "Linen Shirt - Sand / S"),
        ("LS-SAND-M", "Linen Shirt - Sand / M"),
        ("LS-OLIVE-M", "Linen Shirt - Olive / M"),
        ("MUG-01", "Ceramic Mug, 350 ml"),
        ("tea-set", "Tea Set 茶具"),
    ]
    shirt, _, olive, mug, tea = rows
    # line numbers count the lines of the multi-line bodies
    assert [r.line for r in rows] == [2, 8, 9, 10, 13]
    assert (shirt.price, shirt.compare_at_price) == (Decimal("59.00"), Decimal("79.00"))
    assert (olive.price, olive.compare_at_price) == (Decimal("1059.00"), None)
    # a variant takes its own image, else the product's first by position
    assert shirt.image == "https://cdn.example.com/files/shirt-front.jpg"
    assert olive.image == "https://cdn.example.com/files/shirt-olive.jpg"
    assert mug.image == "https://cdn.example.com/files/mug.png"
    # the HTML body is kept as text, line by line, on every variant
    assert shirt.description == (
        'Our linen shirt, washed for softness, "garment-dyed" in Portugal.\n'
        "100% European flax, 170 g/m²\nMother-of-pearl buttons, relaxed fit\n亚麻衬衫，柔软透气。"
    )
    assert SHIRT_BODY.count("\n") == 5 and "<li>" in SHIRT_BODY
    assert mug.description == "Stoneware, dishwasher-safe.\nHand glazed."
    assert shirt.vendor == "Green Leaf" and shirt.headline == "Linen shirt for hot days"
    assert tea.price == Decimal("129.50") and tea.currency == ""
    # the gift card's two variants have no SKU: each is refused with its line
    assert [(e.line, e.reason) for e in errors] == [
        (14, "variant of 'gift-card' has no SKU"),
        (15, "variant of 'gift-card' has no SKU"),
    ]
    assert "Variant Grams" in info.ignored_columns and "Handle" not in info.ignored_columns


def test_line_numbers_count_the_lines_of_multiline_cells():
    # given a simple CSV whose second row has a title over three lines
    data = b'sku,title,price\nA-1,One,1\nA-2,"Two\nlines\nhere",2\nA-3,Three,x\n'

    # when it is read
    rows, errors, _ = read(data)

    # then the rows start on lines 2 and 3 and the bad price is on line 6
    assert [(r.line, r.sku, r.title) for r in rows] == [(2, "A-1", "One"), (3, "A-2", "Two lines here")]
    assert [(e.line, e.sku) for e in errors] == [(6, "A-3")]
    assert errors[0].reason == "price 'x' is not a price such as 19.99"


def test_simple_csv_all_columns():
    data = simple_csv(
        [
            {
                "sku": "BTL-001",
                "title": "Hand wash",
                "price": "$9.90",
                "compare_at_price": "12.50",
                "currency": "eur",
                "image": "photos/btl.jpg",
                "headline": "Clean hands, calm mind",
            }
        ]
    )
    rows, errors, info = read(data)
    assert errors == [] and info.format == "simple"
    assert rows == [
        ProductRow(
            line=2,
            sku="BTL-001",
            title="Hand wash",
            price=Decimal("9.90"),
            compare_at_price=Decimal("12.50"),
            currency="EUR",
            image="photos/btl.jpg",
            headline="Clean hands, calm mind",
        )
    ]


def test_woocommerce_export_sale_price_and_variations():
    # given WooCommerce's product export: a simple product on sale, a variable parent and a variation
    header = (
        "ID,Type,SKU,Name,Published,Is featured?,Visibility in catalog,Short description,Description,"
        "Sale price,Regular price,Categories,Tags,Images,Parent,Attribute 1 name,Attribute 1 value(s)\n"
    )
    body = (
        '11,simple,WOO-1,Beanie,1,0,visible,"Warm","<p>Knitted</p>",15,20,Hats,,'
        '"https://shop.example/b1.jpg, https://shop.example/b2.jpg",,,\n'
        '12,variable,WOO-TEE,Tee,1,0,visible,,,,,Shirts,,https://shop.example/t.jpg,,Color,"Red, Blue"\n'
        "13,variation,WOO-TEE-R,Tee - Red,1,0,visible,,,,25,,,https://shop.example/tr.jpg,id:12,Color,Red\n"
    )
    rows, errors, info = read(("\ufeff" + header + body).encode())

    assert info.format == "woocommerce" and errors == []
    assert [(r.sku, r.title, r.price, r.compare_at_price, r.image) for r in rows] == [
        ("WOO-1", "Beanie", Decimal("15"), Decimal("20"), "https://shop.example/b1.jpg"),
        ("WOO-TEE-R", "Tee - Red", Decimal("25"), None, "https://shop.example/tr.jpg"),
    ]
    assert rows[0].description == "Knitted"


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_semicolon_and_tab_delimiters_are_recognised(delimiter):
    # given the same file written by a spreadsheet in a locale that uses ';' (or tabs)
    data = simple_csv([{"sku": "A-1", "title": "One, two", "price": "3.50"}], delimiter=delimiter)

    rows, errors, info = read(data)

    assert info.delimiter == delimiter and errors == []
    assert [(r.sku, r.title, r.price) for r in rows] == [("A-1", "One, two", Decimal("3.50"))]


def test_unknown_header_is_refused_naming_the_columns_we_read():
    with pytest.raises(CatalogueInvalid) as refused:
        read(b"id|name|cost\n1|x|2\n")
    assert str(refused.value).startswith("Line 1: The header (id|name|cost) is not one we know.")
    assert "sku, title, price, compare_at_price, currency, image, headline" in str(refused.value)


def test_missing_required_columns_are_named():
    with pytest.raises(CatalogueInvalid) as refused:
        read(b"Handle,Title,Variant Price\nx,X,1\n")
    assert (
        str(refused.value)
        == "Line 1: This looks like a Shopify product CSV but it has no 'variant sku' column."
    )
    with pytest.raises(CatalogueInvalid, match="Simple CSV but it has no 'title' column"):
        read(b"sku,price\nA,1\n")


@pytest.mark.parametrize(
    ("price", "reason"),
    [
        ("abc", "price 'abc' is not a price such as 19.99"),
        ("-5", "price '-5' is negative"),
        ("1.2.3", "price '1.2.3' is not a price such as 19.99"),
        ("19,99", "price '19,99' is not a price such as 19.99"),
        ("9.999", "price '9.999' is not a price such as 19.99"),
        ("99999999999", "price '99999999999' is not a price such as 19.99"),
        ("=1+1", "price '=1+1' is not a price such as 19.99"),
    ],
)
def test_bad_prices_are_row_errors(price, reason):
    rows, errors, _ = read(
        simple_csv(
            [{"sku": "OK-1", "title": "Fine", "price": "1"}, {"sku": "BAD-1", "title": "X", "price": price}]
        )
    )
    assert [r.sku for r in rows] == ["OK-1"]
    assert [(e.line, e.sku, e.reason) for e in errors] == [(3, "BAD-1", reason)]


def test_row_errors_name_each_problem():
    rows, errors, _ = read(
        simple_csv(
            [
                {"sku": "", "title": "No sku"},
                {"sku": "has space", "title": "X"},
                {"sku": "NO-TITLE", "title": ""},
                {"sku": "CUR-1", "title": "X", "currency": "XYZ"},
                {"sku": "CMP-1", "title": "X", "compare_at_price": "5"},
                {"sku": "IMG-1", "title": "X", "image": "file:///etc/passwd"},
                {"sku": "OK-1", "title": "X" * 255},
                {"sku": "LONG-1", "title": "X" * 256},
            ]
        )
    )
    assert [r.sku for r in rows] == ["OK-1"]
    assert [(e.line, e.reason) for e in errors] == [
        (2, "no SKU"),
        (
            3,
            "SKU 'has space' is not allowed: Use 1-64 letters, digits, dots, dashes or underscores, starting with a letter or digit.",
        ),
        (4, "no title"),
        (5, "currency 'XYZ' is not an ISO 4217 code such as USD, EUR or CNY"),
        (6, "a compare-at price needs a price beside it"),
        (7, "image 'file:///etc/passwd' is neither an http(s) URL nor a file name"),
        (9, "title is 256 characters long; the limit is 255"),
    ]


def test_duplicate_skus_name_the_first_line_case_insensitively():
    rows, errors, _ = read(
        simple_csv(
            [{"sku": "A-1", "title": "One"}, {"sku": "B-1", "title": "Two"}, {"sku": "a-1", "title": "Again"}]
        )
    )
    assert [r.sku for r in rows] == ["A-1", "B-1"]
    assert [(e.line, e.sku, e.reason) for e in errors] == [(4, "a-1", "SKU a-1 is already on line 2")]


def test_ragged_rows_are_row_errors():
    rows, errors, _ = read(b"sku,title,price\nA-1,One,1\nA-2,Two\nA-3,Three,3,extra\n")
    assert [r.sku for r in rows] == ["A-1"]
    assert [(e.line, e.reason) for e in errors] == [
        (3, "has 2 fields but the header has 3"),
        (4, "has 4 fields but the header has 3"),
    ]


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("utf-16", "utf-16"), ("gb18030", None), ("cp1252", None), ("shift_jis", None)],
)
def test_legacy_encodings_are_read(encoding, expected):
    # given a file saved by Excel in a legacy or UTF-16 encoding
    title = {
        "gb18030": "保温杯 不锈钢 夏日清凉 大容量" * 3,
        "shift_jis": "ステンレス 水筒 大容量 軽量" * 3,
    }.get(encoding, "Café crème brûlée — naïve façade")
    data = simple_csv(
        [{"sku": "E-1", "title": title, "price": "5"}] * 1 + [{"sku": "E-2", "title": title, "price": "6"}],
        encoding=encoding,
    )

    rows, errors, info = read(data)

    assert errors == []
    assert [r.title for r in rows] == [title, title]
    if expected:
        assert info.encoding == expected


def test_invalid_utf8_after_the_sample_is_an_error_of_its_row():
    # given a UTF-8 file with a stray Latin-1 byte far past the first 64 KiB
    good = "".join(f"S-{i},Title {i},1\n" for i in range(6000))
    data = ("sku,title,price\n" + good).encode() + b"S-X,Caf\xe9,1\nS-Y,Fine,2\n"

    rows, errors, info = read(data)

    # then that row is refused with its line and the byte; the rows around it are read
    assert info.encoding == "utf-8" and len(rows) == 6001 and rows[-1].sku == "S-Y"
    assert [(e.line, e.reason) for e in errors] == [
        (6002, "is not valid utf-8 text (byte 0xe9); save the file as UTF-8")
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "This file is not a CSV (it contains binary data); export the catalogue as CSV.",
        ),
        (b'sku,title\nA,"unclosed\n', "Line 2: the CSV is malformed"),
        (b'sku,title\nA,"x"y\n', "Line 2: the CSV is malformed"),
    ],
)
def test_unreadable_files_are_refused(data, message):
    with pytest.raises(CatalogueInvalid) as refused:
        read(data)
    assert str(refused.value).startswith(message)


@pytest.mark.parametrize(
    ("encoding", "label"),
    [
        ("utf-8", "Unicode (UTF-8)"),
        ("utf-8-sig", "Unicode (UTF-8)"),
        ("utf-16", "Unicode (UTF-16)"),
        ("cp1252", "Western European (Windows)"),
        ("gb18030", "Chinese Simplified (GB18030)"),
        ("shift_jis", "Japanese (Shift JIS)"),
        ("latin_1", "Western European (ISO Latin 1)"),  # an alias: by its codec's name
        ("cp1253", "CP1253"),  # not listed: its name in capitals
        ("no-such-codec", "NO-SUCH-CODEC"),
    ],
)
def test_an_encoding_is_named_as_a_spreadsheet_names_it(encoding, label):
    assert encoding_label(encoding) == label
