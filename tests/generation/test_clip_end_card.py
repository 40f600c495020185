"""The end card: by default the last seconds show the product, the price (and the price
before a discount) and the call to action; a request can turn it off."""

from __future__ import annotations

import copy
import dataclasses
import math

import numpy as np
import pytest
from PIL import Image

from generation.clips import ClipSpec, plan_clip, write_clip
from generation.clips.frames import Compositor
from generation.errors import InvalidSpec
from generation.request import Capabilities, parse_request
from generation.types import Segmentation
from tests.generation.test_clips import _segmentation, small
from tests.generation.test_poster_grounding import _darkness
from tests.photoset import make_case


@pytest.fixture(scope="module")
def bottle():
    return _segmentation()


def _last_frame(seg, spec, tmp_path, name):
    plan = plan_clip(seg, spec)
    kept = {}

    def hook(frame):
        if frame.index == plan.frame_count - 1:
            kept["last"] = frame.image.copy()

    result = write_clip(plan, tmp_path / f"{name}.mp4", frame_hook=hook)
    return plan, result, kept["last"]


def test_a_single_scene_clip_ends_on_a_card_with_price_compare_at_and_cta_unless_turned_off(bottle, tmp_path):
    # given a push-in with a discounted price and a CTA, once by default and once without the card
    words = {"style": "push_in", "price": "19.90", "compare_at": "24.90", "cta": "Shop now", "poster": False}
    with_card, result, last = _last_frame(bottle, small(**words), tmp_path, "card")
    without, result_off, last_off = _last_frame(bottle, small(**words, end_card=False), tmp_path, "plain")

    # then the card is on by default, with the struck-through compare-at price
    assert with_card.meta["end_card"] is True and without.meta["end_card"] is False
    assert {"price", "compare_at", "cta"} <= set(with_card.sprites)
    assert "compare_at" not in without.sprites
    assert result.meta["text"]["compare_at"] == "24.90"
    # the last frame shows the card's CTA: the dark button where the sprite is, absent without the card
    shown = {t.key: t.opacity for t in with_card.state(with_card.frame_count - 1).texts}
    assert shown["cta"] == 1.0 and shown["price"] == 1.0 and shown["compare_at"] == 1.0
    x, y, w, h = with_card.sprites["cta"].box
    button = last[y : y + h, x : x + w].astype(int)
    plain = last_off[y : y + h, x : x + w].astype(int)
    dark = (button.max(axis=-1) < 60).mean()
    assert dark > 0.3, dark
    assert np.abs(button - plain).mean() > 40
    # and the product is still its reference resampling in every frame
    assert result.fidelity.max_abs_diff == 0 and result.fidelity.identical
    assert result_off.fidelity.max_abs_diff == 0
    assert result.meta["text_checks"]["passed"] is True


def test_a_compare_at_not_above_the_price_shows_no_discount(bottle):
    plan = plan_clip(bottle, small(style="push_in", price="19.90", compare_at="19.90", cta="Buy"))
    assert plan.meta["end_card"] is True and "compare_at" not in plan.sprites


def test_a_compare_at_price_needs_a_price():
    with pytest.raises(InvalidSpec, match="compare-at price needs a price"):
        ClipSpec(compare_at="9")


def test_the_request_carries_the_compare_at_price_and_the_end_card_switch():
    caps = Capabilities.everything()
    clip = {"price": "9.90", "compare_at_price": "12", "cta": "Buy", "end_card": False}
    request = parse_request({"outputs": ["clip"], "clip": clip}, capabilities=caps, budget=10**12)
    spec = request.clip_spec()
    assert spec.compare_at == "12" and spec.end_card is False and spec.discounted
    default = parse_request(
        {"outputs": ["clip"], "clip": {"price": "9.90"}}, capabilities=caps, budget=10**12
    ).clip_spec()
    assert default.end_card is None and default.wants_end_card()


