"""Rendering a clip: plan it, draw frames one by one, stream them into the encoders.

``plan_clip`` (``plan.py``) builds everything that does not change per frame (the
worlds, the product master, the timeline, the text sprites). ``ClipPlan.frames()``
(``frames.py``) draws each frame into a few reused RGBA buffers: worlds under their
camera transforms, crossfades and slides, text, and last of all the product's reference
resampling pasted with its opaque pixels copied, then checked. ``write_clip`` encodes
those frames on a worker thread as they come (never holding the clip) and moves the
finished files into place only when everything succeeded; ``render_clip`` is both.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from generation.clips import encode as enc
from generation.clips.audio import add_audio
from generation.clips.motion import END_CARD_TEXTS
from generation.clips.plan import PLAN_SHARE, ClipPlan, plan_clip
from generation.clips.product import ProductLayer
from generation.clips.results import ClipFidelity, ClipFrame, ClipResult
from generation.clips.spec import ClipSpec, get_preset, presets_data
from generation.config import GenerationConfig
from generation.errors import GenerationError, InvalidSpec
from generation.sidecar import temporary_path
from generation.types import ProgressCallback, RenderedImage, Segmentation, no_progress

__all__ = [
    "ClipFidelity",
    "ClipFrame",
    "ClipPlan",
    "ClipResult",
    "plan_clip",
    "render_clip",
    "write_clip",
]


def render_clip(
    seg: Segmentation,
    spec: ClipSpec,
    out_path: str | os.PathLike[str],
    *,
    scenes: list[RenderedImage] | None = None,
    config: GenerationConfig | None = None,
    logo: Image.Image | None = None,
    motion_model: Any = None,
    progress: ProgressCallback = no_progress,
    frame_hook: Callable[[ClipFrame], None] | None = None,
    verify_encoding: bool = True,
    sidecar: bool = False,
    audio: Path | None = None,
) -> ClipResult:
    """Render ``spec`` for the product in ``seg`` and write it to ``out_path`` (an MP4).

    ``plan_clip`` then ``write_clip``; see both. Raises InvalidSpec, ModelUnavailable and
    other GenerationError subclasses; on any error no output file is left behind.
    """
    _check_out_path(Path(out_path))
    plan = plan_clip(
        seg,
        spec,
        scenes=scenes,
        config=config,
        logo=logo,
        motion_model=motion_model,
        audio=audio,
        progress=progress,
    )
    return write_clip(
        plan,
        out_path,
        progress=progress,
        frame_hook=frame_hook,
        verify_encoding=verify_encoding,
        sidecar=sidecar,
        audio=audio,
    )


def _check_out_path(out: Path) -> None:
    if out.suffix.lower() != ".mp4":
        raise InvalidSpec(f"the clip is an MP4: name the output *.mp4, got {out.name!r}")


def write_clip(
    plan: ClipPlan,
    out_path: str | os.PathLike[str],
    *,
    progress: ProgressCallback = no_progress,
    frame_hook: Callable[[ClipFrame], None] | None = None,
    verify_encoding: bool = True,
    sidecar: bool = False,
    audio: Path | None = None,
) -> ClipResult:
    """Draw ``plan``'s frames and encode them as they come into ``out_path`` (an MP4).

    Extra outputs go beside it: ``<stem>.webm`` (``spec.webm``), ``<stem>_preview.webp``
    (``spec.preview``), ``<stem>_poster.jpg`` (``spec.poster``) and ``<stem>.json``
    (``sidecar``: what made the clip, as the other outputs' sidecars). Every file is
    written to a hidden temporary in the same folder and renamed into place only when
    all of them are complete: on any error nothing is left behind. ``frame_hook`` sees
    each frame before it is encoded. ``verify_encoding`` decodes the MP4 back and
    measures the product's PSNR in three frames (first, middle, last). ``audio`` (a
    file ``generation.clips.audio`` accepts) is faded, fitted to the clip and muxed in.
    """
    out = Path(out_path)
    _check_out_path(out)
    spec = plan.spec
    folder = out.parent
    targets = {"mp4": out}
    if spec.webm:
        targets["webm"] = out.with_suffix(".webm")
    if spec.preview:
        targets["preview"] = out.with_name(f"{out.stem}_preview.webp")
    if spec.poster:
        targets["poster"] = out.with_name(f"{out.stem}_poster.jpg")
    if sidecar:
        targets["sidecar"] = out.with_suffix(".json")

    folder.mkdir(parents=True, exist_ok=True)
    preset = get_preset(spec.preset)
    n = plan.frame_count
    samples = sorted({0, n // 2, n - 1})
    references: dict[int, ProductLayer] = {}
    poster_index = _poster_index(plan)
    staged: dict[str, Path] = {key: temporary_path(path) for key, path in targets.items()}
    try:
        # 2. draw frames here, straight into the encoder's planes where the worlds allow,
        #    and encode them on a worker thread as they come: x264 and the drawing
        #    (OpenCV, numpy) both release the GIL, so they overlap
        worst, min_opaque, first_box = 0, None, None
        writer = _FrameWriter(plan, preset, staged, spec)
        try:
            frames = plan.frames(
                lambda f, m: progress(PLAN_SHARE + (1 - PLAN_SHARE) * 0.97 * f, m),
                buffers=_FrameWriter.BUFFERS,
                planes=True,
                # whole RGB images only where something looks at them
                whole=lambda i: (
                    frame_hook is not None or (spec.poster and i == poster_index) or writer.wants_rgb(i)
                ),
            )
            for frame in frames:
                if frame_hook is not None:
                    frame_hook(frame)
                writer.put(frame)
                if frame.index == poster_index and spec.poster:
                    with open(staged["poster"], "wb") as fh:
                        enc.save_poster(np.ascontiguousarray(frame.image), fh)
                if frame.index in samples:
                    references[frame.index] = frame.product
                if frame.index == 0:
                    first_box = frame.product_transform.box(
                        (0.0, 0.0, float(plan.master.size[0]), float(plan.master.size[1]))
                    )
                worst = max(worst, frame.max_abs_diff)
                min_opaque = (
                    frame.opaque_pixels if min_opaque is None else min(min_opaque, frame.opaque_pixels)
                )
        except BaseException:
            writer.abort()
            raise
        writer.finish()
        sound = [
            add_audio(staged[k], audio, n / spec.fps, k) for k in ("mp4", "webm") if audio and k in staged
        ]

        # 3. read the MP4 back: what was written, and how the product survived encoding
        progress(0.985, "Checking the encoded clip")
        info = enc.probe_video(staged["mp4"])
        if info.frame_count != n or (info.width, info.height) != plan.canvas:
            raise GenerationError(
                f"the encoder wrote {info.frame_count} frames of {info.width}x{info.height}, "
                f"expected {n} of {plan.canvas[0]}x{plan.canvas[1]}",
                code="encoding_failed",
            )
        psnr = _encoded_psnr(staged["mp4"], references) if verify_encoding else None
        assert first_box is not None and min_opaque is not None
        fidelity = ClipFidelity(
            max_abs_diff=worst,
            min_opaque_pixels=min_opaque,
            frames_checked=n,
            encoded_psnr_db=psnr,
            encoded_frames_checked=len(references) if psnr is not None else 0,
        )
        result = ClipResult(
            path=out,
            duration=n / spec.fps,
            fps=spec.fps,
            codec=info.codec,
            width=info.width,
            height=info.height,
            frame_count=info.frame_count,
            size_bytes=staged["mp4"].stat().st_size,
            fidelity=fidelity,
            product_box=tuple(round(v) for v in first_box),  # type: ignore[arg-type]
            webm=targets.get("webm"),
            preview=targets.get("preview"),
            poster=targets.get("poster"),
            meta=_meta(plan),
        )
        if plan.text_checks is not None:
            result.meta["text_checks"] = plan.text_checks.summary()
        result.meta["audio"] = sound[0].to_dict() if sound else None
        if sidecar:
            staged["sidecar"].write_bytes(_sidecar_json(result))

        # 4. all complete: move into place
        for key, temporary in staged.items():
            os.replace(temporary, targets[key])
    except BaseException:
        for temporary in staged.values():
            temporary.unlink(missing_ok=True)
        raise
    progress(1.0, "Clip done")
    return result


def _sidecar_json(result: ClipResult) -> bytes:
    from generation.sidecar import SIDECAR_DEFAULTS

    data = {**SIDECAR_DEFAULTS, **result.sidecar()}
    return (json.dumps(data, indent=2, default=str) + "\n").encode()


class _FrameWriter:
    """Encoders (MP4, optional WebM and preview) fed from a bounded queue by one thread.

    ``put`` blocks while ``DEPTH`` frames wait, so memory stays bounded whatever the
    clip's length. Each frame comes as its own 4:2:0 planes; the preview's frames also
    as RGB, not copied: the renderer draws into ``BUFFERS`` buffers in turn, enough that
    none is drawn over while queued or being encoded.
    """

    DEPTH = 3
    BUFFERS = DEPTH + 2  # queued + the one being encoded + the one being drawn

    def __init__(self, plan: ClipPlan, preset: Any, staged: dict[str, Path], spec: ClipSpec) -> None:
        import queue
        import threading

        self._queue: queue.Queue[ClipFrame | None] = queue.Queue(maxsize=self.DEPTH)
        self._error: BaseException | None = None
        self._encoders = [
            enc.VideoEncoder(staged["mp4"], enc.h264_settings(preset, spec.fps), plan.canvas, spec.fps)
        ]
        try:
            if spec.webm:
                self._encoders.append(
                    enc.VideoEncoder(staged["webm"], enc.vp9_settings(preset), plan.canvas, spec.fps)
                )
        except BaseException:
            self._encoders[0].abort()
            raise
        self._preview = (
            enc.PreviewCollector(plan.canvas, spec.fps, plan.frame_count) if spec.preview else None
        )
        self._preview_path = staged.get("preview")
        self._thread = threading.Thread(target=self._run, name="clip-encoder", daemon=True)
        self._thread.start()

    def wants_rgb(self, index: int) -> bool:
        """Whether frame ``index`` must come with its whole RGB image (for the preview)."""
        return self._preview is not None and self._preview.wants(index)

    def _run(self) -> None:
        try:
            while (frame := self._queue.get()) is not None:
                assert frame.planes is not None
                for encoder in self._encoders:
                    encoder.write_yuv420(*frame.planes)
                if self._preview is not None and self._preview.wants(frame.index):
                    assert frame.whole
                    self._preview.offer(frame.index, frame.rgba)
        except BaseException as exc:  # reported to the drawing thread on its next put
            self._error = exc
            while self._queue.get() is not None:  # drain so the producer never blocks
                pass

    def put(self, frame: ClipFrame) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(frame)

    def finish(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            for encoder in self._encoders:
                encoder.abort()
            raise self._error
        for encoder in self._encoders:
            encoder.close()
        if self._preview is not None and self._preview_path is not None:
            with open(self._preview_path, "wb") as fh:
                self._preview.save(fh)

    def abort(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        for encoder in self._encoders:
            encoder.abort()


def _poster_index(plan: ClipPlan) -> int:
    """A frame with every scene text revealed and the camera settled a little."""
    t_cfg = presets_data()["text"]
    tl = plan.timeline
    t = max(0.45 * tl.scenes_end, tl.reveal_end + 0.2)
    shown = [k for k in plan.sprites if not (plan.meta["end_card"] and k in END_CARD_TEXTS)]
    if shown:
        revealed = max(tl.text_enters(k) for k in shown)
        t = max(t, revealed + float(t_cfg["reveal_s"]) + 0.2)
    t = min(t, max(tl.scenes_end - 0.1, 0.0))
    return min(plan.frame_count - 1, round(t * plan.spec.fps))


def _encoded_psnr(path: Path, references: dict[int, ProductLayer]) -> float | None:
    """Lowest PSNR (dB) over the sampled frames, in the reference's opaque pixels."""
    worst: float | None = None
    decoded = enc.decode_frames_at(path, list(references))
    for index, layer in references.items():
        rgb = decoded.get(index)
        if rgb is None:
            raise GenerationError(
                f"frame {index} could not be read back from the clip", code="encoding_failed"
            )
        x0, y0, w, h = layer.box
        opaque = layer.opaque
        if not opaque.any():
            continue
        got = rgb[y0 : y0 + h, x0 : x0 + w][opaque].astype(np.float64)
        want = layer.pixels[..., :3][opaque].astype(np.float64)
        mse = float(((got - want) ** 2).mean())
        psnr = math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)
        worst = psnr if worst is None else min(worst, psnr)
    return worst


def _meta(plan: ClipPlan) -> dict[str, Any]:
    spec = plan.spec
    worlds = [w for w in plan.worlds if w.source != "end_card"]
    themes = [w.theme for w in worlds]
    return {
        "segmenter": plan.segmenter,
        "engine": "clip",
        "theme": themes[0] if len(themes) == 1 else themes,
        "seed": spec.seed,
        "preset": spec.preset,
        "style": spec.style,
        "motion": spec.motion,
        "transition": spec.transition if spec.style == "sequence" else None,
        "end_card": plan.meta["end_card"],
        "beats": plan.meta.get("beats"),
        "reveal": spec.reveal,  # how the clip opens: drop_in | fade | none
        "scenes": [w.name for w in worlds],
        "text": {
            "headline": spec.headline or None,
            "price": spec.price,
            "compare_at": spec.compare_at if spec.discounted else None,
            "currency": spec.currency if spec.price is not None else None,
            "cta": spec.cta or None,
        },
    }
