"""A flat-lay is set lying on the surface, seen from above, in clips and posters as in scenes.

The T-shirt photographed from above (``flatlay_tshirt_linen``) stood upright in a clip made
from a theme, on a poster's theme background and on a poster that built a flat-lay scene
again at another shape, and lay without a shadow in a clip of its flat-lay scene. On a
poster's brand colour or white it lay with a standing product's floor shadow at its foot.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
from PIL import Image

from generation import compose
from generation.clips.plan import ClipPlan, plan_clip
from generation.clips.results import ClipFrame
from generation.clips.spec import ClipSpec
from generation.config import GenerationConfig
from generation.engines.conditioning import generation_canvas, set_preview
from generation.engines.diffusion import scene_prompt
from generation.engines.studio import StudioEngine
from generation.posters.output import RenderedPoster
from generation.posters.render import render_poster
from generation.posters.spec import PosterSpec
from generation.request import Capabilities, budget_from, parse_request
from generation.segment.classical import decontaminate
from generation.sets import flat_box, get_theme
from generation.specs import SceneSpec
from generation.types import Segmentation
from tests.photoset_unseen import make_unseen_case

LUMA = np.array([0.299, 0.587, 0.114])


@pytest.fixture(scope="module")
def tshirt() -> Segmentation:
    case = make_unseen_case("flatlay_tshirt_linen")
    matte = Image.fromarray(np.rint(case.alpha * 255).astype(np.uint8), "L")
    fg = decontaminate(np.asarray(case.photo.convert("RGB")), np.asarray(matte))
    return Segmentation(
        image=case.photo, matte=matte, box=case.box, segmenter="alpha", foreground=Image.fromarray(fg, "RGB")
    )


def _clip(theme: str, style: str = "push_in") -> ClipSpec:
    # no words: nothing but the set and the product in the frame
    return ClipSpec(
        preset="story",
        duration=5,
        style=style,
        themes=(theme,),
        size=(270, 480),
        end_card=False,
        reveal="none",
    )


def _alpha(frame: ClipFrame) -> np.ndarray:
    """The product's alpha on the canvas in ``frame``."""
    h, w = frame.image.shape[:2]
    alpha = np.zeros((h, w), np.uint8)
    x, y, pw, ph = frame.product.box
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + pw, w), min(y + ph, h)
    alpha[y0:y1, x0:x1] = frame.product.pixels[y0 - y : y1 - y, x0 - x : x1 - x, 3]
    return alpha


def _above_below(rgb: np.ndarray, box: tuple[int, int, int, int], right: float = 1.0) -> float:
    """How far apart (RGB distance of the means) the set is in the rows just above the
    product (30 % of its height) and just below it: a wall against a floor, or one surface.
    ``right``: only the columns of that share of the product's box on its right."""
    x, y, w, h = box
    reach = round(0.3 * h)
    cols = slice(x + w - round(right * w), x + w) if right < 1.0 else slice(None)
    above = rgb[max(0, y - reach) : y, cols].reshape(-1, 3).astype(np.float64).mean(axis=0)
    below = rgb[y + h : y + h + reach, cols].reshape(-1, 3).astype(np.float64).mean(axis=0)
    return float(np.linalg.norm(above - below))


def _darkening(shot: np.ndarray, bare: np.ndarray, alpha: np.ndarray) -> dict[str, float]:
    """How much darker ``shot`` is than ``bare`` (the same picture without the product's
    shadows) just outside the silhouette (up to 4 % of its size out), on each side."""
    ys, xs = np.nonzero(alpha > 127)
    cx, cy = (xs.min() + xs.max()) / 2.0, (ys.min() + ys.max()) / 2.0
    w, h = float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)
    dist = cv2.distanceTransform((alpha < 5).astype(np.uint8), cv2.DIST_L2, 5)
    ring = (dist >= 1.0) & (dist <= 0.04 * max(w, h))
    rows, cols = np.mgrid[0 : alpha.shape[0], 0 : alpha.shape[1]]
    dx, dy = (cols - cx) / w, (rows - cy) / h
    sides = {
        "left": dx < -np.abs(dy),
        "right": dx > np.abs(dy),
        "top": dy < -np.abs(dx),
        "foot": dy > np.abs(dx),
    }
    lit, dark = bare.astype(np.float64) @ LUMA, shot.astype(np.float64) @ LUMA
    return {k: 1.0 - float(dark[ring & m].mean() / lit[ring & m].mean()) for k, m in sides.items()}


