"""The poster text checks run on every frame of a clip and are stored with it."""

from __future__ import annotations

import json

import numpy as np

from generation.clips import plan_clip, write_clip
from generation.clips.layout import PRODUCT_GAP
from generation.posters.checks import required_ratio
from tests.generation.test_clips import SMALL, _segmentation, small


def test_story_price_never_sits_under_the_product_in_any_frame(tmp_path):
    # given a story push-in with a headline, a price and a CTA over the scene
    seg = _segmentation()
    spec = small(style="push_in", headline="Fresh hand wash", price="24.90", cta="Shop now", poster=False)
    plan = plan_clip(seg, spec)
    hits: list[tuple[int, str, int]] = []

    def hook(frame):  # the product's matte in the frame against each shown text's box
        x, y, w, h = frame.product.box
        alpha = np.zeros(frame.image.shape[:2], dtype=bool)
        alpha[y : y + h, x : x + w] = frame.product.pixels[..., 3] > 0
        for text in plan.state(frame.index).texts:
            sprite = plan.sprites.get(text.key)
            if sprite is None:
                continue
            sx, sy, sw, sh = sprite.box
            sy = round(sy + text.dy)
            n = int(alpha[max(sy, 0) : sy + sh, max(sx, 0) : sx + sw].sum())
            if n:
                hits.append((frame.index, text.key, n))

    # when
    result = write_clip(plan, tmp_path / "story.mp4", frame_hook=hook)

    # then the price is on screen and no frame has product pixels over any text
    assert "price" in plan.sprites
    assert hits == []
    checks = result.meta["text_checks"]
    assert checks["frames_checked"] == plan.frame_count
    assert checks["max_overlap_px"] == 0 and checks["texts"]["price"]["max_overlap_px"] == 0
    assert checks["texts"]["price"]["frames_visible"] > 0


def test_white_headline_across_a_dark_and_a_light_scene_is_backed_to_pass_in_every_frame(tmp_path):
    # given a sequence from a dark set into a light one: white type chosen for the dark one
    seg = _segmentation()
    spec = small(
        style="sequence", themes=("dark_luxury", "pastel_gradient"), headline="Fresh hand wash", duration=6
    )
    plan = plan_clip(seg, spec)

    # when
    result = write_clip(plan, tmp_path / "seq.mp4", sidecar=True)

    # then the headline got a backing plate and its contrast passes the poster threshold
    headline = plan.sprites["headline"]
    assert headline.backing is not None
    assert any(f.startswith("headline: plate") for f in plan.meta["text_fixes"])
    checks = result.meta["text_checks"]["texts"]["headline"]
    need = required_ratio(headline.size_px, headline.weight, min(SMALL))
    assert checks["required"] == need
    assert checks["min_contrast"] >= need and checks["passed"]
    # and the summary is in the sidecar the service stores with the asset
    stored = json.loads((tmp_path / "seq.json").read_text())
    assert stored["text_checks"]["passed"] is True
    assert stored["text_checks"]["frames_checked"] == plan.frame_count


def test_without_the_plate_the_same_headline_fails_the_check(tmp_path):
    # given the same sequence with the headline's fix undone (the plain white type)
    from generation.clips.overlay import INK_LIGHT, _sprite

    seg = _segmentation()
    spec = small(
        style="sequence", themes=("dark_luxury", "pastel_gradient"), headline="Fresh hand wash", duration=6
    )
    plan = plan_clip(seg, spec)
    fixed = plan.sprites["headline"]
    plan.sprites["headline"] = _sprite(
        "headline", _texts(spec), fixed.rect, plan.canvas, lambda r: 0.0, ink=INK_LIGHT
    )

    # when
    result = write_clip(plan, tmp_path / "seq.mp4")

    # then the per-frame check reports it below the threshold
    checks = result.meta["text_checks"]
    assert checks["passed"] is False
    assert checks["texts"]["headline"]["min_contrast"] < checks["texts"]["headline"]["required"]


def _texts(spec):
    from generation.clips.overlay import OverlayText

    return OverlayText(headline=spec.headline, price=None, cta="", lang="en-US", brand=None)


def test_a_headline_backed_for_contrast_keeps_its_plate_clear_of_the_product(tmp_path):
    # given a story sequence from a dark set into a light one ending on a card: the
    # headline just over the product needs a backing plate to read on both
    seg = _segmentation()
    spec = small(
        style="sequence",
        themes=("seasonal", "gallery_plinth"),
        transition="cut",
        headline="Weekend sale",
        price="39.00",
        cta="Shop",
        poster=False,
    )
    plan = plan_clip(seg, spec)
    headline = plan.sprites["headline"]
    assert headline.backing is not None

    # when the plate's foot is compared with the top of the product in every frame it shows
    top = int(np.nonzero(plan.master.rgba[..., 3].any(axis=1))[0][0])
    gaps = []
    for index in range(plan.frame_count):
        shown = {t.key: t for t in plan.state(index).texts}.get("headline")
        if shown is None or shown.opacity <= 0:
            continue
        product = plan.product_transform(index)
        foot = headline.origin[1] + round(shown.dy) + headline.pixels.shape[0]
        gaps.append(product.scale * top + product.ty - foot)
    result = write_clip(plan, tmp_path / "seq.mp4")

    # then the plate keeps the scene text's gap from the product (PRODUCT_GAP of the frame's
    # height) in every one: it was set round type placed that far from the product and
    # reached down to it (0.6 px from it here, 1 px into it at 540x960, the handle of a
    # bag tucked under it at 1080x1920), and the clip's checks find no product over it
    assert gaps and min(gaps) >= PRODUCT_GAP * plan.canvas[1] - 1, min(gaps)
    checks = result.meta["text_checks"]["texts"]["headline"]
    assert checks["max_overlap_px"] == 0 and checks["passed"]
