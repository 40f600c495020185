"""Encoding clip frames with PyAV as they are made: MP4 (H.264), WebM (VP9), previews.

Frames arrive one at a time as RGB arrays and go straight to the encoder; nothing
holds the whole clip. Colour is converted to BT.709 limited-range 4:2:0 and the streams
are tagged so, which is what players assume for HD video.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from generation.clips.spec import Preset, presets_data
from generation.errors import GenerationError

# AVCOL_* values: BT.709 primaries/transfer/matrix, MPEG (limited) range
_BT709 = 1
_RANGE_MPEG = 1


@dataclass(frozen=True)
class VideoSettings:
    codec: str  # libx264 | libvpx-vp9
    container: str  # mp4 | webm
    options: dict[str, str]
    container_options: dict[str, str] = field(default_factory=dict)
    pix_fmt: str = "yuv420p"


def h264_settings(preset: Preset, fps: int) -> VideoSettings:
    """H.264 High, CRF with the platform's bitrate cap, a keyframe every ``keyint_s``,
    ``+faststart`` so playback starts before the download ends."""
    enc = presets_data()["encoder"]["h264"]
    return VideoSettings(
        codec="libx264",
        container="mp4",
        options={
            "crf": str(preset.crf),
            "preset": str(enc["preset"]),
            "profile": str(enc["profile"]),
            "maxrate": f"{preset.maxrate_kbps}k",
            "bufsize": f"{preset.bufsize_kbps}k",
            "g": str(int(enc["keyint_s"] * fps)),
        },
        container_options={"movflags": "+faststart"},
    )


def vp9_settings(preset: Preset) -> VideoSettings:
    enc = presets_data()["encoder"]["webm"]
    return VideoSettings(
        codec="libvpx-vp9",
        container="webm",
        options={
            # constrained quality: CRF, never above the platform's cap
            "crf": str(enc["crf"]),
            "b": f"{preset.maxrate_kbps}k",
            "cpu-used": str(enc["cpu_used"]),
            "deadline": str(enc["deadline"]),
            "row-mt": "1" if enc["row_mt"] else "0",
        },
    )


def _encoding_error(settings: VideoSettings, exc: Exception) -> GenerationError:
    return GenerationError(f"the {settings.codec} encoder failed: {exc}", code="encoding_failed")


def _ycbcr_matrix() -> np.ndarray:
    """RGB -> limited-range BT.709 Y'CbCr as a 3x4 matrix for ``cv2.transform``."""
    kr, kb = 0.2126, 0.0722
    kg = 1.0 - kr - kb
    rows = np.array(
        [
            [kr, kg, kb],
            [-kr / (2 * (1 - kb)), -kg / (2 * (1 - kb)), 0.5],
            [0.5, -kg / (2 * (1 - kr)), -kb / (2 * (1 - kr))],
        ]
    )
    scale = np.array([219.0, 224.0, 224.0])[:, None] / 255.0
    offset = np.array([[16.0], [128.0], [128.0]])
    return np.hstack([rows * scale, offset]).astype(np.float32)


_YCBCR = _ycbcr_matrix()


def rgb_to_yuv420(rgb: np.ndarray, y: np.ndarray, u: np.ndarray, v: np.ndarray) -> None:
    """Write ``rgb`` (H, W, 3 RGB or 4 RGBA, uint8) as BT.709 limited-range 4:2:0.

    Chroma is the 2x2 box average (what swscale's AREA filter gives, within one level);
    done with OpenCV because it is about three times faster than swscale here.
    """
    YUV420Converter(rgb.shape[1], rgb.shape[0]).convert(rgb, y, u, v)