def _poster_apart(poster: RenderedPoster) -> float:
    """``_above_below`` on a hero_left poster, beside its words (set on the left)."""
    return _above_below(np.asarray(poster.image.convert("RGB")), poster.placed.box, right=0.3)


def _without_shadows(plan: ClipPlan) -> ClipPlan:
    """The same clip with the product's shadows taken off every world."""
    worlds = [dataclasses.replace(w, effect=None, dressed=w.plate) for w in plan.worlds]
    return dataclasses.replace(plan, worlds=worlds, sprites=dict(plan.sprites))


@pytest.mark.parametrize("theme", ["wooden_table", "gallery_plinth"])
def test_a_theme_clip_lays_a_flat_lay_on_the_surface_seen_from_above(tshirt, theme):
    # when: a clip of the T-shirt made from a theme, nothing said about the view
    plan = plan_clip(tshirt, _clip(theme))
    # then: in every frame the set just above the shirt is the surface below it (stood
    # upright, the wall above was 61 (gallery plinth) and 158 (wooden table) of 255 from
    # the floor below in every frame; lying flat 2-20, up to 33 while the light sweeps
    # across the surface)
    apart = []
    for frame in plan.frames():
        assert frame.max_abs_diff == 0, frame.index  # the shirt's own pixels
        apart.append(_above_below(frame.image, frame.product.box))
        assert apart[-1] < 40.0, frame.index
    assert float(np.median(apart)) < 24.0


@pytest.mark.parametrize(
    ("source", "theme", "style"),
    [
        ("theme", "marble_counter", "parallax"),
        ("theme", "wooden_table", "pan"),
        ("scene", "studio_sweep", "parallax"),
        ("scene", "marble_counter", "push_in"),
    ],
)
def test_a_flat_lay_clip_throws_its_shadow_round_the_product_in_every_frame(tshirt, source, theme, style):
    # given: a clip of the T-shirt from a theme, or from its flat-lay scene
    scenes = None
    if source == "scene":
        scenes = StudioEngine(GenerationConfig()).render(
            tshirt, SceneSpec(theme=theme, width=400, height=720)
        )
        assert scenes[0].meta["variant"]["view"] == "flat"
    plan = plan_clip(tshirt, _clip(theme, style), scenes=scenes)
    # when: every frame drawn, and drawn again without the product's shadows
    bare = {f.index: f.image.copy() for f in _without_shadows(plan).frames()}
    for frame in plan.frames():
        # then: the shirt's pixels are its own, and the surface is darker just outside it
        # on every side (a product lying on a surface; a clip of its scene had no shadow
        # at all, and one from a theme stood it up with a shadow at its foot only): a
        # little on the side the light comes from (0.4-5.5 %), more above it (2-5 %), most
        # below it and on the side away from the light (5-17 %)
        assert frame.max_abs_diff == 0, frame.index
        dark = _darkening(frame.image, bare[frame.index], _alpha(frame))
        assert min(dark.values()) > 0.002, (frame.index, dark)
        assert dark["top"] > 0.015, (frame.index, dark)
        assert min(dark["foot"], max(dark["left"], dark["right"])) > 0.04, (frame.index, dark)


@pytest.mark.parametrize("source", ["theme", "scene"])
def test_a_flat_lay_lies_in_its_own_shadow_on_the_clips_end_card(tshirt, source):
    # given: a clip of the T-shirt with an end card, from a theme or from its flat-lay scene
    spec = dataclasses.replace(_clip("wooden_table"), end_card=True, price="29", currency="USD")
    scenes = None
    if source == "scene":
        scenes = StudioEngine(GenerationConfig()).render(
            tshirt, SceneSpec(theme="wooden_table", width=400, height=720)
        )
    # when: its last frame (the end card) drawn, and drawn again without the product's shadows
    plan = plan_clip(tshirt, spec, scenes=scenes)
    assert plan.worlds[-1].source == "end_card"
    frame = list(plan.frames())[-1]
    bare = list(_without_shadows(plan).frames())[-1].image
    dark = _darkening(frame.image, bare, _alpha(frame))
    # then: the card just outside the shirt is darker on every side, as round a shirt lying
    # on it (a standing product's contact shadow left the top 0.000 and the sides 0.002
    # dark; now 0.04 above and 0.07 beside it), and the card beyond its foot, where that
    # shadow spread, is much less dark (0.071 -> 0.021)
    assert frame.max_abs_diff == 0
    assert dark["top"] > 0.02 and min(dark["left"], dark["right"]) > 0.04, dark
    assert _beyond_foot(frame.image, bare, _alpha(frame)) < 0.04


