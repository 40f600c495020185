"""A clip's sound track: a merchant's audio file checked at the door, then fitted to the
clip, faded and muxed beside its video.

``read_audio`` accepts only the containers and codecs in ``AUDIO_FORMATS``. The container
is told by the file's first bytes, never by its name, and opened with that one demuxer
(FFmpeg's probing would also open playlists that name other files). The whole track is
decoded, so a corrupt or over-long file is refused before it is stored.

``add_audio`` rewrites a finished MP4 (AAC) or WebM (Opus) with the track added: the video
packets are copied as they are, so its frames do not change; the audio is decoded,
resampled by PyAV's ``AudioResampler`` to 48 kHz stereo, looped or cut to the clip's
length, faded in and out (``presets.json``: ``encoder.audio``) and encoded.
``track_tempo`` finds the beat of that same fitted sound, for the clip's cuts and text.
"""

from __future__ import annotations

import dataclasses
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from generation.clips.spec import presets_data
from generation.clips.tempo import Tempo, estimate_tempo
from generation.errors import AudioRejected, GenerationError
from generation.sidecar import temporary_path


@dataclass(frozen=True)
class AudioFormat:
    demuxer: str  # FFmpeg's name for it
    extension: str
    codecs: tuple[str, ...]  # canonical codec names; a name ending in "_" is a prefix


AUDIO_FORMATS: dict[str, AudioFormat] = {
    "mp3": AudioFormat("mp3", "mp3", ("mp3",)),
    "m4a": AudioFormat("mov", "m4a", ("aac",)),
    "aac": AudioFormat("aac", "aac", ("aac",)),
    "wav": AudioFormat("wav", "wav", ("pcm_",)),
    "ogg": AudioFormat("ogg", "ogg", ("vorbis", "opus", "flac")),
    "flac": AudioFormat("flac", "flac", ("flac",)),
}
ACCEPTED = "MP3, M4A/AAC, WAV, Ogg (Vorbis or Opus) or FLAC"


def sniff_format(head: bytes) -> str | None:
    """The ``AUDIO_FORMATS`` key that the file's first (12 or more) bytes announce."""
    if head[:3] == b"ID3":
        return "mp3"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"fLaC":
        return "flac"
    if head[4:8] == b"ftyp":
        return "m4a"
    if len(head) >= 2 and head[0] == 0xFF:
        if head[1] & 0xF6 == 0xF0:  # ADTS: sync word, layer 0
            return "aac"
        if head[1] & 0xE0 == 0xE0 and head[1] & 0x06:  # MPEG audio frame sync, layer I-III
            return "mp3"
    return None


@dataclass(frozen=True)
class AudioLimits:
    max_bytes: int
    max_seconds: float


# the service's defaults too (SHOPASSETS_MAX_AUDIO_MB, SHOPASSETS_MAX_AUDIO_SECONDS)
MAX_AUDIO_MB = 20
MAX_AUDIO_SECONDS = 300
DEFAULT_AUDIO_LIMITS = AudioLimits(max_bytes=MAX_AUDIO_MB * 1024 * 1024, max_seconds=MAX_AUDIO_SECONDS)


@dataclass(frozen=True)
class AudioInfo:
    format: str  # an AUDIO_FORMATS key
    extension: str
    codec: str
    duration: float  # seconds, as decoded
    sample_rate: int
    channels: int


def _mb(n: int) -> str:
    return f"{n / 1048576:.1f}".removesuffix(".0") + " MB"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:g} minutes" if seconds >= 60 else f"{seconds:g} seconds"


def _av_errors() -> tuple[type[BaseException], ...]:
    import av

    return (av.FFmpegError, ValueError, RuntimeError, OSError, EOFError)


@contextmanager
def _opened(source: BinaryIO, kind: str) -> Iterator[tuple[Any, Any]]:
    """The container opened with ``kind``'s demuxer only, and its one audio stream."""
    import av

    fmt = AUDIO_FORMATS[kind]
    try:
        container = av.open(source, mode="r", format=fmt.demuxer)
    except _av_errors() as exc:
        raise AudioRejected(
            f"the file starts like {kind.upper()} but could not be read as it ({_why(exc)}); it may be damaged",
            code="corrupt_audio",
        ) from exc
    try:
        videos = [
            s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic
        ]
        if videos:
            raise AudioRejected(
                "the file holds video; upload the sound track alone as " + ACCEPTED, code="not_audio"
            )
        if len(container.streams.audio) != 1:
            raise AudioRejected(
                f"the file holds {len(container.streams.audio)} audio streams; one is needed",
                code="not_audio",
            )
        stream = container.streams.audio[0]
        codec = stream.codec_context.codec.canonical_name
        if not any(codec == c or (c.endswith("_") and codec.startswith(c)) for c in fmt.codecs):
            raise AudioRejected(
                f"{kind.upper()} with {codec} audio is not accepted; use {ACCEPTED}", code="unsupported_audio"
            )
        yield container, stream
    finally:
        container.close()


