"""A sound track's tempo and first beat, so a clip's cuts and text land on its beats.

``estimate_tempo`` takes the samples that play under the clip (mono float) and returns a
``Tempo``, or None when the track has no beat steady enough to cut to (speech, noise,
silence, a free-time piano): the clip then keeps the preset's grid.

1. An onset envelope: the spectral flux of the spectrum in log-spaced bands, in dB (how
   much louder each band got since the previous frame, summed over bands), its slow
   trend removed, smoothed over ``SMOOTH_S``.
2. The tempo: the envelope's autocorrelation over lags of ``MIN_BPM``..``MAX_BPM``,
   weighted by a broad log-normal preference around 120 BPM (so a 128 BPM track is not
   read as 64), refined between frames by a parabola through the peak.
3. The phase: the offset whose comb of beats (offset + k * period) collects the most
   onset strength; the first beat is the earliest tooth of that comb.
4. Reliability: the autocorrelation at the chosen lag, normalised by the envelope's
   energy, must reach ``MIN_CONFIDENCE``, and the track must hold ``MIN_BEATS`` beats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

MIN_BPM = 60.0
MAX_BPM = 180.0
PREFERRED_BPM = 120.0  # centre of the log-normal weight, one octave wide
MIN_CONFIDENCE = 0.3  # normalised autocorrelation at the beat's lag
MIN_BEATS = 4
HOP_S = 0.01  # envelope resolution
BANDS = 24
SMOOTH_S = 0.07
FLOOR_DB = 60.0
ONSET_LEAD = 0.0  # where in its window an onset shows, as a share of the window before its centre


@dataclass(frozen=True)
class Tempo:
    """A steady beat: ``period`` seconds apart, the first at ``first_beat`` seconds; with
    ``loop`` (the track's length, when it is shorter than the clip and plays again), the
    beats start again from the first at the start of each pass."""

    bpm: float
    first_beat: float  # 0 <= first_beat < period
    confidence: float  # 0..1: the normalised autocorrelation at the beat's lag
    loop: float | None = None  # seconds of one pass of a looped track

    @property
    def period(self) -> float:
        return 60.0 / self.bpm

    def beats(self, until: float, *, every: int = 1, after: float = 0.0) -> list[float]:
        """Beat times up to ``until`` (exclusive): every ``every``-th beat of each pass of
        the track, counted from the pass's first beat (in the first pass, from its first
        beat at or after ``after``)."""
        step = every * self.period
        span = self.loop if self.loop else math.inf
        out: list[float] = []
        start = 0.0
        while start < until:
            first = start + self.first_beat
            while start == 0.0 and first < after:
                first += self.period
            end = min(start + span, until)
            n = max(0, math.ceil((end - first) / step - 1e-9))
            out += [float(first + k * step) for k in range(n)]
            start += span
        return out

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "bpm": round(self.bpm, 2),
            "first_beat_s": round(self.first_beat, 3),
            "confidence": round(self.confidence, 3),
        }
        if self.loop:
            data["loop_s"] = round(self.loop, 3)
        return data


def onset_envelope(samples: np.ndarray, rate: int) -> tuple[np.ndarray, float, float]:
    """(envelope, seconds per envelope frame, time of frame 0) of mono ``samples`` at
    ``rate`` Hz. Frame ``i`` is the change into the window that starts at ``(i + 1) * hop``;
    it is timed at that window's centre minus ``ONSET_LEAD`` of it (a log spectrum jumps as
    soon as a sound enters the window's rising flank)."""
    hop = max(1, round(HOP_S * rate))
    n_fft = 1 << max(8, math.ceil(math.log2(2 * hop)))
    t0 = (hop + n_fft * (0.5 - ONSET_LEAD)) / rate
    if samples.size < n_fft + hop:
        return np.zeros(0, dtype=np.float64), hop / rate, t0
    frames = np.lib.stride_tricks.sliding_window_view(samples.astype(np.float32), n_fft)[::hop]
    window = np.hanning(n_fft).astype(np.float32)
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
    # log-spaced bands (a tone's leakage, which wobbles from frame to frame, stays inside
    # its band), in dB, floored FLOOR_DB under the loudest: quiet wobbles are not onsets
    freqs = np.fft.rfftfreq(n_fft, 1.0 / rate)
    edges = np.geomspace(40.0, rate / 2, BANDS + 1)
    band = np.clip(np.searchsorted(edges, freqs) - 1, 0, BANDS - 1)
    energy = np.zeros((power.shape[0], BANDS), dtype=np.float64)
    np.add.at(energy.T, band, power.T)
    db = 10.0 * np.log10(energy + 1e-12)
    db = np.maximum(db, db.max() - FLOOR_DB)
    flux = np.maximum(np.diff(db, axis=0), 0.0).sum(axis=1) / BANDS
    # remove the slow trend (a crescendo is not a beat): subtract a ~0.4 s running mean
    k = max(1, round(0.4 / (hop / rate)))
    trend = np.convolve(flux, np.ones(k) / k, mode="same")
    onsets = np.maximum(flux - trend, 0.0)
    # smoothed over ~70 ms: a beat is a blob of that width, while the frame-to-frame
    # wobble of a steady tone's spectrum (a few frames' period) averages out
    smooth = np.hanning(max(3, round(SMOOTH_S / (hop / rate))) + 2)[1:-1]
    return np.convolve(onsets, smooth / smooth.sum(), mode="same"), hop / rate, t0


