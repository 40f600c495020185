"""Packshot rendering and the packshot checker, on synthetic photos with exact mattes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from generation.cutout import render_cutout, render_mask
from generation.errors import GenerationError
from generation.packshot import check_packshot, render_packshot
from generation.specs import PackshotSpec
from generation.types import Segmentation
from tests.synthetic import product_photo


def _exact_segmentation(photo: Image.Image, mask: Image.Image) -> Segmentation:
    x0, y0, x1, y1 = mask.getbbox()
    return Segmentation(image=photo, matte=mask, box=(x0, y0, x1 - x0, y1 - y0), segmenter="exact")


def _border(arr: np.ndarray, width: int = 2) -> np.ndarray:
    edge = np.ones(arr.shape[:2], dtype=bool)
    edge[width:-width, width:-width] = False
    return arr[edge]


@pytest.fixture(scope="module")
def bottle() -> Segmentation:
    photo, mask = product_photo((600, 760), "gradient")
    return _exact_segmentation(photo, mask)


@pytest.fixture(scope="module")
def packshot(bottle):
    return render_packshot(bottle, PackshotSpec(size=1600))


# -- render_packshot -------------------------------------------------------------


def test_packshot_is_white_square_with_the_product_at_85_percent(packshot, bottle):
    # then: square canvas, product's longer side 85% of it, centred
    assert packshot.image.size == (1600, 1600)
    assert packshot.image.mode == "RGB"
    x, y, w, h = packshot.product_box
    assert max(w, h) == 1360
    assert abs((x + w / 2) - 800) <= 1 and abs((y + h / 2) - 800) <= 1
    # and the border is exactly 255 white
    assert (_border(np.asarray(packshot.image)) == 255).all()
    # the matte's confidence and evidence travel with the asset (none recorded for this
    # hand-built segmentation)
    assert packshot.meta == {
        "segmenter": "exact",
        "engine": "packshot",
        "confidence": 1.0,
        "low_confidence": False,
        "matte": {},
        "fill": 0.85,
        "shadow": True,
    }
    assert packshot.kind == "packshot"


def test_packshot_product_pixels_are_the_photos_pixels(packshot):
    # then
    assert packshot.fidelity is not None
    assert packshot.fidelity.max_abs_diff == 0
    assert packshot.fidelity.opaque_pixels > 400_000


def test_packshot_passes_its_own_checker(packshot):
    # when
    check = check_packshot(packshot.image)

    # then
    assert check.ok is True, check.problems
    assert check.problems == []
    assert check.background_white and check.square and check.centred
    assert check.border_white_share == 1.0
    assert abs(check.fill - 0.85) < 0.002
    assert json.loads(json.dumps(check.to_dict()))["ok"] is True


def test_shadow_is_faint_grey_and_only_under_the_product(packshot):
    # given the rows just below the product, and everything above its base
    arr = np.asarray(packshot.image).astype(int)
    x, y, w, h = packshot.product_box
    below = arr[y + h : y + h + 60, x : x + w]
    above_base = arr[: y + int(h * 0.85)]
    product_cols = np.zeros(arr.shape[1], dtype=bool)
    product_cols[x : x + w] = True

    # then the shadow is there, light and neutral
    assert below.min() < 250
    assert below.min() >= 200
    assert (below[..., 0] == below[..., 1]).all() and (below[..., 1] == below[..., 2]).all()
    # and nothing beside the product's upper part is darkened
    assert (above_base[:, ~product_cols] == 255).all()


def test_packshot_without_shadow_is_pure_white_outside_the_product(bottle):
    # when
    out = render_packshot(bottle, PackshotSpec(size=1600, shadow=False))

    # then every pixel the product does not touch is (255, 255, 255)
    arr = np.asarray(out.image)
    x, y, w, h = out.product_box
    outside = np.ones(arr.shape[:2], dtype=bool)
    outside[y : y + h, x : x + w] = False
    assert (arr[outside] == 255).all()
    assert out.meta["shadow"] is False
    assert out.fidelity.max_abs_diff == 0


def test_wide_product_shadow_never_reaches_the_border():
    # given a bottle lying on its side: at 95% fill its footprint spans almost the canvas
    photo, mask = product_photo((600, 760), "plain")
    seg = _exact_segmentation(
        photo.transpose(Image.Transpose.ROTATE_90), mask.transpose(Image.Transpose.ROTATE_90)
    )

    # when
    out = render_packshot(seg, PackshotSpec(size=1600, fill=0.95))

    # then
    arr = np.asarray(out.image)
    assert (_border(arr, 8) == 255).all()
    assert out.fidelity.max_abs_diff == 0


# -- cutout ------------------------------------------------------------------------


def test_cutout_is_the_photos_pixels_with_the_matte_as_alpha(bottle):
    # when
    out = render_cutout(bottle)

    # then
    x, y, w, h = bottle.box
    assert out.image.mode == "RGBA"
    assert out.image.size == (w, h)
    assert out.product_box == (0, 0, w, h)
    assert out.kind == "cutout" and out.name == "cutout"
    assert out.fidelity.max_abs_diff == 0
    rgba = np.asarray(out.image)
    photo = np.asarray(bottle.image.crop((x, y, x + w, y + h)))
    assert np.array_equal(rgba[..., 3], np.asarray(bottle.matte.crop((x, y, x + w, y + h))))
    opaque = rgba[..., 3] == 255
    assert np.array_equal(rgba[..., :3][opaque], photo[opaque])
    assert out.meta["segmenter"] == "exact"


def test_mask_is_the_full_size_matte(bottle):
    # when
    mask = render_mask(bottle)

    # then
    assert mask.mode == "L"
    assert mask.size == bottle.image.size
    assert mask.tobytes() == bottle.matte.tobytes()


def test_cutout_refuses_pixels_that_drift_from_the_photo(bottle):
    # given a segmentation whose cutout is one level off in red
    class Drifting(Segmentation):
        @property
        def cutout(self) -> Image.Image:  # a buggy crop that alters pixels
            out = super().cutout
            arr = np.asarray(out).copy()
            arr[..., 0] ^= 1
            return Image.fromarray(arr, "RGBA")

    seg = Drifting(image=bottle.image, matte=bottle.matte, box=bottle.box, segmenter="exact")

    # when / then
    with pytest.raises(GenerationError) as info:
        render_cutout(seg)
    assert info.value.code == "fidelity_failed"


# -- check_packshot on other images -------------------------------------------------


def test_photo_on_grey_fails_naming_the_background():
    # given a square product photo on an off-white studio background
    photo, _ = product_photo((1700, 1700), "plain", scale=0.85)

    # when
    check = check_packshot(photo)

    # then
    assert check.ok is False
    assert check.background_white is False
    assert check.border_white_share == 0.0
    assert any(p.startswith("The background is not pure white") for p in check.problems)


def test_small_image_fails_naming_the_size(packshot):
    # given our packshot scaled down to 800 px
    small = packshot.image.resize((800, 800), Image.Resampling.LANCZOS)

    # when
    check = check_packshot(small)

    # then only the size is wrong
    assert check.ok is False
    assert check.problems == ["The image is 800 x 800 px; marketplaces want at least 1600 px on each side."]


def test_off_centre_product_fails_naming_centring(packshot):
    # given the product moved 240 px to the right on a white canvas
    x, y, w, h = packshot.product_box
    moved = Image.new("RGB", (1600, 1600), (255, 255, 255))
    moved.paste(packshot.image.crop((x, y, x + w, y + h)), (x + 240, y))

    # when
    check = check_packshot(moved)

    # then
    assert check.ok is False
    assert check.centred is False
    assert check.problems == [
        "The product is not centred: its centre is 15% of the width right of the canvas centre."
    ]


def test_non_square_image_fails_naming_the_shape(packshot):
    # given the product centred on a 2000 x 1600 white canvas
    x, y, w, h = packshot.product_box
    wide = Image.new("RGB", (2000, 1600), (255, 255, 255))
    wide.paste(packshot.image.crop((x, y, x + w, y + h)), (1000 - w // 2, y))

    # when
    check = check_packshot(wide)

    # then
    assert check.square is False
    assert check.problems == ["The image is not square (2000 x 1600 px); use a 1:1 canvas."]


def test_small_product_fails_naming_the_fill(bottle):
    # when
    check = check_packshot(render_packshot(bottle, PackshotSpec(size=1600, fill=0.6)).image)

    # then
    assert abs(check.fill - 0.6) < 0.002
    assert check.problems == ["The product fills 60% of the image; aim for 80% to 90%."]


def test_blank_and_transparent_images_fail():
    # given a blank white canvas and a transparent one
    blank = Image.new("RGB", (1600, 1600), (255, 255, 255))
    clear = Image.new("RGBA", (1600, 1600), (0, 0, 0, 0))

    # when
    blank_check = check_packshot(blank)
    clear_check = check_packshot(clear)

    # then
    assert blank_check.problems == ["No product found: the image is blank white."]
    assert blank_check.fill == 0.0 and blank_check.product_box is None
    assert clear_check.transparent is True
    assert "The image has transparent pixels" in clear_check.problems[0]
