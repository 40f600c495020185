"""Frames drawn straight into the encoder's 4:2:0 planes (``generation.clips.planes``): the
world zoomed in the planes by resize gives what the warp gives, and a frame drawn that
way has the product's own pixels in the same bytes as the frame drawn whole in RGB and
converted, and is within two levels of it everywhere else."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from generation.clips import ClipSpec, plan_clip
from generation.clips.motion import Similarity
from generation.clips.planes import PAD, WorldPlanes, even_rect, merge_rects, rect_planes, zoom_plane
from generation.clips.product import product_region
from tests.synthetic import jpeg_segmentation


def smooth(size: tuple[int, int], seed: int = 3) -> np.ndarray:
    w, h = size
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.integers(0, 256, (h, w), dtype=np.uint8), (0, 0), 2.0)


@pytest.mark.parametrize(
    "transform",
    [
        Similarity(1.07, -20.3, -31.6),  # push-in: resized
        Similarity(1.16, -55.1, -80.9),
        Similarity(0.91, 11.4, 9.2),  # a world larger than the canvas, shown smaller
        Similarity(1.0, 0.0, 0.0),  # still: resized by 1 (a copy)
    ],
)
def test_a_zoom_drawn_by_resize_is_the_warp_within_a_level(transform):
    image = smooth((300, 400))
    padded = cv2.copyMakeBorder(image, PAD, PAD, PAD, PAD, cv2.BORDER_REPLICATE)
    want = cv2.warpAffine(
        image, transform.matrix(), (270, 360), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    got = zoom_plane(padded, transform, (270, 360))
    diff = np.abs(got.astype(int) - want)
    assert got.shape == (360, 270)
    assert diff.max() <= 1 and diff.mean() < 0.2


@pytest.mark.parametrize(
    "transform",
    [
        Similarity(1.00006, -86.04, -40.97),  # the end of a push-in: no window fits
        Similarity(1.0003, -0.2, -67.48),
        Similarity(1.002, -1.04, -69.75),
        Similarity(1.0, 0.37, -0.5),  # a sub-pixel shift alone
    ],
)
def test_a_zoom_close_to_scale_1_that_no_window_fits_is_warped(transform):
    image = smooth((400, 500))
    padded = cv2.copyMakeBorder(image, PAD, PAD, PAD, PAD, cv2.BORDER_REPLICATE)
    want = cv2.warpAffine(
        image, transform.matrix(), (270, 360), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    diff = np.abs(zoom_plane(padded, transform, (270, 360)).astype(int) - want)
    # the warp of the padded plane: its offset, shifted by PAD, rounds to 1/1024 px apart
    # at a few pixels (at most 0.02 % here; samples blended in runs differed at 1.4-3.7 %)
    assert diff.max() <= 1 and (diff > 0).mean() < 0.001


def test_rectangles_are_grown_to_whole_chroma_blocks_and_merged_when_they_overlap():
    assert even_rect(3.2, 5.0, 10.1, 9.0, (20, 20)) == (2, 4, 12, 10)
    assert even_rect(-4, 15, 30, 40, (20, 20)) == (0, 14, 20, 20)
    assert even_rect(25, 0, 30, 5, (20, 20)) is None
    merged = merge_rects([(0, 0, 4, 4), (10, 10, 12, 12), (2, 2, 6, 6), (5, 5, 11, 11)])
    assert merged == [(0, 0, 12, 12)]
    assert merge_rects([(0, 0, 2, 2), (2, 0, 4, 2)]) == [(0, 0, 2, 2), (2, 0, 4, 2)]  # touching only


@pytest.mark.parametrize("source", ["theme", "scene"])
def test_frames_drawn_in_the_planes_match_frames_drawn_whole(source):
    seg = jpeg_segmentation((640, 800), soften=1.2)
    spec = ClipSpec(
        size=(270, 480),
        duration=5,
        preset="story",
        themes=("marble_counter",),
        style="push_in",
        headline="Fresh hand wash",
        price="24.90",
        cta="Shop now",
    )
    scenes = None
    if source == "scene":
        from generation.config import GenerationConfig
        from generation.engines.studio import StudioEngine
        from generation.specs import SceneSpec

        scenes = StudioEngine(GenerationConfig()).render(
            seg, SceneSpec(theme="marble_counter", width=270, height=480, fill=0.5)
        )[:1]
    plan = plan_clip(seg, spec, scenes=scenes)
    fast, whole = plan.frames(planes=True), plan.frames(planes=True, whole=lambda i: True)
    in_planes = 0
    for a, b in zip(fast, whole, strict=True):
        assert b.whole and a.planes is not None and b.planes is not None
        in_planes += not a.whole
        # round the product: drawn in RGB and converted there alone; the product's own
        # pixels the same bytes, the set behind its soft edge within a level (the warp
        # of a part rounds a sub-pixel position apart from the warp of the whole)
        region = product_region(plan.master.size, a.product_transform, plan.canvas)
        rect = even_rect(*region, plan.canvas)
        assert rect is not None
        for got, want in zip(rect_planes(a.planes, rect), rect_planes(b.planes, rect), strict=True):
            assert np.abs(got.astype(int) - want).max() <= 1
        x0, y0 = a.product.origin
        ph, pw = a.product.pixels.shape[:2]
        opaque = a.product.opaque
        assert opaque.sum() > 1000
        np.testing.assert_array_equal(
            a.planes[0][y0 : y0 + ph, x0 : x0 + pw][opaque], b.planes[0][y0 : y0 + ph, x0 : x0 + pw][opaque]
        )
        # elsewhere the world zoomed in the planes, within three levels (five in the
        # half-size colour planes: a saturated prop's edge, a sprig on a pale wall, rounds
        # a level further there, and a shaded sprig's leaves, darker to the rim turned from
        # the light, one more at a few pixels; the sprig's leaves joining its stem, their
        # rims steeper, one more again at a pixel or two of a few frames)
        for plane, (got, want) in enumerate(zip(a.planes, b.planes, strict=True)):
            diff = np.abs(got.astype(int) - want)
            assert diff.max() <= (3 if plane == 0 else 5) and diff.mean() < 0.3, a.index
        assert a.max_abs_diff == 0 and a.opaque_pixels == b.opaque_pixels
    # most frames (all but the light sweep's and the end card's fade) go the short way
    assert in_planes > plan.frame_count // 2
    assert plan.text_checks is not None and plan.text_checks.summary()["passed"]


def test_a_world_of_odd_size_is_given_even_planes():
    image = np.dstack([np.full((31, 45, 3), 120, np.uint8), np.full((31, 45), 255, np.uint8)])
    y, u, v = WorldPlanes(image).planes
    assert y.shape == (32 + 2 * PAD, 46 + 2 * PAD) and u.shape == v.shape == (16 + 2 * PAD, 23 + 2 * PAD)


def test_the_world_is_not_warped_in_rgb_under_the_products_opaque_interior(monkeypatch):
    import generation.clips.frames as frames_mod

    seg = jpeg_segmentation((640, 800), soften=1.2)
    spec = ClipSpec(size=(270, 480), duration=5, preset="story", themes=("marble_counter",), style="push_in")
    plan = plan_clip(seg, spec)
    worlds = {id(w.dressed) for w in plan.worlds} | {id(w.plate) for w in plan.worlds}
    warped: list[int] = []  # pixels of a world warped in RGB, this frame
    rects: list[int] = []  # pixels of the frame drawn in RGB, this frame
    real_warp, real_rects = cv2.warpAffine, frames_mod.Compositor._rects

    def warp(src, matrix, size, *args, **kwargs):
        if id(src) in worlds:
            warped.append(size[0] * size[1])
        return real_warp(src, matrix, size, *args, **kwargs)

    def spy_rects(self, *args):
        got = real_rects(self, *args)
        rects.extend((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in got or [])
        return got

    monkeypatch.setattr(frames_mod.cv2, "warpAffine", warp)
    monkeypatch.setattr(frames_mod.Compositor, "_rects", spy_rects)
    spared = 0
    for frame in plan.frames(planes=True):
        if not frame.whole:
            # the world is warped round the product's interior (opaque through), not under it
            assert frame.product.interior is not None
            x0, y0, x1, y1 = frame.product.interior
            inside = (x1 - x0) * (y1 - y0)
            assert (frame.product.pixels[y0:y1, x0:x1, 3] == 255).all()
            assert sum(warped) == sum(rects) - inside
            spared += inside > 0.4 * frame.product.pixels.shape[0] * frame.product.pixels.shape[1]
        warped.clear()
        rects.clear()
    assert spared > plan.frame_count // 2