def _source(source: bytes | Path) -> tuple[BinaryIO, int]:
    if isinstance(source, bytes | bytearray):
        return io.BytesIO(source), len(source)
    path = Path(source)
    return open(path, "rb"), path.stat().st_size


def read_audio(source: bytes | Path, limits: AudioLimits) -> AudioInfo:
    """Check that ``source`` is an audio track a clip can use, decoding all of it.

    Raises ``AudioRejected`` with code ``too_large``, ``not_audio``, ``unsupported_audio``,
    ``corrupt_audio`` or ``too_long``, and a message for the merchant.
    """
    fh, size = _source(source)
    with fh:
        # 1. size and container, before anything is decoded
        if size > limits.max_bytes:
            raise AudioRejected(
                f"the file is {_mb(size)}; an audio track may be {_mb(limits.max_bytes)}", code="too_large"
            )
        if size == 0:
            raise AudioRejected("the file is empty", code="not_audio")
        kind = sniff_format(fh.read(16))
        fh.seek(0)
        if kind is None:
            raise AudioRejected(f"this is not an audio file we accept; use {ACCEPTED}", code="not_audio")
        with _opened(fh, kind) as (container, stream):
            # 2. the length the header claims, then the length decoded (a header may lie)
            claimed = float(container.duration / 1_000_000) if container.duration else 0.0
            if claimed > limits.max_seconds + 0.5:
                raise AudioRejected(_too_long(claimed, limits), code="too_long")
            rate = stream.codec_context.sample_rate or 0
            channels = stream.codec_context.channels or 0
            decoded = 0.0
            try:
                for frame in container.decode(stream):
                    decoded += frame.samples / frame.sample_rate
                    rate, channels = frame.sample_rate, len(frame.layout.channels)
                    if decoded > limits.max_seconds + 0.5:
                        raise AudioRejected(_too_long(None, limits), code="too_long")
            except _av_errors() as exc:
                raise AudioRejected(
                    f"the audio could not be decoded after {decoded:.1f} s ({_why(exc)}); the file may be damaged",
                    code="corrupt_audio",
                ) from exc
            if decoded <= 0.0 or rate <= 0:
                raise AudioRejected("no sound could be decoded from the file", code="corrupt_audio")
            return AudioInfo(
                format=kind,
                extension=AUDIO_FORMATS[kind].extension,
                codec=stream.codec_context.codec.canonical_name,
                duration=decoded,
                sample_rate=rate,
                channels=channels,
            )


def _too_long(seconds: float | None, limits: AudioLimits) -> str:
    most = _minutes(limits.max_seconds)
    if seconds is None:  # found while decoding: the header did not say
        return f"the track runs past {most}, the most a clip's audio may be"
    return f"the track is {seconds:.0f} s long; a clip's audio may be {most}"


def _why(exc: BaseException) -> str:
    """FFmpeg's own words for what went wrong, without its error number."""
    return str(getattr(exc, "strerror", None) or exc)


# ---------------------------------------------------------------------------
# Into the clip


@dataclass(frozen=True)
class AudioSettings:
    codec: str  # aac | libopus
    bitrate_kbps: int
    sample_rate: int = 48000
    layout: str = "stereo"
    fade_in_s: float = 0.3
    fade_out_s: float = 0.8
    loop_seam_s: float = 0.01  # each end of a looped track ramped this long: no click at the seam

    @classmethod
    def for_container(cls, container: str) -> AudioSettings:
        """``presets.json``'s ``encoder.audio`` for ``mp4`` (AAC) or ``webm`` (Opus)."""
        cfg = presets_data()["encoder"]["audio"]
        return cls(
            codec=str(cfg[container]["codec"]),
            bitrate_kbps=int(cfg[container]["bitrate_kbps"]),
            sample_rate=int(cfg["sample_rate"]),
            layout=str(cfg["layout"]),
            fade_in_s=float(cfg["fade_in_s"]),
            fade_out_s=float(cfg["fade_out_s"]),
            loop_seam_s=float(cfg["loop_seam_s"]),
        )


