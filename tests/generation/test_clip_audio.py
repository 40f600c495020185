"""A clip's audio track: checked at the door, looped or cut to the clip, faded, muxed as
AAC beside video frames that do not change."""

from __future__ import annotations

import io
import json
import math
import shutil
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from generation.clips import encode as enc
from generation.clips import plan_clip, write_clip
from generation.clips.audio import (
    DEFAULT_AUDIO_LIMITS,
    AudioLimits,
    AudioSettings,
    add_audio,
    read_audio,
    sniff_format,
)
from generation.clips.spec import get_preset
from generation.errors import AudioRejected
from tests.generation.test_clips import _files, _segmentation, run_cli, small
from tests.synthetic import product_photo, sine_track

RATE = 48000
EDGE = round(0.05 * RATE)  # the first and last 50 ms


def _rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


def _decoded_audio(path: Path) -> tuple[list[str], np.ndarray, int]:
    """Codec names of the audio streams, and the first one decoded: (channels, samples)."""
    with av.open(str(path)) as container:
        codecs = [s.codec_context.name for s in container.streams.audio]
        if not codecs:
            return codecs, np.zeros((0, 0), np.float32), 0
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        pcm = np.concatenate([f.to_ndarray() for f in container.decode(stream)], axis=1)
    return codecs, pcm, rate


def _video_packets(path: Path) -> list[tuple[int | None, int | None, bool, bytes]]:
    """The video stream's packets as stored: (pts, dts, keyframe, bytes)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [
            (p.pts, p.dts, p.is_keyframe, bytes(p))
            for p in container.demux(stream)
            if p.size  # the demuxer's empty end-of-stream packet
        ]


def _yuv_frames(path: Path) -> list[bytes]:
    """Each decoded frame's Y, Cb and Cr planes, as the decoder put them out."""
    with av.open(str(path)) as container:
        return [f.to_ndarray().tobytes() for f in container.decode(video=0)]


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def tone(tmp_path_factory) -> Path:
    """A 7 s, 440 Hz sine at half scale (longer than the clip: it is cut)."""
    return _write(tmp_path_factory.mktemp("tone"), "tone.wav", sine_track("wav", 7.0))


@pytest.fixture(scope="module")
def clips(tmp_path_factory, tone):
    """The same 5 s clip rendered without and with the tone."""
    seg = _segmentation()
    folder = tmp_path_factory.mktemp("clips")
    spec = small(style="push_in", headline="Fresh hand wash", poster=False)
    plain = write_clip(plan_clip(seg, spec), folder / "plain.mp4")
    voiced = write_clip(plan_clip(seg, spec), folder / "voiced.mp4", audio=tone, sidecar=True)
    return plain, voiced


@pytest.fixture(scope="module")
def remuxed(clips, tone, tmp_path_factory) -> Path:
    """The clip rendered without audio, copied, with the tone added to the copy (the step
    ``write_clip`` takes after encoding)."""
    plain, _ = clips
    copy = Path(shutil.copy(plain.path, tmp_path_factory.mktemp("remux") / "clip.mp4"))
    add_audio(copy, tone, plain.frame_count / plain.fps, "mp4")
    return copy


# -- into the clip ---------------------------------------------------------------------------


def test_clip_with_audio_has_one_aac_stream_as_long_as_the_video_faded_in_and_out(clips):
    # given a 5 s clip rendered with a 7 s tone
    _, voiced = clips

    # when it is decoded back
    codecs, pcm, rate = _decoded_audio(voiced.path)

    # then one AAC stream, 48 kHz stereo, as long as the video within a frame
    assert codecs == ["aac"]
    assert rate == RATE and pcm.shape[0] == 2
    assert abs(pcm.shape[1] / rate - voiced.frame_count / voiced.fps) <= 1 / voiced.fps
    # near silence at both ends, the tone at full level in the middle (0.5 / sqrt 2)
    middle = _rms(pcm[:, rate * 2 : rate * 3])
    assert middle == pytest.approx(0.5 / math.sqrt(2), rel=0.05)
    assert _rms(pcm[:, :EDGE]) < 0.02 * middle
    assert _rms(pcm[:, -EDGE:]) < 0.02 * middle
    # and the fade takes its time: at 0.15 s (half way in) the level is about a quarter
    quarter = _rms(pcm[:, round(0.14 * rate) : round(0.16 * rate)])
    assert 0.15 * middle < quarter < 0.35 * middle


