"""How many cores a clip render's threads could use, step by step, whatever the machine's load.

    PYTHONPATH=. .venv/bin/python bench/clip_threads.py [--source scene|theme] [--repeat 1]

The clip of ``bench_clips.py`` (8 s 1080x1920 story push-in of a synthetic bottle) is
rendered in a child process while this process reads every thread of the child
(``/proc/PID/task/*/stat`` and ``schedstat``: state and CPU, Linux only) every few ms. The
child's main thread names itself after the step it is in (``imports``, ``plan``,
``frames``: drawing and encoding together, ``flush``: x264 finishing, ``check``: reading
the MP4 back); the encoder's thread is ``clip-feeder``, x264's own threads ``clip-x264``.
Then the same for the encode floor: ours' frames, drawn beforehand and read into memory,
encoded alone with the same settings (step ``encode``), as ``bench_clips.py`` times it.

For each step it prints CPU seconds and an estimate of its wall time on two cores that
nothing else uses: each slice of CPU divided by how many of the child's threads wanted to
run (running or waiting for a core) at the start of that slice, at most 2. On a shared
machine wall time says how busy the machine was: Linux gives each session (autogroup) an
equal share of the cores, so while any other session keeps a core busy a process gets one
core at most, however many threads it runs. This says instead whether the threads would
overlap. Read it as an estimate: a thread that wakes and sleeps between two samples is
credited to the fewer threads seen, so it errs towards less overlap.
"""

from __future__ import annotations

import argparse
import collections
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# ours' frames as the encoder takes them, written raw (not sampled): bench_clips' own
from bench.bench_clips import _DUMP  # noqa: E402

# the clip, with each step named on the main thread (prctl PR_SET_NAME = 15, Linux)
_OURS = """
import ctypes, pickle, sys
name = lambda n: ctypes.CDLL(None).prctl(15, n.encode(), 0, 0, 0)
name("imports")
from generation.clips import ClipSpec, encode, render
seg, scene = pickle.load(open(sys.argv[1], "rb"))
spec = ClipSpec(preset="story", duration=float(sys.argv[3]), style="push_in", themes=("marble_counter",))

def step(label, fn):
    def wrapper(*args, **kwargs):
        name(label)
        return fn(*args, **kwargs)
    return wrapper

run, send = render._FrameWriter._run, encode.VideoEncoder._send
def feeder(self):
    name("clip-x264")  # x264's threads start on the first frame and take this name
    run(self)
def named_send(self, frame):
    send(self, frame)
    if self.frames == 1:
        name("clip-feeder")
render._FrameWriter._run, encode.VideoEncoder._send = feeder, named_send
render.plan_clip = step("plan", render.plan_clip)
render.write_clip = step("frames", render.write_clip)
render._FrameWriter.finish = step("flush", render._FrameWriter.finish)
encode.probe_video = step("check", encode.probe_video)
render.render_clip(seg, spec, sys.argv[2], scenes=[scene] if sys.argv[4] == "scene" else None)
name("exit")
"""

# the encode floor: those frames read into memory, then only encoded
_FLOOR = """
import ctypes, sys
from pathlib import Path
name = lambda n: ctypes.CDLL(None).prctl(15, n.encode(), 0, 0, 0)
name("imports")
import numpy as np
from generation.clips import encode as enc
from generation.clips.spec import get_preset
name("read")
w, h = 1080, 1920
raw = np.fromfile(sys.argv[1], dtype=np.uint8).reshape(-1, w * h * 3 // 2)
frames = [(f[: w * h].reshape(h, w), f[w * h : w * h * 5 // 4].reshape(h // 2, w // 2),
           f[w * h * 5 // 4 :].reshape(h // 2, w // 2)) for f in raw]
name("encode")
with enc.VideoEncoder(Path(sys.argv[2]), enc.h264_settings(get_preset("story"), 30), (w, h), 30) as encoder:
    for planes in frames:
        encoder.write_yuv420(*planes)
name("exit")
"""


