"""A plate behind text contrasts with its text: a text whose template colour is of the
plate's own colour family (the struck price in a pale brand tint on bold_sale's and
flash_deal's deep brand plate, a grey-green smudge on green) takes ink or paper on it,
as a filled button's label does; a smudge of one hue behind words of that hue no longer."""

from __future__ import annotations

import numpy as np
import pytest

from generation.config import GenerationConfig
from generation.engines.studio import StudioEngine
from generation.posters.contrast import same_family
from generation.posters.render import render_poster
from generation.posters.spec import PosterSpec
from generation.specs import SceneSpec
from generation.types import RenderedImage, Segmentation
from tests.synthetic import product_photo

WORDS = dict(
    headline="Stays cold for 24 hours", subline="Double-wall steel, 750 ml.", price="29.99",
    compare_at_price="45", currency="USD", locale="en_US", cta="Shop now",
)  # fmt: skip


@pytest.fixture(scope="module")
def seg() -> Segmentation:
    photo, mask = product_photo((480, 600), "plain")
    x0, y0, x1, y1 = mask.getbbox()
    return Segmentation(image=photo, matte=mask, box=(x0, y0, x1 - x0, y1 - y0), segmenter="exact")


def test_same_family_is_one_hue_of_some_chroma():
    brand = (47, 93, 80)
    assert same_family(brand, (213, 232, 226))  # its pale tint
    assert same_family((172, 190, 185), (24, 47, 40))  # a pastel tint and a deep shade
    assert not same_family(brand, (242, 178, 51))  # a gold
    assert not same_family(brand, (27, 27, 31))  # ink: a grey has no family
    assert not same_family((255, 255, 255), (250, 250, 248))


@pytest.fixture(scope="module")
def marble(seg) -> RenderedImage:
    return StudioEngine(GenerationConfig()).render(
        seg, SceneSpec(theme="marble_counter", width=1080, height=1080)
    )[0]


@pytest.mark.parametrize("template", ["bold_sale", "flash_deal"])
def test_no_text_on_a_plate_is_of_the_plates_colour_family(seg, marble, template):
    # given: a template whose prices get a deep brand plate over a light marble scene; its
    # struck price is a pale tint of the brand (bold_sale "brand+0.6", flash_deal "brand+0.5")
    poster = render_poster(seg, PosterSpec(template=template, size="feed", **WORDS), background=marble)
    pixels = np.asarray(poster.image.convert("RGB"))
    on_plates = [s for s in poster.layout["slots"] if s.get("kind") == "text" and s.get("fix") == "plate"]
    assert "compare_at" in [s["name"] for s in on_plates], poster.layout["fixes"]

    for slot in on_plates:
        # the plate as drawn: the pixels of its padding just left of the text's ink
        x, y, w, h = slot["ink"]
        plate = tuple(
            int(v) for v in np.median(pixels[y : y + h, max(x - 6, 0) : x - 2].reshape(-1, 3), axis=0)
        )
        color = tuple(int(slot["color"][i : i + 2], 16) for i in (1, 3, 5))
        # then: no text is a shade or tint of the plate's hue (the struck price was, a
        # grey-green smudge on a green plate), and each reads on it
        assert not same_family(color, plate), (slot["name"], slot["color"], plate)
        assert slot["contrast"] >= slot["required"]