def test_adding_audio_copies_the_video_packets_unchanged(clips, remuxed):
    # given a rendered clip, and a copy of it with the tone added
    plain, _ = clips

    # when both video streams are read back: demuxed, and decoded as coded (4:2:0 planes,
    # no colour conversion in between)
    without, with_audio = _video_packets(plain.path), _video_packets(remuxed)

    # then the same packets, byte for byte, at the same times, and the same frames
    assert len(without) == len(with_audio) == plain.frame_count == 150
    assert without == with_audio
    assert _yuv_frames(plain.path) == _yuv_frames(remuxed)
    assert enc.probe_video(plain.path) == enc.probe_video(remuxed)
    assert _decoded_audio(remuxed)[0] == ["aac"]


def test_a_clip_rendered_with_audio_passes_the_same_checks(clips):
    # given the same clip rendered without and with audio. x264's rate control under the
    # platform's bitrate cap (VBV) with frame threads does not give the same bytes on
    # every run (the same frames, encoded 40 times: 39 alike), so the two encodes are not
    # compared byte for byte: the remux test above is where audio meets the packets
    plain, voiced = clips

    # then every frame was checked before encoding, alike, and both files read back alike
    assert enc.probe_video(plain.path) == enc.probe_video(voiced.path)
    drop = ("encoded_psnr_db",)
    assert {k: v for k, v in voiced.fidelity.to_dict().items() if k not in drop} == {
        k: v for k, v in plain.fidelity.to_dict().items() if k not in drop
    }
    assert voiced.fidelity.identical and voiced.fidelity.frames_checked == 150
    assert voiced.fidelity.encoded_psnr_db is not None and voiced.fidelity.encoded_psnr_db >= 38.0
    assert voiced.meta["text_checks"] == plain.meta["text_checks"]


def test_the_clip_records_its_audio_and_one_without_records_none(clips, tone):
    # given the two clips
    plain, voiced = clips

    # then the result and the sidecar say what was added
    assert plain.meta["audio"] is None
    assert voiced.meta["audio"] == {
        "source": "tone.wav",
        "codec": "aac",
        "sample_rate": 48000,
        "channels": 2,
        "bitrate_kbps": 128,
        "duration": 5.0,
        "source_duration": 5.0,
        "looped": False,
        "fade_in_s": 0.3,
        "fade_out_s": 0.8,
    }
    side = json.loads(voiced.path.with_suffix(".json").read_text())
    assert side["audio"] == voiced.meta["audio"]
    # and the file without a track has no audio stream at all
    assert _decoded_audio(plain.path)[0] == []


def test_mp4_with_audio_keeps_its_index_first_and_its_bitrate_near_128_kbps(clips):
    _, voiced = clips
    data = voiced.path.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")
    with av.open(str(voiced.path)) as container:
        assert 96_000 <= container.streams.audio[0].bit_rate <= 160_000


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    """A 3 s grey ramp, 64 x 64 at 30 fps."""
    path = tmp_path_factory.mktemp("video") / "ramp.mp4"
    with enc.VideoEncoder(path, enc.h264_settings(get_preset("story"), 30), (64, 64), 30) as encoder:
        for i in range(90):
            encoder.write(np.full((64, 64, 3), 40 + i * 2, np.uint8))
    return path


def test_a_short_track_is_looped_to_the_clip_length(video, tmp_path):
    # given a 1 s mono MP3 and a 3 s video
    track = _write(tmp_path, "jingle.mp3", sine_track("mp3", 1.0))
    target = shutil.copy(video, tmp_path / "clip.mp4")

    # when the track is added
    result = add_audio(Path(target), track, 3.0, "mp4")

    # then it plays three times, its mono copied to both sides at the same level
    assert result.looped and result.source_duration == pytest.approx(1.0, abs=0.03)
    _, pcm, rate = _decoded_audio(Path(target))
    assert abs(pcm.shape[1] / rate - 3.0) <= 1 / 30
    for start in (0.5, 1.1, 1.6):  # before the seam at 1 s, just after it, and later on
        window = pcm[:, round(start * rate) : round((start + 0.3) * rate)]
        assert _rms(window) == pytest.approx(0.5 / math.sqrt(2), rel=0.1)
    assert np.allclose(pcm[0], pcm[1], atol=1e-3)


