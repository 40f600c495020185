"""The studio scene engine and its theme library, on the synthetic bottle (exact alpha).

Scenes are small (512 px) to keep the suite fast; looks are checked by eye, not here.
"""

from __future__ import annotations

import colorsys
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from generation import compose
from generation.config import GenerationConfig
from generation.engines import get_engine
from generation.engines.studio import StudioEngine
from generation.errors import InvalidSpec
from generation.sets.themes import (
    ThemeDataError,
    get_theme,
    list_themes,
    load_theme_file,
    load_themes,
)
from generation.specs import SceneSpec
from generation.types import Segmentation
from tests.synthetic import product_rgba

REQUIRED_THEMES = {
    "studio_sweep",
    "pastel_gradient",
    "marble_counter",
    "wooden_table",
    "podium",
    "concrete",
    "soft_window_light",
    "dark_luxury",
    "brand_color",
    "seasonal",
}


def _segmentation(rgba: Image.Image) -> Segmentation:
    x0, y0, x1, y1 = rgba.getchannel("A").getbbox()
    return Segmentation(
        image=rgba.convert("RGB"),
        matte=rgba.getchannel("A"),
        box=(x0, y0, x1 - x0, y1 - y0),
        segmenter="alpha",
    )


@pytest.fixture(scope="module")
def bottle() -> Segmentation:
    return _segmentation(product_rgba((320, 400)))


@pytest.fixture(scope="module")
def engine() -> StudioEngine:
    return StudioEngine(GenerationConfig())


def _opaque_mask(result, seg: Segmentation) -> tuple[np.ndarray, np.ndarray]:
    """(mask of canvas pixels where the placed product is opaque, the placed RGB there)."""
    w, h = result.image.size
    placed = compose.place_product(seg.cutout, (w, h), result.product_box)
    x, y, bw, bh = result.product_box
    layer = np.asarray(placed.layer.convert("RGBA"))
    mask = np.zeros((h, w), dtype=bool)
    mask[y : y + bh, x : x + bw] = layer[..., 3] == 255
    want = np.zeros((h, w, 3), dtype=np.uint8)
    want[y : y + bh, x : x + bw] = layer[..., :3]
    return mask, want


def _luma(arr: np.ndarray) -> np.ndarray:
    return arr[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])


# -- the theme library ---------------------------------------------------------------


def test_library_has_the_required_themes_and_each_loads():
    # when
    names = list_themes()
    # then
    assert REQUIRED_THEMES <= set(names)
    assert len(names) >= 10
    assert names == sorted(names)
    for name in names:
        assert get_theme(name).name == name
    # only the brand theme follows the brand colour
    assert [n for n in names if get_theme(n).uses_brand] == ["brand_color"]


@pytest.mark.parametrize("theme", list_themes())
def test_every_theme_renders_with_the_product_pixels_intact(engine, bottle, theme):
    # given
    spec = SceneSpec(theme=theme, width=512, height=512, seed=3)
    # when
    [result] = engine.render(bottle, spec)
    # then: the output is the right size and kind, the product's pixels are identical
    assert result.image.size == (512, 512)
    assert result.image.mode == "RGB"
    assert result.kind == "scene"
    assert result.name == f"scene-{theme}-01"
    assert result.fidelity.max_abs_diff == 0
    assert result.fidelity.opaque_pixels > 0
    variant = result.meta.pop("variant")
    layout = result.meta.pop("layout")
    x, y, w, h = result.product_box
    assert result.meta == {"engine": "studio", "theme": theme, "seed": 3, "segmenter": "alpha"}
    assert set(variant) == {"anchor_x", "scale", "camera", "light_azimuth", "palette", "props", "foot_ratio"}
    # the set's lines and props as data: a prop for each the variant stands (or fewer, where
    # one has no room), each with the place and size its coverage is drawn from
    assert set(layout) == {"horizon", "contact", "props", "podium"}
    assert 0 < layout["horizon"] <= layout["contact"] <= 512
    assert len(layout["props"]) <= len(variant["props"])
    for prop in layout["props"]:
        assert set(prop) == {"index", "shape", "cx", "base", "width", "height", "lean", "body"}
        assert prop["index"] in variant["props"]
    # and the podium's place (a clip moves it with the product), where the theme has one
    if get_theme(theme).podium is None:
        assert layout["podium"] is None
    else:
        pod = layout["podium"]
        assert set(pod) == {"shape", "cx", "top", "rx", "ry", "height"}
        assert pod["shape"] == get_theme(theme).podium.shape
        assert pod["top"] < y + h < pod["top"] + pod["ry"] and abs(pod["cx"] - (x + w / 2)) <= 1.0
        assert pod["top"] + pod["height"] + pod["ry"] == pytest.approx(layout["contact"], abs=0.01)
    # and the product sits fully inside the canvas
    assert x >= 0 and y >= 0 and x + w <= 512 and y + h <= 512


