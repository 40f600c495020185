"""The classical segmenter, the matte evidence and refinement on realistic photos.

Photos come from ``tests/photoset.py`` (2-3 MP, lens blur, sensor noise, JPEG, soft
light falloff; exact soft ground-truth mattes). Thresholds per case:

- IoU >= 0.98: a floor slab, shadow wings or a wall blob the size merchants reported
  cost 5-45 % IoU (0.54 and 0.78 in the report); 0.98 leaves room only for edge pixels.
- boundary F (4 px at 2-3 MP, about 0.2 % of the diagonal) >= 0.93 where the outline is
  visible all round; 0.8 for the bag (its base sits in a dark contact shadow mixed
  with its reflection) and 0.5 for the black bottle on charcoal (its base and the
  shadow under it are the same colour: the IoU still holds it to 0.96).
"""

from __future__ import annotations

import io
import re

import cv2
import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import median_filter

from generation.check import HARD_CUES, MATTE_THRESHOLD, matte_evidence
from generation.errors import InvalidSpec, SegmentationFailed
from generation.packshot import check_packshot, render_packshot
from generation.segment import segment
from generation.segment.metrics import boundary_f, edge_alpha_error, iou
from generation.segment.preview import preview_segment
from generation.segment.refine import preview_image, refine_matte, scale_strokes
from generation.specs import PackshotSpec
from generation.types import Segmentation
from tests.conftest import jpeg_bytes
from tests.photoset import (
    CASES,
    Case,
    band_left_out,
    keyring_tag_on_sweep,
    make_case,
    perfume_on_dark_table,
    side_by_side,
    with_gap,
    without_face,
)

# case -> (min IoU, min boundary F at 4 px)
THRESHOLDS = {
    "bag_on_white_sweep": (0.98, 0.97),  # 0.943 while the edge solver trusted a shadow-edge backdrop
    "white_jar_on_white": (0.98, 0.93),
    "box_in_corner": (0.98, 0.93),
    "carton_on_tabletop": (0.98, 0.93),
    "gradient_sweep": (0.98, 0.93),
    "dark_on_dark": (0.96, 0.5),  # its sides are a rim light's fade: sent to review (below)
    "mug_with_handle": (0.98, 0.93),
    "glossy_vase": (0.98, 0.93),
    "cut_by_frame": (0.98, 0.93),
}


# photos whose product's sides fade into the set with no edge (a rim light on a black
# bottle on charcoal): the classical cut puts its edge partway along the fade
FADED_SIDES = {"dark_on_dark"}


@pytest.fixture(scope="module")
def classical() -> dict[str, Segmentation]:
    """One classical segmentation per photo of the set (they are slow to make)."""
    return {name: segment(make_case(name).photo, "classical") for name in THRESHOLDS}


def _exact(name: str) -> Segmentation:
    """The ground-truth matte as a merchant's mask (alpha backend)."""
    case = make_case(name)
    mask = Image.fromarray(np.rint(case.alpha * 255).astype(np.uint8), "L")
    return segment(case.photo, "alpha", mask=mask)


@pytest.mark.parametrize("name", list(THRESHOLDS))
def test_classical_cuts_out_each_realistic_set(name: str, classical: dict[str, Segmentation]) -> None:
    # given a realistic photo and its exact matte
    case = make_case(name)

    # when (module fixture) it was segmented without weights
    seg = classical[name]

    # then the matte is the product, with nothing of the set kept
    matte = np.asarray(seg.matte)
    score, edge_f = iou(matte, case.alpha), boundary_f(matte, case.alpha, tolerance=4)
    print(f"{name}: IoU {score:.4f}, boundary F {edge_f:.4f}, evidence {seg.evidence}")
    low_iou, low_f = THRESHOLDS[name]
    assert score >= low_iou
    assert edge_f >= low_f
    assert seg.segmenter == "classical"
    if name in FADED_SIDES:
        return  # test_classical_edge_partway_along_a_fade_is_not_trusted
    # and its evidence trusts it, recorded on the segmentation
    assert seg.confidence >= MATTE_THRESHOLD and not seg.low_confidence
    assert seg.evidence["trusted"] is True and set(seg.evidence["cues"]) >= {"border", "slab", "edges"}
    # its outline has no dent the photo runs straight across, and it reaches the base
    assert seg.evidence["cues"]["notch"] == 1.0 and seg.evidence["cues"]["bottom"] == 1.0
    # and opaque pixels are the photo's own
    opaque = matte == 255
    assert np.array_equal(np.asarray(seg.foreground)[opaque], np.asarray(case.photo)[opaque])


@pytest.mark.parametrize("variant", ["photo", "see-through gap", "two side by side"])
def test_classical_edge_partway_along_a_fade_is_not_trusted(variant: str) -> None:
    # given the black bottle whose rim light fades out into the charcoal set: where the
    # bottle ends shows no edge, and the classical cut ends 8 px inside it, halfway along
    # the fade (boundary F 0.56-0.68, trusted at 1.0)
    case = make_case("dark_on_dark")
    if variant == "photo":
        photo, alpha = case.photo, case.alpha
    else:
        photo, alpha = with_gap(case) if variant == "see-through gap" else side_by_side(case)

    # when
    seg = segment(photo, "classical")
    exact = matte_evidence(photo, np.rint(alpha * 255).astype(np.uint8))

    # then the cut is near (IoU 0.97) but its edge is a guess: it needs review, and says why
    matte = np.asarray(seg.matte)
    print(
        f"{variant}: IoU {iou(matte, alpha):.4f} BF {boundary_f(matte, alpha, tolerance=4):.3f} {seg.evidence}"
    )
    assert boundary_f(matte, alpha, tolerance=4) < 0.85
    assert seg.low_confidence and seg.evidence["cues"]["ramp"] == 0.0
    assert "fades gradually" in " ".join(seg.evidence["problems"])
    # while the exact matte, ending at the fade's foot, is not doubted
    assert exact.cues["ramp"] == 1.0 and exact.trusted


def test_product_cut_by_the_frame_keeps_its_edge_run(classical: dict[str, Segmentation]) -> None:
    # given the bottle running out of the bottom of the frame
    case = make_case("cut_by_frame")
    matte = np.asarray(classical["cut_by_frame"].matte)

    # then the matte reaches the bottom edge exactly where the bottle does, nowhere else
    truth_row = case.alpha[-1] >= 0.5
    assert np.array_equal(matte[-1] >= 128, truth_row) or iou(matte[-1:], case.alpha[-1:]) > 0.98
    assert not (matte[0] >= 128).any() and not (matte[:, 0] >= 128).any() and not (matte[:, -1] >= 128).any()


def test_mug_handle_hole_is_background(classical: dict[str, Segmentation]) -> None:
    # given the mug, whose handle encloses a pocket of backdrop
    case = make_case("mug_with_handle")
    hole = cv2.erode(((case.alpha < 0.01) & _enclosed(case.alpha < 0.5)).astype(np.uint8), np.ones((5, 5)))

    # then the pocket is transparent in the matte
    assert hole.sum() > 10_000
    assert (np.asarray(classical["mug_with_handle"].matte)[hole > 0] == 0).mean() > 0.99


def _enclosed(background: np.ndarray) -> np.ndarray:
    count, labels = cv2.connectedComponents(background.astype(np.uint8), connectivity=4)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    return ~np.isin(labels, edge) & background


