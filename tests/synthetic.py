"""Test-side name for the library's synthetic product photos (exact masks known), and
short audio tracks written with PyAV (a sine tone, so loudness is known; clicks at a
known tempo)."""

import io

import av
import numpy as np
from PIL import Image, ImageFilter

from generation.samples import background, product_mask, product_photo, product_rgba, product_texture
from generation.types import Segmentation

__all__ = [
    "background",
    "click_track",
    "product_mask",
    "product_photo",
    "product_rgba",
    "product_texture",
    "jpeg_segmentation",
    "sine_track",
    "write_track",
]


def jpeg_segmentation(size: tuple[int, int], kind: str = "gradient", *, soften: float = 0.0) -> Segmentation:
    """A synthetic product photo as a merchant's JPEG (quality 92) with its exact mask;
    ``soften`` blurs the mask's edge by that radius, like a real matte's."""
    photo, mask = product_photo(size, kind)
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=92)
    photo = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    if soften:
        mask = mask.filter(ImageFilter.GaussianBlur(soften))
    x0, y0, x1, y1 = mask.getbbox()
    return Segmentation(image=photo, matte=mask, box=(x0, y0, x1 - x0, y1 - y0), segmenter="exact")


# file kind -> (FFmpeg muxer, encoder)
TRACK_FORMATS = {
    "wav": ("wav", "pcm_s16le"),
    "mp3": ("mp3", "libmp3lame"),
    "m4a": ("ipod", "aac"),
    "aac": ("adts", "aac"),
    "ogg": ("ogg", "libopus"),
    "flac": ("flac", "flac"),
    "alac": ("ipod", "alac"),  # an M4A whose codec clips do not take
}


def sine_track(
    kind: str = "wav",
    seconds: float = 2.0,
    *,
    rate: int = 44100,
    channels: int = 1,
    freq: float = 440.0,
    amplitude: float = 0.5,
) -> bytes:
    """A ``seconds`` long sine tone of ``amplitude`` (full scale 1) as a ``kind`` file."""
    if TRACK_FORMATS[kind][1] == "libopus":
        rate = 48000  # the only rate Opus encodes at without resampling
    n = round(seconds * rate)
    tone = (amplitude * np.sin(2 * np.pi * freq * np.arange(n) / rate)).astype(np.float32)
    return write_track(tone, kind, rate=rate, channels=channels)


def click_track(
    bpm: float,
    first_beat: float,
    seconds: float = 8.0,
    *,
    rate: int = 44100,
    noise: float = 0.0,
    accent: int = 0,
    seed: int = 0,
) -> bytes:
    """A WAV of short 1.5 kHz clicks every ``60 / bpm`` s from ``first_beat`` (every
    ``accent``-th one louder when given), over white noise of ``noise`` RMS."""
    n = round(seconds * rate)
    track = np.zeros(n, dtype=np.float32)
    t = np.arange(round(0.03 * rate)) / rate
    click = (0.6 * np.sin(2 * np.pi * 1500 * t) * np.exp(-t / 0.006)).astype(np.float32)
    for k, at in enumerate(np.arange(first_beat, seconds, 60.0 / bpm)):
        i = round(at * rate)
        loud = 1.0 if not accent or k % accent == 0 else 0.5
        track[i : i + click.size] += loud * click[: max(0, min(click.size, n - i))]
    if noise:
        track += np.random.default_rng(seed).normal(0.0, noise, n).astype(np.float32)
    return write_track(np.clip(track, -1.0, 1.0), "wav", rate=rate)


def write_track(samples: np.ndarray, kind: str = "wav", *, rate: int = 44100, channels: int = 1) -> bytes:
    """Mono float ``samples`` (full scale 1) as a ``kind`` file of ``channels`` channels."""
    muxer, codec = TRACK_FORMATS[kind]
    layout = "mono" if channels == 1 else "stereo"
    buf = io.BytesIO()
    with av.open(buf, "w", format=muxer) as container:
        stream = container.add_stream(codec, rate=rate)
        assert isinstance(stream, av.AudioStream)
        cc = stream.codec_context
        cc.layout = layout
        names = [f.name for f in cc.codec.audio_formats or ()]
        fmt = next(f for f in ("fltp", "flt", "s16", "s16p") if f in names)
        cc.format = fmt
        n = samples.size
        tone = samples.astype(np.float32)
        step = cc.frame_size or 1024
        for start in range(0, n, step):
            chunk = np.tile(tone[start : start + step], (channels, 1))
            if fmt == "fltp":
                planes = chunk
            elif fmt == "flt":
                planes = np.ascontiguousarray(chunk.T).reshape(1, -1)
            elif fmt == "s16":
                planes = (np.ascontiguousarray(chunk.T).reshape(1, -1) * 32767).astype(np.int16)
            else:
                planes = (chunk * 32767).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(planes, format=fmt, layout=layout)
            frame.sample_rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buf.getvalue()
