"""The typed job request: each hostile or broken payload of issue 9 refused with the path of
the field at fault, the data files as enumerations, the cost budget, the install's
capabilities, and accepted requests turned into the renderers' specs."""

from __future__ import annotations

import json
import math
from decimal import Decimal

import pytest

from generation.config import GenerationConfig
from generation.errors import InvalidSpec
from generation.pipelines import run_outputs
from generation.posters.sizes import list_sizes
from generation.posters.template import list_templates
from generation.request import (
    REQUEST_VERSION,
    STILL_WEIGHT,
    Capabilities,
    InvalidRequest,
    JobRequest,
    budget_from,
    field_path,
    installed_capabilities,
    parse_request,
)
from generation.sets import list_themes
from tests.synthetic import product_photo

BUDGET = budget_from(GenerationConfig())
BASIC = Capabilities()


def parse(data, *, capabilities=BASIC, budget=BUDGET) -> JobRequest:
    return parse_request(data, capabilities=capabilities, budget=budget)


def refused(data, **kwargs) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        parse(data, **kwargs)
    assert caught.value.code == "invalid_request"
    return caught.value


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"outputs": ["poster"], "poster": [1]}, "poster"),
        ({"outputs": ["clip"], "clip": "x"}, "clip"),
        ({"outputs": ["poster"], "brand": [1]}, "brand"),
        ({"outputs": ["packshot"], "packshot": {"shadow": "no"}}, "packshot.shadow"),
        ({"outputs": ["packshot"], "packshot": {"shadow": 0}}, "packshot.shadow"),
        ({"outputs": ["packshot"], "packshot": {"size": 2000.0}}, "packshot.size"),
        ({"outputs": ["packshot"], "packshot": {"size": "2000"}}, "packshot.size"),
        ({"outputs": ["packshot"], "packshot": {"size": True}}, "packshot.size"),
        ({"outputs": ["packshot"], "packshot": {"fill": math.nan}}, "packshot.fill"),
        ({"outputs": ["packshot"], "packshot": {"fill": math.inf}}, "packshot.fill"),
        ({"outputs": ["scene"], "scene": {"count": 2.5}}, "scene.count"),
        ({"outputs": ["scene"], "scene": {"count": 17}}, "scene.count"),
        ({"outputs": ["scene"], "scene": {"width": 1600.0}}, "scene.width"),
        ({"outputs": ["scene"], "scene": {"theme": "fancy"}}, "scene.theme"),
        ({"outputs": ["scene"], "scene": {"seed": -1}}, "scene.seed"),
        ({"outputs": ["scene"], "scene": {"brand_color": [1, 2]}}, "scene.brand_color"),
        ({"outputs": ["scene"], "scene": {"brand_color": [1, 2, 300]}}, "scene.brand_color[2]"),
        ({"outputs": ["scene"], "scene": {"prompt": "x" * 5_000_000}}, "scene.prompt"),
        ({"outputs": ["poster"], "poster": {"sizes": [[1080, -1]]}}, "poster.sizes[0]"),
        ({"outputs": ["poster"], "poster": {"sizes": ["feed", -5]}}, "poster.sizes[1]"),
        ({"outputs": ["poster"], "poster": {"sizes": ["huge"]}}, "poster.sizes[0]"),
        ({"outputs": ["poster"], "poster": {"sizes": ["9000x100"]}}, "poster.sizes[0]"),
        ({"outputs": ["poster"], "poster": {"sizes": "feed"}}, "poster.sizes"),
        ({"outputs": ["poster"], "poster": {"templates": ["fancy"]}}, "poster.templates[0]"),
        ({"outputs": ["poster"], "poster": {"theme": "fancy"}}, "poster.theme"),
        ({"outputs": ["poster"], "poster": {"headlines": ["x" * 161]}}, "poster.headlines[0]"),
        ({"outputs": ["poster"], "poster": {"price": "abc"}}, "poster.price"),
        ({"outputs": ["poster"], "poster": {"price": math.nan}}, "poster.price"),
        ({"outputs": ["poster"], "poster": {"compare_at_price": "9"}}, "poster.compare_at_price"),
        ({"outputs": ["poster"], "poster": {"background": "scene"}}, "poster.background"),
        ({"outputs": ["clip"], "clip": {"themes": ["fancy"]}}, "clip.themes[0]"),
        ({"outputs": ["clip"], "clip": {"themes": ["podium", "concrete"]}}, "clip.themes"),
        ({"outputs": ["clip"], "clip": {"size": [541, 960]}}, "clip.size[0]"),
        ({"outputs": ["clip"], "clip": {"duration": 60}}, "clip.duration"),
        ({"outputs": ["clip"], "clip": {"preset": "imax"}}, "clip.preset"),
        ({"outputs": ["clip"], "clip": {"compare_at_price": "9"}}, "clip.compare_at_price"),
        ({"outputs": ["clip"], "clip": {"price": "9", "compare_at_price": "x"}}, "clip.compare_at_price"),
        ({"outputs": ["clip"], "clip": {"end_card": "sometimes"}}, "clip.end_card"),
        ({"outputs": ["clip"], "clip": {"reveal": "spin"}}, "clip.reveal"),
        ({"outputs": ["packshot"], "junk": "y" * 9_000_000}, "junk"),
        ({"outputs": ["poster"], "brand": {"logo_key": "merchants/1/logo.png"}}, "brand.logo_key"),
        ({"outputs": ["poster"], "brand": {"primary": "red"}}, "brand.primary"),
        ({"outputs": ["gif"]}, "outputs[0]"),
        ({"outputs": []}, "outputs"),
        ({"outputs": "packshot"}, "outputs"),
        ({"outputs": ["packshot"], "version": 2}, "version"),
        ({"outputs": ["packshot"], "scene": {}}, "scene"),
        ({"outputs": ["packshot"], "format": "gif"}, "format"),
    ],
)
def test_each_bad_payload_is_refused_with_its_field(data, field):
    error = refused(data)

    assert error.field == field
    assert error.detail
    assert len(str(error)) < 600  # the refusal never echoes a huge value back