def _half_row(column: np.ndarray) -> float:
    """Where ``column`` (0..1, top down) first crosses half coverage, to a tenth of a px."""
    i = int(np.argmax(column >= 0.5))
    a, b = float(column[i - 1]), float(column[i])
    return i - 1 + (0.5 - a) / max(b - a, 1e-6)


def _lid_top_edge_offset(seg: Segmentation) -> np.ndarray:
    """Rows by which the matte's top edge lies below the white jar lid's true top edge
    (negative: above it), per column across the middle 90 % of the lid's top."""
    truth = make_case("white_jar_on_white").alpha >= 0.5
    top = int(np.flatnonzero(truth.any(axis=1))[0])
    cols = np.flatnonzero(truth[top : top + 40].any(axis=0))
    inset = cols.size // 20
    cols = cols[inset:-inset]
    matte = np.asarray(seg.matte)
    return (matte[:, cols] >= 128).argmax(axis=0) - truth[:, cols].argmax(axis=0)


def test_white_jar_lid_keeps_its_faint_top_rim(classical: dict[str, Segmentation]) -> None:
    # given the white jar on the white sweep: its lid's top rim is a ring 3 px wide a few
    # levels off the set (darker where the lid turns from the light, the set's own level
    # where the light is on it)

    # when (module fixture) it was segmented without weights
    offset = _lid_top_edge_offset(classical["white_jar_on_white"])

    # then the matte's top edge is the rim's outer edge, not the lid face's edge inside
    # it (2-4 px in before: 1 % of the columns within a pixel of the truth, now 83 %)
    print(f"top edge offset: mean {offset.mean():.2f}, within 1 px {(np.abs(offset) <= 1).mean():.3f}")
    assert (np.abs(offset) <= 1).mean() >= 0.7
    assert abs(float(offset.mean())) <= 1.0


def test_white_jar_lid_keeps_no_fringe_of_the_set(classical: dict[str, Segmentation]) -> None:
    # given the white jar on the white sweep, whose lid's top rim the cut follows out
    case = make_case("white_jar_on_white")
    half = (case.alpha >= 0.5).astype(np.uint8)
    top = int(np.flatnonzero(half.any(axis=1))[0])
    lid_top = np.zeros(half.shape, bool)
    lid_top[top - 10 : top + 60] = True  # the lid's top ellipse and the rows above it
    outline = (half > 0) & ~(cv2.erode(half, np.ones((3, 3), np.uint8)) > 0) & lid_top
    beyond = (half == 0) & (cv2.distanceTransform(1 - half, cv2.DIST_L2, 5) <= 8) & lid_top

    # when (module fixture) it was segmented without weights
    matte = np.asarray(classical["white_jar_on_white"].matte).astype(np.float32) / 255.0

    # then little of the white set is kept outside the lid: the matte's coverage beyond the
    # exact matte, within 8 px of the lid's top outline, per pixel of that outline (0.63 px
    # while the rim's measured outer edge was taken as the outline: a fringe of the set
    # 2 px wide, seen over a dark background; 0.26 while the guided filter spread the
    # feathered outline over the flat white into a ramp 4-5 px wide)
    fringe = float(np.clip(matte - case.alpha, 0.0, None)[beyond].sum()) / float(outline.sum())
    print(f"set kept beyond the lid's top: {fringe:.3f} px per outline px")
    assert fringe <= 0.2


def test_white_jar_lids_top_outline_follows_its_rim_with_no_bump(classical: dict[str, Segmentation]) -> None:
    # given the white jar on the white sweep: its lid's faint top rim is seen near the
    # lid's ends and carried across its middle, where the light is on it. Carried, the
    # outline stood 2 px out of the lid over 45 px (the reduced copy's stair step), and
    # where the rim turns down into the lid's side, seen in pieces of 11-16 outline points,
    # 4-5 px inside it over 35 px

    # when (module fixture) it was segmented without weights
    offset = _lid_top_edge_offset(classical["white_jar_on_white"])

    # then every column of the top edge lies within 1 px out and 3 px in of the truth (the
    # last column, where the top turns down into the lid's side, is 3 px in), nearly all
    # within 1 px (86 % before)
    print(f"top edge offset {offset.min()}..{offset.max()}, within 1 px {(np.abs(offset) <= 1).mean():.3f}")
    assert offset.min() >= -1 and offset.max() <= 3
    assert (np.abs(offset) <= 1).mean() >= 0.95


