"""A clip cut to its sound track's beat: the tempo and first beat found in click tracks at
known tempos, the preset's grid kept for noise and tones, and cuts, text and the end-card
move placed on the music's beats."""

from __future__ import annotations

import numpy as np
import pytest

from generation.clips import plan_clip
from generation.clips.audio import track_tempo
from generation.clips.tempo import estimate_tempo
from tests.generation.test_clips import _segmentation, small
from tests.synthetic import click_track, sine_track, write_track


@pytest.fixture(scope="module")
def bottle():
    return _segmentation()


def _write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _off_beat(t: float, bpm: float, first: float) -> float:
    """Seconds from ``t`` to the nearest click of a track at ``bpm`` from ``first``."""
    period = 60.0 / bpm
    phase = (t - first) % period
    return min(phase, period - phase)


@pytest.mark.parametrize(("bpm", "first"), [(90, 0.23), (120, 0.05), (128, 0.31)])
def test_the_tempo_and_first_beat_of_a_click_track_are_found(tmp_path, bpm, first):
    # given a click track at a known tempo, its first click ``first`` s in
    track = _write(tmp_path, "clicks.wav", click_track(bpm, first, seconds=10.0))

    # when the tempo of what plays under an 8 s clip is estimated (decoded, faded in)
    tempo = track_tempo(track, 8.0)

    # then it is that tempo, and its first beat is the first click (to a frame's third)
    assert tempo is not None
    assert tempo.bpm == pytest.approx(bpm, rel=0.01)
    assert tempo.first_beat < tempo.period
    assert _off_beat(tempo.first_beat, bpm, first) < 0.012
    assert tempo.confidence > 0.5


def test_clicks_under_noise_and_off_beat_accents_still_give_the_tempo():
    # given 100 BPM clicks, every fourth accented, under steady noise (decoded samples)
    rate = 48000
    import io

    import av

    with av.open(io.BytesIO(click_track(100, 0.4, seconds=8.0, rate=rate, noise=0.05, accent=4))) as c:
        samples = np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(audio=0)])

    # when the tempo is estimated
    tempo = estimate_tempo(samples.astype(np.float32), rate)

    # then the beat is the click's, not the accent's
    assert tempo is not None and tempo.bpm == pytest.approx(100, rel=0.01)
    assert _off_beat(tempo.first_beat, 100, 0.4) < 0.012


@pytest.mark.parametrize("kind", ["noise", "tone", "silence"])
def test_no_steady_beat_gives_no_tempo(tmp_path, kind):
    # given a track with no beat to cut to
    rate, seconds = 44100, 8.0
    n = round(rate * seconds)
    if kind == "noise":
        data = write_track(np.random.default_rng(7).normal(0, 0.2, n).astype(np.float32), rate=rate)
    elif kind == "tone":
        data = sine_track("wav", seconds, rate=rate)
    else:
        data = write_track(np.zeros(n, dtype=np.float32), rate=rate)

    # then no tempo is claimed
    assert track_tempo(_write(tmp_path, f"{kind}.wav", data), 8.0) is None