def test_a_request_is_a_json_object():
    assert refused([1]).field == ""


def test_no_field_carries_a_storage_key_or_path():
    schema = JobRequest.model_json_schema()
    names = set(schema["properties"])
    for section in schema["$defs"].values():
        names |= set(section["properties"])

    assert {"outputs", "brand", "primary", "sizes"} <= names
    assert not [n for n in names if any(word in n for word in ("logo", "key", "path", "file", "url"))]


def test_enumerations_come_from_the_data_files():
    schema = JobRequest.model_json_schema()
    defs = schema["$defs"]

    assert defs["SceneOptions"]["properties"]["theme"]["enum"] == list_themes()
    assert defs["PosterOptions"]["properties"]["templates"]["items"]["enum"] == list_templates()
    size_names = defs["PosterOptions"]["properties"]["sizes"]["items"]["anyOf"][0]["enum"]
    assert set(list_sizes()) <= set(size_names)
    for name in list_themes():
        assert parse({"outputs": ["scene"], "scene": {"theme": name}}).scene.theme == name


def test_normalized_request_is_stored_with_its_version_and_reads_back_equal():
    request = parse(
        {
            "outputs": ["poster", "packshot", "poster"],
            "poster": {"sizes": [[1080, 1350], "Story"], "price": 19.9, "headline": "Cold for 24 h"},
        }
    )

    stored = request.stored()

    assert request.outputs == ["poster", "packshot"]
    assert stored["version"] == REQUEST_VERSION
    assert stored["packshot"] == {"size": 2000, "fill": 0.85, "shadow": True}
    assert stored["poster"]["sizes"] == ["1080x1350", "story"]
    assert stored["poster"]["price"] == "19.9"
    assert stored["brand"]["primary"] == "#2f5d50"
    assert stored["scene"] is None and stored["clip"] is None
    again = parse({**json.loads(json.dumps(stored)), "outputs": request.outputs})
    assert again == request