def test_white_jar_lids_top_edge_is_smooth_along_it(classical: dict[str, Segmentation]) -> None:
    # given the white jar on the white sweep: its brushed lid has faint vertical streaks,
    # and its top rim stands 10-17 levels off the set. The colour line (a quarter
    # trusted there) and the guided filter copied the streaks into the alpha column by
    # column: the top edge ragged by 0.23 px (against 0.00 for the exact matte), specks
    # of 5-9 % alpha standing over it in streaks
    case = make_case("white_jar_on_white")
    truth = case.alpha >= 0.5
    top = int(np.flatnonzero(truth.any(axis=1))[0])
    cols = np.flatnonzero(truth[top : top + 40].any(axis=0))
    cols = cols[cols.size // 20 : -(cols.size // 20)]

    # when (module fixture) it was segmented without weights
    matte = np.asarray(classical["white_jar_on_white"].matte).astype(np.float64) / 255.0

    # then the top edge (where each column first reaches half coverage, to a tenth of a
    # px) strays from its own running median over 51 columns by 0.1 px at most (std, 0.07
    # now), and the rows above it keep next to nothing of the set (0.9 px of coverage
    # before, summed over the 12 rows above the edge, 0.05 now)
    edge = np.array([_half_row(matte[top - 15 : top + 60, c]) for c in cols])
    rough = float(np.std(edge - median_filter(edge, 51, mode="nearest")))
    above = float(matte[top - 15 : top - 3, cols].sum())
    print(f"top edge roughness {rough:.3f} px, coverage above it {above:.2f} px")
    assert rough <= 0.1
    assert above <= 0.2


def test_soft_edges_carry_the_products_colour_not_the_backdrops(classical: dict[str, Segmentation]) -> None:
    # given the tan bag shot on a white sweep
    case = make_case("bag_on_white_sweep")
    seg = classical["bag_on_white_sweep"]
    matte = np.asarray(seg.matte)
    soft = (matte > 25) & (matte < 230)
    photo = np.asarray(case.photo).astype(np.float32)
    foreground = np.asarray(seg.foreground).astype(np.float32)

    # when the cutout is put on a black set
    cutout = seg.cutout
    x, y, w, h = seg.box
    on_black = np.asarray(Image.alpha_composite(Image.new("RGBA", cutout.size, (0, 0, 0, 255)), cutout))

    # then edge pixels hold the leather's colour (darker, redder) rather than the white sweep
    assert soft.sum() > 2000
    assert foreground[soft].mean() < photo[soft].mean() - 25
    near = cv2.dilate(soft.astype(np.uint8), np.ones((9, 9))) > 0
    inner = near & (matte == 255)
    assert abs(foreground[soft].mean() - photo[inner].mean()) < 30
    # and on black no light rim is left: soft pixels are no brighter than the opaque rim
    crop_soft = soft[y : y + h, x : x + w]
    crop_inner = inner[y : y + h, x : x + w]
    assert on_black[..., :3][crop_soft].mean() <= on_black[..., :3][crop_inner].mean()


def test_soft_edge_follows_the_true_partial_alpha(classical: dict[str, Segmentation]) -> None:
    # then on the slanted sides of the bag (where a reduced copy would leave stair-steps)
    case = make_case("bag_on_white_sweep")
    matte = np.asarray(classical["bag_on_white_sweep"].matte)
    error = edge_alpha_error(matte, case.alpha)
    print(f"edge alpha error {error:.3f}")
    assert error < 0.25
    # every row crossing the left side has a partial-alpha pixel (no hard steps)
    rows = range(int(case.box[1] + 0.3 * case.box[3]), int(case.box[1] + 0.9 * case.box[3]), 7)
    partial = [
        (
            (matte[r, : case.box[0] + case.box[2] // 2] > 0)
            & (matte[r, : case.box[0] + case.box[2] // 2] < 255)
        ).any()
        for r in rows
    ]
    assert np.mean(partial) > 0.95


def test_busy_set_is_refused_with_what_to_do() -> None:
    # given the candle among props on linen and wood
    case = make_case("busy_styled_set")

    # when / then
    with pytest.raises(SegmentationFailed) as info:
        segment(case.photo, "classical")
    message = str(info.value)
    assert "background is too busy" in message
    assert "Draw a box around the product" in message and "upload a mask" in message
    assert not re.search(r"residual|levels|threshold|GrabCut|\d+ separate", message)
    assert info.value.code == "segmentation_failed"


def test_refused_busy_photo_is_one_box_and_strokes_from_a_good_cutout() -> None:
    # given the busy photo, a box around the candle and two keep strokes on it
    case = make_case("busy_styled_set")
    x, y, w, h = case.box
    margin = int(0.06 * max(w, h))
    box = (x - margin, y - margin, w + 2 * margin, h + 2 * margin)
    core = cv2.erode(case.mask.astype(np.uint8), np.ones((41, 41), np.uint8))
    ys, xs = np.nonzero(core)
    keep = np.zeros(case.mask.shape, np.uint8)
    cv2.line(keep, (int(xs.mean()), int(ys.min())), (int(xs.mean()), int(ys.max())), 255, 12)
    cv2.line(keep, (int(xs.min()), int(ys.mean())), (int(xs.max()), int(ys.mean())), 255, 12)
    keep &= core * 255

    # when the merchant refines on the preview, then accepts at full size
    small = preview_image(case.photo)
    scale = small.width / case.photo.width
    preview = refine_matte(
        small, box=tuple(round(v * scale) for v in box), keep=scale_strokes(keep, small.size)
    )
    full = refine_matte(case.photo, box=box, keep=keep)

    # then both are the candle
    small_truth = cv2.resize(case.alpha, small.size, interpolation=cv2.INTER_AREA)
    print(
        f"refine: preview IoU {iou(np.asarray(preview.matte), small_truth):.4f}, full IoU {iou(np.asarray(full.matte), case.alpha):.4f}"
    )
    assert preview.matte.size == small.size
    assert iou(np.asarray(preview.matte), small_truth) >= 0.95
    assert iou(np.asarray(full.matte), case.alpha) >= 0.97
    assert boundary_f(np.asarray(full.matte), case.alpha, tolerance=4) >= 0.9
    assert full.segmenter == "refine" and full.evidence["trusted"] is True
    assert (np.asarray(full.matte)[keep > 0] == 255).all()


def test_remove_strokes_take_a_prop_out_of_the_box() -> None:
    # given a box that also covers the small white candle beside the product
    case = make_case("busy_styled_set")
    x, y, w, h = case.box
    box = (x - 40, y - 40, 1600 - x, h + 80)  # reaches over the second candle (x 1300-1560)
    remove = np.zeros(case.mask.shape, np.uint8)
    cv2.line(remove, (1430, 760), (1430, 1100), 255, 20)

    # when
    seg = refine_matte(case.photo, box=box, remove=remove)

    # then the prop is out and the product in
    matte = np.asarray(seg.matte)
    assert (matte[760:1100, 1330:1530] < 128).mean() > 0.98
    assert iou(matte, case.alpha) >= 0.95


def test_refine_needs_a_box_or_a_keep_stroke_and_refuses_odd_sizes() -> None:
    photo = make_case("mug_with_handle").photo
    with pytest.raises(InvalidSpec, match="draw a box"):
        refine_matte(photo)
    with pytest.raises(InvalidSpec, match="keep mask is 10x10"):
        refine_matte(photo, box=(0, 0, 50, 50), keep=np.zeros((10, 10), np.uint8))
    with pytest.raises(InvalidSpec, match="not inside"):
        refine_matte(photo, box=(5000, 0, 50, 50))


def test_preview_is_preview_size_and_carries_evidence() -> None:
    # given a 3 MP upload
    photo = make_case("gradient_sweep").photo

    # when
    seg = preview_segment(photo, "classical")

    # then
    assert max(seg.image.size) == 1024 and seg.matte.size == seg.image.size
    truth = cv2.resize(make_case("gradient_sweep").alpha, seg.image.size, interpolation=cv2.INTER_AREA)
    assert iou(np.asarray(seg.matte), truth) >= 0.97
    assert seg.evidence["trusted"] is True


# --- the evidence, independent of the segmenter ----------------------------------------


def test_evidence_fails_a_kept_floor_slab() -> None:
    # given the exact bag matte plus the floor under it, wider than the bag (what the
    # old segmenter returned on such photos)
    case = make_case("bag_on_white_sweep")
    x, y, w, h = case.box
    bad = np.rint(case.alpha * 255).astype(np.uint8)
    base = y + int(0.8 * h)
    bad[base : y + h + 60, x - 120 : x + w + 120] = 255

    # when
    good_evidence = matte_evidence(case.photo, np.rint(case.alpha * 255).astype(np.uint8))
    evidence = matte_evidence(case.photo, bad)

    # then
    assert good_evidence.trusted and good_evidence.cues["slab"] == 1.0
    assert not evidence.trusted and evidence.cues["slab"] < 0.5
    assert "slab of floor" in " ".join(evidence.problems)


def test_evidence_fails_a_kept_floor_and_wall_running_along_the_edge() -> None:
    # given the box in the corner with the whole floor kept (IoU ~0.5, as reported)
    case = make_case("box_in_corner")
    bad = np.rint(case.alpha * 255).astype(np.uint8)
    bad[980:, :] = 255

    # when
    evidence = matte_evidence(case.photo, bad, other=np.rint(case.alpha * 255).astype(np.uint8))

    # then
    assert evidence.cues["border"] == 0.0 and evidence.cues["agreement"] == 0.0
    assert evidence.score == 0.0 and not evidence.trusted


def test_evidence_fails_a_bite_out_of_the_base() -> None:
    # given the dark bottle on dark wood, its exact matte, and the matte a review found:
    # the base's left corner (59 x 20 px, all but its rim) cut away with the reflection
    case = perfume_on_dark_table()
    x, y, w, h = case.box
    exact = np.rint(case.alpha * 255).astype(np.uint8)
    bitten = exact.copy()
    bitten[y + h - 20 : y + h, x + 10 : x + 69] = 0

    # when
    good = matte_evidence(case.photo, exact)
    bad = matte_evidence(case.photo, bitten)

    # then the exact matte is trusted; the bitten one needs review, and says why
    assert good.trusted and good.cues["base"] == 1.0
    assert not bad.trusted and bad.score == 0.0 and bad.cues["base"] == 0.0
    assert "bite out of the bottom" in " ".join(bad.problems)


def _bitten(alpha: np.ndarray, at: float, radius: float) -> np.ndarray:
    """The exact matte with a round bite centred on its base's outline, ``at`` of its width
    from the left, of ``radius`` times its width."""
    matte = np.rint(alpha * 255).astype(np.uint8)
    cols = np.flatnonzero((matte >= 128).any(axis=0))
    width = int(cols[-1] - cols[0]) + 1
    x = int(cols[0] + at * width)
    y = int(np.flatnonzero(matte[:, x] >= 128)[-1])
    cv2.circle(matte, (x, y), round(radius * width), 0, -1)
    return matte


@pytest.mark.parametrize("name", ["white_jar_on_white", "mug_with_handle"])
def test_evidence_fails_a_notch_bitten_into_the_base(name: str) -> None:
    # given a good photo, its exact matte, and that matte with a notch at the lower left of
    # its base (a round bite 3 % of the width across, centred on the outline)
    case = make_case(name)
    exact = np.rint(case.alpha * 255).astype(np.uint8)
    notched = _bitten(case.alpha, at=0.25, radius=0.03)

    # when
    good = matte_evidence(case.photo, exact)
    bad = matte_evidence(case.photo, notched)

    # then the photo's edge runs straight across the notch: it needs review, and says why
    print(f"{name}: exact {good.score:.3f} {good.cues}, notched {bad.score:.3f} {bad.cues}")
    assert good.trusted and good.cues["notch"] == 1.0
    assert not bad.trusted and bad.cues["notch"] < MATTE_THRESHOLD
    assert "dent" in " ".join(bad.problems)


@pytest.mark.parametrize(
    "name", ["bag_on_white_sweep", "white_jar_on_white", "dark_on_dark", "perfume_gloss_0.55"]
)
def test_evidence_fails_a_matte_cut_short_above_the_base(name: str) -> None:
    # given a good photo (the glossy table's base blurs into its reflection: no sharp edge
    # there), its exact matte, and that matte without its lowest 8 % of rows
    case = perfume_on_dark_table(reflection=0.55) if name.startswith("perfume") else make_case(name)
    exact = np.rint(case.alpha * 255).astype(np.uint8)
    rows = np.flatnonzero((exact >= 128).any(axis=1))
    short = exact.copy()
    short[rows[-1] - int(0.08 * (rows[-1] - rows[0] + 1)) + 1 :] = 0

    # when
    good = matte_evidence(case.photo, exact)
    bad = matte_evidence(case.photo, short)

    # then the short matte ends where the photo has no edge: it needs review, and says why
    print(f"{name}: exact {good.score:.3f} {good.cues}, short {bad.score:.3f} {bad.cues}")
    assert good.trusted and good.cues["bottom"] == 1.0
    assert not bad.trusted and bad.cues["bottom"] == 0.0
    assert "stops above the bottom" in " ".join(bad.problems)


def _floor_kept_and_base_bitten(case: Case, kept: int, bite: int) -> np.ndarray:
    """The exact matte with ``kept`` px of floor kept under the left 55 % of its base and
    ``bite`` px bitten out of the rest of the base, column by column."""
    x, _, w, _ = case.box
    matte = np.rint(case.alpha * 255).astype(np.uint8)
    for c in range(x, x + w):
        low = int(np.flatnonzero(case.mask[:, c])[-1])
        if c < x + int(0.55 * w):
            matte[low : low + kept, c] = 255
        else:
            matte[low - bite + 1 : low + 1, c] = 0
    return matte


@pytest.mark.parametrize(("kept", "bite"), [(10, 40), (20, 20), (20, 40)])
def test_evidence_fails_floor_kept_along_the_base_of_the_box_in_the_corner(kept: int, bite: int) -> None:
    # given the box in the wall/floor corner, and its exact matte with a strip of the grey
    # floor (its contact shadow) kept under part of its base and the rest of the base
    # bitten: the floor's grain, the shadow's lower rim and the kraft card put a sharp
    # edge under almost every row, so the lowest rows looked supported (trusted at 1.0)
    case = make_case("box_in_corner")
    exact = np.rint(case.alpha * 255).astype(np.uint8)
    wrong = _floor_kept_and_base_bitten(case, kept, bite)

    # when
    good = matte_evidence(case.photo, exact)
    bad = matte_evidence(case.photo, wrong)

    # then the base's own edge lies above the kept floor and below the bite: it needs review
    print(f"kept {kept}, bite {bite}: exact {good.score:.3f}, wrong {bad.score:.3f} {bad.cues}")
    assert good.trusted and good.cues["bottom"] == 1.0
    assert not bad.trusted and bad.cues["bottom"] < MATTE_THRESHOLD
    assert "stops above the bottom" in " ".join(bad.problems)


@pytest.mark.parametrize("variant", ["photo", "see-through gap", "two side by side"])
@pytest.mark.parametrize("name", [n for n in CASES if not make_case(n).refuse])
def test_evidence_trusts_every_exact_matte(name: str, variant: str) -> None:
    # given a photo of the set (or its see-through or side-by-side variant) and its exact matte
    case = make_case(name)
    if variant == "photo":
        photo, alpha = case.photo, case.alpha
    else:
        photo, alpha = with_gap(case) if variant == "see-through gap" else side_by_side(case)

    # when
    evidence = matte_evidence(photo, np.rint(alpha * 255).astype(np.uint8))

    # then a right matte is never sent to review, and no hard cue doubts it
    print(f"{name}, {variant}: {evidence.score:.3f} {evidence.cues}")
    assert evidence.trusted
    assert all(evidence.cues[k] == 1.0 for k in HARD_CUES)


@pytest.mark.parametrize(
    "name, face",
    [
        ("carton_on_tabletop", "side"),
        ("box_in_corner", "side"),
        ("white_jar_on_white", "lid"),
    ],
)
def test_evidence_fails_a_matte_missing_a_face_of_the_product(name: str, face: str) -> None:
    # given the exact matte less one face of the product, a face the set's own colour
    # (the carton's grey side against the grey wall): no colour cue sees it missing
    case = make_case(name)
    alpha = without_face(case, face)
    assert iou(alpha >= 0.5, case.mask) < 0.98

    # when
    evidence = matte_evidence(case.photo, np.rint(alpha * 255).astype(np.uint8))

    # then it goes to review, and the merchant is told a face is missing
    print(f"{name} less its {face}: {evidence.score:.3f} {evidence.cues}")
    assert not evidence.trusted
    assert "a side, a lid or a top is missing" in " ".join(evidence.problems)


def test_classical_cut_through_one_of_two_cartons_is_not_trusted() -> None:
    # given two cartons side by side, the left one near the photo's edge: the classical
    # cut kept the right carton's orange band and the right part of its face, going
    # straight down through the white face (IoU 0.21, trusted at 1.0; it now cuts both
    # whole: test_classical_cuts_a_carton_standing_in_the_border_band)
    case = make_case("carton_on_tabletop")
    photo, alpha = side_by_side(case)

    # when
    seg = segment(photo, "classical")

    # then the rest of the face beside the matte is walled off from the set by the
    # carton's edges: the matte needs review, and says why
    matte = np.asarray(seg.matte)
    print(f"IoU {iou(matte, alpha):.3f}, confidence {seg.confidence}, cues {seg.evidence['cues']}")
    if iou(matte, alpha) < 0.95:
        assert seg.low_confidence and seg.evidence["cues"]["pocket"] < MATTE_THRESHOLD
        assert "runs through the product" in " ".join(seg.evidence["problems"])


@pytest.mark.parametrize("name", [n for n in CASES if not make_case(n).refuse])
def test_evidence_fails_a_cut_straight_through_one_of_two_products(name: str) -> None:
    # given two of a product side by side, and their exact matte less the left 40 % of
    # the right-hand one, cut away along a straight vertical line
    case = make_case(name)
    photo, alpha = side_by_side(case)
    exact = np.rint(alpha * 255).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats((alpha >= 0.5).astype(np.uint8))
    right = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_LEFT]))
    x, w = stats[right, cv2.CC_STAT_LEFT], stats[right, cv2.CC_STAT_WIDTH]
    cut = exact.copy()
    cut[:, x - 8 : x + int(0.4 * w)] = 0

    # when
    evidence = matte_evidence(photo, cut)

    # then the left-out part is walled off from the set by the product's own edges (on
    # the box's kraft card its grain breaks that pocket up, and the piece of the box
    # left as a second piece of the matte has its own card beside it)
    print(f"{name}: {evidence.score:.3f} {evidence.cues}")
    assert not evidence.trusted
    assert min(evidence.cues["pocket"], evidence.cues["pieces"]) < MATTE_THRESHOLD


@pytest.mark.parametrize("name", [n for n in CASES if not make_case(n).refuse])
def test_evidence_fails_a_matte_of_one_of_two_products(name: str) -> None:
    # given two of a product side by side, and their exact matte less the second one:
    # only its largest piece kept, one whole product (IoU 0.50), its outline exact
    case = make_case(name)
    photo, alpha = side_by_side(case)
    exact = np.rint(alpha * 255).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats((exact >= 128).astype(np.uint8))
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    one = np.where(labels == largest, exact, 0).astype(np.uint8)
    assert count - 1 == 2 and iou(one, alpha) < 0.55

    # when
    evidence = matte_evidence(photo, one)

    # then the product left out, apart from the matte, walled off by its own edges and
    # not the set's colour, sends it to review (it touches nothing the matte does, and
    # was trusted at 1.0, the white jar at 0.74), and the merchant is told why
    print(f"{name}: {evidence.score:.3f} {evidence.cues}")
    assert not evidence.trusted
    assert evidence.cues["other"] < MATTE_THRESHOLD
    assert "another product" in " ".join(evidence.problems)


@pytest.mark.parametrize(
    "name", ["bag_on_white_sweep", "carton_on_tabletop", "gradient_sweep", "glossy_vase"]
)
def test_evidence_fails_a_matte_missing_a_band_across_the_product(name: str) -> None:
    # given a good photo, its exact matte, and that matte less a band across the whole
    # product (8 % of its height, a little below the middle): two pieces with the
    # product's own colours between them
    case = make_case(name)
    exact = np.rint(case.alpha * 255).astype(np.uint8)
    banded = np.rint(band_left_out(case) * 255).astype(np.uint8)

    # when
    good = matte_evidence(case.photo, exact)
    bad = matte_evidence(case.photo, banded)

    # then the banded matte needs review, and says why (it was trusted at 0.76-0.94)
    print(f"{name}: exact {good.score:.3f}, banded {bad.score:.3f} {bad.cues}")
    assert good.trusted and good.cues["pieces"] == 1.0
    assert not bad.trusted and bad.cues["pieces"] == 0.0
    assert "in pieces" in " ".join(bad.problems)


@pytest.mark.parametrize("variant", ["see-through gap", "two side by side"])
@pytest.mark.parametrize(
    "name", ["bag_on_white_sweep", "white_jar_on_white", "gradient_sweep", "glossy_vase"]
)
def test_evidence_trusts_pieces_with_the_set_between_them(name: str, variant: str) -> None:
    # given a product the set shows through (a band across it), or two of it side by
    # side, with their exact matte in two pieces
    case = make_case(name)
    photo, alpha = with_gap(case) if variant == "see-through gap" else side_by_side(case)

    # when
    evidence = matte_evidence(photo, np.rint(alpha * 255).astype(np.uint8))

    # then what lies between the pieces is the set: the matte is trusted
    print(f"{name}, {variant}: {evidence.score:.3f} {evidence.cues}")
    assert evidence.cues["pieces"] == 1.0 and evidence.trusted


# white on white too: the jar's face is the set's colour, and the classical cut keeps 74 %
# of its gap (IoU 0.93, trusted at 0.75 while the bridge cue judged colour alone)
_COMPOSITES = [n for n in CASES if not make_case(n).refuse]


@pytest.mark.parametrize("variant", ["see-through gap", "two side by side"])
@pytest.mark.parametrize("name", _COMPOSITES)
def test_classical_cut_of_a_gap_or_a_pair_is_trusted_only_when_right(name: str, variant: str) -> None:
    # given a product the set shows through, or two of it side by side
    case = make_case(name)
    photo, alpha = with_gap(case) if variant == "see-through gap" else side_by_side(case)
    gap = (alpha < 0.01) & (case.alpha >= 0.99) if variant == "see-through gap" else None

    # when
    try:
        seg = segment(photo, "classical")
    except SegmentationFailed:
        return  # refused: nothing is made from it

    # then a wrong cut (the set kept between the tumblers or in the gap: IoU 0.91-0.93,
    # trusted at 1.0) needs review, and a right one is trusted
    matte = np.asarray(seg.matte)
    score = iou(matte, alpha)
    kept = float((matte[gap] >= 128).mean()) if gap is not None else 0.0
    print(f"{name}, {variant}: IoU {score:.3f}, gap kept {kept:.2f}, confidence {seg.confidence}")
    if score < 0.95 or kept > 0.25:
        assert seg.low_confidence
    if score >= 0.98 and kept < 0.05:
        assert not seg.low_confidence


def test_classical_leaves_a_see_through_gap_out() -> None:
    # given the bag with the set showing through a band across it
    case = make_case("bag_on_white_sweep")
    photo, alpha = with_gap(case)
    gap = (alpha < 0.01) & (case.alpha >= 0.99)

    # when
    seg = segment(photo, "classical")

    # then the gap stays out of the matte (a band between two pieces is given back only
    # when it is not the set's colour), and the matte is the product
    matte = np.asarray(seg.matte)
    assert gap.sum() > 20_000
    assert (matte[gap] < 128).mean() > 0.99
    assert iou(matte, alpha) >= 0.98
    assert seg.evidence["cues"]["pieces"] == 1.0 and not seg.low_confidence


@pytest.mark.parametrize(
    ("name", "variant", "before"),
    [
        ("gradient_sweep", "two side by side", 0.911),
        ("gradient_sweep", "see-through gap", 0.933),
        ("box_in_corner", "see-through gap", 0.919),
        # GrabCut learnt the tabletop in the gap as the carton's colour and kept it, with
        # a slab of tabletop under the carton down to the table's front edge: broken
        # pieces of that edge's lit rim had stretched the first region down to it
        ("carton_on_tabletop", "see-through gap", 0.685),
        # white on white the colour could not tell the gap from the jar, and nothing was
        # opened: the sweep's own gradient carried across the jar can
        ("white_jar_on_white", "see-through gap", 0.934),
    ],
)
def test_classical_opens_the_set_between_two_parts(name: str, variant: str, before: float) -> None:
    # given two tumblers side by side, or a product the set shows through: GrabCut kept
    # the narrow strip of set framed by the product on both sides (IoU ``before``, sent
    # to review by the bridge cue)
    case = make_case(name)
    photo, alpha = with_gap(case) if variant == "see-through gap" else side_by_side(case)
    if variant == "see-through gap":
        gap = (alpha < 0.01) & (case.alpha >= 0.99)
    else:  # the set within the pair's box: between them, and beside their tapered sides
        ys, xs = np.nonzero(alpha >= 0.5)
        gap = np.zeros(alpha.shape, bool)
        gap[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1] = True
        gap &= alpha < 0.01

    # when
    seg = segment(photo, "classical")

    # then the set between the parts is left out, the parts are whole, and it is trusted
    matte = np.asarray(seg.matte)
    score = iou(matte, alpha)
    kept = float((matte[gap] >= 128).mean())
    print(f"{name}, {variant}: IoU {before} -> {score:.4f}, gap kept {kept:.3f}, confidence {seg.confidence}")
    assert score >= 0.98
    assert boundary_f(matte, alpha, tolerance=4) >= 0.93
    assert kept < 0.05
    assert seg.evidence["trusted"] is True


def test_classical_cuts_a_carton_standing_in_the_border_band() -> None:
    # given two cartons side by side, the left one 30 px from the photo's left edge (11 px
    # at the cut's working size, inside its 17 px border band): its side lay in the band
    # whole, its top's corner grazed it, the table's back edge ran on from it to the frame,
    # and its band's and shoulder's edges, ending 10 px from the frame, were taken for
    # seams; the cut kept the right carton and only the left one's side face (IoU 0.640,
    # sent to review)
    case = make_case("carton_on_tabletop")
    photo, alpha = side_by_side(case)

    # when
    seg = segment(photo, "classical")

    # then both cartons are cut out whole, the set between them left out, and trusted
    matte = np.asarray(seg.matte)
    score, edge_f = iou(matte, alpha), boundary_f(matte, alpha, tolerance=4)
    print(f"IoU {score:.4f}, boundary F {edge_f:.4f}, confidence {seg.confidence}")
    assert score >= 0.98 and edge_f >= 0.93
    assert not matte[:, :20].any()  # nothing along the photo's edge
    assert seg.evidence["trusted"] is True


def test_classical_leaves_out_the_tabletop_between_a_cartons_side_and_the_tables_back_edge(
    classical: dict[str, Segmentation],
) -> None:
    # given the carton, whose grey side face rises from (950, 720) to (1040, 680) past the
    # table's back edge (y 690): the tabletop between the face's top edge and that edge is
    # a wedge walled off from the rest of the set by the seam alone, and the cut gave it
    # back with the face (46 % of it kept, a 40x28 px beige sliver)
    case = make_case("carton_on_tabletop")
    ys, xs = np.mgrid[0 : case.alpha.shape[0], 0 : case.alpha.shape[1]]
    wedge = (xs >= 950) & (xs <= 1040) & (ys >= 694) & (ys < 718 - 40 * (xs - 950) / 90) & (case.alpha < 0.01)
    assert wedge.sum() > 500

    # when it is cut out with no model
    matte = np.asarray(classical["carton_on_tabletop"].matte)

    # then the wedge is left out, the face kept
    print(f"wedge kept {(matte[wedge] >= 128).mean():.3f}, IoU {iou(matte, case.alpha):.4f}")
    assert (matte[wedge] >= 128).mean() < 0.05
    assert iou(matte, case.alpha) >= 0.997


def test_classical_keeps_the_corner_of_a_cartons_side_that_rises_past_the_tables_back_edge(
    classical: dict[str, Segmentation],
) -> None:
    # given the carton, whose grey side face's top edge rises past the table's back edge
    # (y 690) to its corner at (1040, 680): within 6 work px of that edge's line the face's
    # top edge was taken out with the seam, and the cut stopped under the line, a notch
    # 23 px deep at the corner (the face's top edge 11 px low on average over x 996-1037,
    # its right edge missing down to y 700)
    case = make_case("carton_on_tabletop")
    truth = case.alpha.astype(np.float64)
    cols = np.arange(996, 1038)

    # when it is cut out with no model
    matte = np.asarray(classical["carton_on_tabletop"].matte).astype(np.float64) / 255.0

    # then the face's top edge follows the truth up to the corner (3.6 px low at most, at
    # the corner's tip), and its right edge runs up to it
    low = np.array([_half_row(matte[600:800, c]) - _half_row(truth[600:800, c]) for c in cols])
    right_in = [
        int(np.flatnonzero(truth[r] >= 0.5).max()) - int(np.flatnonzero(matte[r] >= 0.5).max(initial=0))
        for r in range(686, 760)
    ]
    print(
        f"top edge low by {low.min():.1f}..{low.max():.1f} (mean {low.mean():.2f}), right edge in {max(right_in)}"
    )
    assert low.max() <= 4.0 and low.min() >= -2.0
    assert abs(float(low.mean())) <= 2.0
    assert max(right_in) <= 2


def test_classical_keeps_both_bottles_cut_by_the_frame() -> None:
    # given two of the bottle that runs out of the bottom of the frame, side by side: the
    # left one's side runs straight into the bottom edge beside its frame run (it was
    # taken for a seam of the set, and the cut kept only its neck and shoulders: IoU 0.639)
    case = make_case("cut_by_frame")
    photo, alpha = side_by_side(case)

    # when
    seg = segment(photo, "classical")

    # then both bottles are cut out whole, down to the frame, and the matte is trusted
    matte = np.asarray(seg.matte)
    score, edge_f = iou(matte, alpha), boundary_f(matte, alpha, tolerance=4)
    print(f"IoU {score:.4f}, boundary F {edge_f:.4f}, confidence {seg.confidence}")
    assert score >= 0.98 and edge_f >= 0.93
    assert iou(matte[-1:], alpha[-1:]) >= 0.98
    assert seg.evidence["trusted"] is True


def test_classical_keeps_a_dark_base_above_its_reflection() -> None:
    # given the dark bottle on a glossier dark table: the reflection is found at the base,
    # and it mirrors the base's dark band in the same colour
    case = perfume_on_dark_table(reflection=0.55)
    x, y, w, h = case.box
    foot = case.mask[y + h - 40 : y + h]

    # when
    seg = segment(case.photo, "classical")

    # then the base is kept whole (GrabCut had cut 45 % of its last 40 rows, IoU 0.963),
    # the reflection stays out, and the matte is trusted
    matte = np.asarray(seg.matte)
    lost = foot & (matte[y + h - 40 : y + h] < 128)
    print(f"base lost {lost.sum() / foot.sum():.3f}, IoU {iou(matte, case.alpha):.4f}")
    assert lost.sum() <= 0.03 * foot.sum()
    assert iou(matte, case.alpha) >= 0.98
    assert boundary_f(matte, case.alpha, tolerance=4) >= 0.9
    assert (matte[y + h + 20 :] < 128).all()
    assert seg.evidence["trusted"] is True and seg.evidence["cues"]["base"] == 1.0


@pytest.mark.parametrize("gloss", [0.47, 0.62])
def test_classical_cuts_a_dim_reflection_at_the_base(gloss: float) -> None:
    # given the dark bottle on tables whose reflection is dim and blurred: its row-to-row
    # changes match the bottle's at one row only, and the cut kept parts of it (IoU 0.950
    # and 0.928, with a slab under the base) at confidence 1.0
    case = perfume_on_dark_table(reflection=gloss)
    x, y, w, h = case.box

    # when
    seg = segment(case.photo, "classical")

    # then the matte ends at the base: the reflection is left out, and it is trusted
    matte = np.asarray(seg.matte)
    score, edge_f = iou(matte, case.alpha), boundary_f(matte, case.alpha, tolerance=4)
    print(f"gloss {gloss}: IoU {score:.4f}, boundary F {edge_f:.4f}, confidence {seg.confidence}")
    assert score >= 0.98
    assert edge_f >= 0.9
    assert (matte[y + h + 12 :] < 128).all()
    assert seg.confidence >= MATTE_THRESHOLD and seg.evidence["cues"]["reflection"] == 1.0


@pytest.mark.parametrize("gloss", [0.47, 0.62])
@pytest.mark.parametrize("depth", [60, 160])
def test_evidence_fails_a_kept_dim_reflection(gloss: float, depth: int) -> None:
    # given the exact matte of the dark bottle, and the same matte with the dim reflection
    # under its base kept (60 or 160 px of the 320 px it shows): the ring around that slab
    # is wood, and the slab is no wider than the bottle, so only the mirror tells
    case = perfume_on_dark_table(reflection=gloss)
    x, y, w, h = case.box
    exact = np.rint(case.alpha * 255).astype(np.uint8)
    kept = exact.copy()
    kept[y + h : y + h + depth, x + 8 : x + w - 8] = 255

    # when
    good = matte_evidence(case.photo, exact)
    bad = matte_evidence(case.photo, kept)

    # then the exact matte is trusted; the one with the reflection needs review, and says why
    print(f"gloss {gloss}, {depth} px: exact {good.score:.3f}, with reflection {bad.score:.3f} {bad.cues}")
    assert good.trusted and good.cues["reflection"] == 1.0
    assert not bad.trusted and bad.cues["reflection"] < 0.5
    assert "reflection" in " ".join(bad.problems)


def test_a_classical_matte_that_stops_inside_the_product_is_not_trusted() -> None:
    # given the dark bottle on a table glossy enough (0.52) that the classical cut keeps
    # only the neck and the label's lettering (IoU 0.13 with the exact matte)
    case = perfume_on_dark_table(reflection=0.52)
    exact = np.rint(case.alpha * 255).astype(np.uint8)

    # when
    seg = segment(case.photo, "classical")
    good = matte_evidence(case.photo, exact)

    # then what rings that matte is the bottle, not the set: it needs review (it was
    # trusted at 0.99), while the exact matte is still trusted
    matte = np.asarray(seg.matte)
    print(f"IoU {iou(matte, case.alpha):.3f}, confidence {seg.confidence}, cues {seg.evidence['cues']}")
    if iou(matte, case.alpha) < 0.9:
        assert seg.low_confidence and seg.evidence["trusted"] is False
        assert seg.evidence["cues"]["surround"] < 0.5
    assert good.trusted and good.cues["surround"] == 1.0


def test_evidence_trusts_a_base_that_steps_in_at_a_real_edge() -> None:
    # given the same bottle whose base really has a step (a foot on one side): the
    # photo's edge runs along the step, so nothing was cut away
    case = perfume_on_dark_table()
    x, y, w, h = case.box
    photo = np.asarray(case.photo).copy()
    matte = np.rint(case.alpha * 255).astype(np.uint8)
    matte[y + h - 20 : y + h, x + 10 : x + 69] = 0
    photo[y + h - 20 : y + h, x + 10 : x + 69] = photo[y + h - 20 : y + h, x - 70 : x - 11]

    # when
    evidence = matte_evidence(photo, matte)

    # then
    assert evidence.cues["base"] == 1.0


def _side_columns(matte: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``rows``, the first and last column of ``matte`` at half coverage."""
    half = matte[rows] >= (128 if matte.dtype == np.uint8 else 0.5)
    return half.argmax(axis=1), half.shape[1] - 1 - half[:, ::-1].argmax(axis=1)


def test_classical_keeps_a_dark_glass_rim_along_the_bottles_sides() -> None:
    # given the dark bottle on dark wood: its outermost 3 px are dark glass, darker than
    # both the wall behind it and the rim light inside them. The cut's outline was found
    # out at that rim and moved 4 px back in by the colour line (the rim is off the line
    # from the wall to the rim light), except at the table line where the set behind
    # changes colour: two nubs 4-5 px out at mid-height (IoU 0.987, boundary F 0.93)
    case = perfume_on_dark_table()
    x, y, w, h = case.box
    wall = np.arange(y + 340, y + 500)  # the body's sides against the wall, above the table
    body = np.arange(y + 340, y + h - 60)  # and down to above the base's corners

    # when
    seg = segment(case.photo, "classical")

    # then the sides against the wall lie on the glass's edge (1.5 px on average), and no
    # row of either side steps out of the outline around it by more than 2 px
    matte = np.asarray(seg.matte)
    truth_left, truth_right = _side_columns(case.alpha, wall)
    left, right = _side_columns(matte, wall)
    print(f"IoU {iou(matte, case.alpha):.4f}, BF {boundary_f(matte, case.alpha, tolerance=4):.4f}")
    print(
        f"wall: left off by {np.abs(left - truth_left).mean():.2f}, right {np.abs(right - truth_right).mean():.2f}"
    )
    assert np.abs(left - truth_left).mean() <= 1.5 and np.abs(right - truth_right).mean() <= 1.5
    for side in _side_columns(matte, body):
        bump = np.abs(side - median_filter(side, 51, mode="nearest"))
        print(f"largest bump {bump.max()} px at row {body[bump.argmax()]}")
        assert bump.max() <= 2
    assert iou(matte, case.alpha) >= 0.99 and boundary_f(matte, case.alpha, tolerance=4) >= 0.97
    assert seg.evidence["trusted"] is True


def _side_offsets(matte: np.ndarray, alpha: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``rows``, how far (px, to a tenth) the left and the right side of
    ``matte`` (uint8) lie inside the exact ``alpha``'s: where each crosses half coverage."""

    def crossing(values: np.ndarray) -> float:
        i = int(np.argmax(values >= 0.5))
        a, b = float(values[i - 1]), float(values[i])
        return i - 1 + (0.5 - a) / max(b - a, 1e-6)

    left, right = [], []
    for r in rows:
        m, a = matte[r].astype(np.float64) / 255.0, alpha[r].astype(np.float64)
        left.append(crossing(m) - crossing(a))
        right.append(crossing(m[::-1]) - crossing(a[::-1]))
    return np.array(left), np.array(right)


@pytest.mark.parametrize("gloss", [0.15, 0.35])
def test_classical_keeps_the_dark_glass_rim_below_the_table_edge(gloss: float) -> None:
    # given the dark bottle on dark wood: below the table's back edge its outermost 3 px
    # of dark glass stand against the dark table, and lie near the colour line from the
    # table to the rim light inside, partway along it. Read as a blend they were table:
    # the outline lay 3.1 px inside the glass on the left and 2.2 px on the right (IoU
    # 0.9929 at gloss 0.15, 0.9931 at 0.35)
    case = perfume_on_dark_table(reflection=gloss)
    x, y, w, h = case.box
    below = np.arange(y + 540, y + h - 40)  # from under the table's edge to above the base

    # when
    seg = segment(case.photo, "classical")

    # then both sides follow the glass's edge there: within 1 px on average, 1.5 px in
    # every row
    matte = np.asarray(seg.matte)
    left, right = _side_offsets(matte, case.alpha, below)
    print(
        f"left {left.mean():.2f} ({left.min():.2f}..{left.max():.2f}), right {right.mean():.2f} "
        f"({right.min():.2f}..{right.max():.2f}), IoU {iou(matte, case.alpha):.4f}"
    )
    for side in (left, right):
        assert abs(side.mean()) <= 1.0 and np.abs(side).max() <= 1.5
    assert iou(matte, case.alpha) >= 0.995
    assert boundary_f(matte, case.alpha, tolerance=4) >= 0.99
    assert seg.evidence["trusted"] is True


def test_every_backend_records_evidence_and_a_merchant_mask_is_trusted() -> None:
    # given the exact matte with near-white values, as painted masks often are
    case = make_case("white_jar_on_white")
    painted = np.rint(case.alpha * 255).astype(np.uint8)
    painted[painted == 255] = 251

    # when
    seg = segment(case.photo, "alpha", mask=Image.fromarray(painted, "L"))

    # then near-white is fully opaque, and the evidence is recorded but does not gate it
    assert (np.asarray(seg.matte)[painted >= 250] == 255).all()
    assert (np.asarray(seg.matte)[painted < 250] == painted[painted < 250]).all()
    assert seg.confidence == 1.0 and not seg.low_confidence
    assert "score" in seg.evidence and "cues" in seg.evidence


# --- the packshot check uses the same evidence ------------------------------------------


def test_check_measures_a_white_product_on_white_whole() -> None:
    # given a packshot of the white jar, made from its exact matte
    seg = _exact("white_jar_on_white")
    packshot = render_packshot(seg, PackshotSpec(size=2000, fill=0.85, shadow=True))

    # when
    check = check_packshot(packshot.image)

    # then the product is measured as wide as it was placed, and the packshot passes
    px, py, pw, ph = packshot.product_box
    assert check.product_box is not None
    assert abs(check.product_box[2] - pw) <= 0.02 * pw
    assert abs(check.fill - 0.85) < 0.01
    assert check.ok, check.problems


def test_check_fails_a_packshot_that_kept_the_floor() -> None:
    # given packshots of the box in the corner: from its exact matte, and from a matte
    # that kept a slab of the grey floor under it (what the old segmenter returned)
    case = make_case("box_in_corner")
    x, y, w, h = case.box
    bad = np.rint(case.alpha * 255).astype(np.uint8)
    bad[y + int(0.85 * h) : y + h + 80, x - 200 : x + w + 200] = 255
    spec = PackshotSpec(size=2000, fill=0.85, shadow=True)
    broken = render_packshot(segment(case.photo, "alpha", mask=Image.fromarray(bad, "L")), spec)
    good = render_packshot(_exact("box_in_corner"), spec)

    # when
    check, good_check = check_packshot(broken.image), check_packshot(good.image)

    # then the broken one fails, naming the slab and what to do; the good one passes
    assert not check.ok
    assert check.problems == [
        "The product stands on a slab of floor or tabletop that was cut out with it; fix the "
        "cutout (a box and keep/remove strokes, or a mask) and make the packshot again."
    ]
    assert check.matte["cues"]["slab"] < 0.5
    assert good_check.ok, good_check.problems
    assert good_check.matte["cues"]["slab"] == 1.0


def _enclosed_holes(mask: np.ndarray) -> np.ndarray:
    """The background pixels of ``mask`` that do not reach the picture's edge."""
    count, comp = cv2.connectedComponents((~mask).astype(np.uint8), connectivity=4)
    edge = np.unique(np.concatenate([comp[0], comp[-1], comp[:, 0], comp[:, -1]]))
    return (comp > 0) & ~np.isin(comp, edge)


def test_a_box_a_pixel_off_still_keeps_the_labels_letters() -> None:
    # given the busy photo as uploaded (JPEG) at the editor's size, and boxes around the jar
    # a pixel apart, as a finger and a mouse draw them (one of them cut the label's dark
    # letters and seams out: IoU 0.972, still trusted)
    case = make_case("busy_styled_set")
    small = preview_image(Image.open(io.BytesIO(jpeg_bytes(case.photo))).convert("RGB"))
    scale = small.width / case.photo.width
    x, y, w, h = (round(v * scale) for v in case.box)
    truth = cv2.resize(case.alpha, small.size, interpolation=cv2.INTER_AREA)

    for dx, dy, dw, dh in ((0, 0, 0, 0), (0, 1, 0, 1), (-1, 1, 1, 1), (1, 2, -1, -1)):
        # when the editor refines from the box alone
        box = (x - 12 + dx, y - 12 + dy, w + 24 + dw, h + 24 + dh)
        seg = refine_matte(small, box=box)

        # then the jar is whole, letters and all
        assert iou(np.asarray(seg.matte), truth) >= 0.99, (box, iou(np.asarray(seg.matte), truth))


def test_a_key_tags_punched_hole_stays_open_in_a_refined_cutout() -> None:
    # given the key tag, whose punched hole (1.8 % of the tag) shows the sweep, a box
    # around it and the previous cutout, which had the hole open (the editor refines from
    # the last matte): the editor filled every enclosed hole under 2 % of the product
    # that no remove stroke touched, so the sweep in the hole became product (IoU 0.9825)
    case = keyring_tag_on_sweep()
    hole = _enclosed_holes(case.mask)
    assert 0.01 * case.mask.sum() < hole.sum() < 0.02 * case.mask.sum()
    x, y, w, h = case.box
    prior = np.rint(case.alpha * 255).astype(np.uint8)

    # when the merchant refines from the box
    seg = refine_matte(case.photo, box=(x - 30, y - 30, w + 60, h + 60), prior=prior)

    # then the hole is still background, and the tag is whole
    matte = np.asarray(seg.matte)
    print(f"hole open {(matte[hole] < 128).mean():.3f}, IoU {iou(matte, case.alpha):.4f}")
    assert (matte[hole] < 128).mean() > 0.95
    assert iou(matte, case.alpha) >= 0.99


def test_a_key_tags_punched_hole_is_open_in_the_classical_cut() -> None:
    # given the key tag, whose punched hole (1.8 % of the tag) shows the sweep in the
    # tag's shadow: GrabCut kept it as product (IoU 0.9825, the hole filled, trusted)
    case = keyring_tag_on_sweep()
    hole = _enclosed_holes(case.mask)

    # when it is cut out with no model
    seg = segment(case.photo, "classical")

    # then the hole is background, its edge where the photo's is, and the cut trusted
    matte = np.asarray(seg.matte)
    print(f"hole open {(matte[hole] < 128).mean():.3f}, IoU {iou(matte, case.alpha):.4f}")
    assert (matte[hole] < 128).mean() > 0.95
    assert iou(matte, case.alpha) >= 0.995
    assert boundary_f(matte, case.alpha, tolerance=4) >= 0.97
    assert not seg.low_confidence


def test_a_mugs_handle_stays_open_in_a_refined_cutout() -> None:
    # given the mug, whose handle encloses a hole of background, and a box around it
    case = make_case("mug_with_handle")
    hole = _enclosed_holes(case.mask)
    assert hole.sum() > 1000  # the photo set's mug has its handle's hole
    x, y, w, h = case.box

    # when the merchant refines from the box
    seg = refine_matte(case.photo, box=(x - 30, y - 30, w + 60, h + 60))

    # then the handle's hole is still background
    assert (np.asarray(seg.matte)[hole] < 128).mean() > 0.9
