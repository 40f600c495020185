"""A sequence's crossfade dissolves one set into the next with the product locked in
place, and never shows two sets' props at once: the outgoing set's props fade out over
the first half, the incoming set's in over the second (a plain dissolve showed both, each
half seen, where they stood apart)."""

from __future__ import annotations

import copy
import dataclasses
import math

import numpy as np
import pytest

from generation.clips import plan_clip
from generation.clips.frames import Compositor
from tests.generation.test_clips import small


@pytest.fixture(scope="module")
def crossfade(bottle_module):
    return plan_clip(
        bottle_module, small(style="sequence", transition="crossfade", themes=("marble_counter", "podium"))
    )


@pytest.fixture(scope="module")
def bottle_module():
    from tests.generation.test_clips import _segmentation

    return _segmentation()


def _transition(plan) -> list[int]:
    tl, fps = plan.timeline, plan.spec.fps
    b, ts = tl.boundaries[0], tl.transition_s
    return list(range(math.floor((b - ts / 2) * fps), math.ceil((b + ts / 2) * fps) + 1))


def test_a_crossfade_never_shows_both_sets_props(crossfade):
    # given a crossfade from the marble counter (a cylinder and a leaf) to the podium set
    # (a ball), each set's props kept apart from it
    plan = crossfade
    assert all(w.bare is not None and w.props for w in plan.worlds[:2])
    # when each frame of the transition is looked at: how much of each set's props it shows
    both = []
    for index in _transition(plan):
        layers = plan.state(index).layers
        if len(layers) < 2:
            continue
        under, over = layers
        shown = ((1.0 - over.opacity) * under.props, over.opacity * over.props)
        both.append(min(shown))
    # then the sets dissolve over the whole transition, but their props never show together
    assert len(both) >= 10 and max(both) == 0.0


def test_at_a_crossfades_midpoint_no_prop_of_either_set_shows(crossfade):
    # given the frame halfway through the crossfade, and the same frame with neither set's
    # props at all
    plan = crossfade
    frames = _transition(plan)
    middle = frames[len(frames) // 2]
    bare = copy.copy(plan)
    bare.worlds = [dataclasses.replace(w, props=()) for w in plan.worlds[:2]] + plan.worlds[2:]
    # when both are drawn
    shot = Compositor(plan).draw(middle)
    without = Compositor(bare).draw(middle)
    # then they are the same: the sets dissolve with no trace of a prop, round the product
    # whose pixels are its own
    assert np.array_equal(shot.image, without.image)
    assert shot.max_abs_diff == 0