@pytest.mark.parametrize("theme", ["marble_counter", "podium", "dark_luxury", "soft_window_light"])
def test_product_pixels_equal_the_placed_layer_checked_directly(engine, bottle, theme):
    # given
    spec = SceneSpec(theme=theme, width=512, height=512, seed=5)
    # when
    [result] = engine.render(bottle, spec)
    # then: compare with the placed layer ourselves, not through measure_fidelity
    mask, want = _opaque_mask(result, bottle)
    got = np.asarray(result.image)
    assert mask.sum() == result.fidelity.opaque_pixels
    assert np.array_equal(got[mask], want[mask])
    # and the set around it is not just a copy of the product or blank
    assert got[~mask].std() > 1.0


def test_same_seed_gives_identical_bytes(bottle):
    # given: two separate engines, so nothing is shared between the runs
    spec = SceneSpec(theme="marble_counter", width=512, height=512, seed=11)
    # when
    [a] = StudioEngine(GenerationConfig()).render(bottle, spec)
    [b] = StudioEngine(GenerationConfig()).render(bottle, spec)
    # then
    assert a.image.tobytes() == b.image.tobytes()
    assert a.product_box == b.product_box


def test_different_seeds_give_different_backgrounds_and_variants_use_seed_plus_i(engine, bottle):
    # given
    spec = SceneSpec(theme="wooden_table", width=512, height=512, seed=20, count=2)
    # when
    first, second = engine.render(bottle, spec)
    [alone] = engine.render(bottle, replace(spec, seed=21, count=1))
    # then: variant i is seed + i, named in order
    assert [first.name, second.name] == ["scene-wooden_table-01", "scene-wooden_table-02"]
    assert [first.meta["seed"], second.meta["seed"]] == [20, 21]
    assert second.image.tobytes() == alone.image.tobytes()
    # and the two backgrounds differ away from the product
    a, b = np.asarray(first.image), np.asarray(second.image)
    outside = np.ones(a.shape[:2], dtype=bool)
    for r in (first, second):
        x, y, w, h = r.product_box
        outside[y : y + h, x : x + w] = False
    diff = np.abs(a.astype(int) - b.astype(int))[outside]
    assert diff.mean() > 2.0


