"""Doing the work: turn a claimed job into generated outputs, then hand them to storing."""

from __future__ import annotations

import io
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from shop_assets.catalog import masks
from shop_assets.jobs import storage
from shop_assets.jobs.lifecycle import Heartbeat, LeaseLost, renew_lease
from shop_assets.jobs.models import GenerationJob, OutputKind
from shop_assets.jobs.requests import brand_kit_spec, clip_kwargs, poster_specs
from shop_assets.jobs.storing import StoredOutput, output_files, store_outputs


@lru_cache(maxsize=1)
def generation_config():
    """Built once per worker process, so engines and model caches are reused."""
    from generation.config import GenerationConfig

    return GenerationConfig.from_env()


def load_logo(params: dict[str, Any]) -> Any:
    key = (params.get("brand") or {}).get("logo_key")
    if not key:
        return None
    from PIL import Image

    with Image.open(io.BytesIO(storage.read_bytes(key))) as im:
        return im.convert("RGBA")


def build_requests(job: GenerationJob, logo: Any = None) -> list[Any]:
    from generation.pipelines import OutputRequest
    from generation.specs import PackshotSpec, SceneSpec

    params = job.parameters
    requests = []
    for kind in job.outputs:
        if kind == OutputKind.PACKSHOT:
            requests.append(
                OutputRequest(kind="packshot", packshot=PackshotSpec(**params.get("packshot", {})))
            )
        elif kind == OutputKind.SCENE:
            scene = dict(params.get("scene", {}))
            if isinstance(scene.get("brand_color"), list):
                scene["brand_color"] = tuple(scene["brand_color"])
            requests.append(OutputRequest(kind="scene", scene=SceneSpec(**scene)))
        elif kind == OutputKind.POSTER:
            brand = brand_kit_spec(params.get("brand", {}), logo=logo)
            specs = poster_specs(params["poster"], brand, params.get("format", "png"))
            requests.append(OutputRequest(kind="poster", posters=specs))
        elif kind == OutputKind.CLIP:
            from generation.clips.spec import ClipSpec

            requests.append(OutputRequest(kind="clip", clip=ClipSpec(**clip_kwargs(params.get("clip", {})))))
        else:
            requests.append(OutputRequest(kind=kind))
    return requests


def run_job(job_id: int, token: str) -> list[StoredOutput]:
    """Generate and store every output of the job. Raises LeaseLost if taken over."""
    from PIL import Image

    from generation.pipelines import run_outputs

    job = GenerationJob.objects.select_related("product", "image").get(pk=job_id)
    last = {"progress": -1}

    def report(fraction: float, message: str) -> None:
        # 5..90 for generation, the rest for storing; write only on visible change
        pct = 5 + int(85 * max(0.0, min(1.0, fraction)))
        if pct != last["progress"]:
            last["progress"] = pct
            renew_lease(job_id, token, progress=pct, message=message)

    renew_lease(job_id, token, progress=2, message="Loading the photo")
    with Image.open(io.BytesIO(storage.read_bytes(job.image.normalized_key))) as im:
        photo = im.copy()
    # no asset from a matte nobody trusts: raises MatteNeedsReview (the job waits for the merchant)
    matte = masks.job_matte(job.image, photo)

    logo = load_logo(job.parameters)
    with tempfile.TemporaryDirectory(prefix=f"job{job_id}-") as workdir, Heartbeat(job_id, token) as beat:
        result = run_outputs(
            photo,
            build_requests(job, logo),
            segmenter=matte.segmenter(job.parameters.get("segmenter", "auto")),
            mask=matte.mask,
            config=generation_config(),
            progress=report,
            workdir=Path(workdir),
            logo=logo,
        )
        if beat.lost:
            raise LeaseLost(f"job {job_id} was taken over during generation")
        files = list(matte.annotate(output_files(job, result)))

    return store_outputs(job, token, files)
