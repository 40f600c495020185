"""The merchant's audio tracks on the brand kit page: upload one, delete one.

Uploads are checked as the API checks them (``shop_assets.catalog.audio``) and count
against the merchant's uploads a minute; another merchant's track ids answer 404.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from generation.errors import AudioRejected
from shop_assets.accounts import access
from shop_assets.catalog import audio
from shop_assets.catalog.models import AudioTrack
from shop_assets.dashboard.views import brand_kit_page, merchant_required
from shop_assets.limits import LimitExceeded
from shop_assets.limits.quotas import check_upload_rate


class AudioForm(forms.Form):
    track = forms.FileField(label="Audio track")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        seconds = settings.MAX_AUDIO_SECONDS
        most = f"{seconds / 60:g} minutes" if seconds >= 60 else f"{seconds} seconds"
        self.fields["track"].help_text = (
            f"MP3, M4A/AAC, WAV, Ogg or FLAC, up to {most} and {settings.MAX_AUDIO_MB} MB. "
            "Clips fade it in and out, and loop or cut it to their length."
        )


def tracks_of(merchant_id: int) -> list[AudioTrack]:
    return list(AudioTrack.objects.filter(merchant_id=merchant_id))


@merchant_required
@require_POST
def audio_upload(request: HttpRequest) -> HttpResponse:
    merchant_id = access.merchant_id(request)
    form = AudioForm(request.POST, request.FILES)
    if not form.is_valid():
        return brand_kit_page(request, audio_form=form, status=400)
    upload = form.cleaned_data["track"]
    try:
        check_upload_rate(request, merchant_id)
        track = audio.add_audio_track(merchant_id, audio.read_audio_upload(upload), filename=upload.name)
    except LimitExceeded as exc:
        form.add_error("track", f"{upload.name}: {exc}")
        return exc.annotate(brand_kit_page(request, audio_form=form))
    except AudioRejected as exc:
        form.add_error("track", f"{upload.name}: {exc}")
        return brand_kit_page(request, audio_form=form, status=400)
    messages.success(request, f"Audio track {track.name} added; choose it under Clip when you start a job.")
    return redirect("dashboard:brand_kit")


@merchant_required
@require_POST
def audio_delete(request: HttpRequest, pk: int) -> HttpResponse:
    with transaction.atomic():
        track = get_object_or_404(
            AudioTrack.objects.select_for_update().filter(merchant_id=access.merchant_id(request)), pk=pk
        )
        waiting = audio.jobs_waiting_for(track)
        if waiting:
            messages.error(request, f"{waiting} job(s) still to run play {track.name}; cancel them or wait.")
            return redirect("dashboard:brand_kit")
        audio.delete_audio_track(track)
    messages.success(request, f"Audio track {track.name} deleted. Clips already made keep their sound.")
    return redirect("dashboard:brand_kit")