def test_fades_come_from_the_settings(video, tmp_path):
    # given fades of a second each way
    track = _write(tmp_path, "tone.flac", sine_track("flac", 4.0))
    target = Path(shutil.copy(video, tmp_path / "clip.mp4"))
    settings = AudioSettings(codec="aac", bitrate_kbps=128, fade_in_s=1.0, fade_out_s=1.0)

    # when
    result = add_audio(target, track, 3.0, "mp4", settings)

    # then half a second in, the level is a quarter of full ((0.5)**2)
    _, pcm, rate = _decoded_audio(target)
    full = _rms(pcm[:, round(1.2 * rate) : round(1.8 * rate)])
    assert _rms(pcm[:, round(0.49 * rate) : round(0.51 * rate)]) == pytest.approx(0.25 * full, rel=0.15)
    assert (result.fade_in_s, result.fade_out_s, result.looped) == (1.0, 1.0, False)


def test_webm_gets_the_track_as_opus(video, tmp_path):
    # given a WebM video
    webm = tmp_path / "clip.webm"
    with enc.VideoEncoder(webm, enc.vp9_settings(get_preset("story")), (64, 64), 30) as encoder:
        for i in range(60):
            encoder.write(np.full((64, 64, 3), 40 + i * 2, np.uint8))
    track = _write(tmp_path, "tone.ogg", sine_track("ogg", 3.0))

    # when
    add_audio(webm, track, 2.0, "webm")

    # then
    codecs, pcm, rate = _decoded_audio(webm)
    assert codecs == ["opus"] and rate == RATE
    assert abs(pcm.shape[1] / rate - 2.0) <= 1 / 30 + 0.02  # Opus pads to whole 20 ms frames
    assert len(list(enc.decode_frames(webm))) == 60


def test_a_failing_track_leaves_the_clip_as_it_was(video, tmp_path):
    # given a file that is not audio
    junk = _write(tmp_path, "notes.mp3", b"these are not sounds")
    target = Path(shutil.copy(video, tmp_path / "clip.mp4"))
    before = target.read_bytes()

    # when / then
    with pytest.raises(AudioRejected) as refused:
        add_audio(target, junk, 3.0, "mp4")
    assert refused.value.code == "not_audio"
    assert target.read_bytes() == before
    assert _files(tmp_path) == ["clip.mp4", "notes.mp3"]


# -- at the door --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "codec"),
    [("wav", "pcm_s16le"), ("mp3", "mp3"), ("m4a", "aac"), ("aac", "aac"), ("ogg", "opus"), ("flac", "flac")],
)
def test_known_containers_and_codecs_are_accepted(kind, codec):
    # when
    info = read_audio(sine_track(kind, 2.0), DEFAULT_AUDIO_LIMITS)

    # then
    assert (info.format, info.codec, info.channels) == (kind, codec, 1)
    assert info.duration == pytest.approx(2.0, abs=0.05)


def test_the_name_does_not_decide_the_format(tmp_path):
    # given a WAV named .mp3
    path = _write(tmp_path, "song.mp3", sine_track("wav", 1.0))

    # then it is read as what it is
    assert read_audio(path, DEFAULT_AUDIO_LIMITS).format == "wav"
    assert sniff_format(b"#EXTM3U\nhttp://x/") is None  # a playlist is never opened


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buf, "PNG")
    return buf.getvalue()


def _mp4_video(tmp_path: Path) -> bytes:
    path = tmp_path / "v.mp4"
    with enc.VideoEncoder(path, enc.h264_settings(get_preset("story"), 30), (64, 64), 30) as encoder:
        encoder.write(np.zeros((64, 64, 3), np.uint8))
    return path.read_bytes()


def _garbled_mp3() -> bytes:
    head = sine_track("mp3", 2.0)[:700]  # the ID3 tag and the first frames
    return head + np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes()


def _cut_m4a() -> bytes:
    return sine_track("m4a", 2.0)[:3000]  # cut off before its index