class Sampled:
    """Per step: CPU seconds and the estimate on two free cores; per thread name: CPU."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = collections.defaultdict(float)
        self.free2: dict[str, float] = collections.defaultdict(float)
        self.threads: dict[str, float] = collections.defaultdict(float)
        self.wall = 0.0
        self.order: list[str] = []


def sample(cmd: list[str], env: dict[str, str], interval: float = 0.003) -> Sampled:
    """Run ``cmd`` and read its threads every ``interval`` s until it exits."""
    out = Sampled()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env)
    last: dict[str, tuple[int, str]] = {}  # tid -> (CPU ns, name)
    runnable, current = 1, "start"
    while proc.poll() is None:
        now: dict[str, tuple[int, str]] = {}
        wanting = 0
        try:
            tids = os.listdir(f"/proc/{proc.pid}/task")
        except OSError:
            break
        for tid in tids:
            try:
                with open(f"/proc/{proc.pid}/task/{tid}/stat") as fh:
                    stat = fh.read()
                with open(f"/proc/{proc.pid}/task/{tid}/schedstat") as fh:
                    ns = int(fh.read().split()[0])
            except (OSError, ValueError, IndexError):
                continue
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            now[tid] = (ns, name)
            wanting += stat[stat.rindex(")") + 2] == "R"
        spent = 0.0
        for tid, (ns, name) in now.items():
            delta = (ns - last.get(tid, (0, name))[0]) / 1e9
            spent += delta
            out.threads[name] += delta
        # this slice's CPU, at the step and the number of threads wanting to run at its start
        out.cpu[current] += spent
        out.free2[current] += spent / min(max(runnable, 1), 2)
        if current not in out.order:
            out.order.append(current)
        last.update(now)
        runnable = wanting
        main = now.get(str(proc.pid))
        current = main[1] if main is not None else current
        time.sleep(interval)
    proc.wait()
    out.wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:3]} failed with {proc.returncode}")
    return out


def report(title: str, runs: list[Sampled]) -> None:
    """Medians over ``runs`` of each step's CPU and two-free-core estimate, and per thread."""
    import statistics

    def med(values: list[float]) -> float:
        return statistics.median(values) if values else 0.0

    steps = [s for s in runs[0].order if s not in ("start", "python")]
    print(f"\n{title} (medians of {len(runs)}; wall as run: {med([r.wall for r in runs]):.2f} s)")
    print(f"  {'step':<10} {'CPU s':>7} {'2 free cores s':>15} {'cores':>6}")
    for s in steps:
        cpu, free2 = med([r.cpu[s] for r in runs]), med([r.free2[s] for r in runs])
        print(f"  {s:<10} {cpu:7.2f} {free2:15.2f} {cpu / free2 if free2 else 0:6.2f}")
    cpu = med([sum(r.cpu.values()) for r in runs])
    free2 = med([sum(r.free2.values()) for r in runs])
    print(f"  {'all':<10} {cpu:7.2f} {free2:15.2f} {cpu / free2:6.2f}")
    names = sorted(runs[0].threads, key=lambda n: -runs[0].threads[n])
    print(
        "  CPU by thread name: "
        + ", ".join(f"{n} {med([r.threads[n] for r in runs]):.2f}" for n in names[:8])
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--source", choices=("scene", "theme"), default="scene")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    if not Path("/proc/self/task").is_dir():
        parser.error("needs Linux /proc")

    from generation.config import GenerationConfig
    from generation.engines.studio import StudioEngine
    from generation.specs import SceneSpec
    from tests.synthetic import jpeg_segmentation

    seg = jpeg_segmentation((1200, 1500))
    scene = StudioEngine(GenerationConfig()).render(
        seg, SceneSpec(theme="marble_counter", width=1080, height=1920, fill=0.5)
    )[0]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        payload = folder / "inputs.pkl"
        payload.write_bytes(pickle.dumps((seg, scene)))
        raw = folder / "ours.yuv"
        subprocess.run(
            [sys.executable, "-c", _DUMP, str(payload), str(raw), str(args.duration), args.source],
            env=env,
            check=True,
        )
        ours = [
            sys.executable,
            "-c",
            _OURS,
            str(payload),
            str(folder / "ours.mp4"),
            str(args.duration),
            args.source,
        ]
        floor = [sys.executable, "-c", _FLOOR, str(raw), str(folder / "floor.mp4")]
        load_before = os.getloadavg()
        runs: dict[str, list[Sampled]] = {"ours": [], "floor": []}
        for _ in range(args.repeat):  # interleaved
            runs["ours"].append(sample(ours, env))
            runs["floor"].append(sample(floor, env))
        load_after = os.getloadavg()
    print(
        f"{args.duration:g} s 1080x1920 clip from the {args.source}; {os.cpu_count()} CPUs; load average "
        f"{' '.join(f'{v:.1f}' for v in load_before)} before, {' '.join(f'{v:.1f}' for v in load_after)} after"
    )
    report(f"ours, from the {args.source}", runs["ours"])
    report("encode floor: ours' frames, x264 alone", runs["floor"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
