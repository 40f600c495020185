"""The podium under a product a poster placed stands whole inside the canvas: on a story
(9:16) canvas, under a tall product off the centre, it was wider than the room beside the
product and the canvas's edge cut its sides off."""

from __future__ import annotations

import pytest

from generation.sets.stage import stage_at_box

STORY = (1080, 1920)


@pytest.mark.parametrize("theme", ["podium", "gallery_plinth", "brand_color"])
@pytest.mark.parametrize("box", [(60, 400, 300, 800), (720, 400, 300, 800), (390, 150, 300, 1000)])
def test_a_podium_on_a_story_canvas_stays_inside_it(theme, box):
    # when: the set is stood under a product a story poster placed (left, right, centre)
    stage = stage_at_box(theme, box, STORY)

    # then: the podium's sides are inside the canvas with a margin, and it still holds the
    # product's foot on its top face
    pod = stage.podium
    assert pod is not None
    margin = 0.03 * STORY[0]  # stage.PODIUM_MARGIN
    assert pod.cx - pod.rx >= margin - 0.5 and pod.cx + pod.rx <= STORY[0] - margin + 0.5, (pod.cx, pod.rx)
    x, y, w, h = box
    assert pod.holds(x + w / 2.0, y + h)
    assert pod.rx >= 0.5 * w  # wider than the product's foot
    # and the floor is touched in front of the podium, behind the horizon
    assert stage.horizon < stage.contact == pytest.approx(pod.bottom + pod.ry)
