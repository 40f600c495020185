"""Posters read at the size they are seen at: a link ad shrunk to a phone's width sets
its type larger than its shorter side alone would, and a story as wide as a portrait
post shows a wide product at least as large."""

from __future__ import annotations

import math

import pytest
from PIL import Image, ImageDraw

from generation.posters.checks import min_text_px
from generation.posters.render import render_poster
from generation.posters.sizes import resolve_size
from generation.posters.spec import PosterSpec
from generation.posters.template import get_template
from generation.types import Segmentation
from tests.generation.test_posters import WORDS, _seg


def _wide_box() -> Segmentation:
    """A product twice as wide as it is tall (a speaker, a wide box), with its exact mask."""
    image = Image.new("RGB", (520, 300), (236, 236, 236))
    mask = Image.new("L", image.size, 0)
    ImageDraw.Draw(image).rounded_rectangle((10, 50, 509, 299 - 1), 24, fill=(40, 60, 90))
    ImageDraw.Draw(mask).rounded_rectangle((10, 50, 509, 299 - 1), 24, fill=255)
    x0, y0, x1, y1 = mask.getbbox()
    return Segmentation(image=image, matte=mask, box=(x0, y0, x1 - x0, y1 - y0), segmenter="exact")


def test_a_link_ad_sets_its_type_for_a_phone_s_width():
    # given hero_left's link ad (1200 x 628, seen at 390 CSS px) with short words
    spec = PosterSpec(template="hero_left", size="link", **WORDS["short-en"])
    # when rendered
    poster = render_poster(_seg(), spec)
    # then the headline is well over what the 628 px shorter side alone would set
    # (92 px x 1.05 x 628 / 1080 = 56 px, as it was)
    sizes = {s["name"]: s["font"]["size"] for s in poster.layout["slots"] if "font" in s}
    variant = get_template("hero_left").variant_for("landscape")
    by_shorter_side = get_template("hero_left").text["headline"].size * variant.type_scale * 628 / 1080
    assert sizes["headline"] >= 1.3 * by_shorter_side, sizes
    # and it passed its checks, every text at the link's 18 px minimum or more (its
    # eyebrow was 13 px)
    assert poster.checks.ok, poster.checks.problems
    assert min(sizes.values()) >= min_text_px(resolve_size("link")) == 18, sizes


def test_a_wide_product_on_a_story_is_as_large_as_on_the_portrait_post():
    # given a 2:1 product on bold_sale's portrait post (1080 x 1350) and story (1080 x 1920)
    seg = _wide_box()
    widths, badges = {}, {}
    for size in ("portrait", "story"):
        # when rendered
        poster = render_poster(seg, PosterSpec(template="bold_sale", size=size, **WORDS["short-en"]))
        assert poster.checks.ok, (size, poster.checks.problems)
        widths[size] = poster.layout["product_box"][2]
        badges[size] = next(s["box"] for s in poster.layout["slots"] if s["name"] == "badge")
    # then the story, as wide and taller, shows it at least as wide (it was 763 px
    # against 826: the region's side inset came on top of the story's UI zones; then
    # 729: the badge found no place on the corner of a box as wide as the content)
    assert widths["story"] >= widths["portrait"], widths
    # and its discount badge still sits on its corner: over the box's top right, inside
    # the story's safe area, within one badge size of the corner
    badge, box = badges["story"], poster.layout["product_box"]
    x, y, w, h = badge
    px, py, pw, _ = box
    assert y + h <= py and x + w <= px + pw, (badge, box)
    assert math.dist((x + w / 2, y + h / 2), (px + pw, py)) <= w, (badge, box)


def _headline(poster) -> dict:
    return next(s["font"] for s in poster.layout["slots"] if s["name"] == "headline")


@pytest.mark.parametrize("words", ["short-en", "short-zh"])
def test_bold_sales_story_sets_a_wide_products_headline_near_the_portrait_posts(words):
    # given a 2:1 box on bold_sale's portrait post and story, where the story's words
    # took the room at both top corners and the badge claimed the box's top right
    seg = _wide_box()
    sizes, badges = {}, {}
    for size in ("portrait", "story"):
        # when rendered
        poster = render_poster(seg, PosterSpec(template="bold_sale", size=size, **WORDS[words]))
        assert poster.checks.ok, (size, poster.checks.problems)
        sizes[size] = _headline(poster)["size"]
        badges[size] = next(s["box"] for s in poster.layout["slots"] if s["name"] == "badge")
    # then the story's headline is at least 0.9 of the portrait's (it was 105 px against
    # 126, 110 against 131 in Chinese: set beside the whole badge, where the portrait
    # post's stands beside one at 0.74 of its size, 176 px)
    assert sizes["story"] >= 0.9 * sizes["portrait"], sizes
    # and the story's badge is no smaller than the portrait post's
    assert badges["story"][2] >= badges["portrait"][2], badges


@pytest.mark.parametrize(
    ("template", "words"),
    [("flash_deal", "short-zh"), ("flash_deal", "short-en"), ("marketplace_clean", "short-zh")],
)
def test_a_story_sets_a_wide_products_headline_as_large_as_the_portrait_post(template, words):
    # given a 2:1 product with short words, on the portrait post and on the story
    seg = _wide_box()
    sizes = {}
    for size in ("portrait", "story"):
        # when rendered
        poster = render_poster(seg, PosterSpec(template=template, size=size, **WORDS[words]))
        assert poster.checks.ok, (size, poster.checks.problems)
        sizes[size] = _headline(poster)["size"]
    # then the story, as wide and taller, sets the headline no smaller (flash_deal: 80 and
    # 76 px against 92, the headline held by half the height the box left spare in its
    # region; marketplace_clean: 48 against 80, the story 44 % empty in bands each under
    # the empty-band limit, so its type was never made larger)
    assert sizes["story"] >= sizes["portrait"], sizes


def test_a_long_chinese_story_keeps_the_merchants_phrases_whole_on_split_panel():
    # given split_panel's story with the long Chinese words, phrases set apart by spaces
    words = WORDS["long-zh"]
    # when rendered
    poster = render_poster(_seg(), PosterSpec(template="split_panel", size="story", **words))
    # then the headline breaks only between the phrases (it was 41 px cutting
    # "二十四小时长效保冷 / 保热" beside a larger bottle, the long-text arrangement's 47 px
    # with every phrase whole refused for the product it cost)
    assert poster.checks.ok, poster.checks.problems
    head = _headline(poster)
    assert " ".join(head["lines"]) == words["headline"], head["lines"]
    assert head["size"] >= 41, head
    # and the subline is no longer squeezed onto one line at the template's minimum (21 px)
    sub = next(s["font"] for s in poster.layout["slots"] if s["name"] == "subline")
    assert sub["size"] > 21 and len(sub["lines"]) >= 2, sub
