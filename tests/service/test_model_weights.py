"""What the service does with the models this install has (and has not).

The dashboard says which background removal runs here, tells staff how to install a better
one (a merchant is told to ask, never shown a server command), and offers only what can
run. A real worker asked for a diffusion scene without the weights fails the job at once,
naming the command, and asks no hub for anything.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse

from generation.request import JobRequest, SceneOptions
from generation.weights import load_registry
from shop_assets.jobs import requests as job_requests
from shop_assets.jobs import running
from shop_assets.jobs.models import GenerationJob, JobStatus
from tests.conftest import WorkerProcess, wait_for_job
from tests.loopback import LoopbackServer


@pytest.fixture
def models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty models folder of this test's own, in the configuration the service reads."""
    folder = tmp_path / "models"
    folder.mkdir()
    monkeypatch.setenv("SHOPASSETS_MODELS_DIR", str(folder))
    running.generation_config.cache_clear()
    yield folder
    running.generation_config.cache_clear()


def job_form(image_pk: int, segmenter: str) -> dict:
    return {
        "image": image_pk,
        "outputs": ["packshot"],
        "segmenter": segmenter,
        "scene_count": 1,
        "engine": "studio",
        "seed": 0,
        "format": "png",
        "theme": "studio_sweep",
    }


def test_without_a_model_the_page_says_so_and_rembg_is_not_offered(signed_in, product_image, models):
    # given no model installed (the models folder is empty)

    # when
    page = signed_in.get(reverse("dashboard:product", args=[product_image.product_id])).content.decode()
    refused = signed_in.post(
        reverse("dashboard:job_start", args=[product_image.product_id]), job_form(product_image.pk, "rembg")
    )

    # then
    assert "Automatic background removal here: classical, built in (no AI model installed)." in page
    assert (
        "Cleaner edges are possible with an AI model: ask whoever runs ShopAssets for you to install it."
        in page
    )
    assert "models pull" not in page
    assert '<option value="rembg"' not in page and '<option value="classical"' in page
    assert refused.status_code == 400
    assert "Select a valid choice. rembg is not one of the available choices." in refused.content.decode()
    assert GenerationJob.objects.count() == 0


def test_with_a_model_installed_the_page_names_it_and_offers_it(
    signed_in, product_image, models, monkeypatch
):
    # given the default model installed (a file of its size: the page checks sizes only)
    registry = load_registry()
    default = registry.get(registry.default)
    with open(models / default.file, "wb") as f:
        f.truncate(default.size)
    monkeypatch.setattr("shop_assets.jobs.requests.enqueue", lambda job_id, queue: None)

    # when
    page = signed_in.get(reverse("dashboard:product", args=[product_image.product_id])).content.decode()
    started = signed_in.post(
        reverse("dashboard:job_start", args=[product_image.product_id]), job_form(product_image.pk, "rembg")
    )

    # then
    assert f"Automatic background removal here: AI model {default.name}." in page
    assert (
        "Cleaner edges are possible with a better AI model: ask whoever runs ShopAssets for you to install it."
        in page
    )
    assert "models pull" not in page
    assert '<option value="rembg">AI model</option>' in page
    assert started.status_code == 302
    assert GenerationJob.objects.get().parameters["segmenter"] == "rembg"


def test_staff_see_the_install_command_merchants_do_not(client, user, product_image, models):
    # given the same page for a merchant and, after promotion, for a staff user
    default = load_registry().default
    url = reverse("dashboard:product", args=[product_image.product_id])
    client.force_login(user)
    merchant_page = client.get(url).content.decode()

    # when
    user.is_staff = True
    user.save()
    staff_page = client.get(url).content.decode()

    # then
    assert "models pull" not in merchant_page
    assert (
        f"install {default} on the server: <code>python -m generation models pull {default}</code>"
        in staff_page
    )
    assert "ask whoever runs ShopAssets" not in staff_page


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_without_diffusion_weights_fails_the_job_fast_and_asks_no_hub(
    product_image, models, monkeypatch
):
    # given a hub mirror that records every request, and a worker that would use it
    hub = LoopbackServer()
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("SHOPASSETS_DEVICE", "cpu")
    worker = WorkerProcess()
    try:
        # when a job accepted where the models are installed (web nodes see a shared models
        # folder) reaches this worker, which has none
        request = JobRequest(outputs=["scene"], scene=SceneOptions(engine="diffusion", count=1))
        job = GenerationJob.objects.create(
            merchant_id=product_image.product.merchant_id,
            product=product_image.product,
            image=product_image,
            outputs=request.outputs,
            parameters=request.stored(),
            queue=job_requests.queue_for(request),
        )
        job_requests.enqueue(job.pk, job.queue)
        job = wait_for_job(job.pk, timeout=120)
    finally:
        worker.stop()
        hub.close()

    # then: one attempt, a failure naming the command, and not one request to the hub
    assert job.status == JobStatus.FAILED, worker.output()
    assert (job.queue, job.attempts, job.error_code) == ("gpu", 1, "model_unavailable")
    assert (
        "is not installed on this worker; install it with `python -m generation models pull sd15-canny`"
        in (job.error_message)
    )
    assert "`python -m generation models pull sd15`" in job.error_message
    assert hub.requests == []
    assert job.assets.count() == 0
