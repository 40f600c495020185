"""Where a clip puts the product and its words: clear of the platform's UI at 9:16 (the
posters' safe zones, one definition), the headline right over the product and the two
centred together, and an end card whose title is set at the posters' headline size."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from generation.clips import plan_clip
from generation.clips.checks import ink_box
from generation.clips.frames import Compositor
from generation.clips.overlay import title_size
from generation.posters.sizes import resolve_size
from generation.safe_zones import safe_box
from generation.types import Segmentation
from tests.generation.test_clips import small
from tests.photoset import make_case

STORY = (540, 960)  # a story at half size: the zones scale with it
SQUARE = (540, 540)
WORDS = {"headline": "Good morning mug", "price": "24.90", "compare_at": "29.90", "cta": "Shop now"}


@pytest.fixture(scope="module")
def mug() -> Segmentation:
    case = make_case("mug_with_handle")
    alpha = Image.fromarray(np.rint(case.alpha * 255).astype(np.uint8), "L")
    x0, y0, x1, y1 = alpha.getbbox()
    return Segmentation(image=case.photo, matte=alpha, box=(x0, y0, x1 - x0, y1 - y0), segmenter="exact")


def _inside(box, area) -> bool:
    x, y, w, h = box
    ax, ay, aw, ah = area
    return x >= ax - 0.5 and y >= ay - 0.5 and x + w <= ax + aw + 0.5 and y + h <= ay + ah + 0.5


def _product_box(plan, index: int):
    return plan.product_transform(index).box((0.0, 0.0, *map(float, plan.master.size)))


def test_clips_and_posters_keep_the_same_story_safe_zone():
    # given a story clip and a story poster
    spec = small(preset="story", size=(1080, 1920))

    # then both keep clear what the platform's UI covers, from one definition
    assert spec.safe_insets == resolve_size("story").safe_zone
    assert spec.safe_insets.to_dict() == {"top": 220, "right": 120, "bottom": 380, "left": 60}
    assert small(preset="square", size=(1080, 1080)).safe_insets.to_dict() == dict.fromkeys(
        ("top", "right", "bottom", "left"), 0
    )


@pytest.mark.parametrize("style", ["push_in", "pull_out", "pan", "parallax", "sequence"])
def test_a_story_keeps_the_product_and_every_word_out_of_the_platforms_ui_in_every_frame(mug, style):
    # given a 9:16 story of a mug with a headline, a price, a compare-at price and a CTA
    themes = ("marble_counter", "podium") if style == "sequence" else ("marble_counter",)
    plan = plan_clip(mug, small(style=style, size=STORY, duration=6, themes=themes, **WORDS))
    safe = safe_box(plan.canvas, plan.spec.safe_insets)
    assert plan.meta["end_card"] and {"headline", "title", "price", "compare_at", "cta"} <= set(plan.sprites)

    # when the product's box and each shown word's box are followed through every frame
    outside = []
    for index in range(plan.frame_count):
        if not _inside(_product_box(plan, index), safe):
            outside.append((index, "product"))
        for text in plan.state(index).texts:
            sprite = plan.sprites[text.key]
            box = ink_box(sprite, text.dy) if sprite.ink_box is not None else sprite.box
            if not _inside(box, safe):
                outside.append((index, text.key))

    # then none of them is ever under the UI (top bar, caption and buttons, like column)
    assert outside == []


@pytest.mark.parametrize("size", [STORY, SQUARE])
def test_the_headline_sits_right_over_the_product_and_the_two_are_centred_together(mug, size):
    # given a push-in of a mug with a headline and no end card (the headline stays on)
    plan = plan_clip(
        mug, small(style="push_in", size=size, duration=6, headline=WORDS["headline"], end_card=False)
    )
    ch = plan.canvas[1]
    cx, cy, cw_, chh = plan.meta["layout"]["clear"]
    headline = ink_box(plan.sprites["headline"])

    for index in (round(plan.timeline.reveal_end * plan.spec.fps), plan.frame_count - 1):
        # when the product's box is measured once it has landed, and at the end of the move
        x, y, w, h = _product_box(plan, index)

        # then the headline is just above it (no empty wall between them), never over it,
        assert 0 <= y - (headline[1] + headline[3]) <= 0.06 * ch, index
        # and the two together sit in the middle of the clear area, not sunk to its foot
        middle = (headline[1] + y + h) / 2
        assert abs(middle - (cy + chh / 2)) <= 0.05 * ch, index
        assert y + h <= cy + chh + 0.5


@pytest.mark.parametrize("size", [STORY, SQUARE])
def test_the_end_card_title_is_set_at_the_posters_headline_size_and_passes_the_checks(mug, size):
    # given a clip whose end card shows the headline as its title
    plan = plan_clip(mug, small(style="push_in", size=size, duration=6, **WORDS))
    title = plan.sprites["title"]
    compositor = Compositor(plan)

    # when the card's last frames are drawn (with their per-frame text checks)
    for index in range(plan.frame_count - 6, plan.frame_count):
        compositor.draw(index)
    checks = compositor.checks.summary()

    # then the title is as large as a poster's headline at this size, on the card clear
    # of the product and of the UI, and legible
    assert title.size_px >= title_size(plan.canvas)[0] - 1
    px, py, pw, ph = _product_box(plan, plan.frame_count - 1)
    tx, ty, tw, th = ink_box(title)
    assert ty + th < py
    assert _inside((tx, ty, tw, th), safe_box(plan.canvas, plan.spec.safe_insets))
    assert checks["texts"]["title"]["passed"] is True
    assert checks["texts"]["title"]["max_overlap_px"] == 0