def _carried(f0: ClipFrame, f1: ClipFrame, image: np.ndarray) -> np.ndarray:
    """``image`` (frame ``f0``'s canvas) carried to ``f1`` as the product moved between them."""
    move = f0.product_transform.inverse().then(f1.product_transform)
    h, w = image.shape[:2]
    return cv2.warpAffine(
        image, move.matrix(), (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def _surface_drift(f0: ClipFrame, f1: ClipFrame, images: dict[int, np.ndarray]) -> list[float]:
    """How far (px) the surface in ``f1`` lies from where it would be had it moved with
    the product since ``f0``: for each 24 px patch of the surface away from the product
    (more than 12 % of its size out, in both frames), the offset at which it best matches
    ``f0``'s picture carried with the product (within 12 px either way)."""
    patch, reach = 24, 12
    g0, g1 = (cv2.cvtColor(images[f.index], cv2.COLOR_RGB2GRAY).astype(np.float32) for f in (f0, f1))
    carried = _carried(f0, f1, g0)
    product = np.maximum(_alpha(f1), _carried(f0, f1, _alpha(f0)))
    far = cv2.distanceTransform((product < 5).astype(np.uint8), cv2.DIST_L2, 5) > 0.12 * max(
        f1.product.box[2:]
    )
    h, w = g1.shape
    offsets = []
    for cy in range(patch + reach, h - patch - reach, patch):
        for cx in range(patch + reach, w - patch - reach, patch):
            if not far[
                cy - patch - reach : cy + patch + reach, cx - patch - reach : cx + patch + reach
            ].all():
                continue
            seen = g1[cy - patch // 2 : cy + patch // 2, cx - patch // 2 : cx + patch // 2]
            if seen.std() < 1.0:  # nothing to match
                continue
            around = carried[
                cy - patch // 2 - reach : cy + patch // 2 + reach,
                cx - patch // 2 - reach : cx + patch // 2 + reach,
            ]
            _, best, _, (bx, by) = cv2.minMaxLoc(cv2.matchTemplate(around, seen, cv2.TM_CCOEFF_NORMED))
            if best > 0.5:
                offsets.append(float(np.hypot(bx - reach, by - reach)))
    return offsets


@pytest.mark.parametrize(
    ("source", "theme", "style"),
    [
        ("theme", "marble_counter", "push_in"),
        ("theme", "marble_counter", "pan"),
        ("theme", "wooden_table", "parallax"),
        ("scene", "marble_counter", "pull_out"),
    ],
)
def test_a_flat_lay_clip_moves_the_surface_unlike_the_product_and_its_shadow(tshirt, source, theme, style):
    # given: a clip of the T-shirt from a theme, or from its flat-lay scene
    scenes = None
    if source == "scene":
        scenes = StudioEngine(GenerationConfig()).render(
            tshirt, SceneSpec(theme=theme, width=400, height=720)
        )
    plan = plan_clip(tshirt, _clip(theme, style), scenes=scenes)
    # when: its first, middle and last frames drawn, and drawn again without its shadows
    kept = (0, plan.frame_count // 2, plan.frame_count - 1)
    frames, images, bare = {}, {}, {}
    for frame in plan.frames():
        assert frame.max_abs_diff == 0, frame.index  # the shirt's own pixels, in every frame
        if frame.index in kept:
            frames[frame.index], images[frame.index] = frame, frame.image.copy()
    for frame in _without_shadows(plan).frames():
        if frame.index in kept:
            bare[frame.index] = frame.image.copy()
    first, middle, last = (frames[k] for k in kept)
    # then: the surface under the shirt takes a smaller share of the camera's move than the
    # shirt does (it lies below the shirt, farther from the camera): by the last frame it
    # lies 6.7-13.4 px (of a 270 px wide frame) from where it would be had it moved with the
    # shirt; it moved with it exactly before (0 px in every patch)
    drift = _surface_drift(first, last, images)
    assert len(drift) >= 20
    assert float(np.median(drift)) >= 4.0, sorted(drift)
    assert float(np.median(_surface_drift(first, middle, images))) < float(np.median(drift))
    # and the shirt's shadows move with the shirt, not the surface: the shade they cast
    # (the frame over the frame without them) round the shirt in the last frame is the
    # first frame's carried along with the shirt
    shade = {
        k: images[k].astype(np.float32).mean(axis=2)
        / np.maximum(bare[k].astype(np.float32).mean(axis=2), 1.0)
        for k in (kept[0], kept[2])
    }
    ring = (_alpha(last) < 5) & (shade[kept[2]] < 0.98)
    assert ring.sum() > 500
    followed = _carried(first, last, shade[kept[0]])
    assert float(np.abs(followed[ring] - shade[kept[2]][ring]).mean()) < 0.01


@pytest.mark.parametrize("theme", ["wooden_table", "gallery_plinth"])
def test_a_poster_on_a_theme_lays_a_flat_lay_on_its_surface(tshirt, theme):
    # when: a story poster of the T-shirt on a theme, nothing said about the view
    spec = PosterSpec(
        template="hero_left", size="story", headline="Linen tee", theme=theme, background="theme"
    )
    flat = render_poster(tshirt, spec)
    # then: the surface above the shirt is the surface below it (9-11 of 255 apart; stood
    # upright, the wall above was 45 (gallery plinth) and 147 (wooden table) from the floor)
    assert _poster_apart(flat) < 20.0
    assert flat.layout["background"]["view"] == "flat"
    assert flat.checks.fidelity.max_abs_diff == 0
    # and standing when the merchant asks for it: a wall behind it again
    standing = render_poster(tshirt, dataclasses.replace(spec, view="standing"))
    assert _poster_apart(standing) > 30.0


def test_a_poster_building_a_flat_lay_scene_again_lays_it_flat(tshirt):
    # given: a square flat-lay scene on a wooden table
    [scene] = StudioEngine(GenerationConfig()).render(
        tshirt, SceneSpec(theme="wooden_table", width=480, height=480)
    )
    # when: a story poster on it (the square scene does not cover 9:16: its set is built again)
    poster = render_poster(
        tshirt, PosterSpec(template="hero_left", size="story", headline="Linen tee"), background=scene
    )
    # then: built again lying flat, in the scene's light and colours (9 of 255 apart above
    # and below the shirt; stood upright, 147)
    assert poster.layout["background"]["rebuilt"] is True
    assert _poster_apart(poster) < 20.0
    assert poster.layout["background"]["view"] == "flat"
    assert poster.checks.fidelity.max_abs_diff == 0


def _poster_alpha(poster: RenderedPoster) -> np.ndarray:
    """The product's alpha on the poster's canvas."""
    w, h = poster.behind.size
    alpha = np.zeros((h, w), np.uint8)
    x, y, pw, ph = poster.placed.box
    alpha[y : y + ph, x : x + pw] = np.asarray(poster.placed.layer.getchannel("A"))
    return alpha


def _beyond_foot(shot: np.ndarray, bare: np.ndarray, alpha: np.ndarray) -> float:
    """How much darker ``shot`` is than ``bare`` on the floor beyond the product's foot:
    rows 4-10 % of its height below its lowest pixel, across the middle 60 % of its width
    (where a standing product's floor shadow spreads)."""
    ys, xs = np.nonzero(alpha > 127)
    h, w = int(ys.max() - ys.min() + 1), int(xs.max() - xs.min() + 1)
    rows = slice(int(ys.max()) + round(0.04 * h), int(ys.max()) + round(0.10 * h))
    cols = slice(int(xs.min()) + round(0.2 * w), int(xs.max()) - round(0.2 * w))
    lit, dark = bare[rows, cols].astype(np.float64) @ LUMA, shot[rows, cols].astype(np.float64) @ LUMA
    return 1.0 - float(dark.mean() / lit.mean())


def _at_contact(shot: np.ndarray, bare: np.ndarray, alpha: np.ndarray) -> float:
    """``_beyond_foot`` just under the product's lowest pixel (rows 0-2 % of its height
    below it), where a standing product's contact shadow is darkest."""
    ys, xs = np.nonzero(alpha > 127)
    h, w = int(ys.max() - ys.min() + 1), int(xs.max() - xs.min() + 1)
    rows = slice(int(ys.max()) + 1, int(ys.max()) + 1 + max(2, round(0.02 * h)))
    cols = slice(int(xs.min()) + round(0.2 * w), int(xs.max()) - round(0.2 * w))
    lit, dark = bare[rows, cols].astype(np.float64) @ LUMA, shot[rows, cols].astype(np.float64) @ LUMA
    return 1.0 - float(dark.mean() / lit.mean())


@pytest.mark.parametrize("size", ["feed", "story"])
def test_a_flat_lay_on_a_white_poster_lies_in_its_shadow_with_no_floor_shadow(tshirt, size):
    # given: marketplace_clean, the T-shirt on plain white (nothing else behind it)
    spec = PosterSpec(
        template="marketplace_clean", size=size, headline="Linen tee", price="29", currency="USD"
    )
    # when: the poster made, nothing said about the view
    flat = render_poster(tshirt, spec)
    alpha = _poster_alpha(flat)
    behind = np.asarray(flat.behind)
    white = np.full_like(behind, 255)
    dark = _darkening(behind, white, alpha)
    # then: the white just outside the shirt is darker on every side, as round a shirt lying
    # on it (a standing product's floor shadow left the top 0.000 and the sides 0.002 dark:
    # now 0.04 and 0.07), and the floor beyond its foot is nearly white (0.078 -> 0.013)
    assert dark["top"] > 0.02 and min(dark["left"], dark["right"]) > 0.04, dark
    assert dark["foot"] > dark["top"]  # offset down the frame, away from the light above
    assert _beyond_foot(behind, white, alpha) < 0.04
    assert flat.layout["background"] == {"mode": "white", "view": "flat"}
    assert flat.checks.fidelity.max_abs_diff == 0
    # and a product the merchant says stands keeps its contact shadow at its foot (tight
    # since it stands on it as in its scenes: 0.24 just under its foot, 0.017 at 4-10 %
    # of its height below, where the soft blob it had took 0.078), unshadowed above it
    standing = render_poster(tshirt, dataclasses.replace(spec, view="standing"))
    assert standing.layout["background"] == {"mode": "white"}
    kept = np.asarray(standing.behind)
    assert _darkening(kept, white, alpha)["top"] < 0.005
    assert _at_contact(kept, white, alpha) > 0.2


@pytest.mark.parametrize("template", ["hero_left", "price_tag"])
@pytest.mark.parametrize("size", ["feed", "story"])
def test_a_flat_lay_on_a_brand_colour_poster_lies_in_its_shadow_with_no_floor_shadow(tshirt, template, size):
    # given: a template on the brand colour, the T-shirt standing as the merchant says
    spec = PosterSpec(template=template, size=size, headline="Linen tee", price="29", currency="USD")
    standing = render_poster(tshirt, dataclasses.replace(spec, view="standing"))
    # when: the same poster with the view left automatic
    flat = render_poster(tshirt, spec)
    # then: against the standing one (the same colour and shapes, a floor shadow at the
    # shirt's foot only), the colour just outside the shirt is darker on every side
    # (0 before: it stood too; now 0.05 above it, 0.08 beside it) and lighter just under
    # its foot, where the standing one's contact shadow is (0 -> -0.11 to -0.14; the soft
    # blob it stood on before was lighter 4-10 % of its height below, -0.09, where the tight
    # contact shadow takes at most 0.01)
    alpha = _poster_alpha(flat)
    shot, bare = np.asarray(flat.behind), np.asarray(standing.behind)
    dark = _darkening(shot, bare, alpha)
    assert dark["top"] > 0.03 and min(dark["left"], dark["right"]) > 0.05, dark
    assert _at_contact(shot, bare, alpha) < -0.08
    assert flat.layout["background"]["view"] == "flat"
    assert "view" not in standing.layout["background"]
    assert flat.checks.fidelity.max_abs_diff == 0


def _widest_line(structure: np.ndarray) -> float:
    """The largest share of the columns that a band of 5 rows of ``structure`` crosses: a
    horizon or a table's back edge runs across the set, marble veins and grain wander."""
    rows = [structure[r - 2 : r + 3].any(axis=0).mean() for r in range(2, structure.shape[0] - 2)]
    return float(max(rows))


@pytest.mark.parametrize("theme", ["gallery_plinth", "concrete"])
def test_the_diffusion_engine_is_conditioned_on_a_surface_seen_from_above(tshirt, theme):
    # given: the T-shirt placed as the diffusion engine places a flat-lay
    out = (512, 512)
    placed = compose.place_product(tshirt.cutout, out, flat_box(tshirt.cutout.size, out, fill=0.6))
    canvas = generation_canvas(out, "sd15", 512)
    # when: the set preview the control images are drawn from, flat and standing
    flat = set_preview(get_theme(theme), placed, canvas, flat=True)
    standing = set_preview(get_theme(theme), placed, canvas)
    # then: standing, a line runs across the set (the wall's foot: 0.45-0.73 of the
    # width), which the model stands the product on; flat, none does
    assert _widest_line(standing.structure) > 0.4
    assert _widest_line(flat.structure) < 0.05
    # and the prompt asks for a flat-lay seen from above, with no wall or horizon
    prompt, negative = scene_prompt(SceneSpec(theme=theme), flat=True)
    assert prompt.startswith("flat lay, top-down view from directly above") and "horizon" in negative
    assert "flat lay" not in scene_prompt(SceneSpec(theme=theme))[0]


def test_the_view_is_carried_by_a_job_request_to_clips_and_posters():
    request = parse_request(
        {
            "outputs": ["poster", "clip"],
            "poster": {"view": "standing"},
            "clip": {"view": "flat"},
        },
        capabilities=Capabilities(),
        budget=budget_from(GenerationConfig()),
    )
    assert [s.view for s in request.poster_specs()] == ["standing"]
    assert request.clip_spec().view == "flat"


@pytest.mark.parametrize(("theme", "style"), [("marble_counter", "push_in"), ("wooden_table", "parallax")])
def test_a_flat_lay_opens_settling_onto_its_surface_with_no_fill_showing(tshirt, theme, style):
    # given: a clip of the T-shirt opening as it does by default (drop_in), and the same
    # clip opening on the finished shot (where the camera alone has the shirt)
    plan = plan_clip(tshirt, dataclasses.replace(_clip(theme, style), reveal="drop_in"))
    still = plan_clip(tshirt, _clip(theme, style))
    assert plan.worlds[0].geometry.flat
    end = plan.timeline.reveal_end
    opening = [i for i in range(plan.frame_count) if i / plan.spec.fps <= end + 1e-9]
    assert len(opening) >= 10
    # when: the frames of the opening drawn
    drawn = {f.index: (f, _alpha(f)) for f in plan.frames() if f.index in opening}
    rest = {f.index: (f, _alpha(f)) for f in still.frames() if f.index in opening}
    scales = []
    middle = plan.master_to_rest.inverse().point(*plan.timeline.pivot)  # the shirt's centre
    for i in opening:
        (frame, alpha), (at_rest, footprint) = drawn[i], rest[i]
        # then: the shirt's pixels are its own
        assert frame.max_abs_diff == 0, i
        # and seen from above it is lowered onto the surface, not dropped: a little larger
        # than where the camera has it, about the same centre (it dropped 10 % of its height)
        move, camera = frame.product_transform, at_rest.product_transform
        scales.append(move.scale / camera.scale)
        centre = np.subtract(move.point(*middle), camera.point(*middle))
        assert float(np.hypot(*centre)) < 0.5, (i, centre)
        # and nothing of the surface the shirt lies on at rest is uncovered (dropping, it
        # uncovered up to 1628-1968 px there, showing the shadow layer's smooth fill)
        uncovered = (footprint > 250) & (alpha < 5)
        assert int(uncovered.sum()) == 0, (i, int(uncovered.sum()))
    # and it settles from 6-10 % larger to its place, growing no larger on the way
    assert 1.06 <= scales[0] <= 1.10, scales
    assert all(a >= b for a, b in zip(scales, scales[1:], strict=False)), scales
    assert scales[-1] == pytest.approx(1.0, abs=1e-4)
