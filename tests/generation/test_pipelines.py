"""run_outputs: one segmentation feeding every kind of output, posters on the scene it made."""

from __future__ import annotations

import json

import av
import pytest

from generation.clips.spec import ClipSpec
from generation.errors import InvalidSpec
from generation.pipelines import OutputRequest, run_outputs
from generation.posters.spec import PosterSpec
from generation.specs import SceneSpec
from tests.synthetic import product_photo


def test_every_output_kind_from_one_segmentation(tmp_path):
    photo, _ = product_photo((480, 600), "plain")
    seen = []

    result = run_outputs(
        photo,
        [
            OutputRequest("cutout"),
            OutputRequest("scene", scene=SceneSpec(theme="podium", count=1, width=512, height=512)),
            OutputRequest(
                "poster",
                posters=(
                    PosterSpec(template="hero_left", size="feed", headline="Fresh", background="scene"),
                    PosterSpec(template="hero_left", size="feed", headline="Clean", background="scene"),
                    PosterSpec(
                        template="centered_stack",
                        size=(800, 800),
                        headline="新品",
                        price="99",
                        currency="CNY",
                        locale="zh_CN",
                    ),
                ),
            ),
            OutputRequest(
                "clip", clip=ClipSpec(preset="story", duration=5, style="push_in", size=(270, 480))
            ),
        ],
        segmenter="classical",
        workdir=tmp_path,
        progress=lambda f, m: seen.append(f),
    )

    names = [im.name for im in result.images]
    assert names[:2] == ["cutout", "scene-podium-01"]
    assert names[2:] == [
        "poster-hero_left-feed",
        "poster-hero_left-feed-02",
        "poster-centered_stack-marketplace",
    ]
    assert all(im.meta["segmenter"] == "classical" for im in result.images)
    posters = [im for im in result.images if im.kind == "poster"]
    assert all(p.fidelity.identical and p.meta["checks"]["ok"] for p in posters)
    assert json.loads(result.layouts["poster-hero_left-feed-02"])["template"]["id"] == "hero_left"
    [clip] = result.clips
    assert clip.path.parent == tmp_path and clip.fidelity.identical
    with av.open(str(clip.path)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.width, stream.height) == ("h264", 270, 480)
    assert seen == sorted(seen) and seen[-1] == 1.0


def test_progress_messages_are_words_a_merchant_reads_not_ids():
    photo, _ = product_photo((480, 600), "plain")
    messages: list[str] = []

    run_outputs(
        photo,
        [OutputRequest("scene", scene=SceneSpec(theme="marble_counter", count=2, width=256, height=256))],
        segmenter="classical",
        progress=lambda f, m: messages.append(m),
    )

    assert "Product found" in messages and "Painting 2 scenes" in messages
    assert not [m for m in messages if "classical" in m or "marble_counter" in m]


def test_poster_on_a_scene_needs_a_scene_and_clips_need_a_folder():
    photo, _ = product_photo((320, 400), "plain")
    with pytest.raises(InvalidSpec, match="needs a scene output"):
        run_outputs(
            photo, [OutputRequest("poster", posters=(PosterSpec(background="scene"),))], segmenter="classical"
        )
    with pytest.raises(InvalidSpec, match="working folder"):
        run_outputs(photo, [OutputRequest("clip")], segmenter="classical")
    with pytest.raises(InvalidSpec, match="at least one poster"):
        OutputRequest("poster")


def test_a_poster_that_cannot_be_made_is_reported_and_the_rest_of_the_set_is_made():
    # given a poster set whose second poster names a template that does not exist
    photo, _ = product_photo((320, 400), "plain")
    specs = (
        PosterSpec(template="hero_left", size="feed", headline="Fresh"),
        PosterSpec(template="no_such_template", size="story", headline="Fresh"),
        PosterSpec(template="centered_stack", size="link", headline="Fresh"),
    )
    # when the set is made
    result = run_outputs(photo, [OutputRequest("poster", posters=specs)], segmenter="classical")
    # then the other two posters are made and checked, and the third is reported by name
    assert [im.name for im in result.images] == ["poster-hero_left-feed", "poster-centered_stack-link"]
    assert sorted(result.layouts) == ["poster-centered_stack-link", "poster-hero_left-feed"]
    assert all(im.meta["checks"]["ok"] for im in result.images)
    assert len(result.failed) == 1
    assert result.failed[0].startswith(
        "poster-no_such_template-story: unknown poster template 'no_such_template'"
    )


def test_a_poster_set_where_no_poster_can_be_made_fails_with_the_reason():
    photo, _ = product_photo((320, 400), "plain")
    specs = (PosterSpec(template="no_such_template", size="feed", headline="Fresh"),)
    with pytest.raises(InvalidSpec, match="unknown poster template 'no_such_template'"):
        run_outputs(photo, [OutputRequest("poster", posters=specs)], segmenter="classical")


def test_each_output_is_handed_over_as_soon_as_it_is_made():
    # given a cutout and a poster set whose second poster cannot be made
    photo, _ = product_photo((320, 400), "plain")
    specs = (
        PosterSpec(template="hero_left", size="feed", headline="Fresh"),
        PosterSpec(template="no_such_template", size="story", headline="Fresh"),
        PosterSpec(template="centered_stack", size="link", headline="Fresh"),
    )
    handed: list[tuple[list[str], list[str], list[str]]] = []
    progress: list[str] = []

    def on_output(part):
        handed.append(
            ([im.name for im in part.images], sorted(part.layouts), [m.name for m in part.not_made])
        )
        progress.append(f"handed {len(handed)}")

    # when they are made with on_output
    result = run_outputs(
        photo,
        [OutputRequest("cutout"), OutputRequest("poster", posters=specs)],
        segmenter="classical",
        progress=lambda fraction, message: progress.append(message),
        on_output=on_output,
    )

    # then each one came on its own, in order, with its layout, the impossible one by name
    assert handed == [
        (["cutout"], [], []),
        (["poster-hero_left-feed"], ["poster-hero_left-feed"], []),
        ([], [], ["poster-no_such_template-story"]),
        (["poster-centered_stack-link"], ["poster-centered_stack-link"], []),
    ]
    # and each before the next one was started
    assert progress.index("handed 2") < progress.index("Laying out poster 2 of 3")
    assert progress.index("handed 3") < progress.index("Laying out poster 3 of 3")
    missing = result.not_made[0]
    assert (missing.kind, missing.meta) == ("poster", {"template": "no_such_template", "size": "story"})
    assert str(missing) == result.failed[0]
    # and the whole result is as before
    assert [im.name for im in result.images] == [
        "cutout",
        "poster-hero_left-feed",
        "poster-centered_stack-link",
    ]


def test_a_sets_scenes_are_handed_over_one_by_one():
    # given: a set of two studio scenes
    photo, _ = product_photo((320, 400), "plain")
    events: list[str] = []

    def on_output(part):
        events.append("handed " + ",".join(im.name for im in part.images))

    # when: they are made with on_output
    result = run_outputs(
        photo,
        [OutputRequest("scene", scene=SceneSpec(theme="podium", count=2, width=256, height=256))],
        segmenter="classical",
        progress=lambda fraction, message: events.append(message),
        on_output=on_output,
    )

    # then: each came on its own, the first before the second was started
    handed = [e for e in events if e.startswith("handed")]
    assert handed == ["handed scene-podium-01", "handed scene-podium-02"], events
    second = next(i for i, e in enumerate(events) if e.startswith("Scene 2 of 2"))
    assert events.index("handed scene-podium-01") < second, events
    assert [im.name for im in result.images] == ["scene-podium-01", "scene-podium-02"]