class YUV420Converter:
    """``rgb_to_yuv420`` with its intermediate images allocated once, for a stream of
    frames of one size: fresh full-frame temporaries cost about as much in page faults
    as the arithmetic (same operations, same output).

    It also converts any smaller region of even width and height (a part of a frame
    drawn in RGB): the planes of a region whose corner is at even coordinates are the
    same bytes as those of the whole frame there (each chroma sample is one 2x2 block).
    """

    def __init__(self, width: int, height: int) -> None:
        self.size = (width, height)
        self._rgb = np.empty(height * width * 3, dtype=np.uint8)
        self._ycc = np.empty(height * width * 3, dtype=np.uint8)
        self._small = np.empty((height // 2) * (width // 2) * 3, dtype=np.uint8)

    def convert(self, rgb: np.ndarray, y: np.ndarray, u: np.ndarray, v: np.ndarray) -> None:
        h, w = rgb.shape[:2]
        odd = (w % 2, h % 2) != (0, 0)
        if w > self.size[0] or h > self.size[1] or (odd and (w, h) != self.size):
            raise ValueError(f"frame is {w}x{h}, the converter {self.size[0]}x{self.size[1]}")
        if rgb.shape[2] == 4:  # dropping alpha first: cv2.transform has no fast 4-channel path
            # (contiguous views of the buffers: OpenCV writes into a ``dst`` only when it fits)
            rgb = cv2.cvtColor(rgb, cv2.COLOR_RGBA2RGB, dst=self._rgb[: h * w * 3].reshape(h, w, 3))
        ycc = cv2.transform(rgb, _YCBCR, dst=self._ycc[: h * w * 3].reshape(h, w, 3))
        cv2.extractChannel(ycc, 0, dst=y)
        small: np.ndarray = self._small[: (h // 2) * (w // 2) * 3].reshape(h // 2, w // 2, 3)
        small = cv2.resize(ycc, (w // 2, h // 2), dst=small, interpolation=cv2.INTER_AREA)
        cv2.extractChannel(small, 1, dst=u)
        cv2.extractChannel(small, 2, dst=v)


def _plane_view(plane: Any) -> np.ndarray:
    """A writable (height, width) uint8 view of a frame plane (rows padded to line_size)."""
    rows = np.asarray(memoryview(plane)).reshape(plane.height, plane.line_size)
    return rows[:, : plane.width]


class VideoEncoder:
    """Writes RGB frames to a video file as they come. Use as a context manager.

    ``close()`` flushes the encoder and finalises the container; leaving the ``with``
    block by an exception closes without flushing (the caller deletes the file).
    FFmpeg errors surface as ``GenerationError`` (code ``encoding_failed``).
    """

    def __init__(self, path: Path, settings: VideoSettings, size: tuple[int, int], fps: int) -> None:
        try:
            self._open(path, settings, size, fps)
        except GenerationError:
            raise
        except (ValueError, RuntimeError) as exc:  # av.error.FFmpegError subclasses these
            raise _encoding_error(settings, exc) from exc

    def _open(self, path: Path, settings: VideoSettings, size: tuple[int, int], fps: int) -> None:
        import av

        self.path = path
        self.settings = settings
        self.fps = fps
        self.frames = 0
        self._container = av.open(
            str(path), mode="w", format=settings.container, options=dict(settings.container_options)
        )
        try:
            stream = self._container.add_stream(settings.codec, rate=fps, options=dict(settings.options))
            if not isinstance(stream, av.VideoStream):
                raise GenerationError(f"{settings.codec} is not a video codec", code="encoding_failed")
            stream.width, stream.height = size
            stream.pix_fmt = settings.pix_fmt
            cc = stream.codec_context
            cc.color_primaries = _BT709
            cc.color_trc = _BT709
            cc.colorspace = _BT709
            cc.color_range = _RANGE_MPEG
            # frame threads, as the ffmpeg CLI uses (PyAV defaults to x264 sliced threads)
            cc.thread_type = "AUTO"
            cc.thread_count = 0
        except BaseException:
            self._container.close()
            raise
        self._stream = stream
        self._time_base = Fraction(1, fps)
        self._converter: YUV420Converter | None = None
        self._closed = False

    def write(self, rgb: np.ndarray) -> None:
        """Encode one RGB or RGBA frame (H, W, 3 or 4 uint8)."""
        try:
            frame = self._new_frame()
            if self._converter is None:
                self._converter = YUV420Converter(frame.width, frame.height)
            self._converter.convert(rgb, *(_plane_view(plane) for plane in frame.planes))
            self._send(frame)
        except (ValueError, RuntimeError) as exc:
            raise _encoding_error(self.settings, exc) from exc

    def write_yuv420(self, y: np.ndarray, u: np.ndarray, v: np.ndarray) -> None:
        """Encode one frame already converted (``rgb_to_yuv420``'s three planes)."""
        try:
            frame = self._new_frame()
            for plane, data in zip(frame.planes, (y, u, v), strict=True):
                _plane_view(plane)[:] = data
            self._send(frame)
        except (ValueError, RuntimeError) as exc:
            raise _encoding_error(self.settings, exc) from exc

    def _new_frame(self) -> Any:
        import av

        return av.VideoFrame(self._stream.width, self._stream.height, "yuv420p")

    def _send(self, frame: Any) -> None:
        frame.colorspace = _BT709
        frame.color_range = _RANGE_MPEG
        frame.pts = self.frames
        frame.time_base = self._time_base
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames += 1

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
        except (ValueError, RuntimeError) as exc:
            raise _encoding_error(self.settings, exc) from exc
        finally:
            self._container.close()

    def abort(self) -> None:
        if not self._closed:
            self._closed = True
            self._container.close()

    def __enter__(self) -> VideoEncoder:
        return self

    def __exit__(self, exc_type: Any, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class PreviewCollector:
    """Keeps a few small frames for an animated preview (bounded: ``max_frames``)."""

    def __init__(self, size: tuple[int, int], fps: int, frame_count: int) -> None:
        cfg = presets_data()["encoder"]["preview"]
        width = min(int(cfg["width"]), size[0])
        self.size = (width, max(2, round(size[1] * width / size[0])))
        duration = frame_count / fps
        self.rate = min(float(cfg["fps"]), float(cfg["max_frames"]) / max(duration, 1e-6))
        self.step = fps / self.rate  # take every step-th frame (fractional: evenly spread)
        self.quality = int(cfg["quality"])
        self.frames: list[Image.Image] = []
        self.indices: set[int] = set()  # the frames it keeps
        at = 0.0
        for index in range(frame_count):
            if index + 1e-9 >= at:
                self.indices.add(index)
                at += self.step

    def wants(self, index: int) -> bool:
        return index in self.indices

    def offer(self, index: int, rgb: np.ndarray) -> None:
        if index not in self.indices:
            return
        small = cv2.resize(rgb, self.size, interpolation=cv2.INTER_AREA)
        self.frames.append(Image.fromarray(np.ascontiguousarray(small[..., :3]), "RGB"))

    def save(self, fh: Any) -> None:
        """Animated WebP (loops)."""
        if not self.frames:
            raise ValueError("no preview frames")
        duration_ms = round(1000 / self.rate)
        first, *rest = self.frames
        first.save(
            fh,
            format="WEBP",
            save_all=True,
            append_images=rest,
            duration=duration_ms,
            loop=0,
            quality=self.quality,
            method=4,
        )


def save_poster(rgb: np.ndarray, fh: Any) -> None:
    quality = int(presets_data()["encoder"]["poster"]["quality"])
    Image.fromarray(rgb, "RGB").save(fh, format="JPEG", quality=quality, subsampling=0, optimize=True)


# ---------------------------------------------------------------------------
# Reading back


@dataclass(frozen=True)
class VideoInfo:
    codec: str
    width: int
    height: int
    fps: Fraction
    frame_count: int
    duration: float  # seconds
    pix_fmt: str


def probe_video(path: Path) -> VideoInfo:
    """Codec, size, rate, frame count (counted by demuxing) and duration of a video."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for packet in container.demux(stream) if packet.size > 0)
        rate = stream.average_rate or stream.guessed_rate or Fraction(0)
        duration = float(container.duration / 1_000_000) if container.duration else math.nan
        return VideoInfo(
            codec=stream.codec_context.name,
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            fps=Fraction(rate),
            frame_count=frames,
            duration=duration,
            pix_fmt=stream.codec_context.pix_fmt or "",
        )


def decode_frames(path: Path) -> Iterator[np.ndarray]:
    """Each decoded frame as RGB (converted with the stream's own colour tags)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            yield frame.to_ndarray(format="rgb24")


def decode_frames_at(path: Path, indices: list[int]) -> dict[int, np.ndarray]:
    """The frames at ``indices`` as RGB, each decoded from the keyframe before it.

    Frames no other frame refers to (x264's non-reference B-frames) are skipped on the
    way (about 40 % of the frames decoded for a clip's last frame): the frames wanted
    come out as the same bytes, as nothing decoded depends on those skipped. One that is
    itself such a frame is decoded again without skipping."""
    found = _decode_at(path, indices, skip_nonref=True)
    missing = [i for i in indices if i not in found]
    if missing:
        found.update(_decode_at(path, missing, skip_nonref=False))
    return found


def _decode_at(path: Path, indices: list[int], *, skip_nonref: bool) -> dict[int, np.ndarray]:
    import av

    found: dict[int, np.ndarray] = {}
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if skip_nonref:
            stream.codec_context.skip_frame = "NONREF"
        fps = stream.average_rate or stream.guessed_rate
        assert stream.time_base is not None and fps
        for index in sorted(set(indices)):
            container.seek(int(index / fps / stream.time_base), stream=stream, backward=True)
            for frame in container.decode(stream):
                at = round(frame.time * fps) if frame.time is not None else -1
                if at == index:
                    found[index] = frame.to_ndarray(format="rgb24")
                if at >= index:
                    break
    return found