@pytest.mark.parametrize("theme", list_themes())
def test_shadow_darkens_the_floor_just_below_the_product(bottle, theme):
    # given: the theme as it is, and the same theme with every product shadow off
    lit = get_theme(theme)
    shadowless = replace(lit, contact_shadow=replace(lit.contact_shadow, strength=0.0), cast_shadow=None)
    spec = SceneSpec(theme=theme, width=512, height=512, seed=1)
    # when
    [with_shadow] = StudioEngine(GenerationConfig(), themes={theme: lit}).render(bottle, spec)
    [without] = StudioEngine(GenerationConfig(), themes={theme: shadowless}).render(bottle, spec)
    # then: a band just below the product's box is darker with the shadows on
    x, y, w, h = with_shadow.product_box
    assert without.product_box == with_shadow.product_box
    band = (slice(y + h, y + h + 6), slice(x + w // 4, x + 3 * w // 4))
    dark = _luma(np.asarray(with_shadow.image)[band]).mean()
    light = _luma(np.asarray(without.image)[band]).mean()
    assert dark < light * 0.93
    # and far from the product (top-left corner) nothing changed
    corner = (slice(0, 40), slice(0, 40))
    assert np.array_equal(np.asarray(with_shadow.image)[corner], np.asarray(without.image)[corner])


def _hue_degrees(rgb: np.ndarray) -> float:
    h, _, _ = colorsys.rgb_to_hls(*(rgb / 255.0))
    return h * 360.0


@pytest.mark.parametrize("brand", [(200, 40, 40), (40, 150, 60), (60, 60, 200)])
def test_brand_color_theme_paints_the_set_in_the_given_colour(engine, bottle, brand):
    # given
    spec = SceneSpec(theme="brand_color", width=512, height=512, brand_color=brand)
    # when
    [result] = engine.render(bottle, spec)
    # then: the wall at the top has the brand's hue
    wall = np.asarray(result.image)[:60].reshape(-1, 3).mean(axis=0)
    want, got = _hue_degrees(np.array(brand, dtype=float)), _hue_degrees(wall)
    assert min(abs(want - got), 360 - abs(want - got)) < 8
    assert int(np.argmax(wall)) == int(np.argmax(brand))


def test_brand_color_defaults_to_the_themes_colour_when_none_is_given(engine, bottle):
    # given
    default = get_theme("brand_color").brand_default
    # when
    [implicit] = engine.render(bottle, SceneSpec(theme="brand_color", width=256, height=256))
    [explicit] = engine.render(
        bottle, SceneSpec(theme="brand_color", width=256, height=256, brand_color=default)
    )
    # then
    assert implicit.image.tobytes() == explicit.image.tobytes()


def test_bad_brand_color_is_rejected(engine, bottle):
    with pytest.raises(InvalidSpec, match="brand_color"):
        engine.render(bottle, SceneSpec(theme="brand_color", width=256, height=256, brand_color=(300, 0, 0)))


def test_unknown_theme_raises_invalid_spec_naming_the_themes(engine, bottle):
    # given
    calls: list[tuple[float, str]] = []
    # when
    with pytest.raises(InvalidSpec) as err:
        engine.render(bottle, SceneSpec(theme="moon_base"), progress=lambda f, m: calls.append((f, m)))
    # then: the message names the theme and every available one; nothing was rendered
    message = str(err.value)
    assert "moon_base" in message
    for name in list_themes():
        assert name in message
    assert err.value.code == "invalid_spec"
    assert calls == []


def test_empty_matte_is_rejected(engine):
    # given: a product whose matte is empty
    rgba = Image.new("RGBA", (64, 64), (10, 20, 30, 0))
    seg = Segmentation(
        image=rgba.convert("RGB"), matte=rgba.getchannel("A"), box=(0, 0, 64, 64), segmenter="alpha"
    )
    # when / then
    with pytest.raises(InvalidSpec, match="matte is empty"):
        engine.render(seg, SceneSpec(theme="studio_sweep", width=256, height=256))


@pytest.mark.parametrize("size", [(1200, 628), (1080, 1920)])
@pytest.mark.parametrize("theme", ["studio_sweep", "podium", "soft_window_light", "gallery_plinth"])
def test_non_square_scenes_keep_the_product_inside(engine, bottle, size, theme):
    # given
    w, h = size
    spec = SceneSpec(theme=theme, width=w, height=h, fill=0.7)
    # when
    [result] = engine.render(bottle, spec)
    # then
    assert result.image.size == size
    x, y, bw, bh = result.product_box
    assert x >= 0 and y >= 0 and x + bw <= w and y + bh <= h
    assert result.fidelity.max_abs_diff == 0 and result.fidelity.opaque_pixels > 0


def test_progress_reports_each_variant_then_done(engine, bottle):
    # given
    calls: list[tuple[float, str]] = []
    # when
    engine.render(
        bottle,
        SceneSpec(theme="studio_sweep", width=256, height=256, count=2),
        progress=lambda f, m: calls.append((f, m)),
    )
    # then
    assert [f for f, _ in calls] == [0.0, 0.5, 1.0]


def test_registry_builds_the_studio_engine():
    engine = get_engine("studio")
    assert isinstance(engine, StudioEngine)
    assert engine.name == "studio"


# -- theme validation ----------------------------------------------------------------


def _write_theme(folder: Path, name: str, data: dict) -> Path:
    path = folder / f"{name}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _theme_data(name: str = "test_theme") -> dict:
    data = json.loads((Path(__file__).parents[2] / "generation/sets/themes/studio_sweep.json").read_text())
    data["name"] = name
    return data


def test_a_valid_theme_file_loads(tmp_path):
    # given
    path = _write_theme(tmp_path, "test_theme", _theme_data())
    # when
    theme = load_theme_file(path)
    # then
    assert theme.name == "test_theme"
    assert theme.surface.material == "plain"
    assert load_themes(tmp_path) == {"test_theme": theme}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["surface"].update(horizon=1.7),
            r"test_theme\.surface\.horizon must be in 0\.2\.\.0\.95, got 1\.7",
        ),
        (
            lambda d: d["surface"].update(material="lava"),
            r"surface\.material must be one of plain, marble, wood, concrete",
        ),
        (lambda d: d["backdrop"].update(top="blue"), r"backdrop\.top must be '#rrggbb' or 'brand'"),
        (lambda d: d["light"].update(colour="#ffffff"), r"test_theme\.light: unknown key\(s\) colour"),
        (lambda d: d.pop("light"), r"test_theme\.light is required"),
        (lambda d: d["layout"].update(anchor=[0.5]), r"layout\.anchor must be a pair of numbers"),
        (lambda d: d.update(name="other_name"), r"name 'other_name' must match the file name"),
        (
            lambda d: d.update(reflection={"strength": 0.2}, podium={"colors": ["#ffffff"]}),
            r"reflection on the floor cannot be seen through a podium",
        ),
        (
            lambda d: d["palettes"][0].update(surface=["#ffffff", "#000000"]),
            r"test_theme\.palettes\[0\]\.surface must be a list of 1\.\.1 colours",
        ),
        (lambda d: d["palettes"][1].update(floor="#ffffff"), r"palettes\[1\]: unknown key\(s\) floor"),
        (
            lambda d: d["palettes"][0].update(podium=["#ffffff"]),
            r"palettes\[0\]\.podium: the theme has no podium",
        ),
        (
            lambda d: d.update(props=[{"shape": "teapot", "color": "#ffffff", "size": 0.3}]),
            r"test_theme\.props\[0\]\.shape must be one of cylinder, sphere",
        ),
        (
            lambda d: d.update(props=[{"shape": "sphere", "color": "#ffffff", "size": 3}]),
            r"props\[0\]\.size must be in 0\.05\.\.1\.5",
        ),
    ],
)
def test_invalid_theme_files_fail_with_the_file_and_field(tmp_path, change, message):
    # given
    data = _theme_data()
    change(data)
    path = _write_theme(tmp_path, "test_theme", data)
    # when / then
    with pytest.raises(ThemeDataError, match=message):
        load_theme_file(path)


