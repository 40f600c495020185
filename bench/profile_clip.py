"""Where the time of one clip render goes, step by step, on one thread.

    .venv/bin/python bench/profile_clip.py [--duration 8] [--source scene|theme] [--text]

The clip of ``bench_clips.py`` (story preset, push-in, from a studio scene of a synthetic
bottle; ``--text`` adds a headline, a price and a call to action, hence the end card and
the per-frame text checks). Everything runs on the calling thread, one step after the
other, so each step's share is its own (``render_clip`` overlaps drawing and encoding on
two threads; its wall time is shown last for comparison). Per-frame steps are timed by
wrapping the functions the compositor calls; wall and CPU seconds (this process, all
threads) are shown for each.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

_WALL: dict[str, float] = defaultdict(float)
_CPU: dict[str, float] = defaultdict(float)
_CALLS: dict[str, int] = defaultdict(int)
_ORDER: list[str] = []


class step:
    """A timed step (context manager); nested steps count in their parent too."""

    def __init__(self, name: str) -> None:
        self.name = name
        if name not in _ORDER:
            _ORDER.append(name)

    def __enter__(self) -> None:
        self.w, self.c = time.perf_counter(), time.process_time()

    def __exit__(self, *exc: object) -> None:
        _WALL[self.name] += time.perf_counter() - self.w
        _CPU[self.name] += time.process_time() - self.c
        _CALLS[self.name] += 1


def timed(module: Any, attr: str, name: str, obj: Any = None) -> None:
    """Replace ``module.attr`` (or ``obj.attr``) with a timed wrapper."""
    target = obj if obj is not None else module
    fn: Callable[..., Any] = getattr(target, attr)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with step(name):
            return fn(*args, **kwargs)

    setattr(target, attr, wrapper)


def child_seconds(code: str) -> tuple[float, float]:
    """(wall, CPU) of ``python -c code`` in a fresh process (median of 3)."""
    import os
    import statistics

    walls, cpus = [], []
    for _ in range(3):
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(REPO)})
        _, _, usage = os.wait4(proc.pid, 0)
        walls.append(time.perf_counter() - start)
        cpus.append(usage.ru_utime + usage.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--source", choices=("scene", "theme"), default="scene")
    parser.add_argument("--text", action="store_true", help="headline, price, CTA and the end card")
    args = parser.parse_args()

    # 0. process start and imports, each in a fresh process
    start = child_seconds("pass")
    imports = child_seconds("from generation.clips import ClipSpec, render_clip")
    heavy = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from generation.clips import render_clip; "
            "print(' '.join(m for m in ('torch', 'diffusers', 'transformers', 'django', 'av', 'requests') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin"},
    ).stdout.strip()

    import numpy as np

    import generation.clips.frames as frames_mod
    import generation.clips.plan as plan_mod
    import generation.clips.render as render_mod
    from generation.clips import ClipSpec, render_clip
    from generation.clips import encode as enc
    from generation.clips.checks import FrameTextChecks
    from generation.clips.frames import Compositor
    from generation.clips.planes import WorldPlanes
    from generation.clips.spec import get_preset
    from generation.config import GenerationConfig
    from generation.engines.studio import StudioEngine
    from generation.specs import SceneSpec
    from tests.synthetic import jpeg_segmentation

    preset = get_preset("story")
    seg = jpeg_segmentation((1200, 1500))
    scene = StudioEngine(GenerationConfig()).render(
        seg, SceneSpec(theme="marble_counter", width=preset.width, height=preset.height, fill=0.5)
    )[0]
    text = {"headline": "Hydrating serum", "price": "24.90", "cta": "Shop now"} if args.text else {}
    spec = ClipSpec(
        preset="story", duration=args.duration, style="push_in", themes=("marble_counter",), **text
    )
    scenes = [scene] if args.source == "scene" else None

    # 1. plan
    timed(plan_mod, "scene_world", "plan: scene world")
    timed(plan_mod, "studio_world", "plan: studio world (set drawn)")
    timed(plan_mod, "make_master", "plan: product master")
    timed(plan_mod, "end_card_world", "plan: end card world")
    timed(plan_mod, "_sprites", "plan: text sprites + legibility")
    timed(plan_mod, "_legible", "plan:   of which legibility (every 5th frame)")
    with step("plan_clip total"):
        plan = plan_mod.plan_clip(seg, spec, scenes=scenes)

    # 2. what drawing a frame calls (as ``write_clip`` draws them: into the encoder's planes)
    timed(None, "_layers", "frame: worlds whole in RGB (+ sweep)", Compositor)
    timed(None, "_world", "frame:   a world warped (+ shadow layer)", Compositor)
    timed(None, "_layers_in_planes", "frame: worlds in the planes (+ RGB round them)", Compositor)
    timed(None, "draw", "frame:   a world zoomed in the planes", WorldPlanes)
    timed(frames_mod, "_apply_effect", "frame:   shadow layer")
    timed(None, "_sweep", "frame:   light sweep", Compositor)
    timed(None, "contrast", "frame: text contrast check", FrameTextChecks)
    timed(frames_mod, "draw_sprite", "frame: text drawn")
    timed(frames_mod, "reference_product", "frame: product reference")
    timed(frames_mod, "paste_product", "frame: product pasted")
    timed(None, "overlap", "frame: text overlap check", FrameTextChecks)
    timed(frames_mod, "measure_product", "frame: product pixel check")
    timed(None, "convert", "frame: RGB -> YUV 4:2:0 (what was drawn in RGB)", enc.YUV420Converter)
    # 3. the frames as the encoder takes them, then x264 alone on them
    import av

    settings = enc.h264_settings(preset, spec.fps)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        container = av.open(str(path), mode="w", format="mp4", options=dict(settings.container_options))
        stream = container.add_stream("libx264", rate=spec.fps, options=dict(settings.options))
        stream.width, stream.height = plan.canvas
        stream.pix_fmt = "yuv420p"
        stream.codec_context.thread_type = "AUTO"
        stream.codec_context.thread_count = 0
        frames = plan.frames(planes=True)
        planes: list[tuple[np.ndarray, ...]] = []
        whole = 0
        while True:
            with step("frame: drawn and checked (all of it)"):
                frame = next(frames, None)
            if frame is None:
                break
            assert frame.planes is not None
            whole += frame.whole
            # x264 runs threads of its own: encoded after the loop so its CPU is its own
            planes.append(frame.planes)
        with step("encode: x264 (YUV frames in memory)"):
            for i, (y, u, v) in enumerate(planes):
                vf = av.VideoFrame(plan.canvas[0], plan.canvas[1], "yuv420p")
                for view, data in zip((enc._plane_view(p) for p in vf.planes), (y, u, v), strict=True):
                    view[:] = data
                vf.pts = i
                for packet in stream.encode(vf):
                    container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)
            container.close()
        del planes
        with step("check: probe (count frames)"):
            enc.probe_video(path)
        n = plan.frame_count
        with step("check: decode 3 frames (PSNR)"):
            enc.decode_frames_at(path, sorted({0, n // 2, n - 1}))
        measured = {k: (_WALL[k], _CPU[k], _CALLS[k]) for k in _ORDER}

        # 4. the real thing, threads and all, for comparison
        w0, c0 = time.perf_counter(), time.process_time()
        render_clip(seg, spec, Path(tmp) / "real.mp4", scenes=scenes)
        real = (time.perf_counter() - w0, time.process_time() - c0)
        _ = render_mod

    print(
        f"{args.duration:g} s story clip from the {args.source}{' with text' if args.text else ''}: "
        f"{plan.frame_count} frames {plan.canvas[0]}x{plan.canvas[1]}, {whole} of them drawn whole in RGB"
    )
    print(f"{'step':<46} {'wall s':>7} {'CPU s':>7} {'calls':>6}")
    print(f"{'process start (python -c pass)':<46} {start[0]:7.2f} {start[1]:7.2f}")
    print(f"{'imports (from generation.clips import ...)':<46} {imports[0]:7.2f} {imports[1]:7.2f}")
    print(
        f"  heavy modules imported on the clip path: {heavy or 'none of torch/diffusers/transformers/django/av/requests'}"
    )
    for name in _ORDER:
        wall, cpu, calls = measured[name]
        print(f"{name:<46} {wall:7.2f} {cpu:7.2f} {calls:6d}")
    print(f"{'render_clip (threads overlapping)':<46} {real[0]:7.2f} {real[1]:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
