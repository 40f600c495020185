"""Doing the work: turn a claimed job into generated outputs, then hand them to storing."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from PIL import Image

from generation import pipelines
from generation.errors import SegmentationFailed
from shop_assets.accounts.models import BrandKit
from shop_assets.catalog import masks
from shop_assets.jobs import faults, rerender, storage
from shop_assets.jobs.lifecycle import Heartbeat, LeaseLost, renew_lease
from shop_assets.jobs.models import GenerationJob
from shop_assets.jobs.requests import audio_track, generation_config, stored_request
from shop_assets.jobs.storing import Keeper, StoredOutput, output_files


def load_logo(merchant_id: int) -> Image.Image | None:
    """The merchant's own brand kit logo; a request never names a file."""
    key = BrandKit.objects.filter(merchant_id=merchant_id).values_list("logo_key", flat=True).first()
    if not key:
        return None
    with Image.open(io.BytesIO(storage.read_bytes(key))) as im:
        return im.convert("RGBA")


def run_job(job_id: int, token: str) -> list[StoredOutput]:
    """Generate every output of the job, storing and recording each as soon as it is made
    (the job's page shows it while the rest are made). Raises LeaseLost if taken over;
    an attempt that fails for any other reason takes back what it kept."""
    job = GenerationJob.objects.select_related("product", "image").get(pk=job_id)
    last = {"progress": -1}

    def report(fraction: float, message: str) -> None:
        # 5..99 for generation with its storing; write only on visible change
        pct = 5 + int(94 * max(0.0, min(1.0, fraction)))
        if pct != last["progress"]:
            last["progress"] = pct
            renew_lease(job_id, token, progress=pct, message=message)

    request = stored_request(job)  # the same model that let it in; InvalidRequest fails the job
    renew_lease(job_id, token, progress=2, message="Loading the photo")
    with Image.open(io.BytesIO(storage.read_bytes(job.image.normalized_key))) as im:
        photo = im.copy()
    # no asset from a matte nobody trusts: raises MatteNeedsReview (the job waits for the merchant)
    matte = masks.job_matte(job.image, photo, request.segmenter)

    logo = load_logo(job.merchant_id)
    # a re-render's layout and scene are read here, from the merchant's own assets
    again = rerender.load_rerender(job, request.rerender) if request.rerender is not None else None
    # a clip's track by id, the merchant's own (deleted since the job was made: the job fails)
    wanted = request.clip.audio if request.clip is not None else None
    track = audio_track(job.merchant_id, wanted) if wanted is not None else None
    keeper = Keeper(job, token)

    def keep(part: pipelines.GenerationResult) -> None:
        if track is not None:
            for clip in part.clips:  # the asset's metrics say which track it plays
                clip.meta["audio"] = {**clip.meta["audio"], "track_id": track.pk, "source": track.name}
        if beat.lost:
            raise LeaseLost(f"job {job_id} was taken over during generation")
        files = list(matte.annotate(part, output_files(job, part)))
        missing = [
            {"kind": m.kind, "name": m.name, "reason": faults.merchant_text(m.reason, limit=300), **m.meta}
            for m in part.not_made
        ]
        keeper.keep(files, missing)

    try:
        with tempfile.TemporaryDirectory(prefix=f"job{job_id}-") as workdir, Heartbeat(job_id, token) as beat:
            audio = None
            if track is not None:
                audio = Path(workdir) / f"audio-{track.pk}.{track.format}"  # never the uploader's name
                audio.write_bytes(storage.read_bytes(track.storage_key))
            try:
                pipelines.run_outputs(
                    photo,
                    request.output_requests(logo, rerender=again),
                    segmenter=matte.segmenter(request.segmenter),
                    mask=matte.mask,
                    config=generation_config(),
                    progress=report,
                    workdir=Path(workdir),
                    logo=logo,
                    audio=audio,
                    on_output=keep,
                )
            except SegmentationFailed as refusal:
                matte.hold_refusal(refusal)  # raises MatteNeedsReview on the automatic path
                raise
            if beat.lost:
                raise LeaseLost(f"job {job_id} was taken over during generation")
    except BaseException as exc:
        keeper.discard(exc)
        raise
    return keeper.stored