def estimate_tempo(samples: np.ndarray, rate: int) -> Tempo | None:
    """The steady beat of mono ``samples`` (float, any scale) at ``rate`` Hz, or None
    when there is none to trust (see the module docstring)."""
    # 1. the onset envelope
    env, dt, t0 = onset_envelope(samples, rate)
    if env.size == 0 or not np.any(env > 0):
        return None
    centred = env - env.mean()
    energy = float(np.dot(centred, centred))
    if energy <= 0.0:
        return None

    # 2. the tempo: autocorrelation over the lags of the BPM range, with the preference
    lo = max(1, math.floor(60.0 / MAX_BPM / dt))
    hi = min(env.size // 2, math.ceil(60.0 / MIN_BPM / dt))
    if hi <= lo + 2:
        return None
    n = env.size
    spectrum = np.fft.rfft(centred, 2 * n)
    ac = np.fft.irfft(spectrum * np.conj(spectrum))[: hi + 2]
    ac = ac / energy * n / (n - np.arange(ac.size))  # unbiased: each lag by its overlap
    lags = np.arange(lo, hi + 1)
    bpm = 60.0 / (lags * dt)
    weight = np.exp(-0.5 * np.log2(bpm / PREFERRED_BPM) ** 2)
    best = int(lags[np.argmax(ac[lags] * weight)])
    confidence = float(ac[best])
    # a parabola through the peak and its neighbours: the lag between envelope frames
    a, b, c = ac[best - 1], ac[best], ac[best + 1]
    denom = a - 2 * b + c
    lag = best + (0.5 * (a - c) / denom if denom < 0 else 0.0)
    period = lag * dt

    # 4. reliability
    duration = samples.size / rate
    if confidence < MIN_CONFIDENCE or duration < MIN_BEATS * period:
        return None

    # 3. the phase: the comb of beats that collects the most onset strength
    offsets = np.arange(0.0, period, dt / 2)
    teeth = np.arange(0.0, duration, period)
    times = offsets[:, None] + teeth[None, :]
    score = np.interp((times - t0) / dt, np.arange(n), env, left=0.0, right=0.0).sum(axis=1)
    first = float(offsets[int(np.argmax(score))])
    return Tempo(bpm=60.0 / period, first_beat=first, confidence=min(confidence, 1.0))
