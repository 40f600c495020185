"""A merchant's audio tracks in the REST API (``/api/v1/audio``), scoped to the key's
merchant: another merchant's track ids answer 404 like ids that do not exist.

``POST`` takes one file (multipart ``file``), decodes all of it and stores it under a key
the server chooses; a file that is not an accepted, intact track within the limits is a
400 naming the problem (nothing stored). A clip plays a track when a job's
``parameters.clip.audio`` is its id.
"""

# no `from __future__ import annotations`: ninja resolves the paginated view's schemas
# from the annotations themselves
from datetime import datetime

from django.db import transaction
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import File, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from shop_assets.accounts.access import key_merchant
from shop_assets.api.errors import ApiError, ErrorOut
from shop_assets.catalog import audio
from shop_assets.catalog.models import AudioTrack
from shop_assets.limits import api as limits

router = Router(tags=["audio"])


class AudioTrackOut(Schema):
    id: int
    name: str  # the uploaded file's name
    format: str  # mp3 | m4a | aac | wav | ogg | flac
    codec: str
    duration: float  # seconds
    sample_rate: int
    channels: int
    size_bytes: int
    checksum: str  # SHA-256 of the file
    created_at: datetime


def _tracks(request: HttpRequest):
    return AudioTrack.objects.filter(merchant=key_merchant(request))


@router.post(
    "",
    response={201: AudioTrackOut, 400: ErrorOut, 413: ErrorOut, 429: ErrorOut, 503: ErrorOut},
    throttle=limits.upload_throttles(),
)
def upload_audio(request: HttpRequest, file: File[UploadedFile]):
    """Store an audio track for clips: MP3, M4A/AAC, WAV, Ogg (Vorbis, Opus) or FLAC, at most
    ``SHOPASSETS_MAX_AUDIO_SECONDS`` long and ``SHOPASSETS_MAX_AUDIO_MB`` large."""
    merchant = key_merchant(request)
    data = audio.read_audio_upload(file)
    return Status(201, audio.add_audio_track(merchant.pk, data, filename=file.name or ""))


@router.get("", response=list[AudioTrackOut], url_name="audio_tracks")
@paginate
def list_audio(request: HttpRequest):
    """Newest first."""
    return _tracks(request)


@router.get("/{track_id}", response={200: AudioTrackOut, 404: ErrorOut})
def get_audio(request: HttpRequest, track_id: int):
    return get_object_or_404(_tracks(request), pk=track_id)


@router.delete("/{track_id}", response={204: None, 404: ErrorOut, 409: ErrorOut})
def delete_audio(request: HttpRequest, track_id: int):
    """Delete the track and its file. Clips already made keep their sound; refused while a
    job still to run plays it (cancel it first)."""
    with transaction.atomic():
        track = get_object_or_404(_tracks(request).select_for_update(), pk=track_id)
        waiting = audio.jobs_waiting_for(track)
        if waiting:
            raise ApiError(
                409,
                "track_in_use",
                f"{waiting} job(s) still to run play this track; cancel them or wait.",
            )
        audio.delete_audio_track(track)
    return Status(204, None)