@pytest.mark.parametrize(
    ("make", "code", "words"),
    [
        (lambda tmp: b"", "not_audio", "empty"),
        (lambda tmp: _png(), "not_audio", "not an audio file we accept; use MP3, M4A/AAC, WAV"),
        (lambda tmp: b"hello, world" * 10, "not_audio", "not an audio file"),
        (lambda tmp: _mp4_video(tmp), "not_audio", "the file holds video"),
        (lambda tmp: sine_track("alac"), "unsupported_audio", "M4A with alac audio is not accepted"),
        (lambda tmp: b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk", "corrupt_audio", "could not be read"),
        (
            lambda tmp: _garbled_mp3(),
            "corrupt_audio",
            "the audio could not be decoded after 0.1 s (Invalid data",
        ),
        (
            lambda tmp: _cut_m4a(),
            "corrupt_audio",
            "the file starts like M4A but could not be read as it (Invalid",
        ),
        (
            lambda tmp: sine_track("wav", 4.0),
            "too_long",
            "the track is 4 s long; a clip's audio may be 3 seconds",
        ),
    ],
)
def test_what_is_not_a_usable_track_is_refused_naming_the_problem(tmp_path, make, code, words):
    # given a 3 s limit
    limits = AudioLimits(max_bytes=10_000_000, max_seconds=3)

    # when / then
    with pytest.raises(AudioRejected) as refused:
        read_audio(make(tmp_path), limits)
    assert refused.value.code == code
    assert words in str(refused.value)


def test_a_file_over_the_size_limit_is_refused_before_it_is_opened(tmp_path):
    # given a 2 s WAV (176 kB) and a 100 kB limit
    path = _write(tmp_path, "tone.wav", sine_track("wav", 2.0))

    # when / then
    with pytest.raises(AudioRejected) as refused:
        read_audio(path, AudioLimits(max_bytes=100_000, max_seconds=300))
    assert refused.value.code == "too_large"
    assert str(refused.value) == "the file is 0.2 MB; an audio track may be 0.1 MB"


def test_a_length_the_header_does_not_tell_is_caught_while_decoding():
    # given a FLAC whose header leaves its length unknown (0 samples), with 4 s of sound
    data = bytearray(sine_track("flac", 4.0))
    data[21] &= 0xF0
    data[22:26] = bytes(4)

    # when / then: refused under a 3 s limit once decoding passes it
    with pytest.raises(AudioRejected) as refused:
        read_audio(bytes(data), AudioLimits(max_bytes=10_000_000, max_seconds=3))
    assert refused.value.code == "too_long"
    assert str(refused.value) == "the track runs past 3 seconds, the most a clip's audio may be"


# -- the CLI ---------------------------------------------------------------------------------------


def test_cli_adds_the_audio_track(tmp_path):
    # given a photo and a 2 s tone
    photo, _ = product_photo((480, 600), "gradient")
    photo.save(tmp_path / "bottle.jpg", quality=92)
    track = _write(tmp_path, "tone.m4a", sine_track("m4a", 2.0))

    # when
    done = run_cli(
        tmp_path / "bottle.jpg",
        "--size",
        "270x480",
        "--duration",
        "5",
        "--audio",
        track,
        "--no-poster",
        "--quiet",
        "--out",
        tmp_path / "x.mp4",
        cwd=tmp_path,
    )

    # then the clip has the tone, looped to 5 s
    assert done.returncode == 0, done.stderr
    codecs, pcm, rate = _decoded_audio(tmp_path / "x.mp4")
    assert codecs == ["aac"] and abs(pcm.shape[1] / rate - 5.0) <= 1 / 30
    side = json.loads((tmp_path / "x.json").read_text())
    assert side["audio"]["source"] == "tone.m4a" and side["audio"]["looped"] is True


def test_cli_refuses_a_bad_audio_file_in_one_line_and_writes_nothing(tmp_path):
    # given a photo and a text file passed as the track
    photo, _ = product_photo((480, 600), "gradient")
    photo.save(tmp_path / "bottle.jpg", quality=92)
    _write(tmp_path, "notes.txt", b"la la la")
    out = tmp_path / "out"

    # when
    done = run_cli(
        tmp_path / "bottle.jpg", "--audio", tmp_path / "notes.txt", "--out", out / "x.mp4", cwd=tmp_path
    )

    # then
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: --audio notes.txt: this is not an audio file we accept; use "
        "MP3, M4A/AAC, WAV, Ogg (Vorbis or Opus) or FLAC"
    ]
    assert _files(out) == []