def test_accepted_request_builds_the_renderers_specs():
    request = parse(
        {
            "outputs": ["cutout", "packshot", "scene", "poster", "clip"],
            "format": "webp",
            "packshot": {"shadow": False, "size": 1600},
            "scene": {"theme": "marble_counter", "count": 2, "brand_color": [1, 2, 3]},
            "poster": {
                "templates": ["hero_left", "bold_sale"],
                "sizes": ["feed", "story"],
                "price": "199",
                "compare_at_price": "249.50",
                "currency": "cny",
                "background": "scene",
            },
            "clip": {
                "preset": "square",
                "duration": 5,
                "size": [256, 256],
                "brand_color": [9, 8, 7],
                "reveal": "fade",
            },
            "brand": {"primary": "#112233", "heading_family": "montserrat"},
        }
    )

    kinds = [r.kind for r in request.output_requests()]

    assert kinds == ["cutout", "packshot", "scene", "poster", "clip"]
    packshot, scene, posters, clip = (r for r in request.output_requests()[1:])
    assert (packshot.packshot.size, packshot.packshot.shadow) == (1600, False)
    assert scene.scene.brand_color == (1, 2, 3) and scene.scene.count == 2
    assert len(posters.posters) == 4
    first = posters.posters[0]
    assert (first.template, first.size, first.price, first.compare_at_price) == (
        "hero_left",
        "feed",
        Decimal("199"),
        Decimal("249.50"),
    )
    assert first.currency == "CNY" and first.output_format == "webp"
    assert first.brand.primary == (0x11, 0x22, 0x33) and first.brand.secondary is None
    assert first.brand.heading_family == "montserrat" and first.brand.logo is None
    assert clip.clip.size == (256, 256) and clip.clip.brand_color == (9, 8, 7)
    assert clip.clip.reveal == "fade"


def test_budget_refuses_the_floods_and_takes_normal_jobs():
    sixty_huge_posters = {
        "outputs": ["poster"],
        "poster": {
            "templates": ["hero_left", "bold_sale"],
            "sizes": ["4096x4096", "4096x4000", "4000x4096"],
            "headlines": [f"headline {i}" for i in range(10)],
        },
    }
    huge_clip = {"outputs": ["clip"], "clip": {"size": [3840, 2160], "duration": 15}}
    normal = {
        "outputs": ["cutout", "packshot", "scene", "poster", "clip"],
        "scene": {"count": 4},
        "poster": {"templates": ["hero_left", "bold_sale"], "sizes": ["feed", "story", "portrait"]},
        "clip": {"preset": "story", "duration": 15},
    }

    poster_error = refused(sixty_huge_posters)
    clip_error = refused(huge_clip)
    accepted = parse(normal)

    assert poster_error.field == "poster" and "pixel-frames" in poster_error.detail
    assert clip_error.field == "clip"
    assert accepted.cost() < BUDGET
    assert parse({"outputs": ["clip"], "clip": {"duration": 15, "webm": True}}).cost() < BUDGET
    # the budget is the caller's: a smaller one refuses the normal job
    assert refused(normal, budget=accepted.cost() - 1).field == "clip"


def test_cost_is_pixels_times_frames_times_count():
    request = parse(
        {
            "outputs": ["scene", "clip"],
            "scene": {"count": 3, "width": 1000, "height": 500},
            "clip": {"size": [200, 128], "duration": 5},
        }
    )

    assert request.cost() == 1000 * 500 * 3 * 4 + 200 * 128 * 150


def test_more_than_sixty_posters_are_refused():
    error = refused(
        {
            "outputs": ["poster"],
            "poster": {
                "templates": list_templates()[:7],
                "sizes": ["feed", "story"],
                "headlines": ["a", "b", "c", "d", "e"],
            },
        }
    )

    assert error.field == "poster" and "70 posters" in error.detail


@pytest.mark.parametrize(
    ("data", "field", "capabilities"),
    [
        (
            {"outputs": ["clip"], "clip": {"motion": "diffusion"}},
            "clip.motion",
            Capabilities(scene_diffusion=True),
        ),
        (
            {"outputs": ["scene"], "scene": {"engine": "diffusion"}},
            "scene.engine",
            Capabilities(clip_diffusion=True),
        ),
        ({"outputs": ["cutout"], "segmenter": "rembg"}, "segmenter", Capabilities()),
    ],
)
def test_model_options_need_the_install_to_have_the_models(data, field, capabilities):
    assert refused(data, capabilities=capabilities).field == field
    assert parse(data, capabilities=Capabilities.everything()).outputs == data["outputs"]


