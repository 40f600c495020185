"""Audio tracks for clips: uploaded through the API and the brand kit page, checked at the
door, stored under the server's keys, chosen by id in a job and played by its clip."""

from __future__ import annotations

import io
import re

import av
import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from generation.request import InvalidRequest
from shop_assets.accounts.models import ApiKey
from shop_assets.catalog.audio import add_audio_track
from shop_assets.catalog.models import AudioTrack
from shop_assets.jobs import requests as job_requests
from shop_assets.jobs.models import GenerationJob, JobStatus
from shop_assets.jobs.storage import read_bytes
from shop_assets.jobs.tasks import run_job_task
from tests.conftest import png_bytes, stored_files
from tests.synthetic import sine_track

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    monkeypatch.setattr(job_requests, "enqueue", lambda job_id, queue: None)


@pytest.fixture
def api(client, merchant):
    _, secret = ApiKey.issue(merchant, "test")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client


def _upload(api, data: bytes, name: str = "tone.wav"):
    return api.post("/api/v1/audio", {"file": SimpleUploadedFile(name, data)})


# -- the API ---------------------------------------------------------------------------------


def test_upload_list_get_and_delete_a_track(api, merchant):
    # given a 2 s WAV whose name tries to choose where it goes
    data = sine_track("wav", 2.0)

    # when it is uploaded
    created = _upload(api, data, "../../etc/jingle.wav")

    # then it is described, and stored under a key the server chose
    assert created.status_code == 201, created.content
    body = created.json()
    track = AudioTrack.objects.get()
    assert {
        k: body[k] for k in ("id", "name", "format", "codec", "sample_rate", "channels", "size_bytes")
    } == {
        "id": track.pk,
        "name": "jingle.wav",  # Django keeps the base name only
        "format": "wav",
        "codec": "pcm_s16le",
        "sample_rate": 44100,
        "channels": 1,
        "size_bytes": len(data),
    }
    assert body["duration"] == pytest.approx(2.0, abs=0.01)
    assert re.fullmatch(rf"merchants/{merchant.pk}/audio/[0-9a-f]{{32}}\.wav", track.storage_key)
    assert read_bytes(track.storage_key) == data
    # and listed and read back
    listed = api.get("/api/v1/audio").json()
    assert [t["id"] for t in listed["items"]] == [track.pk] and listed["count"] == 1
    assert api.get(f"/api/v1/audio/{track.pk}").json() == body

    # when it is deleted
    deleted = api.delete(f"/api/v1/audio/{track.pk}")

    # then the row and the file are gone
    assert deleted.status_code == 204
    assert not AudioTrack.objects.exists()
    assert track.storage_key not in stored_files()


def _video_mp4() -> bytes:
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=30)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), i * 40, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("make", "code", "words"),
    [
        (lambda: png_bytes(Image.new("RGB", (8, 8))), "not_audio", "not an audio file"),
        (_video_mp4, "not_audio", "the file holds video"),
        (lambda: sine_track("alac"), "unsupported_audio", "M4A with alac audio is not accepted"),
        (lambda: sine_track("m4a", 2.0)[:3000], "corrupt_audio", "could not be read"),
        (
            lambda: sine_track("wav", 6.0),
            "too_long",
            "the track is 6 s long; a clip's audio may be 5 seconds",
        ),
        (lambda: sine_track("wav", 13.0), "too_large", "the file is 1.1 MB; an audio track may be 1 MB"),
    ],
)
def test_what_is_not_a_usable_track_is_refused_and_nothing_is_stored(api, settings, make, code, words):
    # given limits of 5 seconds and 1 MB
    settings.MAX_AUDIO_SECONDS = 5
    settings.MAX_AUDIO_MB = 1
    before = stored_files()

    # when
    refused = _upload(api, make(), "track.mp3")

    # then
    assert refused.status_code == 400
    body = refused.json()
    assert (body["code"], body["field"]) == (code, "file")
    assert words in body["detail"]
    assert not AudioTrack.objects.exists()
    assert stored_files() == before


