"""A poster made again from its stored layout (new words, another size) and any asset
regenerated, through the API: each a new job run by the real worker code."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from shop_assets.accounts.models import ApiKey
from shop_assets.catalog.services import add_product_image
from shop_assets.jobs import requests as job_requests
from shop_assets.jobs import storage
from shop_assets.jobs.models import Asset, GenerationJob, JobStatus
from shop_assets.jobs.tasks import run_job_task

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queued(monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr(job_requests, "enqueue", lambda job_id, queue: sent.append(job_id))
    return sent


@pytest.fixture
def api(client, merchant):
    _, secret = ApiKey.issue(merchant, "storefront")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client


def _run(job: GenerationJob) -> GenerationJob:
    assert run_job_task.apply(args=[job.pk]).get() == "succeeded", GenerationJob.objects.get(
        pk=job.pk
    ).error_message
    job.refresh_from_db()
    return job


@pytest.fixture
def on_scene(product_image, queued) -> GenerationJob:
    """A finished job: one studio scene and a poster drawn on it, as lossless PNGs."""
    job = job_requests.create_job(
        product_image.product,
        product_image,
        ["scene", "poster"],
        {
            "format": "png",
            "segmenter": "classical",
            "scene": {"theme": "marble_counter", "count": 1, "seed": 3, "width": 900, "height": 900},
            "poster": {
                "templates": ["hero_left"],
                "sizes": ["feed"],
                "background": "scene",
                "headline": "Old words",
            },
        },
    )
    return _run(job)


def _layout(job: GenerationJob) -> dict:
    return json.loads(storage.read_bytes(job.assets.get(format="json").storage_key))


def _pixels(asset: Asset) -> np.ndarray:
    with Image.open(io.BytesIO(storage.read_bytes(asset.storage_key))) as im:
        return np.asarray(im.convert("RGB"))


def _slot(layout: dict, name: str) -> dict:
    return next(s for s in layout["slots"] if s["name"] == name)


def test_new_words_are_set_on_the_same_scene_and_the_product_is_untouched(api, on_scene, queued):
    poster = on_scene.assets.get(kind="poster", format="png")
    scene = on_scene.assets.get(kind="scene")
    before = _layout(on_scene)

    response = api.post(
        f"/api/v1/assets/{poster.pk}/rerender",
        {"texts": {"headline": "Brand new words", "cta": ""}},
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    new = GenerationJob.objects.get(pk=response.json()["id"])
    assert new.outputs == ["poster"] and queued[-1] == new.pk
    assert new.parameters["rerender"]["asset_id"] == poster.pk and new.parameters.get("poster") is None
    assert new.parameters["rerender"]["size"] == "feed"  # the source's size, stored
    new = _run(new)
    again = new.assets.get(kind="poster", format="png")
    after = _layout(new)
    assert _slot(after, "headline")["text"] == "Brand new words"
    assert "cta" not in {s["name"] for s in after["slots"]} and "cta" in {s["name"] for s in before["slots"]}
    assert after["template"]["id"] == before["template"]["id"] == "hero_left"
    assert (again.width, again.height) == (poster.width, poster.height) == (1080, 1080)
    assert after["background"]["mode"] == "scene" and after["background"]["scene"] == scene.name
    assert again.metrics["rerender_of"] == {
        "asset_id": poster.pk,
        "job_id": on_scene.pk,
        "scene_asset_id": scene.pk,
    }
    assert again.metrics["fidelity"]["identical"] is True
    assert again.metrics["matte"]["source"] == poster.metrics["matte"]["source"]
    # the first poster is as it was
    assert GenerationJob.objects.get(pk=on_scene.pk).assets.get(pk=poster.pk).checksum == poster.checksum


def test_unchanged_words_give_the_same_pixels_from_the_stored_scene(api, on_scene):
    poster = on_scene.assets.get(kind="poster", format="png")

    response = api.post(f"/api/v1/assets/{poster.pk}/rerender", {}, content_type="application/json")

    new = _run(GenerationJob.objects.get(pk=response.json()["id"]))
    again = new.assets.get(kind="poster", format="png")
    assert np.array_equal(_pixels(again), _pixels(poster))


def test_another_size_keeps_the_template_and_scene_and_long_words_shrink(api, on_scene):
    poster = on_scene.assets.get(kind="poster", format="png")
    long = "Keeps drinks cold for twenty four hours and hot for twelve, in every bag you own"

    response = api.post(
        f"/api/v1/assets/{poster.pk}/rerender",
        {"texts": {"headline": long}, "size": "story"},
        content_type="application/json",
    )

    new = _run(GenerationJob.objects.get(pk=response.json()["id"]))
    again = new.assets.get(kind="poster", format="png")
    before, after = _layout(on_scene), _layout(new)
    assert (again.width, again.height) == (1080, 1920) and again.metrics["size"] == "story"
    assert (
        after["template"]["id"] == "hero_left"
        and after["background"]["scene"] == before["background"]["scene"]
    )
    headline = _slot(after, "headline")
    assert " ".join(headline["font"]["lines"]).replace("…", "") in long
    assert len(headline["font"]["lines"]) > len(_slot(before, "headline")["font"]["lines"])
    assert again.metrics["checks"]["ok"] is True and again.metrics["fidelity"]["identical"] is True


def test_idempotency_key_replays_the_same_rerender_job(api, on_scene, queued):
    poster = on_scene.assets.get(kind="poster", format="png")
    body = {"texts": {"headline": "Once"}}

    first = api.post(
        f"/api/v1/assets/{poster.pk}/rerender",
        body,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    second = api.post(
        f"/api/v1/assets/{poster.pk}/rerender",
        body,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k1",
    )

    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"] and second["Idempotent-Replayed"] == "true"
    assert GenerationJob.objects.count() == 2 and queued.count(first.json()["id"]) == 1


def test_refusals_have_the_api_error_shape_and_make_no_job(api, on_scene, other_product_image, queued):
    poster = on_scene.assets.get(kind="poster", format="png")
    scene = on_scene.assets.get(kind="scene")
    layout = on_scene.assets.get(format="json")
    theirs_job = GenerationJob.objects.create(
        merchant_id=other_product_image.product.merchant_id,
        product=other_product_image.product,
        image=other_product_image,
        outputs=["poster"],
        status=JobStatus.SUCCEEDED,
    )
    theirs = Asset.objects.create(
        merchant_id=theirs_job.merchant_id, job=theirs_job, kind="poster", name="poster-hero_left-feed",
        format="png", width=1, height=1, storage_key="elsewhere/p.png", size_bytes=1, checksum="0",
    )  # fmt: skip
    url = "/api/v1/assets/{}/rerender"
    jobs_before = GenerationJob.objects.count()

    foreign = api.post(url.format(theirs.pk), {}, content_type="application/json")
    foreign_again = api.post(f"/api/v1/assets/{theirs.pk}/regenerate")
    not_poster = api.post(url.format(scene.pk), {}, content_type="application/json")
    layout_file = api.post(url.format(layout.pk), {}, content_type="application/json")
    too_long = api.post(url.format(poster.pk), {"texts": {"cta": "x" * 61}}, content_type="application/json")
    bad_size = api.post(url.format(poster.pk), {"size": "billboard"}, content_type="application/json")
    unknown = api.post(
        url.format(poster.pk), {"texts": {"template": "bold_sale"}}, content_type="application/json"
    )

    assert foreign.status_code == foreign_again.status_code == 404
    assert foreign.json()["code"] == "not_found"
    assert not_poster.status_code == 400
    assert not_poster.json() == {
        "code": "not_rerenderable",
        "detail": f"asset {scene.pk} is a scene, not a poster; only posters can be re-rendered",
    }
    assert (
        layout_file.status_code == 400
        and "layout JSON; name the poster itself" in layout_file.json()["detail"]
    )
    assert too_long.status_code == 400 and too_long.json()["field"] == "texts.cta"
    assert bad_size.status_code == 400 and bad_size.json()["field"] == "size"
    assert unknown.status_code == 400 and unknown.json()["field"] == "texts.template"
    assert GenerationJob.objects.count() == jobs_before and len(queued) == 1  # only the fixture's


def test_a_poster_whose_scene_was_deleted_is_refused_by_name(api, on_scene, queued):
    poster = on_scene.assets.get(kind="poster", format="png")
    scene = on_scene.assets.get(kind="scene")
    assert api.delete(f"/api/v1/assets/{scene.pk}").status_code == 204

    response = api.post(f"/api/v1/assets/{poster.pk}/rerender", {}, content_type="application/json")

    assert response.status_code == 400 and response.json()["code"] == "not_rerenderable"
    assert "scene that has been deleted" in response.json()["detail"]
    assert GenerationJob.objects.count() == 1


def test_the_jobs_endpoint_takes_a_rerender_only_for_the_posters_own_photo(
    api, on_scene, product, photo_jpeg, queued
):
    poster = on_scene.assets.get(kind="poster", format="png")
    other = type(product).objects.create(merchant=product.merchant, sku="OTHER-1", title="Other")
    add_product_image(other, photo_jpeg, filename="other.jpg")
    second_photo = add_product_image(product, photo_jpeg, filename="second.jpg")

    wrong_product = api.post(
        "/api/v1/jobs",
        {"product_id": other.pk, "outputs": ["poster"], "parameters": {"rerender": {"asset_id": poster.pk}}},
        content_type="application/json",
    )
    with_poster_options = api.post(
        "/api/v1/jobs",
        {
            "product_id": product.pk,
            "outputs": ["poster"],
            "parameters": {"rerender": {"asset_id": poster.pk}, "poster": {"sizes": ["story"]}},
        },
        content_type="application/json",
    )
    wrong_photo = api.post(
        "/api/v1/jobs",
        {
            "product_id": product.pk,
            "image_id": second_photo.pk,
            "outputs": ["poster"],
            "parameters": {"rerender": {"asset_id": poster.pk}},
        },
        content_type="application/json",
    )
    right = api.post(
        "/api/v1/jobs",
        {
            "product_id": product.pk,
            "image_id": on_scene.image_id,
            "outputs": ["poster"],
            "parameters": {"rerender": {"asset_id": poster.pk}},
        },
        content_type="application/json",
    )

    assert wrong_product.status_code == 400
    assert wrong_product.json() == {
        "code": "invalid_request",
        "detail": f"parameters.rerender.asset_id: poster {poster.pk} is of another product",
        "field": "parameters.rerender.asset_id",
    }
    assert wrong_photo.status_code == 400 and wrong_photo.json()["field"] == "image_id"
    assert with_poster_options.status_code == 400
    assert with_poster_options.json()["field"] == "parameters.poster"
    assert right.status_code == 202 and right.json()["parameters"]["rerender"]["size"] == "feed"
    assert GenerationJob.objects.count() == 2 and queued[-1] == right.json()["id"]


def test_regenerate_makes_that_one_kind_again_with_a_fresh_seed(api, on_scene, queued):
    poster = on_scene.assets.get(kind="poster", format="png")
    scene = on_scene.assets.get(kind="scene")

    scene_job = api.post(f"/api/v1/assets/{scene.pk}/regenerate")
    poster_job = api.post(f"/api/v1/assets/{poster.pk}/regenerate")

    assert scene_job.status_code == poster_job.status_code == 201
    s = scene_job.json()
    assert s["outputs"] == ["scene"] and s["parameters"]["scene"]["count"] == 1
    assert s["parameters"]["scene"]["theme"] == "marble_counter" and s["parameters"]["scene"]["seed"] != 3
    p = poster_job.json()
    # a poster made on a scene comes again on a new scene of the same theme and size
    assert p["outputs"] == ["scene", "poster"]
    opts = p["parameters"]["poster"]
    assert (opts["templates"], opts["sizes"], opts["background"], opts["theme"]) == (
        ["hero_left"],
        ["feed"],
        "scene",
        None,
    )
    assert opts["headlines"] == ["Old words"] and opts["seed"] != 0
    under = p["parameters"]["scene"]
    assert (under["theme"], under["count"], under["width"], under["height"]) == (
        "marble_counter",
        1,
        900,
        900,
    )
    assert under["seed"] != 3
    assert queued[-2:] == [s["id"], p["id"]]


def test_a_regenerated_poster_stands_on_a_new_scene_that_its_words_can_be_changed_on(api, on_scene):
    old_scene = on_scene.assets.get(kind="scene")
    poster = on_scene.assets.get(kind="poster", format="png")

    response = api.post(f"/api/v1/assets/{poster.pk}/regenerate")

    # the new job makes a scene and the poster on it; the first job keeps its own
    new = _run(GenerationJob.objects.get(pk=response.json()["id"]))
    scene = new.assets.get(kind="scene")
    again = new.assets.get(kind="poster", format="png")
    layout = _layout(new)
    assert layout["background"]["mode"] == "scene" and layout["background"]["scene"] == scene.name
    assert again.metrics["background"] == "scene" and again.metrics["fidelity"]["identical"] is True
    assert scene.metrics["theme"] == "marble_counter" and scene.metrics["seed"] != old_scene.metrics["seed"]
    assert (scene.width, scene.height) == (old_scene.width, old_scene.height) == (900, 900)
    assert np.abs(_pixels(scene).astype(int) - _pixels(old_scene).astype(int)).mean() > 2
    assert not np.array_equal(_pixels(again), _pixels(poster))
    assert on_scene.assets.filter(kind="scene").get().pk == old_scene.pk
    # new words on the regenerated poster are set on its own new scene
    words = api.post(
        f"/api/v1/assets/{again.pk}/rerender",
        {"texts": {"headline": "Later"}},
        content_type="application/json",
    )
    later = _run(GenerationJob.objects.get(pk=words.json()["id"]))
    assert _layout(later)["background"]["scene"] == scene.name
    assert later.assets.get(kind="poster", format="png").metrics["rerender_of"]["scene_asset_id"] == scene.pk


def test_a_rerendered_poster_regenerates_on_a_new_scene_like_the_one_it_was_drawn_on(api, on_scene):
    poster = on_scene.assets.get(kind="poster", format="png")
    first = api.post(
        f"/api/v1/assets/{poster.pk}/rerender",
        {"texts": {"headline": "Once"}},
        content_type="application/json",
    )
    once = _run(GenerationJob.objects.get(pk=first.json()["id"])).assets.get(kind="poster", format="png")

    response = api.post(f"/api/v1/assets/{once.pk}/regenerate")

    # the re-render's job records no scene options: they come from the scene's own job
    assert response.status_code == 201
    body = response.json()
    assert body["outputs"] == ["scene", "poster"] and body["parameters"]["poster"]["background"] == "scene"
    assert body["parameters"]["poster"]["headlines"] == ["Once"]
    scene = body["parameters"]["scene"]
    assert (scene["theme"], scene["count"], scene["width"], scene["height"]) == (
        "marble_counter",
        1,
        900,
        900,
    )


def test_a_rerendered_poster_can_be_rerendered_again_on_the_first_scene(api, on_scene):
    scene = on_scene.assets.get(kind="scene")
    poster = on_scene.assets.get(kind="poster", format="png")
    first = api.post(
        f"/api/v1/assets/{poster.pk}/rerender",
        {"texts": {"headline": "Once"}},
        content_type="application/json",
    )
    once = _run(GenerationJob.objects.get(pk=first.json()["id"])).assets.get(kind="poster", format="png")

    second = api.post(
        f"/api/v1/assets/{once.pk}/rerender",
        {"texts": {"headline": "Twice"}},
        content_type="application/json",
    )

    twice = _run(GenerationJob.objects.get(pk=second.json()["id"]))
    layout = _layout(twice)
    assert _slot(layout, "headline")["text"] == "Twice" and layout["background"]["scene"] == scene.name
    assert twice.assets.get(kind="poster", format="png").metrics["rerender_of"]["scene_asset_id"] == scene.pk