def test_an_empty_models_folder_offers_no_model_option(tmp_path):
    capabilities = installed_capabilities(GenerationConfig(models_dir=str(tmp_path)))

    assert capabilities == Capabilities(
        segmenters=frozenset({"auto", "alpha", "classical"}), scene_diffusion=False, clip_diffusion=False
    )


def test_a_model_folder_counts_as_installed(tmp_path):
    motion = tmp_path / "svd"
    motion.mkdir()

    capabilities = installed_capabilities(
        GenerationConfig(models_dir=str(tmp_path), clip_motion_model=str(motion))
    )

    assert capabilities.clip_diffusion is True
    assert capabilities.scene_diffusion is False


def test_field_path_reads_like_the_json():
    assert field_path(("poster", "sizes", 0)) == "poster.sizes[0]"
    assert field_path(("clip", "size", 1)) == "clip.size[1]"
    assert field_path(()) == ""


def test_a_rerender_is_a_poster_job_of_its_own_naming_its_source_by_id():
    request = parse(
        {"outputs": ["poster"], "rerender": {"asset_id": 12, "headline": "New", "size": [1200, 628]}}
    )

    assert request.poster is None and request.rerender is not None
    assert (request.rerender.size, request.rerender.texts()) == ("1200x628", {"headline": "New"})
    assert request.cost() == 1200 * 628 * STILL_WEIGHT
    with pytest.raises(InvalidSpec, match="needs the layout"):
        request.output_requests()  # the layout is read for the asset by whoever runs the job
    assert refused({"outputs": ["poster", "scene"], "rerender": {"asset_id": 12}}).field == "outputs"
    assert refused({"outputs": ["poster"], "rerender": {"asset_id": 12}, "poster": {}}).field == "poster"
    assert refused({"outputs": ["poster"], "rerender": {"asset_id": 0}}).field == "rerender.asset_id"
    assert (
        refused({"outputs": ["poster"], "rerender": {"asset_id": 1, "key": "a/b.json"}}).field
        == "rerender.key"
    )
    assert (
        refused({"outputs": ["poster"], "rerender": {"asset_id": 1, "cta": "x" * 61}}).field == "rerender.cta"
    )


def test_expected_outputs_are_named_as_the_pipeline_names_what_it_makes(tmp_path):
    # given: a request of every kind: two scenes, a template at a size asked by its alias and
    # one asked in pixels that is a preset's, with two headlines, and a small clip
    request = parse(
        {
            "outputs": ["cutout", "packshot", "scene", "poster", "clip"],
            "packshot": {"size": 1600},
            "scene": {"theme": "podium", "count": 2, "width": 256, "height": 256},
            "poster": {
                "templates": ["hero_left"],
                "sizes": ["reels", "800x800"],
                "headlines": ["Fresh", "Clean"],
            },
            "clip": {"preset": "story", "duration": 5.0, "size": [270, 480]},
        }
    )
    photo, _ = product_photo((480, 600), "plain")

    # when: it is run
    result = run_outputs(
        photo, request.output_requests(), segmenter="classical", workdir=tmp_path, config=GenerationConfig()
    )

    # then: what it said it would make is what was made, by name, kind and size, in order
    made = [(im.kind, im.name, im.image.width, im.image.height) for im in result.images]
    made += [("clip", clip.path.stem, clip.width, clip.height) for clip in result.clips]
    expected = [(out.kind, out.name, out.width, out.height) for out in request.expected_outputs()]
    assert made[0][:2] == expected[0][:2] == ("cutout", "cutout")  # the photo's size, not the request's
    assert made[1:] == expected[1:]
    assert [out.name for out in request.expected_outputs() if out.kind == "poster"] == [
        "poster-hero_left-story",
        "poster-hero_left-story-02",
        "poster-hero_left-marketplace",
        "poster-hero_left-marketplace-02",
    ]
    posters = [out for out in request.expected_outputs() if out.kind == "poster"]
    assert [(p.template, p.size) for p in posters] == [
        (im.meta["template"], im.meta["size"]) for im in result.images if im.kind == "poster"
    ]