def test_another_merchants_track_is_a_404(api, other_merchant):
    # given another merchant's track
    track = add_audio_track(other_merchant.pk, sine_track("wav", 1.0))

    # then it is neither read nor deleted, nor listed
    assert api.get(f"/api/v1/audio/{track.pk}").status_code == 404
    assert api.delete(f"/api/v1/audio/{track.pk}").status_code == 404
    assert api.get("/api/v1/audio").json()["items"] == []
    assert AudioTrack.objects.filter(pk=track.pk).exists()


def test_a_track_a_waiting_job_plays_is_not_deleted(api, product_image):
    # given a queued clip job playing the merchant's track
    track = add_audio_track(product_image.product.merchant_id, sine_track("wav", 1.0))
    job = job_requests.create_job(
        product_image.product, product_image, ["clip"], {"clip": {"audio": track.pk}}
    )
    assert job.status == JobStatus.QUEUED

    # when
    refused = api.delete(f"/api/v1/audio/{track.pk}")

    # then
    assert refused.status_code == 409
    assert refused.json()["code"] == "track_in_use"
    assert read_bytes(track.storage_key)  # the file is still there
    assert AudioTrack.objects.filter(pk=track.pk).exists()


# -- in a job ------------------------------------------------------------------------------------


def test_a_job_naming_a_track_that_is_not_the_merchants_is_refused_with_the_field(
    api, product_image, other_merchant
):
    # given a track of another merchant, and an id nobody has
    theirs = add_audio_track(other_merchant.pk, sine_track("wav", 1.0))

    for track_id in (theirs.pk, theirs.pk + 100):
        # when
        refused = api.post(
            "/api/v1/jobs",
            {
                "product_id": product_image.product_id,
                "outputs": ["clip"],
                "parameters": {"clip": {"audio": track_id}},
            },
            content_type="application/json",
        )

        # then
        assert refused.status_code == 400
        body = refused.json()
        assert (body["code"], body["field"]) == ("invalid_request", "parameters.clip.audio")
        assert f"you have no audio track {track_id}" in body["detail"]
    assert not GenerationJob.objects.exists()


def test_a_bad_audio_value_is_refused_by_the_request_model(product_image):
    for value in ("1", 0, 1.5):
        with pytest.raises(InvalidRequest) as refused:
            job_requests.create_job(
                product_image.product, product_image, ["clip"], {"clip": {"audio": value}}
            )
        assert refused.value.field == "clip.audio"
    assert not GenerationJob.objects.exists()


def test_the_clip_plays_the_chosen_track_and_its_asset_says_so(product_image):
    # given a 2 s MP3 of the merchant's, chosen for a 5 s clip
    track = add_audio_track(product_image.product.merchant_id, sine_track("mp3", 2.0), filename="jingle.mp3")
    job = job_requests.create_job(
        product_image.product,
        product_image,
        ["clip"],
        {"clip": {"duration": 5, "style": "pan", "size": [270, 480], "audio": track.pk}},
    )
    assert job.parameters["clip"]["audio"] == track.pk

    # when the worker runs it
    assert run_job_task.apply(args=[job.pk]).get() == "succeeded"

    # then the MP4 has the track as AAC, looped to the clip's length, and the asset records it
    clip = job.assets.get(kind="clip", format="mp4")
    with av.open(io.BytesIO(read_bytes(clip.storage_key))) as container:
        assert [s.codec_context.name for s in container.streams.audio] == ["aac"]
        pcm = np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1)
        assert abs(pcm.shape[1] / 48000 - 5.0) <= 1 / 30
    with av.open(io.BytesIO(read_bytes(clip.storage_key))) as container:
        assert sum(1 for _ in container.decode(video=0)) == 150
    audio = clip.metrics["audio"]
    assert (audio["track_id"], audio["source"], audio["codec"], audio["looped"]) == (
        track.pk,
        "jingle.mp3",
        "aac",
        True,
    )


