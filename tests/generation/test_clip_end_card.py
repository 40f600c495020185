"""The end card: by default the last seconds show the product, the price (and the price
before a discount) and the call to action; a request can turn it off."""

from __future__ import annotations

import numpy as np
import pytest

from generation.clips import ClipSpec, plan_clip, write_clip
from generation.errors import InvalidSpec
from generation.request import Capabilities, parse_request
from tests.generation.test_clips import _segmentation, small


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
