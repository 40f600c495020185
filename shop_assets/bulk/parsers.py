"""Catalogue files -> product rows, streamed: Shopify's product CSV, WooCommerce's export
and a simple CSV, told apart by their header.

``read_catalogue(binary_file)`` reads the file as it goes (nothing but the current
product's rows is held; a set of the SKUs seen finds duplicates) and yields a
``ProductRow`` for every product it can import and a ``RowError`` (line number and
reason) for every row it cannot. A file that cannot be read at all (no known header, not
text, broken quoting) raises ``CatalogueInvalid`` naming the problem and, where known,
the line.

Formats:

- **Shopify** (header has ``Handle``): several rows per product share a handle; the first
  carries the title, body and vendor, variant rows carry ``Variant SKU`` and prices, and
  extra rows carry only ``Image Src``. Each variant is one product here (a SKU), titled
  after its product plus its option values; its photo is its ``Variant Image``, else the
  product's first image by ``Image Position``. A product with one variant and no SKU
  uses its handle as the SKU.
- **WooCommerce** (``SKU``, ``Name`` and ``Regular price``): one row per simple product
  or variation; ``Images`` is a comma-separated list (the first is used); a sale price
  makes the regular price the compare-at price.
- **Simple**: ``sku, title, price, compare_at_price, currency, image, headline`` (plus
  optional ``description`` and ``vendor``); ``image`` is a URL or a file in the ZIP.

Comma, semicolon and tab delimiters are recognised from the header line. The encoding is
UTF-8 (with or without a BOM), UTF-16 with a BOM, or what charset-normalizer detects in
the first 64 KiB (legacy Excel exports: cp1252, GB18030, Shift-JIS, ...).
"""

from __future__ import annotations

import codecs
import csv
import html
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import IO

import charset_normalizer
from babel import Locale
from django.utils.html import strip_tags

from shop_assets.catalog.models import sku_validator

SAMPLE_BYTES = 64 * 1024
MAX_FIELD_BYTES = 1024 * 1024  # one cell; a product description is far below this
MAX_VARIANT_ROWS = 5000  # rows sharing one Shopify handle (Shopify allows 2048 variants)
TITLE_MAX = 255
VENDOR_MAX = 120
HEADLINE_MAX = 160
IMAGE_REF_MAX = 2048
PRICE_MAX = Decimal("9999999999.99")
SHOPIFY, WOOCOMMERCE, SIMPLE = "shopify", "woocommerce", "simple"
FORMAT_LABELS = {SHOPIFY: "Shopify product CSV", WOOCOMMERCE: "WooCommerce export", SIMPLE: "Simple CSV"}
SIMPLE_COLUMNS = ("sku", "title", "price", "compare_at_price", "currency", "image", "headline")
_SKU_RE = re.compile(sku_validator.regex)
_CURRENCIES = frozenset(Locale("en").currencies)
_PRICE_PLAIN = re.compile(r"\d{1,10}(?:\.\d{1,2})?")
_PRICE_GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?")
_PRICE_SYMBOLS = "$€£¥￥元 \u00a0"
_SINGLE_BYTE = frozenset(
    {"cp1250", "cp1252", "cp1254", "cp1257", "latin_1", "iso8859_15", "iso8859_2", "mac_roman"}
)
# Bytes that are not valid in the file's encoding are read as lone surrogates
# (``surrogateescape``), so the row that holds one is refused with its own line number.
_UNDECODABLE = re.compile("[\udc80-\udcff]")

csv.field_size_limit(MAX_FIELD_BYTES)


