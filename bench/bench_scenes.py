"""Scene variants and grounding, every studio theme, on a photoset case (exact matte).

    .venv/bin/python bench/bench_scenes.py [CASE] [OUT_DIR]

Renders 4 variants (seed 1, 800 px) per theme and prints the variants' smallest and mean
pairwise pixel difference (0..255), the spread of the product's centre x and height
(canvas fractions), the smallest distance between background mean colours, the contact
ratio (floor luma right under the foot / 40 px below; lower is darker at contact), the
contact tightness (the 3 px under the foot / 4 % of the product height below), the
mean |shadow side| asymmetry, the range of a podium's top-face ratio (minor/major; the
product's own foot ratio, tone and view are printed first: the two ratios should agree;
a flat-lay, set from above, has no podium or props) and, over every prop,
the worst shadow rebound under its foot (0: grounded; above about 0.01 the prop's shadow
is detached from it and it floats), and the nearest any prop comes to the frame's left or
right edge (`prop_edge`, a share of the frame's shorter side, with the number of props
stood), and `milky`: the median luma of the product's pixels that are its photo's backdrop
colour less that of the set round it (``scenes_metrics.carried_gap``; printed first, the
share of the product that is, ``backdrop_carried``: clear glass the matte calls opaque, or
white on white): 150 and more is a light photo's backdrop glowing on a dark set. CASE is a case of ``tests/photoset.py`` or ``tests/photoset_unseen.py``. With
OUT_DIR the scenes are saved as PNGs to look at.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from generation import compose  # noqa: E402
from generation.config import GenerationConfig  # noqa: E402
from generation.engines.studio import StudioEngine  # noqa: E402
from generation.scenes_metrics import (  # noqa: E402
    backdrop_carried,
    canvas_alpha,
    carried_gap,
    foot_shadow,
    grounding,
    shadow_side,
    variant_diversity,
)
from generation.segment.classical import decontaminate  # noqa: E402
from generation.sets import (  # noqa: E402
    estimate_flat_lay,
    estimate_foot_ratio,
    estimate_light_side,
    estimate_product_tone,
    list_themes,
    place_props,
    plan_variant,
    render_set,
    stage_for_product,
)
from generation.specs import SceneSpec  # noqa: E402
from generation.types import Segmentation  # noqa: E402
from tests.photoset import CASES, make_case  # noqa: E402
from tests.photoset_unseen import make_unseen_case  # noqa: E402


def _report(case_name: str, count: int, size: int, out: str | None) -> None:

    case = make_case(case_name) if case_name in CASES else make_unseen_case(case_name)
    matte = Image.fromarray(np.rint(case.alpha * 255).astype(np.uint8), "L")
    x, y, w, h = case.box
    # soft edge pixels carry the product's colour, not the photo's backdrop, as a segmenter's
    # matte does (without it the saved scenes show a light fringe round the product)
    fg = decontaminate(np.asarray(case.photo.convert("RGB")), np.asarray(matte))
    seg = Segmentation(
        image=case.photo,
        matte=matte,
        box=(x, y, w, h),
        segmenter="alpha",
        foreground=Image.fromarray(fg, "RGB"),
    )
    engine = StudioEngine(GenerationConfig())
    cutout = seg.cutout
    foot = estimate_foot_ratio(cutout)
    tone = estimate_product_tone(cutout)
    flat = estimate_flat_lay(case.photo, matte)
    carried = backdrop_carried(case.photo, case.alpha)
    inside = Image.fromarray(carried.inside[y : y + h, x : x + w].astype(np.uint8) * 255, "L")
    print(
        f"product foot ratio: {'none' if foot is None else f'{foot:.3f}'}, "
        f"tone: {'none' if tone is None else f'{tone:.0f}'}, "
        f"view: {'flat (set from above)' if flat else 'standing'}, "
        f"its photo's backdrop in it: {carried.share:.2f}"
    )
    print(
        f"{'theme':20s} {'min_diff':>8s} {'mean_diff':>9s} {'x_spread':>8s} {'h_spread':>8s} "
        f"{'palette':>7s} {'ground':>6s} {'tight':>6s} {'side':>6s} {'podium_top':>10s} {'prop_gap':>8s} "
        f"{'prop_edge':>9s} {'milky':>6s}"
    )
    for theme in list_themes():
        spec = SceneSpec(theme=theme, width=size, height=size, count=count, seed=1)
        results = engine.render(seg, spec)
        tops, gaps, edges = [], [], []
        for r in results:
            if r.meta["variant"].get("view") == "flat":
                continue  # a flat-lay: no podium and no props to measure
            # the engine's own composition for this variant, rebuilt to measure its set
            seed = r.meta["seed"]
            variant = plan_variant(
                theme, seed, light_side=estimate_light_side(cutout), foot_ratio=foot, product_tone=tone
            )
            stage = stage_for_product(
                theme, cutout.size, (size, size), fill=spec.fill, seed=seed, variant=variant
            )
            if stage.podium is not None:
                tops.append(stage.podium.ry / stage.podium.rx)
            placed = compose.place_product(cutout, (size, size), stage.box)
            props = place_props(theme, stage, placed, variant, seed=seed)
            edges += [min(p.body[0], size - p.body[2]) / size for p in props]
            if props:
                shot = render_set(theme, placed, stage=stage, seed=seed, variant=variant)
                bare = render_set(theme, placed, stage=stage, seed=seed, variant=replace(variant, props=()))
                gaps += [foot_shadow(shot, bare, p.cx, p.base, p.width, p.height).rebound for p in props]
        d = variant_diversity([r.image for r in results], [r.product_box for r in results])
        grounds, tights, sides, milky = [], [], [], []
        for r in results:
            placed_alpha = seg.cutout.getchannel("A").resize(r.product_box[2:], Image.Resampling.LANCZOS)
            alpha = canvas_alpha(placed_alpha, r.product_box, r.image.size)
            placed_inside = inside.resize(r.product_box[2:], Image.Resampling.NEAREST)
            milky.append(
                carried_gap(r.image, canvas_alpha(placed_inside, r.product_box, r.image.size) > 0.5, alpha)
            )
            grounds.append(grounding(r.image, alpha))
            tights.append(grounding(r.image, alpha, band=3, away=max(6, round(0.04 * r.product_box[3]))))
            try:
                sides.append(shadow_side(r.image, alpha))
            except ValueError:
                pass
            if out:
                Path(out).mkdir(parents=True, exist_ok=True)
                r.image.save(Path(out) / f"{case_name}-{r.name}.png")
        print(
            f"{theme:20s} {d.min_pair_diff:8.1f} {d.mean_pair_diff:9.1f} {d.x_spread:8.2f} "
            f"{d.height_spread:8.2f} {d.min_palette_distance:7.1f} {np.mean(grounds):6.3f} {np.mean(tights):6.3f} "
            f"{np.mean(np.abs(sides)) if sides else float('nan'):6.3f} "
            f"{f'{min(tops):.2f}-{max(tops):.2f}' if tops else '-':>10s} "
            f"{f'{max(gaps):.3f}' if gaps else '-':>8s} "
            f"{f'{min(edges):.3f} ({len(edges)})' if edges else '-':>9s} "
            f"{np.mean(milky) if carried.share > 0 else float('nan'):6.0f}"
        )


if __name__ == "__main__":
    _report(
        sys.argv[1] if len(sys.argv) > 1 else "mug_with_handle",
        4,
        800,
        sys.argv[2] if len(sys.argv) > 2 else None,
    )