@dataclass(frozen=True)
class AudioResult:
    source: str  # the track's file name
    codec: str  # as FFmpeg names it: aac, opus
    sample_rate: int
    channels: int
    bitrate_kbps: int
    duration: float  # seconds of sound written (the clip's length)
    source_duration: float  # seconds decoded from the track (at most the clip's length unless looped)
    looped: bool
    fade_in_s: float
    fade_out_s: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "codec": self.codec,
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "bitrate_kbps": self.bitrate_kbps,
            "duration": round(self.duration, 3),
            "source_duration": round(self.source_duration, 3),
            "looped": self.looped,
            "fade_in_s": self.fade_in_s,
            "fade_out_s": self.fade_out_s,
        }


_CONTAINER_OPTIONS = {"mp4": {"movflags": "+faststart"}, "webm": {}}


def fitted_pcm(audio: Path, samples: int, settings: AudioSettings) -> tuple[np.ndarray, float, bool]:
    """``samples`` of ``audio`` as float32 (channels, samples) at the settings' rate and
    layout, looped or cut to length and faded; with the seconds decoded and whether it looped.

    Fades are quadratic in amplitude (``(t / fade)**2``): close to a constant change in
    loudness, and near silence over the first and last few tens of milliseconds.
    """
    import av

    # 1. decode and resample, no more than needed
    with open(audio, "rb") as fh:
        kind = sniff_format(fh.read(16))
        fh.seek(0)
        if kind is None:
            raise AudioRejected(
                f"{audio.name} is not an audio file we accept; use {ACCEPTED}", code="not_audio"
            )
        with _opened(fh, kind) as (container, stream):
            # a mono track is copied to both sides (FFmpeg's upmix would lower it by 3 dB)
            mono = (stream.codec_context.channels or 0) == 1 and settings.layout == "stereo"
            layout = "mono" if mono else settings.layout
            resampler = av.AudioResampler(format="fltp", layout=layout, rate=settings.sample_rate)
            chunks: list[np.ndarray] = []
            got = 0
            try:
                for frame in container.decode(stream):
                    frame.pts = None  # the resampler times frames itself; a track's gaps are not kept
                    for out in resampler.resample(frame):
                        chunks.append(out.to_ndarray())
                        got += chunks[-1].shape[1]
                    if got >= samples:
                        break
                else:
                    for out in resampler.resample(None):
                        chunks.append(out.to_ndarray())
                        got += chunks[-1].shape[1]
            except _av_errors() as exc:
                raise AudioRejected(
                    f"{audio.name} could not be decoded ({_why(exc)})", code="corrupt_audio"
                ) from exc
    if got == 0:
        raise AudioRejected(f"no sound could be decoded from {audio.name}", code="corrupt_audio")
    track = np.concatenate(chunks, axis=1).astype(np.float32, copy=False)
    if mono:
        track = np.repeat(track, 2, axis=0)

    # 2. loop (each pass ramped at its ends) or cut to the clip's length
    looped = got < samples
    if looped:
        seam = min(round(settings.loop_seam_s * settings.sample_rate), got // 4)
        if seam > 0:
            ramp = np.linspace(0.0, 1.0, seam, endpoint=False, dtype=np.float32)
            track[:, :seam] *= ramp
            track[:, -seam:] *= ramp[::-1]
        track = np.tile(track, (1, -(-samples // got)))
    pcm = np.ascontiguousarray(track[:, :samples])

    # 3. fade in and out
    for seconds, at_start in ((settings.fade_in_s, True), (settings.fade_out_s, False)):
        n = min(round(seconds * settings.sample_rate), samples)
        if n > 0:
            gain = (np.arange(n, dtype=np.float32) / n) ** 2
            if at_start:
                pcm[:, :n] *= gain
            else:
                pcm[:, samples - n :] *= gain[::-1]
    return pcm, got / settings.sample_rate, looped


def track_tempo(audio: Path, duration: float) -> Tempo | None:
    """The tempo and first beat of what plays under a clip ``duration`` seconds long (the
    track as ``add_audio`` fits it: cut or looped, faded), or None when no steady beat is
    found (``tempo.estimate_tempo``). A track shorter than the clip is read over one pass:
    its beats start again with each pass (``Tempo.loop``), whatever its length in beats."""
    settings = AudioSettings.for_container("mp4")
    samples = max(1, round(duration * settings.sample_rate))
    pcm, decoded, looped = fitted_pcm(audio, samples, settings)
    if not looped:
        return estimate_tempo(pcm.mean(axis=0), settings.sample_rate)
    one_pass = pcm[:, : round(decoded * settings.sample_rate)]
    tempo = estimate_tempo(one_pass.mean(axis=0), settings.sample_rate)
    return dataclasses.replace(tempo, loop=decoded) if tempo is not None else None


def add_audio(
    video: Path, audio: Path, duration: float, container: str, settings: AudioSettings | None = None
) -> AudioResult:
    """Rewrite ``video`` (a finished ``container``: ``mp4`` or ``webm``) with ``audio``
    ``duration`` seconds long added beside its video, whose packets are copied unchanged.

    The file is replaced only when the new one is complete. Raises ``AudioRejected`` for a
    track that cannot be used, ``GenerationError`` (``encoding_failed``) when FFmpeg fails.
    """
    settings = settings or AudioSettings.for_container(container)
    samples = max(1, round(duration * settings.sample_rate))
    pcm, decoded, looped = fitted_pcm(audio, samples, settings)
    staged = temporary_path(video)
    try:
        codec_name = _mux(video, staged, pcm, settings, container)
        os.replace(staged, video)
    except AudioRejected:
        raise
    except _av_errors() as exc:
        raise GenerationError(f"adding the audio track failed: {_why(exc)}", code="encoding_failed") from exc
    finally:
        staged.unlink(missing_ok=True)
    return AudioResult(
        source=audio.name,
        codec=codec_name,
        sample_rate=settings.sample_rate,
        channels=pcm.shape[0],
        bitrate_kbps=settings.bitrate_kbps,
        duration=samples / settings.sample_rate,
        source_duration=min(decoded, samples / settings.sample_rate) if not looped else decoded,
        looped=looped,
        fade_in_s=settings.fade_in_s,
        fade_out_s=settings.fade_out_s,
    )


def _mux(video: Path, out: Path, pcm: np.ndarray, settings: AudioSettings, container: str) -> str:
    import av

    with (
        av.open(str(video)) as src,
        av.open(str(out), mode="w", format=container, options=dict(_CONTAINER_OPTIONS[container])) as dst,
    ):
        vin = src.streams.video[0]
        vout = dst.add_stream_from_template(vin)
        aout = dst.add_stream(settings.codec, rate=settings.sample_rate)
        if not isinstance(aout, av.AudioStream):
            raise GenerationError(f"{settings.codec} is not an audio codec", code="encoding_failed")
        cc = aout.codec_context
        cc.layout = settings.layout
        cc.bit_rate = settings.bitrate_kbps * 1000
        fmt = "fltp" if "fltp" in [f.name for f in cc.codec.audio_formats or ()] else "flt"
        cc.format = fmt
        cc.time_base = Fraction(1, settings.sample_rate)

        # 1. the whole track encoded first (a few hundred kB at most), then interleaved
        #    with the video packets by time as they are copied
        packets = []
        step = cc.frame_size or 1024
        for start in range(0, pcm.shape[1], step):
            chunk = pcm[:, start : start + step]
            planes = chunk if fmt == "fltp" else np.ascontiguousarray(chunk.T).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(planes, format=fmt, layout=settings.layout)
            frame.sample_rate = settings.sample_rate
            frame.pts = start
            frame.time_base = Fraction(1, settings.sample_rate)
            packets += aout.encode(frame)
        packets += aout.encode(None)

        def seconds(packet: Any) -> float:
            at = packet.dts if packet.dts is not None else packet.pts
            return float(at * packet.time_base) if at is not None and packet.time_base else 0.0

        queued = iter(packets)
        pending = next(queued, None)
        for packet in src.demux(vin):
            if packet.dts is None:  # the demuxer's end-of-stream marker
                continue
            t = seconds(packet)
            while pending is not None and seconds(pending) <= t:
                dst.mux(pending)
                pending = next(queued, None)
            packet.stream = vout
            dst.mux(packet)
        while pending is not None:
            dst.mux(pending)
            pending = next(queued, None)
        return str(cc.codec.canonical_name)