class CatalogueInvalid(Exception):
    """The file cannot be imported at all. ``line`` is where reading stopped, if known."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(f"Line {line}: {message}" if line else message)
        self.line = line


@dataclass(frozen=True)
class ProductRow:
    """One product (one SKU) to create or update."""

    line: int  # the file's line where the row starts (the header is line 1)
    sku: str
    title: str
    description: str = ""
    price: Decimal | None = None
    compare_at_price: Decimal | None = None
    currency: str = ""  # "" = the merchant's default currency
    image: str = ""  # a URL, a path inside the images ZIP, or "" (none given)
    headline: str = ""
    vendor: str = ""


@dataclass(frozen=True)
class RowError:
    line: int
    sku: str
    reason: str


@dataclass
class Catalogue:
    """What the header told: the format, the delimiter, the encoding, the columns ignored."""

    format: str
    delimiter: str
    encoding: str
    ignored_columns: list[str] = field(default_factory=list)


# --- text ------------------------------------------------------------------------------------


def detect_encoding(sample: bytes) -> str:
    """The encoding of a file that starts with ``sample``."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        # the sample may end inside a character: an incremental decode allows that
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    results = charset_normalizer.from_bytes(sample)
    best = results.best()
    if best is None:
        raise CatalogueInvalid("This file is not text (no character encoding fits it); upload a CSV file.")
    # A short Western text fits several single-byte code pages equally well; Excel in
    # Western locales writes cp1252, so it wins among them.
    if best.encoding in _SINGLE_BYTE and any(r.encoding == "cp1252" for r in results):
        return "cp1252"
    return best.encoding


# The names spreadsheet programs give these encodings in their "Save as" menus, by the
# codec's canonical name (``codecs.lookup(name).name``).
_ENCODING_LABELS = {
    "utf-8": "Unicode (UTF-8)",
    "utf-8-sig": "Unicode (UTF-8)",
    "utf-16": "Unicode (UTF-16)",
    "cp1252": "Western European (Windows)",
    "iso8859-1": "Western European (ISO Latin 1)",
    "iso8859-15": "Western European (ISO Latin 9)",
    "mac-roman": "Western European (Mac)",
    "cp1250": "Central European (Windows)",
    "iso8859-2": "Central European (ISO)",
    "cp1251": "Cyrillic (Windows)",
    "koi8-r": "Cyrillic (KOI8-R)",
    "cp1254": "Turkish (Windows)",
    "cp1257": "Baltic (Windows)",
    "gb18030": "Chinese Simplified (GB18030)",
    "gb2312": "Chinese Simplified (GB2312)",
    "gbk": "Chinese Simplified (GBK)",
    "big5": "Chinese Traditional (Big5)",
    "big5hkscs": "Chinese Traditional (Big5-HKSCS)",
    "shift_jis": "Japanese (Shift JIS)",
    "cp932": "Japanese (Shift JIS)",
    "euc_jp": "Japanese (EUC)",
    "euc_kr": "Korean (EUC-KR)",
    "cp949": "Korean (Windows)",
}


