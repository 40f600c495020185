"""What the clip renderer reuses between frames gives what fresh work would: the colour
conversion's buffers, the product's scratch images, the text checks that skip a frame
whose pixels behind the text did not change."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
from PIL import Image

from generation.clips import checks as clip_checks
from generation.clips import encode as enc
from generation.clips.checks import FrameTextChecks
from generation.clips.motion import Similarity
from generation.clips.overlay import Sprite
from generation.clips.product import (
    ProductLayer,
    Scratch,
    make_master,
    measure_product,
    opaque_interior,
    paste_product,
    reference_product,
)
from generation.clips.spec import get_preset
from generation.posters.checks import contrast_ratio, luminance


def smooth_frame(seed: int, size: tuple[int, int] = (96, 64)) -> np.ndarray:
    """An RGBA frame (alpha 255) of soft colour blobs."""
    rng = np.random.default_rng(seed)
    w, h = size
    rgb = cv2.resize(rng.integers(0, 256, (h // 8, w // 8, 3), dtype=np.uint8), (w, h))
    return np.dstack([rgb, np.full((h, w), 255, np.uint8)])


def test_one_converter_gives_each_frame_what_a_fresh_conversion_gives():
    converter = enc.YUV420Converter(96, 64)
    for seed in (1, 2, 3):
        frame = smooth_frame(seed)
        got = [np.empty((64, 96), np.uint8), np.empty((32, 48), np.uint8), np.empty((32, 48), np.uint8)]
        want = [np.empty_like(p) for p in got]
        converter.convert(frame, *got)
        enc.rgb_to_yuv420(frame, *want)
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(g, w)
    # a region of even sides at even coordinates: the whole frame's bytes there
    frame = smooth_frame(4)
    whole = [np.empty_like(p) for p in got]
    converter.convert(frame, *whole)
    y, u, v = np.zeros((64, 96), np.uint8), np.zeros((32, 48), np.uint8), np.zeros((32, 48), np.uint8)
    converter.convert(frame[10:40, 24:62], y[10:40, 24:62], u[5:20, 12:31], v[5:20, 12:31])
    np.testing.assert_array_equal(y[10:40, 24:62], whole[0][10:40, 24:62])
    np.testing.assert_array_equal(u[5:20, 12:31], whole[1][5:20, 12:31])
    np.testing.assert_array_equal(v[5:20, 12:31], whole[2][5:20, 12:31])
    # a frame larger than the converter's, or an odd region, is refused, not cropped
    for size in ((128, 64), (33, 20)):
        try:
            converter.convert(smooth_frame(1, size), *got)
        except ValueError as exc:
            assert f"{size[0]}x{size[1]}" in str(exc)
        else:
            raise AssertionError(f"a {size[0]}x{size[1]} frame went through a 96x64 converter")


def test_frames_given_as_planes_encode_to_the_same_video_as_frames_given_as_rgba(tmp_path):
    # lossless (qp 0): x264's frame threads may decide differently from one run to the
    # next, so a lossy encode of the same frames is not always the same bytes; a lossless
    # one decodes to exactly the planes each was given
    lossy = enc.h264_settings(get_preset("story"), 30)
    kept = {k: v for k, v in lossy.options.items() if k not in ("crf", "profile", "maxrate", "bufsize")}
    settings = dataclasses.replace(lossy, options={**kept, "qp": "0"})
    frames = [smooth_frame(seed) for seed in range(6)]
    with enc.VideoEncoder(tmp_path / "rgba.mp4", settings, (96, 64), 30) as encoder:
        for frame in frames:
            encoder.write(frame)
    with enc.VideoEncoder(tmp_path / "planes.mp4", settings, (96, 64), 30) as encoder:
        for frame in frames:
            planes = (
                np.empty((64, 96), np.uint8),
                np.empty((32, 48), np.uint8),
                np.empty((32, 48), np.uint8),
            )
            enc.rgb_to_yuv420(frame, *planes)
            encoder.write_yuv420(*planes)
    a = list(enc.decode_frames(tmp_path / "rgba.mp4"))
    b = list(enc.decode_frames(tmp_path / "planes.mp4"))
    assert len(a) == len(b) == 6
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_product_scratch_reused_across_sizes_pastes_and_measures_as_fresh_work():
    rng = np.random.default_rng(4)
    scratch = Scratch()
    for h, w in ((30, 20), (50, 40), (12, 9)):  # grows, then a smaller view of the same
        alpha = rng.choice(np.array([0, 90, 200, 255], np.uint8), size=(h, w))
        rgb = rng.integers(0, 256, (h, w, 3)).astype(np.uint16)
        pixels = np.dstack([(rgb * alpha[..., None] // 255).astype(np.uint8), alpha])
        layer = ProductLayer(origin=(3, 4), pixels=pixels)
        frame = smooth_frame(h, (64, 64))
        fresh, reused = frame.copy(), frame.copy()
        paste_product(fresh, layer)
        mask = paste_product(reused, layer, scratch)
        np.testing.assert_array_equal(fresh, reused)
        assert mask is not None and int(np.count_nonzero(mask)) == int(np.count_nonzero(alpha == 255))
        assert measure_product(reused, layer, mask, scratch) == (0, int(np.count_nonzero(alpha == 255)))
        # one product pixel off by 3 in green is seen, with the mask at hand or without
        ys, xs = np.nonzero(alpha == 255)
        g = int(reused[4 + ys[0], 3 + xs[0], 1])
        reused[4 + ys[0], 3 + xs[0], 1] = g + 3 if g < 250 else g - 3
        assert measure_product(reused, layer, mask, scratch)[0] == 3
        assert measure_product(reused, layer)[0] == 3


def sprite() -> Sprite:
    return Sprite(
        key="headline",
        pixels=np.zeros((40, 120, 4), np.uint8),
        origin=(10, 20),
        ink=(255, 255, 255),
        size_px=24,
        ink_box=(4, 4, 110, 30),
    )


def test_text_contrast_is_measured_again_only_when_the_pixels_behind_it_change(monkeypatch):
    measured: list[tuple[int, int]] = []
    real = clip_checks.background_range

    def counting(patch, box, tile=None):
        measured.append(patch.shape[:2])
        return real(patch, box, tile)

    monkeypatch.setattr(clip_checks, "background_range", counting)
    checks = FrameTextChecks((160, 120))
    light = np.full((120, 160, 4), 255, np.uint8)
    light[..., :3] = 200
    lighter = light.copy()
    lighter[30:40, 20:80, :3] = 250  # behind the text, lighter: white ink reads worse

    checks.contrast(0, light, sprite(), 1.0, 0.0)
    checks.contrast(1, light.copy(), sprite(), 1.0, 0.0)  # same pixels: compared, not measured
    checks.contrast(2, light, sprite(), 1.0, 1.0)  # the text slid a pixel: another place
    checks.contrast(3, lighter, sprite(), 1.0, 0.0)  # other pixels behind it
    checks.contrast(4, lighter, sprite(), 1.0, 0.0)

    assert len(measured) == 3
    record = checks.summary()["texts"]["headline"]
    assert record["worst_frame"] == 3
    # the lightest tile behind the type decides: white ink over grey 250
    white_on_250 = contrast_ratio(luminance((255, 255, 255)), luminance((250, 250, 250)))
    assert record["min_contrast"] == round(white_on_250, 2)


def test_the_light_sweeps_band_is_the_formulas_bytes():
    # the band is worked out in place, a channel at a time; it must be the bytes of the
    # plain float32 expression (a soft diagonal stripe of tinted light, no alpha)
    import math
    from types import SimpleNamespace

    from generation.clips.frames import Compositor
    from generation.clips.spec import presets_data

    cfg = presets_data()["sweep"]
    for cw, ch in ((270, 480), (1080, 1920), (1080, 1080)):
        band = Compositor(SimpleNamespace(canvas=(cw, ch))).band()  # type: ignore[arg-type]
        sigma = float(cfg["width"]) * cw
        lean = math.tan(math.radians(float(cfg["angle_deg"]))) * ch
        bw = int(math.ceil(6 * sigma + lean)) + 2
        xs = np.arange(bw, dtype=np.float32)[None, :] + 0.5
        centre = (bw / 2 + lean * ((np.arange(ch, dtype=np.float32) + 0.5) / ch - 0.5))[:, None]
        light = np.exp(-0.5 * ((xs - centre) / sigma) ** 2) * float(cfg["peak"])
        tint = np.array([*cfg["tint"], 0.0], dtype=np.float32)
        want = np.clip(light[..., None] * tint + 0.5, 0, 255).astype(np.uint8)
        np.testing.assert_array_equal(band, want)
        assert band[..., :3].max() >= 40 and band[..., 3].max() == 0


def bottle_alpha() -> np.ndarray:
    """A bottle's matte (H, W uint8): a body, a narrower neck, soft all round."""
    alpha = np.zeros((300, 160), np.uint8)
    alpha[110:290, 20:140] = 255  # body
    alpha[30:110, 60:100] = 255  # neck
    return cv2.GaussianBlur(alpha, (0, 0), 1.5)


