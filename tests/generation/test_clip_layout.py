"""Where a clip puts the product and its words: clear of the platform's UI at 9:16 (the
posters' safe zones, one definition), also from a finished scene that stood the product
low, the headline right over the product and the two centred together, on one line when it
is of a usual length, the product sized by the safe area whatever its shape, and an end
card whose title is large, fitted to its column."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from generation.clips import plan_clip
from generation.clips.checks import ink_box
from generation.clips.frames import Compositor
from generation.clips.layout import (
    MAX_PRODUCT_SHARE,
    SCENE_TEXT_SHARES,
    centred_columns,
    clip_layout,
    scene_text_height,
)
from generation.clips.motion import covers, world_scale
from generation.clips.overlay import HEADLINE_ONE_LINE, OverlayText, scene_sprites, title_size
from generation.config import GenerationConfig
from generation.engines.studio import StudioEngine
from generation.posters.checks import min_text_px
from generation.posters.sizes import resolve_size
from generation.safe_zones import safe_box
from generation.specs import SceneSpec
from generation.types import RenderedImage, Segmentation
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
            x, y, w, h = sprite.box  # a button (no ink box) moves as a whole
            box = ink_box(sprite, text.dy) if sprite.ink_box is not None else (x, round(y + text.dy), w, h)
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


@pytest.mark.parametrize(("preset", "size"), [("story", STORY), ("square", SQUARE), ("portrait", (540, 674))])
def test_the_end_card_title_is_large_fitted_to_its_column_and_passes_the_checks(mug, preset, size):
    # given a clip whose end card shows the headline as its title
    plan = plan_clip(mug, small(style="push_in", preset=preset, size=size, duration=6, **WORDS))
    title = plan.sprites["title"]
    compositor = Compositor(plan)

    # when the card's last frames are drawn (with their per-frame text checks)
    for index in range(plan.frame_count - 6, plan.frame_count):
        last = compositor.draw(index).image.copy()
    checks = compositor.checks.summary()

    # then the title is set as large as its column allows: its widest line fills the
    # column, or it takes its share of the card's height, or it is at its largest size
    # (at a poster headline's size "Good / morning mug" filled 0.75 of a story's column
    # and one line 0.76 of a square's, at 0.093 and 0.078 of the shorter side), its type
    # at least 0.095 of the frame's shorter side and its ink at least 0.09 of it tall
    _, column = centred_columns(plan.canvas, plan.meta["layout"]["clear"])
    tx, ty, tw, th = ink_box(title)
    assert title.rect is not None and title.rect[2] == pytest.approx(column)
    cap = 0.24 * plan.meta["layout"]["clear"][3]
    largest = title.size_px >= title_size(plan.canvas)[0] - 1
    assert tw >= 0.9 * column or title.rect[3] >= 0.9 * cap or largest, (tw, column, title.rect[3], cap)
    assert title.size_px >= 0.095 * min(plan.canvas), title.size_px
    assert th >= 0.09 * min(plan.canvas), th
    # and it is drawn in the frame as set: dark ink over the light card in its box
    ink = last[ty : ty + th, tx : tx + tw].astype(int).sum(axis=2) < 3 * 80
    assert ink.mean() > 0.15 and ink.any(axis=1).mean() > 0.5
    # on the card clear of the product and of the UI, and legible
    px, py, pw, ph = _product_box(plan, plan.frame_count - 1)
    assert ty + th < py
    assert _inside((tx, ty, tw, th), safe_box(plan.canvas, plan.spec.safe_insets))
    assert checks["texts"]["title"]["passed"] is True
    assert checks["texts"]["title"]["max_overlap_px"] == 0


@pytest.mark.parametrize("product", ["mug", "bottle"])
def test_a_story_end_card_shows_the_product_large_with_every_word_clear_of_it(mug, product):
    # given a story whose end card shows a title, a price, a struck compare-at price and a
    # button (a wide mug, and a tall bottle)
    from tests.generation.test_clips import _segmentation

    seg = mug if product == "mug" else _segmentation()
    plan = plan_clip(seg, small(style="push_in", size=STORY, duration=6, **WORDS))
    cw, ch = plan.canvas

    # when the card has settled
    px, py, pw, ph = _product_box(plan, plan.frame_count - 1)

    # then the product takes about a third of the frame's height (0.248 when the price
    # rows were a share of the height, stacked, and the product at most 0.64 of the width),
    # inside the safe area
    safe = safe_box(plan.canvas, plan.spec.safe_insets)
    assert ph >= 0.31 * ch, ph / ch
    assert _inside((px, py, pw, ph), safe)
    # and the struck price stands right of the price, on its row
    price, compare = ink_box(plan.sprites["price"]), ink_box(plan.sprites["compare_at"])
    assert compare[0] > price[0] + price[2]
    assert price[1] < compare[1] + compare[3] / 2 < price[1] + price[3]
    # and each word stands inside the safe area, clear of the product, the price's type
    # no larger than the title's
    for key in ("title", "price", "compare_at", "cta"):
        sprite = plan.sprites[key]
        x, y, w, h = sprite.box if key == "cta" else ink_box(sprite)  # the button: its pill
        assert _inside((x, y, w, h), safe), key
        assert y + h <= py or y >= py + ph, key
    assert plan.sprites["price"].size_px <= plan.sprites["title"].size_px


def test_a_long_end_card_title_keeps_to_its_share_of_the_card_and_the_product_its_room(mug):
    # given a story whose headline runs to the most the request takes (80 characters)
    headline = "Organic cotton tee for everyday wear, soft and breathable, in nine summer colors"
    assert len(headline) == 80
    short = plan_clip(mug, small(style="push_in", size=STORY, duration=6, **WORDS))
    plan = plan_clip(mug, small(style="push_in", size=STORY, duration=6, **{**WORDS, "headline": headline}))

    # when the card is laid out
    title = plan.sprites["title"]
    _, _, _, clear_h = plan.meta["layout"]["clear"]
    card = _product_box(plan, plan.frame_count - 1)

    # then the title takes at most its share of the clear area, in up to three lines, and
    # leaves the product at least the room a short title does
    assert title.rect is not None and title.rect[3] <= 0.24 * clear_h + 1
    assert ink_box(title)[3] <= 0.24 * clear_h + 1
    assert card[3] >= _product_box(short, short.frame_count - 1)[3] - 0.5


@pytest.fixture(scope="module")
def low_scene(mug) -> RenderedImage:
    # a 9:16 studio scene as the engine composes one: the product's foot low in the frame
    return StudioEngine(GenerationConfig()).render(
        mug, SceneSpec(theme="marble_counter", width=STORY[0], height=STORY[1], seed=1)
    )[0]


@pytest.mark.parametrize("style", ["push_in", "pan", "parallax"])
def test_a_clip_of_a_9_16_scene_with_its_product_low_keeps_it_and_every_word_out_of_the_ui(
    mug, low_scene, style
):
    # given a finished 9:16 scene whose product stands in the band a story's UI covers
    spec = small(style=style, size=STORY, duration=6, **WORDS)
    sx, sy, sw, sh = safe_box(STORY, spec.safe_insets)
    _, y, _, h = low_scene.product_box
    assert y + h > sy + sh

    # when a story clip is planned on it
    plan = plan_clip(mug, spec, scenes=[low_scene])
    world = plan.worlds[0]
    assert world.source == "scene" and world.meta["overscan"][3] > 0  # run on past its foot

    # then in every frame the product and each shown word are clear of the UI, and the
    # scene (run on past its edge) covers the whole frame: no edge shows
    outside = []
    for index in range(plan.frame_count):
        if not _inside(_product_box(plan, index), (sx, sy, sw, sh)):
            outside.append((index, "product"))
        state = plan.state(index)
        for text in state.texts:
            sprite = plan.sprites[text.key]
            x, y, w, h = sprite.box  # a button (no ink box) moves as a whole
            box = ink_box(sprite, text.dy) if sprite.ink_box is not None else (x, round(y + text.dy), w, h)
            if not _inside(box, (sx, sy, sw, sh)):
                outside.append((index, text.key))
        for layer in state.layers:
            if layer.world == 0:
                transforms = (
                    [layer.transform]
                    if layer.depth is None
                    else [
                        layer.depth.at_ratio(float(r)) for r in (world.depth_ratio[0], world.depth_ratio[-1])
                    ]
                )
                if not all(covers(t, world.size, plan.canvas, tol=0.5) for t in transforms):
                    outside.append((index, "edge"))
    assert outside == []


HEADLINES = [
    ("Stays cold for 24 hours", "en"),
    ("Double-wall steel bottle", "en"),
    ("一口爱上的清爽好水杯", "zh-Hans"),
]


def _headline(text: str, lang: str, canvas: tuple[int, int]):
    spec = small(size=canvas, headline=text)
    layout = clip_layout(
        canvas,
        spec.safe_insets,
        (400, 900),
        fill=spec.fill,
        text_height=scene_text_height(("headline",), canvas),
        zoom=world_scale(spec),
    )
    texts = OverlayText(headline=text, price=None, cta="", lang=lang, brand=None)
    (sprite,) = scene_sprites(
        texts, canvas, layout.rest_box, lambda rect: 200.0, include_price_cta=False, clear=layout.clear
    )
    return sprite


def _line_extents(sprite) -> list[int]:
    """The ink's width in the upper and the lower half of its box (px)."""
    x, y, w, h = sprite.ink_box
    alpha = sprite.pixels[y : y + h, x : x + w, 3] > 64
    return [int(np.ptp(np.nonzero(half.any(axis=0))[0]) + 1) for half in (alpha[: h // 2], alpha[h // 2 :])]


@pytest.mark.parametrize(("text", "lang"), HEADLINES)
def test_a_normal_headline_is_one_line_on_a_full_size_story(text, lang):
    # given a headline of a usual length and the narrow column a 9:16 safe area leaves
    canvas = (1080, 1920)

    # when it is set over the product
    sprite = _headline(text, lang, canvas)

    # then it is on one line, shrunk within the headline's sizes, well above legibility
    _, _, w, h = sprite.ink_box
    assert h <= 1.15 * sprite.size_px
    assert sprite.size_px >= math.ceil(HEADLINE_ONE_LINE * 0.45 * SCENE_TEXT_SHARES["headline"] * canvas[1])
    assert sprite.size_px >= 3 * min_text_px(resolve_size(canvas))
    assert w <= sprite.rect[2]


def test_a_long_headline_wraps_in_two_even_lines_on_a_full_size_story():
    # given a headline too long for one line at a headline's size
    text = "Double-wall insulated steel bottle that keeps drinks cold for a whole day"

    # when it is set over the product of a story
    sprite = _headline(text, "en", (1080, 1920))

    # then it takes two lines of about the same width, at a legible size
    _, _, _, h = sprite.ink_box
    assert 1.6 * sprite.size_px <= h <= 2.4 * sprite.size_px
    upper, lower = _line_extents(sprite)
    assert min(upper, lower) >= 0.8 * max(upper, lower)
    assert sprite.size_px >= min_text_px(resolve_size("story"))


PRODUCTS = {
    "wide box 2:1": (800, 400),
    "headphones 3:1": (900, 300),
    "square": (600, 600),
    "tall 1:2.5": (320, 800),
}
SHAPES = {"story": (1080, 1920), "square": (1080, 1080), "portrait": (1080, 1350), "landscape": (1920, 1080)}


@pytest.mark.parametrize("preset", list(SHAPES))
def test_a_wide_a_tall_and_a_square_product_read_at_every_clip_shape(preset):
    # given products of every shape and a clip of each preset's shape with a headline
    canvas = SHAPES[preset]
    spec = small(preset=preset, size=canvas, style="push_in", headline="Stays cold for 24 hours")
    zoom = world_scale(spec)
    text = scene_text_height(("headline",), canvas)
    _, _, sw, sh = safe_box(canvas, spec.safe_insets)
    for name, size in PRODUCTS.items():
        # when the clip's layout sizes and places it
        layout = clip_layout(canvas, spec.safe_insets, size, fill=spec.fill, text_height=text, zoom=zoom)
        x, y, w, h = layout.rest_box
        ax, ay, aw, ah = layout.clear
        tx, ty, _, th = layout.text
        where = f"{name} at {preset}"

        # then at its closest in the move it stays inside the clear area, under the text
        cx, cy = x + w / 2, y + h / 2
        closest = (cx - zoom * w / 2, cy - zoom * h / 2, zoom * w, zoom * h)
        assert _inside(closest, layout.clear), where
        assert closest[1] >= ty + th, where
        # and it is as large as the safe area asks (by area, fill squared of it), unless
        # it already spans the largest share of the clear width or the room under the text
        limited = w >= MAX_PRODUCT_SHARE * aw - 1 or closest[3] >= ay + ah - (ty + th) - 0.02 * canvas[1] - 1
        assert w * h >= 0.97 * spec.fill**2 * sw * sh or limited, where
        if w >= 2 * h:  # a wide product reads: at least two thirds of a 9:16 frame's width
            assert w >= (0.66 if preset == "story" else 0.5) * canvas[0], where
        assert w * h >= 0.1 * sw * sh, where


def _ui_bands(plan) -> dict[str, tuple[slice, slice]]:
    """The platforms' UI bands of a clip's canvas, as (rows, columns) slices."""
    insets = plan.spec.safe_insets
    cw, ch = plan.canvas
    return {
        "top": (slice(0, insets.top), slice(0, cw)),
        "bottom": (slice(ch - insets.bottom, ch), slice(0, cw)),
        "left": (slice(0, ch), slice(0, insets.left)),
        "right": (slice(0, ch), slice(cw - insets.right, cw)),
    }


@pytest.mark.parametrize("style", ["push_in", "parallax"])
def test_every_drawn_frame_of_a_story_leaves_the_platforms_ui_bands_to_the_set(mug, style):
    # given a drop-in story of a mug with every word, and a second compositor that draws
    # the same frames' set alone (no text, no product)
    plan = plan_clip(mug, small(style=style, size=STORY, duration=5, **WORDS))
    bands = _ui_bands(plan)
    drawn, bare = Compositor(plan), Compositor(plan)

    # when every frame is drawn and its UI bands compared with the set's
    covered = []
    for index in range(plan.frame_count):
        frame = drawn.draw(index).image
        background = bare.background(index)
        changed = (frame != background).any(axis=2)
        assert changed.any(), index  # the product at least is drawn over the set
        covered += [(index, name) for name, band in bands.items() if changed[band].any()]

    # then nothing (product, its soft edge, a word, its shadow or plate) is drawn there
    assert covered == []


FULL_STORY = (1080, 1920)


@pytest.fixture(scope="module")
def full_story(mug):
    """A full-size story push-in of the mug with every word (the shadows' reach is in px: at
    half size the column's clear margin held it, at full size it did not)."""
    return plan_clip(mug, small(style="push_in", size=FULL_STORY, duration=5, **WORDS))


def test_a_full_size_story_leaves_the_platforms_ui_bands_to_the_set_where_its_words_are_shown(full_story):
    # given a full-size story and a second compositor that draws its set alone
    plan = full_story
    bands = _ui_bands(plan)
    fps, timeline = plan.spec.fps, plan.timeline
    # the headline fully shown, the title half-way down its slide, the finished card
    frames = (
        math.ceil((timeline.text_enters("headline") + 0.5) * fps),
        round((timeline.text_enters("title") + 0.1) * fps),
        plan.frame_count - 1,
    )
    drawn, bare = Compositor(plan), Compositor(plan)

    # when those frames are drawn and their UI bands compared with the set's
    covered = {}
    for index in frames:
        changed = (drawn.draw(index).image != bare.background(index)).any(axis=2)
        hit = {name: int(changed[band].sum()) for name, band in bands.items() if changed[band].any()}
        if hit:
            covered[index] = hit

    # then no word, nor its soft shadow, is drawn there
    assert covered == {}


@pytest.mark.parametrize("size", [FULL_STORY, (1080, 1080)])
def test_the_end_card_title_comes_down_into_place_inside_the_safe_area(mug, full_story, size):
    # given a clip with an end card whose title is the headline
    plan = full_story if size == FULL_STORY else plan_clip(mug, small(preset="square", size=size, **WORDS))
    safe = safe_box(plan.canvas, plan.spec.safe_insets)
    sprite = plan.sprites["title"]
    slide = 0.025 * plan.canvas[1]  # the other texts' slide (presets.json text.slide)

    # when the title is followed from the moment it starts to show to the last frame
    enters = plan.timeline.text_enters("title")
    (start,) = [t.dy for t in plan.timeline.texts_at(enters + 1e-3) if t.key == "title"]
    moves = [t.dy for i in range(plan.frame_count) for t in plan.state(i).texts if t.key == "title"]
    moves = [start, *moves]

    # then it comes down (from above, away from the product) the others' whole slide
    assert start <= -0.95 * slide, start
    assert all(dy <= 0 for dy in moves) and moves[-1] == 0
    assert all(b >= a for a, b in zip(moves, moves[1:], strict=False))
    # and its sprite, shadow included, is inside the safe area all the way
    x, y, w, h = sprite.box
    assert all(_inside((x, y + dy, w, h), safe) for dy in moves)


@pytest.mark.parametrize("size", [FULL_STORY, (1080, 1080)])
def test_the_end_card_button_rises_into_place_the_whole_slide_inside_the_safe_area(mug, full_story, size):
    # given a clip with an end card whose button stands at the foot of its words
    plan = full_story if size == FULL_STORY else plan_clip(mug, small(preset="square", size=size, **WORDS))
    safe = safe_box(plan.canvas, plan.spec.safe_insets)
    sprite = plan.sprites["cta"]
    slide = 0.025 * plan.canvas[1]  # the texts' slide (presets.json text.slide)

    # when the button is followed from the moment it starts to show to the last frame
    enters = plan.timeline.text_enters("cta")
    (start,) = [t.dy for t in plan.timeline.texts_at(enters + 1e-3) if t.key == "cta"]
    moves = [t.dy for i in range(plan.frame_count) for t in plan.state(i).texts if t.key == "cta"]
    moves = [start, *moves]

    # then it rises (from below) the others' whole slide: on a story it stood at the foot
    # of the clear area, 16 px above the caption band, and rose 16 of its 48 px
    assert start >= 0.95 * slide, start
    assert all(dy >= 0 for dy in moves) and moves[-1] == 0
    assert all(b <= a for a, b in zip(moves, moves[1:], strict=False))
    # and its box is inside the safe area all the way
    x, y, w, h = sprite.box
    assert all(_inside((x, y + dy, w, h), safe) for dy in moves)


@pytest.mark.parametrize("size", [FULL_STORY, (1080, 1080), (1080, 1350)])
def test_the_end_card_button_is_sized_to_the_title_and_stands_clear_of_the_price(mug, full_story, size):
    # given a clip whose end card has a title, a price, a compare-at price and a CTA
    if size == FULL_STORY:
        plan = full_story
    else:
        plan = plan_clip(
            mug, small(preset="square" if size[0] == size[1] else "portrait", size=size, **WORDS)
        )
    title, price, cta = (plan.sprites[k] for k in ("title", "compare_at", "cta"))
    x, y, w, h = cta.box

    # then the button reads as a button beside the title: about as tall as the title's type
    # and at least four times as wide as it is tall
    assert h >= 0.8 * title.size_px, (h, title.size_px)
    assert w >= 4 * h - 1, (w, h)
    # inside the safe area and below the (compare-at) price with a gap
    assert _inside(cta.box, safe_box(plan.canvas, plan.spec.safe_insets))
    px, py, pw, ph = ink_box(price)
    assert y - (py + ph) >= 0.01 * plan.canvas[1], (y, py + ph)


def test_a_landscape_clips_scene_text_is_as_legible_as_a_poster_that_wide_asks():
    # given a full-size 16:9 clip's headline, price and CTA over a tall product
    canvas = (1920, 1080)
    spec = small(preset="landscape", size=canvas, headline="Glazed vase", price="59", cta="Shop now")
    keys = ("headline", "price", "cta")
    layout = clip_layout(
        canvas,
        spec.safe_insets,
        (400, 900),
        fill=spec.fill,
        text_height=scene_text_height(keys, canvas),
        zoom=world_scale(spec),
    )
    texts = OverlayText(headline="Glazed vase", price="$59", cta="Shop now", lang="en", brand=None)

    # when they are set beside the product's path
    sprites = scene_sprites(
        texts, canvas, layout.rest_box, lambda rect: 200.0, include_price_cta=True, clear=layout.clear
    )

    # then all three are shown, the headline and the price well above the smallest text a
    # poster as wide may carry (29 px: the headline was 53 px, 1.8 times it, a story's 5.9
    # times), and the button's label (light ink on the dark pill) no smaller than it (24 px)
    least = min_text_px(resolve_size(canvas))
    assert least == 29
    by_key = {s.key: s for s in sprites}
    assert set(by_key) == set(keys)
    assert by_key["headline"].size_px >= 2.3 * least
    assert by_key["price"].size_px >= 2.3 * least
    pill = by_key["cta"].pixels
    label_rows = np.nonzero(((pill[..., :3].min(axis=2) > 200) & (pill[..., 3] > 200)).any(axis=1))[0]
    assert label_rows.size and label_rows[-1] - label_rows[0] + 1 >= least
    # and the product still stands below them, clear of the UI
    assert layout.text is not None and layout.text[1] + layout.text[3] <= layout.rest_box[1]
