"""The ``poster`` command: a product photo in, finished posters out.

    python -m generation poster photo.jpg --size 1080x1920 --template hero_left \\
        --headline "Cold for 24 hours" --price 199 --compare-at 299 --currency CNY \\
        --locale zh_CN --cta 立即购买 --ribbon 限时特价 --theme marble_counter \\
        --brand-color '#2f5d50' --logo logo.png --format png --out outdir/

Several sizes or templates (``--size feed,story``, ``--template a,b``) make one poster
each from the one segmentation. ``--scene scene.png`` puts the product on a scene made
earlier by the ``scene`` command (its sidecar ``scene.json`` says where the product
stands in it). Each poster is written with its sidecar JSON (checks included) and its
layout JSON (for re-rendering).

Exit status: 0 written and every check passed, 1 written but a check found a problem
(the sidecar says which), 2 the input or options were refused (one line on stderr,
nothing written).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from generation.cli_common import EXIT_OK, EXIT_PROBLEMS, add_command, load_mask, parent_dests, run_refusing
from generation.errors import InvalidSpec


def add_parser(subparsers: Any, parents: Sequence[argparse.ArgumentParser] = ()) -> argparse.ArgumentParser:
    """Add ``poster`` to ``subparsers``; options the ``parents`` already define are not repeated."""
    parser = add_command(
        subparsers,
        "poster",
        parents,
        help="posters: the product with headline, price, button and brand, laid out per size",
        description="Posters that put the product together with words and brand marks. "
        "The product's own pixels are pasted back last and checked.",
        quiet_help="print nothing but errors",
    )
    if "image_format" not in parent_dests(parents):
        parser.add_argument("--format", choices=("png", "jpg", "webp"), default="png", dest="image_format")
    parser.add_argument("--template", default="hero_left", help="template id(s), comma separated")
    parser.add_argument(
        "--size", default="feed", help="preset name(s) or WxH, comma separated (feed,story,1200x628)"
    )
    parser.add_argument("--headline", default="")
    parser.add_argument("--subline", default="")
    parser.add_argument("--price", help="e.g. 199 or 19.99")
    parser.add_argument("--compare-at", dest="compare_at", help="the old price, struck through")
    parser.add_argument("--currency", default="USD", help="ISO code: USD, EUR, CNY...")
    parser.add_argument(
        "--locale", help="how prices and defaults are written: en_US, zh_CN... (default: the brand's)"
    )
    parser.add_argument("--cta", help="button label ('' for none)")
    parser.add_argument("--ribbon", help="ribbon text ('' for none)")
    parser.add_argument("--badge", help="badge text instead of the discount ('' for none)")
    parser.add_argument("--theme", help="studio theme for the background, e.g. marble_counter")
    parser.add_argument(
        "--background",
        choices=("scene", "theme", "brand", "white"),
        help="override the template's background",
    )
    parser.add_argument(
        "--scene", type=Path, help="a scene image made by the scene command (with its .json sidecar)"
    )
    parser.add_argument("--seed", type=int, default=0)
    brand = parser.add_argument_group("brand")
    brand.add_argument("--brand-color", dest="brand_color", help="primary colour, e.g. '#2f5d50'")
    brand.add_argument("--secondary-color", dest="secondary_color", help="accent colour (default: derived)")
    brand.add_argument("--text-color", dest="text_color", help="text colour (default: near black)")
    brand.add_argument(
        "--heading-font", dest="heading_font", choices=("inter", "montserrat", "playfair", "noto_sans")
    )
    brand.add_argument(
        "--body-font", dest="body_font", choices=("inter", "montserrat", "playfair", "noto_sans")
    )
    brand.add_argument("--logo", type=Path, help="logo image (PNG with transparency works best)")
    brand.add_argument(
        "--brand-locale", dest="brand_locale", default=None, help="default: from the words and currency"
    )
    return parser


def run(args: argparse.Namespace) -> int:
    """Render and write the posters ``args`` asks for; the exit status (see module doc)."""
    return run_refusing(lambda: _run(args), "read or write a file")


def _run(args: argparse.Namespace) -> int:
    from generation.config import GenerationConfig
    from generation.normalize import normalize_image
    from generation.posters.output import poster_file_names, write_posters
    from generation.posters.render import render_poster
    from generation.posters.sizes import resolve_size
    from generation.posters.spec import BrandKit, PosterSpec, parse_hex
    from generation.posters.template import get_template
    from generation.segment import segment

    # 1. check the options before the slow segmentation: a typo fails fast
    templates = [t.strip() for t in args.template.split(",") if t.strip()]
    sizes = [s.strip() for s in args.size.split(",") if s.strip()]
    if not templates or not sizes:
        raise InvalidSpec("name at least one --template and one --size")
    for template in templates:
        get_template(template)
    for size in sizes:
        resolve_size(size)
    logo = None
    if args.logo is not None:
        logo = normalize_image(args.logo).image.convert("RGBA")
    brand = BrandKit(
        logo=logo,
        primary=parse_hex(args.brand_color, "--brand-color") if args.brand_color else BrandKit().primary,
        secondary=parse_hex(args.secondary_color, "--secondary-color") if args.secondary_color else None,
        text=parse_hex(args.text_color, "--text-color") if args.text_color else BrandKit().text,
        heading_family=args.heading_font,
        body_family=args.body_font,
        locale=args.brand_locale,
    )
    specs = [
        PosterSpec(
            template=template,
            size=size,
            headline=args.headline,
            subline=args.subline,
            price=args.price,
            compare_at_price=args.compare_at,
            currency=args.currency,
            locale=args.locale,
            cta=args.cta,
            ribbon=args.ribbon,
            badge=args.badge,
            brand=brand,
            theme=args.theme,
            background=args.background,
            seed=args.seed,
            output_format=args.image_format,
        )
        for template in templates
        for size in sizes
    ]
    scene = _load_scene(args.scene) if args.scene is not None else None

    # 2. the photo, segmented once for every poster
    config = GenerationConfig.from_env()
    photo = normalize_image(args.photo)
    mask = load_mask(args.mask) if args.mask is not None else None
    image = photo.image
    if mask is not None and mask.size != image.size:
        raise InvalidSpec(
            f"the mask is {mask.width} x {mask.height} px but the photo is {image.width} x {image.height} px"
        )
    seg = segment(image, args.segmenter, config, mask=mask)

    # 3. render every poster, then write them all (or nothing)
    posters = [render_poster(seg, spec, background=scene, config=config) for spec in specs]
    stem = args.photo.stem
    targets = [(args.out / name).resolve() for name in poster_file_names(posters, stem=stem)]
    if args.photo.resolve() in targets:
        raise InvalidSpec(f"writing to {args.out} would overwrite {args.photo}; choose another --out folder")
    paths = write_posters(posters, args.out, stem=stem)
    if not args.quiet:
        for path, poster in zip(paths, posters, strict=True):
            note = "" if poster.checks.ok else "  (check: " + "; ".join(poster.checks.problems) + ")"
            print(f"{path}{note}")
    return EXIT_OK if all(p.checks.ok for p in posters) else EXIT_PROBLEMS


def _load_scene(path: Path) -> Any:
    """A scene written by the ``scene`` command: the image and, from its sidecar, the product box."""
    from generation.normalize import normalize_image
    from generation.types import RenderedImage

    side = path.with_suffix(".json")
    if not side.exists():
        raise InvalidSpec(
            f"{path.name} has no sidecar {side.name}: it says where the product stands in the scene"
        )
    try:
        data = json.loads(side.read_text(encoding="utf-8"))
        box = data["product_box"]
        product_box = (int(box["x"]), int(box["y"]), int(box["width"]), int(box["height"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidSpec(f"{side.name} has no usable product_box ({exc})") from exc
    image = normalize_image(path).image.convert("RGB")
    return RenderedImage(
        image=image,
        kind="scene",
        name=data.get("name", path.stem),
        product_box=product_box,
        fidelity=None,
        meta={k: data.get(k) for k in ("engine", "theme", "seed") if k in data},
    )