def test_the_masters_opaque_interior_is_its_largest_all_opaque_box_of_tiles():
    alpha = bottle_alpha()
    x0, y0, x1, y1 = box = opaque_interior(alpha)
    assert (alpha[y0:y1, x0:x1] == 255).all()
    # the body, give or take a tile at its soft edge; not the neck
    assert 24 <= x0 <= 32 and 112 <= y0 <= 120 and 128 <= x1 <= 136 and 280 <= y1 <= 288, box
    assert opaque_interior(np.full((20, 20), 254, np.uint8)) is None


@pytest.mark.parametrize("soft", [False, True])
def test_a_product_pasted_round_its_opaque_interior_is_the_bytes_of_one_blended_whole(soft):
    # given a product whose master has an opaque interior, at scales and sub-pixel shifts
    rng = np.random.default_rng(5)
    rgb = rng.integers(0, 256, (300, 160, 3), dtype=np.uint8)
    master = make_master(Image.fromarray(np.dstack([rgb, bottle_alpha()]), "RGBA"), 160)
    assert master.interior is not None
    for k in range(12):
        s = 1.0 - 0.07 * k / 11
        layer = reference_product(master, Similarity(s, 3.0 + 0.37 * k, 5.0 + 0.61 * k), (200, 340))
        # then the interior the layer claims is opaque through
        assert layer.interior is not None
        x0, y0, x1, y1 = layer.interior
        assert (layer.pixels[y0:y1, x0:x1, 3] == 255).all() and (x1 - x0) * (y1 - y0) > 9000
        # and pasting round it gives the bytes of blending the whole box (a layer that
        # claims no interior), on an RGBA and an RGB frame alike
        if soft:  # a wrong claim (a soft pixel inside) is found out, not trusted
            pixels = layer.pixels.copy()
            pixels[y0 + 3, x0 + 3] = (60, 60, 60, 128)
            layer = ProductLayer(layer.origin, pixels, layer.interior)
        whole = ProductLayer(layer.origin, layer.pixels)
        for channels in (4, 3):
            frame = smooth_frame(k, (200, 340))[..., :channels].copy()
            got, want = frame.copy(), frame.copy()
            mask = paste_product(got, layer, Scratch())
            paste_product(want, whole)
            np.testing.assert_array_equal(got, want)
            assert measure_product(got, layer, mask) == (
                0,
                int(np.count_nonzero(layer.pixels[..., 3] == 255)),
            )