@pytest.mark.parametrize("style", ["parallax", "push_in"])
def test_the_product_s_shadow_fades_from_its_set_as_it_lifts_off_for_the_end_card(bottle, style):
    # given a story clip on the podium set with an end card, and the same clip without the
    # product's shadow on its set
    spec = small(style=style, size=(540, 960), duration=8, themes=("podium",), end_card=True)
    plan = plan_clip(bottle, spec)
    unshadowed = copy.copy(plan)
    first = plan.worlds[0]
    unshadowed.worlds = [dataclasses.replace(first, effect=None, dressed=first.plate), *plan.worlds[1:]]
    shadowed, without = Compositor(plan), Compositor(unshadowed)
    tl, fps = plan.timeline, plan.spec.fps
    rx, ry, rw, rh = tl.rest_box
    stood = tl.product_at(tl.move_start)
    fx, fy = stood.point(rx + rw / 2, ry + rh)
    w, h = stood.scale * rw, stood.scale * rh
    around = (
        slice(round(fy - 0.05 * h), round(fy + 0.05 * h)),
        slice(round(fx - 0.6 * w), round(fx + 0.6 * w)),
    )

    # when the set round where the product stood is compared, outside the product's own
    # pixels, from the frame before it leaves until the end card has faded in
    darkest, lifts = [], []
    for i in range(math.floor(tl.move_start * fps), math.ceil((tl.fade_start + tl.fade_s) * fps) + 1):
        frame = shadowed.draw(i)
        covered = np.zeros(plan.canvas[::-1], dtype=bool)
        (ox, oy), (ph, pw) = frame.product.origin, frame.product.pixels.shape[:2]
        covered[oy : oy + ph, ox : ox + pw] = frame.product.pixels[..., 3] > 0
        shade = without.background(i).astype(int) - frame.image.astype(int)
        darkest.append(int(shade[around][~covered[around]].max()))
        x, y = tl.product_at(i / fps).point(rx + rw / 2, ry + rh)
        lifts.append(math.hypot(x - fx, y - fy) / h)

    # then the shadow is there, darkest, while the product stands, fades as its foot
    # rises, and is gone from the set once the foot has left by 3 % of its height (it
    # stayed on the set, 17 levels deep in parallax and more in a push-in, until the
    # card's fade hid it)
    assert lifts[0] < 1e-4 and darkest[0] >= 40
    assert all(b <= a + 1 for a, b in zip(darkest, darkest[1:], strict=False))
    gone = [d for d, lift in zip(darkest, lifts, strict=True) if lift > 0.03]
    assert gone and max(gone) <= 1


def test_a_standing_product_is_grounded_on_the_end_card_as_on_a_poster(bottle):
    # given: a story clip of the standing bottle ending on its card, and the same clip
    # without the product's shadows on the card
    plan = plan_clip(bottle, small(style="push_in", size=(540, 960), price="19.90", cta="Shop now"))
    card = plan.worlds[-1]
    assert card.source == "end_card"
    bare_plan = copy.copy(plan)
    bare_plan.worlds = [*plan.worlds[:-1], dataclasses.replace(card, effect=None, dressed=card.plate)]
    # when: the last frame is drawn with and without them
    last = plan.frame_count - 1
    frame = Compositor(plan).draw(last)
    bare = Compositor(bare_plan).draw(last).image
    alpha = np.zeros(plan.canvas[::-1], np.uint8)
    (ox, oy), (ph, pw) = frame.product.origin, frame.product.pixels.shape[:2]
    alpha[oy : oy + ph, ox : ox + pw] = frame.product.pixels[..., 3]
    # then: just under its foot the card is much darker, as on a poster (the soft disc it
    # stood on took 0.09 of the light there; the grounding shadow 0.31), and tight: a
    # little further down (4-7 % of its height) at most a quarter as dark
    near = _darkness(frame.image, bare, alpha, (0.0, 0.015))
    assert near > 0.24, near
    assert _darkness(frame.image, bare, alpha, (0.04, 0.07)) < 0.25 * near
    # and the product's pixels are its own, with the shadow or without it
    assert frame.max_abs_diff == 0
    inside = alpha == 255
    assert np.array_equal(frame.image[inside], bare[inside])


def test_a_landscape_end_card_leaves_room_round_a_tall_product_beside_its_price_and_cta():
    # given a 16:9 clip of a tall vase ending on its card, with a title, prices and a CTA
    case = make_case("glossy_vase")
    alpha = Image.fromarray(np.rint(case.alpha * 255).astype(np.uint8), "L")
    x0, y0, x1, y1 = alpha.getbbox()
    vase = Segmentation(image=case.photo, matte=alpha, box=(x0, y0, x1 - x0, y1 - y0), segmenter="exact")
    words = {"headline": "Glazed vase", "price": "59.00", "compare_at": "79.00", "cta": "Shop now"}
    plan = plan_clip(vase, small(preset="landscape", size=(480, 270), **words))
    cw, ch = plan.canvas
    # when the product settles on the card, through the card's slow zoom to the last frame
    settled = math.ceil((plan.timeline.move_start + plan.timeline.move_s) * plan.spec.fps)
    boxes = [
        plan.product_transform(i).box((0.0, 0.0, *map(float, plan.master.size)))
        for i in range(settled, plan.frame_count)
    ]
    # then it is never more than 0.7 of the frame's height (it took 0.93, its foot and
    # shadow against the frame's edge), nor small (over half of it), with room above and below
    assert all(0.5 * ch < h <= 0.7 * ch for _, _, _, h in boxes), [round(b[3] / ch, 3) for b in boxes]
    assert all(y >= 0.1 * ch and y + h <= 0.9 * ch for _, y, _, h in boxes)
    # and the price, compare-at price and CTA stand whole in the frame, right of the product
    right = max(x + w for x, _, w, _ in boxes)
    for key in ("price", "compare_at", "cta"):
        x, y, w, h = plan.sprites[key].box
        assert right <= x and x + w <= cw and 0 <= y and y + h <= ch, key