def encoding_label(encoding: str) -> str:
    """``utf-8`` -> ``Unicode (UTF-8)``, ``cp1252`` -> ``Western European (Windows)``: an
    encoding as a merchant's spreadsheet names it; an unlisted one in capitals."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        name = encoding
    return _ENCODING_LABELS.get(name, name.upper().replace("_", "-"))


def _text_stream(binary: IO[bytes]) -> tuple[io.TextIOWrapper, str]:
    """A text reader over ``binary`` (a seekable binary file, read from its start)."""
    binary.seek(0)
    sample = binary.read(SAMPLE_BYTES)
    binary.seek(0)
    if not sample.strip():
        raise CatalogueInvalid("The file is empty.")
    if b"\x00" in sample and not sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise CatalogueInvalid(
            "This file is not a CSV (it contains binary data); export the catalogue as CSV."
        )
    encoding = detect_encoding(sample)
    return io.TextIOWrapper(binary, encoding=encoding, errors="surrogateescape", newline=""), encoding


def _norm(name: str) -> str:
    return " ".join(name.replace("\ufeff", "").strip().lower().split())


def _detect(header_line: str) -> tuple[str, str, list[str]]:
    """(format, delimiter, header cells) from the first line."""
    best: tuple[int, str, list[str]] | None = None
    for delimiter in (",", ";", "\t"):
        cells = next(csv.reader([header_line], delimiter=delimiter), [])
        names = {_norm(c) for c in cells}
        score = len(names & _KNOWN_COLUMNS)
        if best is None or score > best[0]:
            best = (score, delimiter, cells)
    assert best is not None
    _, delimiter, cells = best
    names = {_norm(c) for c in cells}
    if "handle" in names:
        fmt, required = SHOPIFY, {"handle", "title", "variant sku", "variant price"}
    elif "sku" in names and "name" in names and ("regular price" in names or "type" in names):
        fmt, required = WOOCOMMERCE, {"sku", "name", "regular price"}
    elif "sku" in names:
        fmt, required = SIMPLE, {"sku", "title"}
    else:
        shown = header_line.strip()[:120] or "nothing"
        raise CatalogueInvalid(
            f"The header ({shown}) is not one we know. Use Shopify's product CSV export, WooCommerce's "
            f"product export, or a simple CSV with the columns {', '.join(SIMPLE_COLUMNS)}.",
            line=1,
        )
    missing = sorted(required - names)
    if missing:
        raise CatalogueInvalid(
            f"This looks like a {FORMAT_LABELS[fmt]} but it has no {', '.join(repr(m) for m in missing)} column.",
            line=1,
        )
    duplicated = sorted(
        {n for n in (_norm(c) for c in cells) if n and [_norm(c) for c in cells].count(n) > 1}
    )
    if duplicated:
        raise CatalogueInvalid(f"The header names {', '.join(duplicated)} twice.", line=1)
    return fmt, delimiter, cells


# --- cell values ------------------------------------------------------------------------------


class _Bad(ValueError):
    pass


def parse_price(raw: str, what: str = "price") -> Decimal | None:
    """``"19.99"``, ``"1,299.00"``, ``"$5"`` -> Decimal; "" -> None; anything else refused."""
    text = raw.strip().strip(_PRICE_SYMBOLS)
    if not text:
        return None
    if text.startswith("-"):
        raise _Bad(f"{what} {raw.strip()!r} is negative")
    if _PRICE_GROUPED.fullmatch(text):
        text = text.replace(",", "")
    elif not _PRICE_PLAIN.fullmatch(text):
        raise _Bad(f"{what} {raw.strip()[:40]!r} is not a price such as 19.99")
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the patterns above admit only numbers
        raise _Bad(f"{what} {raw.strip()[:40]!r} is not a price such as 19.99") from None
    if value > PRICE_MAX:
        raise _Bad(f"{what} {raw.strip()[:40]!r} is too large")
    return value


def check_sku(sku: str) -> str:
    if not sku:
        raise _Bad("no SKU")
    if not _SKU_RE.fullmatch(sku):
        raise _Bad(f"SKU {sku[:70]!r} is not allowed: {sku_validator.message}")
    return sku


def _currency(raw: str) -> str:
    code = raw.strip().upper()
    if code and code not in _CURRENCIES:
        raise _Bad(f"currency {raw.strip()[:20]!r} is not an ISO 4217 code such as USD, EUR or CNY")
    return code


def _text(raw: str, limit: int, what: str) -> str:
    text = " ".join(raw.split())
    if len(text) > limit:
        raise _Bad(f"{what} is {len(text)} characters long; the limit is {limit}")
    return text


def _description(raw: str) -> str:
    # Shopify and WooCommerce descriptions are HTML; the dashboard shows plain text.
    text = html.unescape(strip_tags(raw.replace("<br>", "\n").replace("</p>", "</p>\n")))
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)[:20000]


def _image_ref(raw: str) -> str:
    ref = raw.strip()
    if len(ref) > IMAGE_REF_MAX:
        raise _Bad(f"image reference is {len(ref)} characters long; the limit is {IMAGE_REF_MAX}")
    if ref.lower().startswith(("http://", "https://")) or not ref:
        return ref
    if "://" in ref or ref.lower().startswith(("data:", "file:", "javascript:")):
        raise _Bad(f"image {ref[:60]!r} is neither an http(s) URL nor a file name")
    return ref


def _prices(price_raw: str, compare_raw: str) -> tuple[Decimal | None, Decimal | None]:
    price = parse_price(price_raw)
    compare = parse_price(compare_raw, "compare-at price")
    if compare is not None and price is None:
        raise _Bad("a compare-at price needs a price beside it")
    if compare is not None and price is not None and compare <= price:
        compare = None  # Shopify exports often repeat the price there: no discount to show
    return price, compare


# --- the reader ------------------------------------------------------------------------------


@dataclass
class _Record:
    line: int
    values: dict[str, str]


def _records(text: io.TextIOWrapper, delimiter: str, header: list[str]) -> Iterator[_Record | RowError]:
    names = [_norm(h) for h in header]
    reader = csv.reader(text, delimiter=delimiter, strict=True)
    last_line = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CatalogueInvalid(
                f"the CSV is malformed ({exc}); check its quotes", line=last_line + 1
            ) from None
        start, last_line = last_line + 1, 1 + reader.line_num  # the header was line 1
        if not any(c.strip() for c in cells):
            continue
        bad = next((m for c in cells if (m := _UNDECODABLE.search(c))), None)
        if bad is not None:
            byte = ord(bad.group()) - 0xDC00
            yield RowError(
                start, "", f"is not valid {text.encoding} text (byte 0x{byte:02x}); save the file as UTF-8"
            )
            continue
        if len(cells) != len(names):
            yield RowError(start, "", f"has {len(cells)} fields but the header has {len(names)}")
            continue
        yield _Record(start, dict(zip(names, cells, strict=True)))


def read_catalogue(binary: IO[bytes], info: Catalogue | None = None) -> Iterator[ProductRow | RowError]:
    """Every product of the file, in file order; see the module docstring.

    ``info``, when given, is filled in once the header has been read.
    """
    text, encoding = _text_stream(binary)
    header_line = text.readline()
    if _UNDECODABLE.search(header_line):
        raise CatalogueInvalid(f"the header is not valid {encoding} text; save the file as UTF-8", line=1)
    fmt, delimiter, header = _detect(header_line)
    if info is not None:
        info.format, info.delimiter, info.encoding = fmt, delimiter, encoding
        known = _COLUMNS_USED[fmt]
        info.ignored_columns = [h.strip() for h in header if _norm(h) not in known and h.strip()]
    records = _records(text, delimiter, header)
    rows = {SHOPIFY: _shopify, WOOCOMMERCE: _woocommerce, SIMPLE: _simple}[fmt](records)
    seen: dict[str, int] = {}
    for row in rows:
        if isinstance(row, ProductRow):
            first = seen.get(row.sku.lower())
            if first is not None:
                yield RowError(row.line, row.sku, f"SKU {row.sku} is already on line {first}")
                continue
            seen[row.sku.lower()] = row.line
        yield row


def _simple(records: Iterator[_Record | RowError]) -> Iterator[ProductRow | RowError]:
    for record in records:
        if isinstance(record, RowError):
            yield record
            continue
        v = record.values
        sku = v.get("sku", "").strip()
        try:
            price, compare = _prices(v.get("price", ""), v.get("compare_at_price", ""))
            title = _text(v.get("title", ""), TITLE_MAX, "title")
            if not title:
                raise _Bad("no title")
            yield ProductRow(
                line=record.line,
                sku=check_sku(sku),
                title=title,
                description=_description(v.get("description", "")),
                price=price,
                compare_at_price=compare,
                currency=_currency(v.get("currency", "")),
                image=_image_ref(v.get("image", "")),
                headline=_text(v.get("headline", ""), HEADLINE_MAX, "headline"),
                vendor=_text(v.get("vendor", ""), VENDOR_MAX, "vendor"),
            )
        except _Bad as exc:
            yield RowError(record.line, sku[:64], str(exc))


def _woocommerce(records: Iterator[_Record | RowError]) -> Iterator[ProductRow | RowError]:
    for record in records:
        if isinstance(record, RowError):
            yield record
            continue
        v = record.values
        kind = v.get("type", "").strip().lower()
        if kind in ("variable", "grouped"):
            continue  # a parent row: its variations (or children) are the products
        sku = v.get("sku", "").strip()
        try:
            regular = parse_price(v.get("regular price", ""), "regular price")
            sale = parse_price(v.get("sale price", ""), "sale price")
            price, compare = (sale, regular) if sale is not None else (regular, None)
            if compare is not None and price is not None and compare <= price:
                compare = None
            title = _text(v.get("name", ""), TITLE_MAX, "name")
            if not title:
                raise _Bad("no name")
            images = [i.strip() for i in v.get("images", "").split(",") if i.strip()]
            yield ProductRow(
                line=record.line,
                sku=check_sku(sku),
                title=title,
                description=_description(v.get("description", "") or v.get("short description", "")),
                price=price,
                compare_at_price=compare,
                image=_image_ref(images[0] if images else ""),
                vendor=_text(v.get("brands", ""), VENDOR_MAX, "brand"),
            )
        except _Bad as exc:
            yield RowError(record.line, sku[:64], str(exc))


def _shopify(records: Iterator[_Record | RowError]) -> Iterator[ProductRow | RowError]:
    group: list[_Record] = []
    for record in records:
        if isinstance(record, RowError):
            yield record
            continue
        handle = record.values.get("handle", "").strip()
        if not handle:
            yield RowError(record.line, "", "no Handle")
            continue
        if group and handle != group[0].values["handle"].strip():
            yield from _shopify_product(group)
            group = []
        if len(group) >= MAX_VARIANT_ROWS:
            yield RowError(record.line, "", f"more than {MAX_VARIANT_ROWS} rows for handle {handle[:60]!r}")
            continue
        group.append(record)
    if group:
        yield from _shopify_product(group)


def _shopify_product(group: list[_Record]) -> Iterator[ProductRow | RowError]:
    """The variants of one Shopify product (the rows of one handle)."""
    first = group[0].values
    handle = first["handle"].strip()
    title_rows = [r for r in group if r.values.get("title", "").strip()]
    variants = [r for r in group if _is_variant(r.values)]
    images = sorted(
        (
            (_position(r.values), i, r.values["image src"].strip())
            for i, r in enumerate(group)
            if r.values.get("image src", "").strip()
        ),
    )
    if not title_rows:
        for r in variants or group[:1]:
            yield RowError(
                r.line, r.values.get("variant sku", "").strip()[:64], f"product {handle[:60]!r} has no Title"
            )
        return
    head = title_rows[0].values
    try:
        title = _text(head["title"], TITLE_MAX, "title")
        description = _description(head.get("body (html)", ""))
        vendor = _text(head.get("vendor", ""), VENDOR_MAX, "vendor")
        product_image = _image_ref(images[0][2]) if images else ""
    except _Bad as exc:
        for r in variants or group[:1]:
            yield RowError(r.line, r.values.get("variant sku", "").strip()[:64], str(exc))
        return
    option_names = [head.get(f"option{n} name", "").strip() for n in (1, 2, 3)]
    for r in variants:
        v = r.values
        sku = v.get("variant sku", "").strip()
        if not sku and len(variants) == 1:
            sku = handle
        values = [v.get(f"option{n} value", "").strip() for n in (1, 2, 3)]
        shown = [
            val
            for name, val in zip(option_names, values, strict=True)
            if val and val != "Default Title" and name != "Title"
        ]
        try:
            price, compare = _prices(v.get("variant price", ""), v.get("variant compare at price", ""))
            variant_title = _text(f"{title} - {' / '.join(shown)}" if shown else title, TITLE_MAX, "title")
            yield ProductRow(
                line=r.line,
                sku=check_sku(sku),
                title=variant_title,
                description=description,
                price=price,
                compare_at_price=compare,
                image=_image_ref(v.get("variant image", "")) or product_image,
                headline=_text(head.get("seo title", ""), HEADLINE_MAX, "SEO title"),
                vendor=vendor,
            )
        except _Bad as exc:
            yield RowError(r.line, sku[:64], str(exc) if sku else f"variant of {handle[:60]!r} has {exc}")


def _is_variant(values: dict[str, str]) -> bool:
    # Image-only rows carry nothing but Handle, Image Src/Position/Alt Text.
    return any(values.get(c, "").strip() for c in ("variant sku", "variant price", "option1 value"))


def _position(values: dict[str, str]) -> int:
    raw = values.get("image position", "").strip()
    return int(raw) if raw.isdigit() else 10**6


_SHOPIFY_USED = {
    "handle",
    "title",
    "body (html)",
    "vendor",
    "option1 name",
    "option1 value",
    "option2 name",
    "option2 value",
    "option3 name",
    "option3 value",
    "variant sku",
    "variant price",
    "variant compare at price",
    "image src",
    "image position",
    "variant image",
    "seo title",
}
_WOO_USED = {
    "type",
    "sku",
    "name",
    "description",
    "short description",
    "sale price",
    "regular price",
    "images",
    "brands",
}
_SIMPLE_USED = set(SIMPLE_COLUMNS) | {"description", "vendor"}
_COLUMNS_USED = {SHOPIFY: _SHOPIFY_USED, WOOCOMMERCE: _WOO_USED, SIMPLE: _SIMPLE_USED}
_KNOWN_COLUMNS = _SHOPIFY_USED | _WOO_USED | _SIMPLE_USED