def test_product_check_finds_one_byte_off_in_any_channel_of_an_rgba_frame():
    # given a product pasted into an RGBA frame (rows longer than the layer's)
    rng = np.random.default_rng(7)
    alpha = rng.choice(np.array([0, 128, 255], np.uint8), size=(24, 18))
    rgb = rng.integers(0, 256, (24, 18, 3)).astype(np.uint16)
    layer = ProductLayer(
        origin=(5, 6), pixels=np.dstack([(rgb * alpha[..., None] // 255).astype(np.uint8), alpha])
    )
    frame = smooth_frame(24, (60, 50))
    mask = paste_product(frame, layer)
    opaque = int(np.count_nonzero(alpha == 255))
    assert measure_product(frame, layer, mask) == (0, opaque)
    ys, xs = np.nonzero(alpha == 255)
    for channel in range(4):
        # when one byte of one opaque pixel is off by 2
        off = frame.copy()
        y, x = 6 + ys[channel], 5 + xs[channel]
        off[y, x, channel] = int(off[y, x, channel]) + (2 if off[y, x, channel] < 250 else -2)
        # then the check says by how much, with the mask at hand or without
        assert measure_product(off, layer, mask) == (2, opaque)
        assert measure_product(off, layer) == (2, opaque)
    # and a byte off where the product is soft or transparent is not its concern
    soft = frame.copy()
    ty, tx = np.nonzero(alpha != 255)
    soft[6 + ty[0], 5 + tx[0], 0] ^= 1
    assert measure_product(soft, layer, mask) == (0, opaque)


def test_an_effect_trimmed_to_the_ratios_that_change_a_byte_draws_as_the_whole_effect():
    from generation.clips.frames import _apply_effect, _effect_box, _EffectWork
    from generation.clips.worlds import Effect, _effect4

    # given a shadow's ratio (a dark blob) in light that differs from 1 by less than a
    # level all round it, as a set's shadow and reflection leave it
    rng = np.random.default_rng(5)
    ratio = rng.uniform(0.9982, 1.0018, (300, 200, 3)).astype(np.float32)
    yy, xx = np.mgrid[:300, :200]
    ratio *= (1 - 0.6 * np.exp(-(((xx - 90) / 25.0) ** 2 + ((yy - 180) / 15.0) ** 2)))[..., None].astype(
        np.float32
    )
    whole = Effect(ratio=np.concatenate([ratio, np.ones((300, 200, 1), np.float32)], axis=2), origin=(40, 30))
    trimmed = _effect4(Effect(ratio=ratio, origin=(40, 30)))
    assert trimmed is not None
    # when both are drawn over every byte value, placed as the camera places them
    plate = np.dstack(
        [np.tile(np.arange(256, dtype=np.uint8), (400, 2))[:, :320]] * 3
        + [np.full((400, 320), 255, np.uint8)]
    )
    work = _EffectWork((320, 400))
    for transform, most in ((Similarity(1.0, 3.0, -2.0), 0), (Similarity(0.93, 7.3, 4.6), 1)):
        want, got = plate.copy(), plate.copy()
        _apply_effect(want, whole, transform, work, 0.7)
        _apply_effect(got, trimmed, transform, work, 0.7)
        # then the trimmed one covers less and draws the same bytes (at a whole-pixel
        # shift; within a level where its placement's arithmetic rounds apart)
        assert int(np.abs(got.astype(int) - want).max()) <= most
        assert (want != plate).any() and (got[..., 3] == 255).all() and (want[..., 3] == 255).all()
        box, full = _effect_box(trimmed, transform, (320, 400)), _effect_box(whole, transform, (320, 400))
        assert box is not None and full is not None
        assert (box[2] - box[0]) * (box[3] - box[1]) < 0.5 * (full[2] - full[0]) * (full[3] - full[1])


def test_the_legibility_pass_reads_the_worlds_behind_its_texts_in_place(monkeypatch):
    from generation.clips import ClipSpec, plan_clip
    from generation.clips.frames import Compositor
    from tests.synthetic import jpeg_segmentation

    seen: list[tuple[int, bool, np.ndarray, np.ndarray]] = []
    real = Compositor.background

    def background(self: Compositor, index: int, **kwargs: bool) -> np.ndarray:
        got = real(self, index, **kwargs)
        seen.append((index, kwargs.get("copy", True), got, self.frame))
        # checked here: the view is good until the compositor's next frame
        np.testing.assert_array_equal(got, real(Compositor(self.plan), index))
        return got

    monkeypatch.setattr(Compositor, "background", background)
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
    plan = plan_clip(jpeg_segmentation((640, 800), soften=1.2), spec)
    views = [(got, frame) for _, copy, got, frame in seen if not copy]
    # the legibility pass samples every 5th frame: none copied out of the compositor's
    # RGBA buffer whole; the placement of scene text copies one frame per shot
    assert len(views) > 5 and all(np.shares_memory(got, frame) for got, frame in views)
    assert len(seen) - len(views) <= len(plan.timeline.shots)
