"""A product standing in a clip made from a finished scene is grounded as on a poster or
the end card: the fill that takes the product out of the picture took the darkest line
of its contact shadow with it, and the product floated over a pale rim."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest
from PIL import Image

from generation.clips import plan_clip
from generation.clips.frames import Compositor
from generation.config import GenerationConfig
from generation.engines.studio import StudioEngine
from generation.specs import SceneSpec
from generation.types import RenderedImage, Segmentation
from tests.generation.test_clips import small
from tests.generation.test_poster_grounding import LUMA, _darkness, under_foot
from tests.photoset import make_case

STORY = (270, 480)


def _dark_bottle_seg() -> Segmentation:
    case = make_case("dark_on_dark")
    alpha = Image.fromarray(np.rint(case.alpha * 255).astype(np.uint8), "L")
    x0, y0, x1, y1 = alpha.getbbox()
    return Segmentation(image=case.photo, matte=alpha, box=(x0, y0, x1 - x0, y1 - y0), segmenter="exact")


@pytest.fixture(scope="module")
def dark_bottle() -> Segmentation:
    return _dark_bottle_seg()


@pytest.fixture(scope="module")
def marble_scene(dark_bottle) -> RenderedImage:
    return StudioEngine(GenerationConfig()).render(
        dark_bottle, SceneSpec(theme="marble_counter", width=STORY[0], height=STORY[1], seed=1)
    )[0]


def _foot(dark_bottle, scene: RenderedImage):
    # a push-in on the scene, its frame once the product has landed, and the same frame
    # without the product's shadows
    plan = plan_clip(dark_bottle, small(style="push_in", size=STORY), scenes=[scene])
    world = plan.worlds[0]
    assert world.source == "scene"
    bare_plan = copy.copy(plan)
    bare_plan.worlds = [dataclasses.replace(world, effect=None, dressed=world.plate), *plan.worlds[1:]]
    index = round(plan.timeline.reveal_end * plan.spec.fps) + 6
    frame = Compositor(plan).draw(index)
    bare = Compositor(bare_plan).draw(index).image
    alpha = np.zeros(plan.canvas[::-1], np.uint8)
    (ox, oy), (ph, pw) = frame.product.origin, frame.product.pixels.shape[:2]
    alpha[oy : oy + ph, ox : ox + pw] = frame.product.pixels[..., 3]
    return frame, bare, alpha


def _rim(image: np.ndarray, alpha: np.ndarray, rows: tuple[float, float]) -> float:
    """Mean luma in the band ``under_foot(alpha, rows)``."""
    return float((image[under_foot(alpha, rows)].astype(np.float64) @ LUMA).mean())


def test_a_dark_bottle_in_a_marble_scene_clip_stands_on_its_contact_shadow(dark_bottle, marble_scene):
    # when a clip is made of a studio scene of a dark bottle on the marble counter
    frame, bare, alpha = _foot(dark_bottle, marble_scene)
    # then just under its foot the set is much darker than without its shadows (as on a
    # poster and the end card: > 0.24), and than the marble a little further down (the
    # fill had left a pale rim there: 0.78 of the marble's luma at 6-10 % below)
    near = _darkness(frame.image, bare, alpha, (0.0, 0.015))
    assert near > 0.24, near
    assert _rim(frame.image, alpha, (0.0, 0.015)) < 0.7 * _rim(frame.image, alpha, (0.06, 0.10))
    # and the product's pixels are its own
    assert frame.max_abs_diff == 0


def test_a_scene_whose_set_cannot_be_built_again_is_grounded_as_on_a_poster(dark_bottle, marble_scene):
    # given the same picture from an engine that records no set (as the diffusion engine's)
    meta = {k: v for k, v in marble_scene.meta.items() if k not in ("layout", "theme", "seed", "variant")}
    scene = dataclasses.replace(marble_scene, meta={**meta, "engine": "diffusion"})
    # when a clip is made of it
    frame, bare, alpha = _foot(dark_bottle, scene)
    # then its foot stands on a contact shadow and occlusion that move with it
    near = _darkness(frame.image, bare, alpha, (0.0, 0.015))
    assert near > 0.24, near
    assert _rim(frame.image, alpha, (0.0, 0.015)) < 0.7 * _rim(frame.image, alpha, (0.06, 0.10))
    assert frame.max_abs_diff == 0


def test_a_dropping_product_casts_a_soft_faint_shadow_that_sharpens_as_it_lands(dark_bottle):
    # given a story clip of the dark bottle dropping onto the marble counter, and the same
    # clip without the product's shadows
    plan = plan_clip(dark_bottle, small(style="push_in", reveal="drop_in"))
    first = plan.worlds[0]
    bare_plan = copy.copy(plan)
    bare_plan.worlds = [dataclasses.replace(first, effect=None, dressed=first.plate), *plan.worlds[1:]]
    shot, bare = Compositor(plan), Compositor(bare_plan)
    tl, fps = plan.timeline, plan.spec.fps
    rx, ry, rw, rh = tl.rest_box

    def shade(index: int) -> np.ndarray:
        # how much darker its shadows make the set round where its foot lands
        camera = tl.product_at(tl.reveal_end)
        x, y = camera.point(rx + rw / 2, ry + rh)
        w, h = camera.scale * rw, camera.scale * rh
        band = (
            slice(round(y - 0.03 * h), round(y + 0.06 * h)),
            slice(round(x - 0.5 * w), round(x + 0.5 * w)),
        )
        lit = bare.draw(index).image[band].astype(np.float64) @ LUMA
        return 1.0 - (shot.draw(index).image[band].astype(np.float64) @ LUMA) / lit

    def edge(d: np.ndarray) -> float:
        return float(max(np.abs(np.diff(d, axis=0)).max(), np.abs(np.diff(d, axis=1)).max()))

    # when the first frame (the product at its highest) is compared with one after it landed
    landed = shade(round(tl.reveal_end * fps) + 3)
    high = shade(0)
    assert tl.height_at(0.0) > 0.05 * rh * tl.product_at(0.0).scale
    # then its shadow is there but faint (0.40 of the landed one's darkest before) and soft:
    # no contact line's edge under a product in the air (0.22 of the landed edge's step)
    assert 0.1 < high.max() / landed.max() < 0.3
    assert edge(high) < 0.1 * edge(landed)
    # and the product's pixels are its own
    assert shot.draw(0).max_abs_diff == 0
