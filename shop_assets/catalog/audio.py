"""A merchant's audio tracks for clips: checked at upload, stored, found, deleted.

An upload is decoded whole by ``generation.clips.audio.read_audio`` inside one of the web
process's decode slots, and refused (nothing stored) when it is not audio, not one of the
accepted containers and codecs, damaged, longer than ``SHOPASSETS_MAX_AUDIO_SECONDS`` or
larger than ``SHOPASSETS_MAX_AUDIO_MB``. The file is stored under a key the server chose;
a job names a track by its id, checked against the merchant's own tracks.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import transaction

from generation.clips.audio import AudioLimits, read_audio
from generation.errors import AudioRejected
from shop_assets.catalog.models import AudioTrack
from shop_assets.jobs import storage
from shop_assets.jobs.models import GenerationJob, JobStatus
from shop_assets.limits.uploads import decode_slot, read_bounded


def audio_limits() -> AudioLimits:
    return AudioLimits(max_bytes=settings.MAX_AUDIO_MB * 1024 * 1024, max_seconds=settings.MAX_AUDIO_SECONDS)


def read_audio_upload(upload) -> bytes:
    """Bytes of a Django UploadedFile, refusing an oversized one before reading it."""
    mb = settings.MAX_AUDIO_MB

    def too_large(size: int | None) -> AudioRejected:
        if size is None:
            return AudioRejected(f"the file is over the {mb} MB limit", code="too_large")
        return AudioRejected(
            f"the file is {size / 1048576:.1f} MB; an audio track may be {mb} MB", code="too_large"
        )

    return read_bounded(upload, audio_limits().max_bytes, too_large)


def add_audio_track(merchant_id: int, data: bytes, *, filename: str = "") -> AudioTrack:
    """Check ``data`` and store it as one of the merchant's tracks.

    Raises ``AudioRejected`` (nothing stored) naming the problem, ``ServerBusy`` when every
    decode slot of the process stays taken.
    """
    # 1. decode all of it; refusals happen before anything is written
    with decode_slot():
        info = read_audio(data, audio_limits())

    # 2. store under the server's key; if the row fails, remove the file
    key = storage.audio_key(merchant_id, uuid.uuid4().hex, info.extension)
    storage.put_bytes(key, data)
    try:
        with transaction.atomic():
            return AudioTrack.objects.create(
                merchant_id=merchant_id,
                name=(filename or f"track.{info.extension}")[:255],
                storage_key=key,
                format=info.format,
                codec=info.codec,
                duration=round(info.duration, 3),
                sample_rate=info.sample_rate,
                channels=info.channels,
                size_bytes=len(data),
                checksum=storage.sha256(data),
            )
    except BaseException:
        storage.delete_keys([key])
        raise


def jobs_waiting_for(track: AudioTrack) -> int:
    """The merchant's jobs still to run (queued, running, waiting for a review) whose clip
    plays ``track``."""
    return GenerationJob.objects.filter(
        merchant_id=track.merchant_id,
        status__in=(JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.NEEDS_REVIEW),
        parameters__clip__audio=track.pk,
    ).count()


def delete_audio_track(track: AudioTrack) -> None:
    """Delete the row; the file goes once the deletion commits. Assets already made keep
    their sound (it is inside the clip)."""
    key = track.storage_key
    track.delete()
    transaction.on_commit(lambda: storage.delete_keys([key]))