def test_a_track_deleted_before_the_job_runs_fails_it_by_name(product_image):
    # given a queued job whose track is then deleted (bypassing the API's check)
    track = add_audio_track(product_image.product.merchant_id, sine_track("wav", 1.0))
    job = job_requests.create_job(
        product_image.product, product_image, ["clip"], {"clip": {"size": [270, 480], "audio": track.pk}}
    )
    AudioTrack.objects.filter(pk=track.pk).delete()

    # when
    run_job_task.apply(args=[job.pk]).get()

    # then
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert f"you have no audio track {track.pk}" in job.error_message
    assert not job.assets.exists()


# -- the dashboard ---------------------------------------------------------------------------------


def test_brand_kit_page_uploads_lists_and_deletes_tracks(signed_in, merchant):
    # when a track is uploaded from the brand kit page
    done = signed_in.post(
        reverse("dashboard:audio_upload"), {"track": SimpleUploadedFile("tune.flac", sine_track("flac", 3.0))}
    )

    # then it is stored and listed
    assert done.status_code == 302
    track = AudioTrack.objects.get(merchant=merchant)
    assert (track.name, track.format) == ("tune.flac", "flac")
    page = signed_in.get(reverse("dashboard:brand_kit")).content.decode()
    assert f'data-track="{track.pk}"' in page and "tune.flac" in page

    # when it is deleted
    gone = signed_in.post(reverse("dashboard:audio_delete", args=[track.pk]))

    # then
    assert gone.status_code == 302 and not AudioTrack.objects.exists()


def test_brand_kit_page_refuses_a_bad_track_naming_the_problem(signed_in, other_merchant):
    # given another merchant's track
    theirs = add_audio_track(other_merchant.pk, sine_track("wav", 1.0))
    before = stored_files()

    # when a text file is uploaded, and the other merchant's track is deleted
    refused = signed_in.post(
        reverse("dashboard:audio_upload"), {"track": SimpleUploadedFile("notes.mp3", b"la la la" * 10)}
    )
    not_found = signed_in.post(reverse("dashboard:audio_delete", args=[theirs.pk]))

    # then
    assert refused.status_code == 400
    assert "notes.mp3: this is not an audio file we accept" in refused.content.decode()
    assert not_found.status_code == 404
    assert list(AudioTrack.objects.values_list("pk", flat=True)) == [theirs.pk]
    assert stored_files() == before


def test_new_job_form_offers_the_merchants_tracks_for_clips(signed_in, product_image, other_merchant):
    # given no track yet: the form points to the upload
    url = reverse("dashboard:product", args=[product_image.product_id])
    assert 'name="clip_audio"' not in signed_in.get(url).content.decode()

    # given one track of the merchant and one of another
    mine = add_audio_track(product_image.product.merchant_id, sine_track("wav", 1.0), filename="mine.wav")
    theirs = add_audio_track(other_merchant.pk, sine_track("wav", 1.0), filename="theirs.wav")

    # then the form offers the merchant's own
    page = signed_in.get(url).content.decode()
    assert 'name="clip_audio"' in page and "mine.wav (1 s)" in page and "theirs.wav" not in page

    # when a clip job is started with it
    form = {
        "image": product_image.pk,
        "outputs": ["clip"],
        "segmenter": "auto",
        "scene_count": 1,
        "engine": "studio",
        "seed": 0,
        "format": "png",
        "theme": "studio_sweep",
        "clip_preset": "story",
        "clip_style": "push_in",
        "clip_duration": 5,
    }
    started = signed_in.post(
        reverse("dashboard:job_start", args=[product_image.product_id]), {**form, "clip_audio": mine.pk}
    )
    refused = signed_in.post(
        reverse("dashboard:job_start", args=[product_image.product_id]), {**form, "clip_audio": theirs.pk}
    )

    # then the job plays it; the other merchant's id is not a choice
    assert started.status_code == 302
    assert GenerationJob.objects.get().parameters["clip"]["audio"] == mine.pk
    assert refused.status_code == 400 and GenerationJob.objects.count() == 1
