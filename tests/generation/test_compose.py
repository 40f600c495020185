"""The paste-back guarantee itself: opaque product pixels are copied, never blended."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from generation.compose import fit_box, light_wrap, measure_fidelity, paste_back, place_product
from generation.errors import InvalidSpec
from generation.types import Segmentation
from tests.synthetic import product_rgba


def _noise(size, seed=0):
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8), "RGB")


def test_opaque_pixels_are_copied_and_soft_edges_blended():
    cutout = product_rgba((200, 260))
    cutout.putalpha(cutout.getchannel("A").point(lambda a: 128 if 0 < a < 255 else a))
    arr = np.array(cutout)
    arr[5, :, 3] = 128  # a soft row
    cutout = Image.fromarray(arr, "RGBA")
    placed = place_product(cutout, (300, 300), (50, 20, 200, 260))
    background = _noise((300, 300))

    out = np.asarray(paste_back(background, placed))

    layer = np.asarray(placed.layer)
    region = out[20:280, 50:250]
    opaque = layer[..., 3] == 255
    assert np.array_equal(region[opaque], layer[..., :3][opaque])
    soft = layer[..., 3] == 128
    expected = (
        layer[..., :3][soft].astype(int) * 128
        + np.asarray(background)[20:280, 50:250][soft].astype(int) * 127
        + 127
    ) // 255
    assert np.array_equal(region[soft], expected)
    clear = layer[..., 3] == 0
    assert np.array_equal(region[clear], np.asarray(background)[20:280, 50:250][clear])
    assert np.array_equal(out[:20], np.asarray(background)[:20])  # outside the box untouched


def test_fidelity_is_exact_and_catches_a_one_level_change():
    placed = place_product(product_rgba((120, 150)), (400, 300), (100, 50, 120, 150))
    out = paste_back(_noise((400, 300)), placed)

    good = measure_fidelity(out, placed)
    arr = np.array(out)
    ys, xs = np.nonzero(np.asarray(placed.layer)[..., 3] == 255)
    arr[50 + ys[0], 100 + xs[0], 1] ^= 1
    bad = measure_fidelity(Image.fromarray(arr), placed)

    assert good.identical and good.max_abs_diff == 0 and math.isinf(good.psnr_db)
    assert good.opaque_pixels == int((np.asarray(placed.layer)[..., 3] == 255).sum())
    assert bad.max_abs_diff == 1 and not bad.identical and bad.psnr_db > 60
    assert good.to_dict()["psnr_db"] is None and bad.to_dict()["identical"] is False


def test_box_hanging_over_the_canvas_edge_is_clipped():
    placed = place_product(product_rgba((100, 100), scale=0.9), (120, 120), (60, -30, 100, 100))

    out = paste_back(_noise((120, 120)), placed)
    fid = measure_fidelity(out, placed)

    assert out.size == (120, 120)
    assert fid.identical and 0 < fid.opaque_pixels < int((np.asarray(placed.layer)[..., 3] == 255).sum())


def test_fit_box_keeps_aspect_and_stays_inside():
    box = fit_box((400, 800), (1000, 1000), fill=0.85)
    assert box == (288, 75, 425, 850)
    corner = fit_box((100, 100), (500, 500), fill=0.5, anchor=(1.0, 1.0))
    assert corner[0] + corner[2] <= 500 and corner[1] + corner[3] <= 500
    with pytest.raises(InvalidSpec):
        fit_box((10, 10), (100, 100), fill=1.5)


def test_wrong_sizes_are_refused():
    placed = place_product(product_rgba((50, 50)), (100, 100), (0, 0, 50, 50))
    with pytest.raises(InvalidSpec, match="expected canvas"):
        paste_back(Image.new("RGB", (99, 100)), placed)
    with pytest.raises(InvalidSpec, match="RGBA"):
        place_product(Image.new("RGB", (5, 5)), (10, 10), (0, 0, 5, 5))


def test_in_place_paste_back_and_light_wrap_give_the_copies_pixels():
    # given a product with soft edges (resized) on a canvas the caller owns
    placed = place_product(product_rgba((230, 290)), (320, 300), (70, 40, 160, 200))
    background = _noise((320, 300), seed=3)
    copied = light_wrap(paste_back(background, placed), background, placed, 0.4)
    # when the product and its light wrap are put on that canvas itself
    mine = background.copy()
    pasted = paste_back(mine, placed, in_place=True)
    wrapped = light_wrap(pasted, background, placed, 0.4, in_place=True)
    # then it is that canvas, with the pixels the copying calls give, and they changed it
    assert pasted is mine and wrapped is mine
    assert np.array_equal(np.asarray(mine), np.asarray(copied))
    assert not np.array_equal(np.asarray(copied), np.asarray(paste_back(background, placed)))


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA"])
@pytest.mark.parametrize("with_foreground", [False, True])
def test_the_cutout_is_the_box_of_the_photo_with_the_matte_as_alpha_made_from_the_box_alone(
    mode, with_foreground, monkeypatch
):
    # given a photo (any mode), a matte, maybe decontaminated edge colours, and a box
    photo = _noise((640, 480), seed=1).convert(mode)
    matte = _noise((640, 480), seed=2).convert("L")
    foreground = _noise((640, 480), seed=3) if with_foreground else None
    box = (101, 57, 203, 311)
    seg = Segmentation(image=photo, matte=matte, box=box, segmenter="exact", foreground=foreground)
    converted: list[tuple[int, int]] = []
    convert = Image.Image.convert
    monkeypatch.setattr(
        Image.Image, "convert", lambda im, *a, **k: converted.append(im.size) or convert(im, *a, **k)
    )
    # when the cutout is made
    cutout = seg.cutout
    # then it is the box of the (decontaminated) photo in RGB with the matte as alpha ...
    x, y, w, h = box
    source = np.asarray(convert(foreground or photo, "RGB"))[y : y + h, x : x + w]
    assert cutout.mode == "RGBA" and cutout.size == (w, h)
    assert np.array_equal(np.asarray(cutout)[..., :3], source)
    assert np.array_equal(np.asarray(cutout)[..., 3], np.asarray(matte)[y : y + h, x : x + w])
    # ... and no pixel outside the box was converted for it
    assert converted and all(size == (w, h) for size in converted)