def test_theme_file_that_is_not_json_fails_clearly(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{ not json", encoding="utf-8")
    with pytest.raises(ThemeDataError, match=r"broken\.json is not valid JSON"):
        load_theme_file(path)


def test_engine_with_its_own_theme_library_refuses_other_names(bottle, tmp_path):
    # given
    _write_theme(tmp_path, "test_theme", _theme_data())
    engine = StudioEngine(GenerationConfig(), themes=load_themes(tmp_path))
    # when
    [ok] = engine.render(bottle, SceneSpec(theme="test_theme", width=256, height=256))
    with pytest.raises(InvalidSpec, match="choose one of test_theme$"):
        engine.render(bottle, SceneSpec(theme="studio_sweep", width=256, height=256))
    # then
    assert ok.meta["theme"] == "test_theme"


@pytest.mark.parametrize("theme", list_themes())
def test_a_near_square_product_on_a_tall_canvas_stays_inside_its_sides(theme):
    from generation.sets import MAX_PRODUCT_WIDTH, plan_variant, stage_for_product

    # given a product about as wide as it is tall, a 9:16 canvas and the largest variants
    product, canvas = (930, 1000), (1080, 1920)
    for seed in range(4):
        variant = plan_variant(theme, seed)

        # when the theme stands it on its set at a generous fill
        x, y, w, h = stage_for_product(theme, product, canvas, fill=0.7, seed=seed, variant=variant).box

        # then the product keeps its shape, is no wider than the cap and is wholly on the canvas
        assert abs(w / h - 0.93) < 0.02
        assert w <= MAX_PRODUCT_WIDTH * canvas[0] + 1
        assert x >= 0 and x + w <= canvas[0] and y >= 0 and y + h <= canvas[1]


def test_the_sets_channel_helpers_give_the_broadcast_values_bit_for_bit():
    # given float planes (one mirrored, so not contiguous) and colours
    from generation.sets.textures import channels, times, tinted

    rng = np.random.default_rng(5)
    plane = rng.random((37, 53), dtype=np.float32)[:, ::-1] * 3.0
    mixes = [rng.random((37, 53), dtype=np.float32) for _ in range(2)]
    colors = [rng.random(3, dtype=np.float32) * 255.0 for _ in range(3)]
    img = rng.random((37, 53, 3), dtype=np.float32) * 255.0
    # when they stand in for numpy's broadcasting over the channel axis
    broadcast = colors[0][None, None, :] * plane[..., None]
    for color, mix in zip(colors[1:], mixes, strict=True):
        broadcast = broadcast + (color - broadcast) * mix[..., None]
    # then every value is the same, and so is the dtype
    assert np.array_equal(img * channels(plane), img * plane[..., None])
    assert np.array_equal(times(plane, colors[1]), plane[..., None] * colors[1])
    assert np.array_equal(tinted(plane, colors, mixes), broadcast)
    assert tinted(plane, colors, mixes).dtype == np.float32
    wide = plane.astype(np.float64)
    assert np.array_equal(img * channels(wide), img * wide[..., None])
    assert channels(wide).dtype == np.float64


def test_set_grain_is_drawn_once_per_theme_seed_and_size_and_is_a_fresh_draw_each_time(monkeypatch):
    from generation.sets import look as set_look
    from generation.sets import shadows

    # given the grain a set gets, as it was drawn before: the theme's seeded normal noise
    # at the canvas size times its grain, in every channel
    marble, concrete = get_theme("marble_counter"), get_theme("concrete")
    finer = replace(marble, grain=marble.grain / 2)  # the same name, another amount

    def drawn_anew(theme, seed: int, size: tuple[int, int]) -> np.ndarray:
        w, h = size
        plane = set_look.theme_rng(theme, seed, "grain").standard_normal((h, w), dtype=np.float32)
        return np.repeat((plane * (theme.grain * 255.0))[..., None], 3, axis=2)

    cases = [
        (theme, seed, size)
        for theme in (marble, concrete, finer)
        for seed in (0, 7)
        for size in ((410, 730), (300, 300))
    ]
    expected = [drawn_anew(theme, seed, size) for theme, seed, size in cases]
    kept = getattr(shadows, "_kept_grain", None)
    if kept is not None:  # start with none kept
        kept.cache_clear()
    draws: list[str] = []
    named = getattr(set_look, "named_rng", None)
    if named is not None:
        monkeypatch.setattr(shadows, "named_rng", lambda n, s, p: draws.append(n) or named(n, s, p))
    else:  # the code before the grain was kept drew it through theme_rng
        theme_rng = set_look.theme_rng
        monkeypatch.setattr(set_look, "theme_rng", lambda t, s, p: draws.append(t.name) or theme_rng(t, s, p))
    # when every template of a poster set builds its set at each size (three times over),
    # and each caller adds to what it got (as render_set does)
    for _ in range(3):
        for (theme, seed, size), want in zip(cases, expected, strict=True):
            look = set_look.Look.make(theme, theme.brand_default, seed)
            got = shadows.grain(look, size)
            # then each is the same grain, value for value, for that theme, amount, seed and size
            assert got.dtype == np.float32 and got.flags.writeable and np.array_equal(got, want)
            got += 1.0  # and changing it changes nothing kept
    # and each theme, amount, seed and size was drawn once
    assert len(draws) == len(cases)
    # and a canvas larger than a poster's set (a scene's) is drawn anew every time
    draws.clear()
    look = set_look.Look.make(marble, marble.brand_default, 3)
    for _ in range(2):
        assert np.array_equal(shadows.grain(look, (1000, 700)), drawn_anew(marble, 3, (1000, 700)))
    assert len(draws) == 2