def test_cuts_text_and_the_end_card_move_land_on_the_music(bottle, tmp_path):
    # given a sequence with a headline and an end card, and a 128 BPM track (first click 0.31 s)
    bpm, first = 128, 0.31
    track = _write(tmp_path, "clicks.wav", click_track(bpm, first, seconds=10.0))
    spec = small(
        style="sequence", duration=8, themes=("marble_counter", "podium"), headline="Fresh", price="9.90"
    )

    # when it is planned with the track, and without
    plan = plan_clip(bottle, spec, audio=track)
    plain = plan_clip(bottle, spec)
    tl = plan.timeline

    # then every beat after the first frame is a click (within 15 ms, half a frame): the
    # product lands on the first click at least 0.3 s in, the cut, the headline, the sweep
    # and the move to the end card are clicks; the grid steps by the music's beat
    assert plan.meta["beats"]["source"] == "audio"
    assert plan.meta["beats"]["bpm"] == pytest.approx(bpm, rel=0.01)
    assert tl.beats[0] == 0.0 and len(tl.beats) > 6
    assert all(_off_beat(t, bpm, first) < 0.015 for t in tl.beats[1:])
    assert tl.reveal_end == tl.beats[1] and 0.3 <= tl.reveal_end < 0.3 + 60 / bpm
    assert _off_beat(tl.boundaries[0], bpm, first) < 0.015
    assert _off_beat(tl.text_enters("headline"), bpm, first) < 0.015
    assert _off_beat(tl.sweeps[0], bpm, first) < 0.015
    assert _off_beat(tl.move_start, bpm, first) < 0.015 and tl.move_start == tl.beats[-1]
    steps = np.diff(tl.beats[1:])
    assert steps.min() > 0.25 * 60 / bpm and np.median(steps) == pytest.approx(60 / bpm, rel=0.02)
    # and the clip without the track keeps the preset's grid
    assert plain.meta["beats"] == {"source": "preset", "step_s": 0.6, "why": "no audio"}
    assert plain.timeline.beats != tl.beats


def test_a_track_without_a_beat_keeps_the_preset_grid(bottle, tmp_path):
    # given a clip with a track of noise
    n = 44100 * 8
    noise = _write(tmp_path, "noise.wav", write_track(np.random.default_rng(3).normal(0, 0.2, n), rate=44100))
    spec = small(style="push_in", duration=6, headline="Fresh", price="9.90")

    # when it is planned with it, and without any track
    with_noise = plan_clip(bottle, spec, audio=noise)
    without = plan_clip(bottle, spec)

    # then the beats are the preset's, and the clip says why
    assert with_noise.timeline.beats == without.timeline.beats
    assert with_noise.meta["beats"] == {
        "source": "preset",
        "step_s": 0.6,
        "why": "no steady beat found in the audio",
    }


def _off_looped_beat(t: float, bpm: float, first: float, loop: float) -> float:
    """Seconds from ``t`` to the nearest click of a ``loop`` s track at ``bpm`` from
    ``first``, played again and again (each pass's clicks start again from ``first``)."""
    period = 60.0 / bpm
    clicks = [p * loop + c for p in range(8) for c in np.arange(first, loop, period)]
    return min(abs(t - c) for c in clicks)


def test_a_track_shorter_than_the_clip_restarts_the_beat_with_each_loop(bottle, tmp_path):
    # given a 3.3 s track of 120 BPM clicks (first 0.1 s in: 7 beats, then the loop's seam
    # 0.3 s after the last, not a beat's 0.5 s) under an 8 s clip with a headline and price
    # (no end card: the scenes play through the third pass)
    bpm, first, loop = 120, 0.1, 3.3
    track = _write(tmp_path, "short.wav", click_track(bpm, first, seconds=loop))
    spec = small(style="push_in", duration=8, headline="Fresh", price="9.90", end_card=False)

    # when it is planned with the track
    plan = plan_clip(bottle, spec, audio=track)
    tl = plan.timeline

    # then the beats between the first frame and the last follow the looped track: each
    # pass's beats are its clicks (within 15 ms, half a frame), the second and third
    # passes' too, and the metadata says it loops
    assert plan.meta["beats"]["source"] == "audio"
    assert tl.beats[0] == 0.0 and tl.beats[-1] == tl.scenes_end
    assert all(_off_looped_beat(t, bpm, first, loop) < 0.015 for t in tl.beats[1:-1])
    assert any(loop < t < 2 * loop for t in tl.beats) and any(t > 2 * loop for t in tl.beats[:-1])
    assert loop + first in [pytest.approx(t, abs=0.015) for t in tl.beats]
    assert _off_looped_beat(tl.text_enters("price"), bpm, first, loop) < 0.015
    assert plan.meta["beats"]["loop_s"] == pytest.approx(loop, abs=0.01)
