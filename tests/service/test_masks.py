"""Stored mattes: the automatic one after upload, accepting it, the editor, uploaded masks."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image

from generation.check import MATTE_THRESHOLD
from generation.segment.metrics import iou
from generation.segment.refine import preview_size
from shop_assets.catalog import masks, services
from shop_assets.catalog.models import MaskSource, PhotoMask
from shop_assets.catalog.tasks import automatic_mask_task
from shop_assets.jobs.storage import read_bytes
from tests.conftest import jpeg_bytes, png_bytes, stored_files
from tests.photoset import make_case


def _matte(mask: PhotoMask) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(read_bytes(mask.storage_key))))


def _stroke(size: tuple[int, int], box: tuple[int, int, int, int]) -> bytes:
    canvas = Image.new("L", size, 0)
    x, y, w, h = box
    canvas.paste(255, (x, y, x + w, y + h))
    return png_bytes(canvas)


@pytest.fixture
def auto_image(product_image):
    automatic_mask_task.apply(args=[product_image.pk]).get()
    return product_image


def test_upload_enqueues_the_automatic_matte_once_committed(
    product, photo_jpeg, monkeypatch, django_capture_on_commit_callbacks
):
    sent: list[int] = []
    monkeypatch.setattr(services, "enqueue_automatic_mask", sent.append)

    with django_capture_on_commit_callbacks(execute=True):
        image = services.add_product_image(product, photo_jpeg)
    services.add_product_image(product, photo_jpeg, auto_mask=False)  # a bulk import's photo

    assert sent == [image.pk]
    assert automatic_mask_task.apply(args=[image.pk]).get() == "v1"
    assert automatic_mask_task.apply(args=[image.pk]).get() == "exists"
    assert image.masks.count() == 1


def test_the_task_stores_the_automatic_matte_as_version_one(auto_image):
    product_image = auto_image
    mask = product_image.masks.get()

    assert (mask.version, mask.source, mask.accepted) == (1, MaskSource.AUTO, False)
    assert mask.storage_key.startswith(product_image.normalized_key.rsplit("/", 1)[0] + "/masks/")
    assert (mask.width, mask.height) == (product_image.width, product_image.height)  # small photo: no scaling
    assert mask.confidence == mask.evidence["score"] >= MATTE_THRESHOLD
    assert mask.trusted and mask.segmenter == "classical"
    matte = _matte(mask)
    assert matte.shape == (product_image.height, product_image.width) and matte.max() == 255
    preview = Image.open(io.BytesIO(read_bytes(mask.preview_key)))
    assert preview.mode == "RGBA" and preview.size == (product_image.width, product_image.height)


def test_a_refused_photo_gets_a_version_one_without_a_matte(busy_image):
    mask = busy_image.masks.get()

    assert (mask.version, mask.source, mask.storage_key, mask.confidence) == (1, MaskSource.AUTO, "", 0.0)
    assert not mask.trusted and mask.evidence["refused"] is True
    assert "too busy" in mask.problems[0]
    assert masks.latest_accepted(busy_image) is None
    with pytest.raises(masks.MaskInvalid, match="no automatic cutout to accept"):
        masks.accept_automatic(busy_image)


def test_accepting_the_automatic_matte_stores_it_full_size_as_a_new_version(busy_image, auto_image):
    product_image = auto_image
    auto = product_image.masks.get()

    accepted = masks.accept_automatic(product_image)

    assert (accepted.version, accepted.source, accepted.accepted) == (2, MaskSource.ACCEPTED, True)
    assert accepted.confidence == auto.confidence and accepted.evidence["accepted_version"] == 1
    assert masks.latest_accepted(product_image) == accepted
    assert masks.current_mask(product_image) == accepted
    assert np.array_equal(_matte(accepted), _matte(auto))  # same size here, so the same values


def test_box_and_strokes_on_the_preview_refine_the_busy_photo(busy_image):
    size = preview_size((busy_image.width, busy_image.height))
    factor = size[0] / busy_image.width
    x, y, w, h = busy_image.truth_box
    box = [x * factor - 6, y * factor - 6, w * factor + 12, h * factor + 12]
    keep = _stroke(size, (round((x + w / 2) * factor) - 3, round((y + h / 2) * factor) - 20, 6, 40))

    strokes = masks.read_strokes(busy_image, box, keep, None)
    preview = masks.refine_preview(busy_image, strokes)
    saved = masks.save_refined(busy_image, strokes)

    assert preview.matte.size == size and preview.confidence >= MATTE_THRESHOLD
    assert (saved.version, saved.source, saved.accepted) == (2, MaskSource.REFINED, True)
    assert saved.confidence >= MATTE_THRESHOLD and saved.evidence["box"] == [round(v) for v in box]
    matte = _matte(saved)
    assert matte.shape == busy_image.truth.shape
    assert iou(matte, busy_image.truth.astype(np.uint8) * 255) > 0.95


def test_strokes_of_another_size_and_a_bad_box_are_refused_by_name(busy_image):
    with pytest.raises(masks.MaskInvalid, match=r"keep strokes are 10x10 but the editor's photo is 1024x768"):
        masks.read_strokes(busy_image, None, png_bytes(Image.new("L", (10, 10))), None)
    with pytest.raises(masks.MaskInvalid, match="four numbers"):
        masks.read_strokes(busy_image, [1, 2, "x", 4], None, None)
    with pytest.raises(masks.MaskInvalid, match="box"):
        masks.refine_preview(busy_image, masks.read_strokes(busy_image, None, None, None))


def test_an_uploaded_mask_of_the_same_shape_is_scaled_and_near_white_counts_as_opaque(auto_image):
    product_image = auto_image
    w, h = product_image.width, product_image.height
    small = Image.new("L", (w // 2, h // 2), 0)
    small.paste(252, (w // 8, h // 8, w // 4 + w // 8, h // 4 + h // 8))

    saved = masks.save_uploaded(product_image, png_bytes(small))

    matte = _matte(saved)
    assert (saved.source, saved.accepted, saved.version, saved.segmenter) == (
        MaskSource.UPLOADED,
        True,
        2,
        "alpha",
    )
    assert matte.shape == (h, w) and matte[h // 2, w // 2] == 255 and matte[2, 2] == 0
    assert 0 <= saved.confidence <= 1 and "cues" in saved.evidence


def test_an_uploaded_mask_of_another_shape_is_refused_and_nothing_is_stored(auto_image):
    product_image = auto_image
    before = stored_files()

    with pytest.raises(masks.MaskInvalid, match=r"The mask is 300x300 but the photo is 480x600"):
        masks.save_uploaded(product_image, png_bytes(Image.new("L", (300, 300), 255)))
    with pytest.raises(masks.MaskInvalid, match="white everywhere"):
        masks.save_uploaded(product_image, png_bytes(Image.new("L", (480, 600), 251)))

    assert stored_files() == before
    assert product_image.masks.count() == 1


def test_an_accepted_preview_matte_is_taken_to_full_size_along_the_photos_edges(product):
    # given a 2048 x 1536 photo whose automatic matte was made on the 1024 px preview
    case = make_case("carton_on_tabletop")
    image = services.add_product_image(product, jpeg_bytes(case.photo), auto_mask=False)
    auto = masks.make_automatic_mask(image)
    assert (auto.width, auto.height) == preview_size(case.photo.size)

    accepted = masks.accept_automatic(image)

    matte = _matte(accepted)
    truth = np.rint(case.alpha * 255).astype(np.uint8)
    upscaled = np.asarray(masks.mask_values(auto, case.photo.size))
    assert matte.shape == truth.shape and (accepted.width, accepted.height) == case.photo.size
    assert iou(matte, truth) > 0.99
    # closer to the true soft edge than the preview matte simply scaled up
    assert np.abs(matte.astype(float) - truth).mean() < np.abs(upscaled.astype(float) - truth).mean()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_makes_the_automatic_matte_after_upload(worker, product, photo_jpeg):
    # when a photo is uploaded (its transaction commits, the task goes to the broker)
    image = services.add_product_image(product, photo_jpeg, filename="bottle.jpg")

    # then the worker on the default queue stores its automatic matte within seconds
    deadline = time.monotonic() + 60
    while not image.masks.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    mask = image.masks.get()
    assert (mask.version, mask.source, mask.segmenter) == (1, MaskSource.AUTO, "classical"), worker.output()
    assert mask.confidence >= MATTE_THRESHOLD and _matte(mask).max() == 255
