"""An 8 s 1080x1920 product clip from one scene, side by side with ffmpeg's zoompan.

    .venv/bin/python bench/bench_clips.py [--duration 8] [--repeat 1] [--ffmpeg /usr/bin/ffmpeg] [--before DIR]

One studio scene (1080x1920) of a synthetic bottle is rendered first and saved as a PNG.
Then, each in its own child process (wall time and the child's peak RSS from wait4):

- ours, from that scene image: a push-in with the product pixel-locked, H.264 at the
  story preset's CRF and x264 preset (``presets.json``), poster and encode check on;
- ours, from the studio theme (the set rendered again, with overscan, shadow layers);
- the encode floor: ours' exact frames from the scene (drawn into 4:2:0 planes as ours
  draws them for the encoder, by a child that is not timed, and written raw), read into memory, then only encoded by
  PyAV's libx264 with ours' settings; the time and CPU of that encoding alone, measured
  inside the child: what any renderer that hands x264 these frames pays, however fast it
  draws them;
- the same raw frames encoded by ffmpeg's own libx264 with the same options (whole
  process, reading the file included): the same floor with ffmpeg's x264 build;
- the same encode-only floor on ours' first frame repeated (nothing moves: what x264
  costs per 1080x1920 frame whatever is in it) and on zoompan's own frames (written raw by
  ffmpeg, not timed): how much of a zoompan run is x264; and on ours' frames from the
  theme (another set, with props: what x264 costs on the theme clip's own frames);
- ffmpeg's zoompan Ken Burns of the same still to the same zoom, same size, fps, frame
  count, yuv420p and x264 options as ours (CRF, profile, rate cap, keyframe interval; x264's
  own thread count on both sides): at ffmpeg's default x264 preset (medium) and at ours;
  naive (whole-pixel crop steps, visibly jittery) and smooth (input upscaled 4x first, the
  usual fix).

``--before DIR`` (a checkout of the code before a change, e.g. ``git worktree add DIR
main``) adds its two clips, run the same way, so a change is measured before -> after in
one run. Runs are interleaved (ours, ffmpeg, ours, ...) ``--repeat`` times and the medians
reported, so a busy shared machine slows both sides alike; CPU seconds (user + sys of
the child) are shown beside wall seconds, and the load average before and after. Ratios
are printed against each zoompan run (the issue's target: ours <= 0.5) and, for ours,
against the encode floor (what everything beyond x264 costs; restated target <= 1.5).

Why 0.5x zoompan at the same x264 preset is out of reach (one run, 2 CPUs, load 8-10,
CPU seconds, veryfast): a zoompan run is almost all x264. x264 alone on zoompan naive's
own frames took 8.28 s of its whole run's 8.49 (0.98); on ours' frames 6.86 (0.81), by
PyAV's x264 or ffmpeg's alike; on ours' first frame 240 times, nothing moving, 3.97 (0.47).
So at 0.5 everything else (start, imports, plan, drawing, colour conversion, checks)
would have to fit in less than nothing with ours' frames, and in 0.03 of zoompan even for
a still clip. Against the smooth zoompan (14.9 s; it does not judder) ours was 0.81 and its
floor 0.46. What makes x264 slower on a frame stream was measured apart: the set's fine
grain (2 levels, fixed to the set, baked into the scene) costs x264 about a sixth
(ours' frames 6.4 -> 5.3 s, 1.5 -> 0.8 MB without it; zoompan's frames 6.9 -> 6.1), and
without it x264 at CRF 20 turns the wall's gradient into visible 1-level contours, so it
stays. Ours / floor was 1.75 from the scene and 1.96 from the theme.

Since then most frames are drawn straight into the encoder's 4:2:0 planes (each world
converted once and zoomed by resize; RGB only round the product, text, shadow layer and
sweep: 228 of this clip's 240 frames). Drawing and colour conversion alone (no x264, one
process, load 15-20, CPU s): 5.7 -> 3.9-4.8 from the scene, 5.9 -> 5.1-5.9 from the
theme. Side by side with the code before, interleaved, 2 runs each, load 18-20: ours /
floor 1.76 (scene) and 1.88 (theme) against 1.73 and 1.87 before; the run-to-run spread
(about 1.5 s on 14) is larger than the gain, so that run resolves no difference. The
restated target (1.5) is not met. What remains beyond x264 (cProfile, CPU, load ~17, per
frame of the theme clip): the product's reference warp, paste and check with the set
warped and converted round it (about 10 ms), zooms within about 1/500 of scale 1 that no
resize window matches (the ends of a push-in: about 35 frames warped per plane), the
theme's set drawn in the plan (1.4-1.7 s), and imports (0.65 s).

Since then a clip's studio set is drawn once. Whenever the move would cut a prop where the
set first stood it (24 of 30 story clips of the prop themes x 2 seeds x parallax, pan and
push-in), the set was drawn, then drawn again with its props in the room the move leaves
them (``Variant.room``), and a pan or push-in drew it a third time without those that
still did not fit; now the room is found from the move before anything is drawn
(``worlds.studio_stage``: where the set stands the product and its props, nothing drawn),
with the same frames (those 30 clips' worlds, and at 540x960 every frame of 60 clips and
8 from square studio scenes, the same bytes). This bench's theme clip (push-in, marble):
plan 2.02 -> 0.89 s CPU (parallax 3.50 -> 1.97, pan 2.01 -> 1.04; medians of 3, one
process, load ~25).

Since then a clip from a scene makes its world once: it was made, overscan and all, then
made again without the props the move cuts (this bench's scene clip: its cylinder), 0.9 s
CPU each time; now the move is planned on the scene's geometry alone
(``worlds.scene_stage``) and the overscan blurs only its run-on (the same bytes). And the
planes resize the smallest window within tolerance (the crops dropped after resizing had
averaged 196 rows and columns), Cb and Cr sharing one search. One process each, before and
after interleaved, medians of 3, load ~16, CPU s: plan from the scene 2.09 -> 0.92. The
zoom in the planes alone, all 240 frames in one process, medians of 5: 0.54 -> 0.49 (scene),
0.57 -> 0.56 (theme), within 2 levels of before (mean 0.019); the whole drawing's change is
inside the noise of those interleaved runs (2.31 -> 2.30 and 2.89 -> 2.36). This bench with
``--before`` (one run, load 16-18), ours / floor CPU: scene 2.29 -> 1.87, theme 1.79 ->
1.87 (noise); wall at that load says nothing. Not at 1.5: what remains beyond x264 is drawing (about 8 ms of CPU a frame:
the zoom in the planes 2, the product's reference warp 1, paste and check 1, the set warped
and converted round the product 2, near-1 zooms that no window fits warped: about 40
frames of each clip), the theme's set drawn in the plan (about 1 s) and imports (0.4 s).

Since then three savings in the drawing, each timed as the drawing thread's CPU in a real
render (cv2 on one thread, interleaved with the code before): the light sweep's band is
worked out in place (once per clip: 0.06-0.08 -> 0.01 s), the product is blended only
round its opaque interior (``ProductLayer.interior``; its 240 pastes 0.22 -> 0.17 s) and
the world is not warped in RGB under that interior (0.26-0.32 -> 0.14-0.17 s). All three
(medians of 3, load 11-13): drawing 1.99 -> 1.71 s from the scene, 2.38 -> 1.97 from the
theme; process CPU 7.66 -> 7.51 and 8.47 -> 8.01. This bench with ``--before`` (161da98),
``--repeat 3``, load 9-12, CPU: ours 8.19 -> 7.24 (scene), 8.89 -> 8.47 (theme), floor
4.33; ours / floor 1.89 -> 1.67 and 2.05 -> 1.96, a larger gain than the stage timing (about
0.3-0.4 s) supports: read it as about 0.1 off the ratio. Not 1.5. Tried and dropped:
x264's thread count (0, 1, 2, 3 threads: 3.9-4.3 s CPU on ours' frames either way), cv2 on
one thread (drawing 1.58-1.66 s CPU either way), jieba, budoux and opencc imported on first
use (import CPU 0.310 vs 0.315 s, medians of 15), blending only the soft pixels found with
``findNonZero`` (slower than blending the box: 0.20 vs 0.15 s). What remains beyond x264,
per frame of the scene clip (about 6.5 ms of CPU): the zoom in the planes 2.4 (the 43
frames no window fits, 40 near scale 1 and 3 unlucky fractions, 4.9 each), the product's
reference warp 1.0, paste 0.7 and check 0.35, the world's RGB round the interior 0.6, the
colour conversion of the RGB rectangles 0.8; then the plan (0.6 s from the scene: the
product's hole filled 0.13-0.25, the set drawn again without the cut prop 0.2; about 0.9
from the theme) and start and imports (about 0.3).

Since then a zoom that no resize window fits but whose scale is within about 1/200 of 1
(``planes._runs``: 40 frames of the scene clip, 38 of the theme's) is drawn in runs of rows
that share one sub-pixel weight, the warp's own 1/32 px positions, across on the window
turned on its side in float32 and then down, rounded once (max 1 level from the warp on the
test image, 2 at isolated edge pixels of these worlds, mean 0.02); 3 and 2 frames whose
scale is far from 1 are still warped. The zoom in the planes, all 240 frames x 3 in one
process, old and new interleaved, CPU (load ~9): 1.89 -> 1.59 s (scene), 2.11 -> 1.86 s
(theme), about 0.1 s a clip. This bench with ``--before`` (34e4277), CPU, ours / floor:
``--repeat 2``, load 5-10: scene 1.42 -> 1.40, theme 1.66 -> 1.50 (floor 5.06 s);
``--repeat 3``, load 3-12: scene 1.52 -> 1.43, theme 1.66 -> 1.52 (floor 4.68 s). The
gains are several times what the change saves, and the floor moves by 0.7 s between runs:
load. So the restated 1.5 is about reached from the scene (the code before read 1.42 once)
and not met from the theme. Measured and not taken: holding the zoom of a frame within
1/64 px of the last one drawn (18 of 240 frames qualify, the first and last dozen; about
0.03 s), cv2's INTER_LINEAR_EXACT for the zoom (25-30 % slower than INTER_LINEAR), fresh
plane arrays (the drawing loop faults 530 pages over 240 frames once warm: nothing to save),
decoding the three check frames on one thread (0.36 -> 0.29-0.32 s CPU, medians of 5, but
slower wall), OpenBLAS on one thread (clip imports 0.304 -> 0.287 s CPU, medians of 7: the
environment's business), cv2 on one thread for the whole render (6.37 vs 6.55 s CPU, 3 runs
each: none). What remains beyond x264 on the drawing thread (cProfile, thread CPU, cv2 on
one thread, scene clip, before this change): the zoom by resize 0.34 s (1.7 ms a frame for
Y, Cb and Cr), the near-1 zooms 0.16 (now about 0.06), the product's reference warp 0.23,
paste 0.17 and check 0.04, the world's RGB round the product 0.12, the colour conversion
of the RGB rectangles 0.14; the plan 0.39 s (scene) and 0.59 s (theme, the set drawn:
backdrop and floor 0.17, marble 0.07, props and shadows, no one part over 0.1); imports
0.30 s CPU plus PyAV's 0.09; the check's decoding 0.3.

Since then the floor is also measured on ours' frames from the theme (``theme floor``) and
the theme clip is set against it: its set stands props (a cylinder, a leaf) the scene's
does not (1.33 vs 1.22 MB). Whether x264 pays more for them is not settled: CPU 6.15-6.56 vs
5.55-5.92 s (2 runs each, load ~7), 6.45 vs 6.00 and 4.38 vs 4.89 in the two runs below,
5.68 vs 6.09 in one more: load moves it as much either way. Two savings, both timed apart first (thread CPU, cv2 on one thread,
interleaved with the code before): the encode check decodes its three frames skipping the
frames nothing refers to (``skip_frame`` NONREF, the same bytes: 62 -> 38 frames decoded,
0.25-0.35 -> 0.19-0.22 s CPU), and a world's shadow effect is trimmed to the ratios that
change a byte (``worlds._trimmed``: the theme's 1393 rows -> 725), so the 19 frames that fade
it in blend and draw in RGB only that (the effect 0.15-0.18 -> 0.07 s, the drawing thread
2.17-2.61 -> 2.13-2.15 s; frames within 1 level of before, the product's the same bytes).
Where the theme clip's drawing thread goes now (2.1 s CPU at load 7-12, per clip): the zoom
in the planes 0.82 (205 frames resized, 3.3 ms each; 35 near-1 frames in runs, 8.9 ms
each), the product's reference warp 0.29, the world warped in RGB round the product 0.28,
the colour conversion of the RGB rectangles 0.24, paste 0.21, the effect 0.07, the 12
frames drawn whole 0.07; then the plan 0.85-0.98 s (the set drawn: its backdrop and floor
0.26, the effect's hole filled 0.13, marble 0.11, the product's dressing 0.09), imports 0.3.
This bench with ``--before`` (7682220), ``--repeat 3``, load 8-10 (other helpers' jobs on
the same 2 cores: CPU is read, wall at that load says nothing), CPU, ours / floor: scene
1.80 -> 1.76, theme 2.09 -> 1.85 (floor 6.00 s, a third over the 4.3-4.7 of quieter runs);
the theme against its own frames' floor 1.94 -> 1.72. The theme's gain (1.4 s) is several
times the 0.2-0.3 s the changes save: load again. Again, quieter (load 1.0-3.4): scene 1.64
-> 1.54, theme 1.74 -> 1.67 (floor 4.89 s; against the theme's own frames, 4.38 s, 1.94 ->
1.86). So about 1.5 from the scene, not from the theme. Wall in that quieter run: ours 7.6
s (scene) and 8.1 (theme) against CPU 7.5 and 8.2, the floor 2.9 wall for 4.9 CPU: ours
hardly used the second core there (one of the code before's three theme runs did, 5.8 wall
for 8.5 CPU); looked into below: the machine, not the clip.
Measured and not taken: the four window searches of a frame's planes in one numpy pass
(0.03 -> 0.015 s a clip: cProfile had shown 0.12, its own overhead), the runs' across pass
in uint16 instead of float32 (the same bytes, 0.20 -> 0.29 s: slower).

Why ours' wall was about its CPU: not the pipeline. Drawing and x264 overlap: the drawing
thread hands planes to the encoder's thread through a queue of 3, x264 runs three frame
threads and a lookahead thread (2 CPUs, ``threads`` auto; the same in the floor: one of
the four, most likely the lookahead, 2.4 s CPU, the others 0.9 each, load 11), and PyAV
releases the GIL in ``avcodec_send_frame``.
Measured: perf ``sched_switch`` with stacks over one render (load 11): the encoder's thread
off CPU 6.7 s waiting for x264, 1.7 s for a frame, 0.12 s for the GIL; the drawing thread
1.6 s waiting for room in the queue, 0.06 s for the GIL. ``bench/clip_threads.py`` (every
thread read from /proc every few ms; each slice of CPU divided by the threads that wanted
to run, at most 2: the wall on two free cores): from the scene, frames 7.44 s CPU -> 3.90
(1.91 cores), whole render 8.91 -> 5.06 (1.76), the floor's encode 6.55 -> 4.03 (1.62,
against 1.69 measured in the quiet run: the estimate holds); from the theme 9.93 -> 5.27
(1.89), 12.29 -> 7.15 (1.72), its floor 6.55 -> 4.12 (1.59). The queue at 12 frames instead
of 3: frames 4.3-4.8 s -> 4.9-5.0 (2 runs each, load 15): nothing. The wall like the CPU came
from Linux's autogroup: each session gets an equal share of the cores, so while another
session's job keeps a core busy a process gets one core at most; run one after the other
at load 3-7, ours used 0.45-0.87 of a core and the floor's encode 0.42-0.64. On two free
cores the wall ratio would be about 0.93 of the CPU ratio.
This bench with ``--before`` a checkout of the same clip code (so ours six times per source:
the spread is the noise), ``--repeat 3``, load 9-15, ours / floor wall (CPU): scene 1.31
(1.47) and 1.84 (1.57), theme 1.93 (1.67) and 2.05 (1.53), floor 6.89 s CPU; ours / zoompan
naive at veryfast CPU 1.15-1.31, at medium 0.40-0.46. CPU: the restated 1.5 about met from
the scene, not from the theme; wall at that load says nothing (estimated on two free cores:
about 1.4 from the scene, 1.4-1.55 from the theme). CPU looked for and not found above the
noise with the same bytes: page zeroing (the render's system time 0.44 s of 11.4 at load
~12: 0.19 s for imports and plan, 0.1 s in the drawing), the colour conversion's channel
extraction (0.17 s of the drawing thread's 2.6 under cProfile; a one-channel Y transform would
leave OpenCV's fixed-point path that the three-channel one takes, and change bytes), a frame
for x264 reused instead of allocated (its thread faulted 4078 pages over the clip).

Since then the zooms that no resize window fits (the first 39 frames of the scene clip's
push-in) are warped again, no longer blended in runs: with OpenCV 5.0 here the runs'
float32 transposes alone take 3.7 ms for a 1080x1920 plane, what the warp does, and the runs
took 8.7 ms a frame for the three planes against the warp's 5.6 (thread CPU, cv2 on one
thread); the zoom in the planes over the clip 0.72-0.74 -> 0.61-0.63 s, the drawing thread
2.20-2.25 -> 2.06-2.09 s (3 interleaved runs each, load 7-11); 31 frames differ from before,
by a level at most. And the text legibility pass of a clip with text reads the frames it
samples in place (the copy of each out of the RGBA buffer was 8 ms, on 34 frames): plan with
a headline, price and CTA 1.28-1.51 -> 1.14-1.18 s from the scene (no change without text).
This bench with ``--before`` a8fbd80 (the code before both), ``--repeat 3``, load 10-14, CPU:
ours 8.74 -> 8.58 s (scene), 9.54 -> 9.27 s (theme), floor 4.68 s; ours / floor 1.87 -> 1.83
and 2.04 -> 1.98; ours / zoompan naive at veryfast 1.39 -> 1.37 and 1.52 -> 1.48, at medium
0.46-0.49; x264 alone on ours' frames 0.75 of zoompan naive's run at veryfast, on zoompan's
own frames 0.95. The floor was 6.89 s in the run before (ours / floor 1.47-1.57 then): at this
load its CPU moves by half between runs, so ratios to it are read within one run only. Where
the rest goes (thread CPU, cv2 on one thread, scene clip): the drawing about 2.1 s (the zoom
in the planes 0.6, the product's reference warp 0.33, paste 0.34, check 0.08, the world in
RGB round it 0.15, the conversion of the RGB rectangles 0.32), the plan 0.6 (the set drawn
again without the cut prop 0.26, the product's hole filled 0.15), imports 0.3, the check 0.2.
With all of that at nothing ours would be the floor, 0.75 of zoompan at the same preset: the
issue's 0.5 is out of reach by x264 alone. Measured and not taken: the world's RGB round the
product zoomed by resize windows as the planes are (the window search for those small
pieces costs more than their warps: drawing 2.08 -> 2.22 s).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REPO = Path(__file__).resolve().parents[1]

_OURS = """
import json, sys, pickle
from generation.clips import ClipSpec, render_clip
seg, scene = pickle.load(open(sys.argv[1], "rb"))
spec = ClipSpec(preset="story", duration=float(sys.argv[3]), style="push_in", themes=("marble_counter",))
result = render_clip(seg, spec, sys.argv[2], scenes=[scene] if sys.argv[4] == "scene" else None)
print(json.dumps({"frames": result.frame_count, "bytes": result.size_bytes,
                  "max_abs_diff": result.fidelity.max_abs_diff, "psnr": result.fidelity.encoded_psnr_db}))
"""

# ours' frames from the scene (or the theme), drawn as ours draws them for the encoder (4:2:0), written raw
_DUMP = """
import pickle, sys
from generation.clips import ClipSpec, plan_clip
seg, scene = pickle.load(open(sys.argv[1], "rb"))
spec = ClipSpec(preset="story", duration=float(sys.argv[3]), style="push_in", themes=("marble_counter",))
plan = plan_clip(seg, spec, scenes=[scene] if sys.argv[4] == "scene" else None)
with open(sys.argv[2], "wb") as fh:
    for frame in plan.frames(planes=True):
        for plane in frame.planes:
            fh.write(plane.tobytes())
"""

# those frames read into memory first, then encoded with ours' settings (timed in here)
_FLOOR = """
import json, resource, sys, time
from pathlib import Path
import av, numpy as np
from generation.clips import encode as enc
from generation.clips.spec import get_preset
w, h, fps = (int(v) for v in sys.argv[3:6])
raw = np.fromfile(sys.argv[1], dtype=np.uint8).reshape(-1, w * h * 3 // 2)
if len(sys.argv) > 6:  # the first frame, that many times (no change between frames at all)
    raw = np.broadcast_to(raw[:1], (int(sys.argv[6]), raw.shape[1]))
frames = [(f[: w * h].reshape(h, w), f[w * h : w * h * 5 // 4].reshape(h // 2, w // 2),
           f[w * h * 5 // 4 :].reshape(h // 2, w // 2)) for f in raw]
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
wall0, cpu0 = time.perf_counter(), cpu()
settings = enc.h264_settings(get_preset("story"), fps)
with enc.VideoEncoder(Path(sys.argv[2]), settings, (w, h), fps) as encoder:
    for planes in frames:
        encoder.write_yuv420(*planes)
print(json.dumps({"wall": time.perf_counter() - wall0, "cpu": cpu() - cpu0, "frames": len(frames)}))
"""


def run_child(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, int, str]:
    """(wall s, CPU s, peak RSS MiB, stdout) of one child process (rusage from wait4)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed: {err.read().decode()[-2000:]}")
        cpu = usage.ru_utime + usage.ru_stime
        return wall, cpu, usage.ru_maxrss // 1024, out.read().decode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--ffmpeg", default="/usr/bin/ffmpeg")
    parser.add_argument(
        "--before",
        type=Path,
        help="another checkout (e.g. a worktree of main) whose clips run beside ours, interleaved: before -> after in one run",
    )
    args = parser.parse_args()
    if not os.access(args.ffmpeg, os.X_OK):
        parser.error(f"no ffmpeg executable at {args.ffmpeg} (apt-get install ffmpeg, or --ffmpeg PATH)")

    import pickle

    from generation.clips.encode import h264_settings, probe_video
    from generation.clips.spec import get_preset, presets_data
    from generation.config import GenerationConfig
    from generation.engines.studio import StudioEngine
    from generation.specs import SceneSpec
    from tests.synthetic import jpeg_segmentation

    preset = get_preset("story")
    x264_preset = presets_data()["encoder"]["h264"]["preset"]
    # ours' encoder options but the preset, as ffmpeg's flags (same rate control both sides)
    x264_options = h264_settings(preset, 30).options
    same_options = [
        "-profile:v", x264_options["profile"],
        "-maxrate", x264_options["maxrate"],
        "-bufsize", x264_options["bufsize"],
        "-g", x264_options["g"],
    ]  # fmt: skip
    zoom_per_s = presets_data()["styles"]["push_in"]["zoom_per_s"]
    zoom = min(1 + zoom_per_s * args.duration, presets_data()["styles"]["push_in"]["max_zoom"])
    frames = round(args.duration * 30)
    w, h = preset.width, preset.height

    # 1. one scene of the product, saved as the still both sides start from
    seg = jpeg_segmentation((1200, 1500))
    scene = StudioEngine(GenerationConfig()).render(
        seg, SceneSpec(theme="marble_counter", width=w, height=h, fill=0.5)
    )[0]

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        still = folder / "scene.png"
        scene.image.save(still)
        payload = folder / "inputs.pkl"
        payload.write_bytes(pickle.dumps((seg, scene)))

        # 2. the contestants: (label, short name, command, output, kind)
        #    kind: ours | floor (timed inside the child) | ffmpeg-raw | ffmpeg (zoompan)
        runs: list[tuple[str, str, list[str], Path, str]] = []
        trees = [("", REPO)] + ([(" before", args.before.resolve())] if args.before else [])
        for source in ("scene", "theme"):
            for tag, tree in trees:
                out = folder / f"ours{tag.strip()}-{source}.mp4"
                code = f"import sys; sys.path.insert(0, {str(tree)!r})\n" + _OURS
                cmd = [sys.executable, "-c", code, str(payload), str(out), str(args.duration), source]
                runs.append(
                    (f"ours{tag}, from the {source} ({x264_preset})", f"ours{tag}/{source}", cmd, out, "ours")
                )
        raw = folder / "ours.yuv"
        run_child([sys.executable, "-c", _DUMP, str(payload), str(raw), str(args.duration), "scene"], env)
        raw_theme = folder / "ours-theme.yuv"
        run_child(
            [sys.executable, "-c", _DUMP, str(payload), str(raw_theme), str(args.duration), "theme"], env
        )

        def floor(label: str, short: str, source: Path, *repeat: str) -> None:
            out = folder / f"floor-{len(runs)}.mp4"
            cmd = [sys.executable, "-c", _FLOOR, str(source), str(out), str(w), str(h), "30", *repeat]
            runs.append((f"{label} ({x264_preset})", short, cmd, out, "floor"))

        floor("encode floor: ours' frames, PyAV x264 only", "floor", raw)
        out = folder / "ffmpeg-raw.mp4"
        cmd = [
            args.ffmpeg, "-y", "-loglevel", "error",
            "-f", "rawvideo", "-pix_fmt", "yuv420p", "-video_size", f"{w}x{h}", "-framerate", "30", "-i", str(raw),
            "-c:v", "libx264", "-preset", x264_preset, "-crf", x264_options["crf"], *same_options,
            "-movflags", "+faststart", str(out),
        ]  # fmt: skip
        runs.append(
            (
                f"ffmpeg's x264 on ours' frames, read raw ({x264_preset})",
                "ffmpeg x264",
                cmd,
                out,
                "ffmpeg-raw",
            )
        )
        floor("  the same, ours' first frame every frame", "still", raw, str(frames))
        floor("  the same, ours' frames from the theme", "theme floor", raw_theme)
        zoom_expr = f"1+{zoom - 1:.6f}*on/{frames - 1}"
        pan = f"zoompan=z='{zoom_expr}':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)':d={frames}:s={w}x{h}:fps=30"
        for label, short, vf in (
            ("naive", "naive", pan),
            ("smooth: 4x upscale first", "smooth", f"scale={w * 4}:-1," + pan),
        ):
            # zoompan's own frames, written raw (not timed), for the same encode-only floor
            theirs = folder / f"zoompan-{short}.yuv"
            subprocess.run(
                [
                    args.ffmpeg, "-y", "-loglevel", "error", "-loop", "1", "-i", str(still),
                    "-vf", vf + ",format=yuv420p", "-frames:v", str(frames), "-f", "rawvideo", str(theirs),
                ],
                check=True,
            )  # fmt: skip
            floor(f"  the same, zoompan {short}'s own frames", f"zoompan {short}'s floor", theirs)
            for x_preset in ("medium", x264_preset):
                out = folder / f"ffmpeg-{len(runs)}.mp4"
                cmd = [
                    args.ffmpeg, "-y", "-loglevel", "error", "-loop", "1", "-i", str(still),
                    "-vf", vf + ",format=yuv420p", "-frames:v", str(frames),
                    "-c:v", "libx264", "-preset", x_preset, "-crf", x264_options["crf"], *same_options,
                    "-movflags", "+faststart", str(out),
                ]  # fmt: skip
                runs.append((f"ffmpeg zoompan {label} ({x_preset})", f"zoompan {short}", cmd, out, "ffmpeg"))

        # 3. interleaved: every contestant once per round
        load_before = os.getloadavg()
        walls: dict[str, list[float]] = {label: [] for label, *_ in runs}
        cpus: dict[str, list[float]] = {label: [] for label, *_ in runs}
        peaks: dict[str, int] = {}
        notes: dict[str, str] = {}
        for _ in range(args.repeat):
            for label, _short, cmd, out, kind in runs:
                wall, cpu, rss, stdout = run_child(cmd, None if kind.startswith("ffmpeg") else env)
                if kind == "floor":  # the encoding alone, as the child timed it
                    info = json.loads(stdout.strip().splitlines()[-1])
                    wall, cpu = info["wall"], info["cpu"]
                walls[label].append(wall)
                cpus[label].append(cpu)
                peaks[label] = max(peaks.get(label, 0), rss)
                if kind == "ours":
                    info = json.loads(stdout.strip().splitlines()[-1])
                    notes[label] = (
                        f"{info['bytes'] / 1e6:.2f} MB, product max diff {info['max_abs_diff']}, "
                        f"encoded PSNR {info['psnr']:.1f} dB"
                    )
                else:
                    video = probe_video(out)
                    assert video.frame_count == frames and (video.width, video.height) == (w, h)
                    notes[label] = f"{out.stat().st_size / 1e6:.2f} MB"
                    if kind == "floor":
                        notes[label] += " (peak RSS: every frame held)"

        load_after = os.getloadavg()

    # 4. report
    wall_of = {label: statistics.median(v) for label, v in walls.items()}
    cpu_of = {label: statistics.median(v) for label, v in cpus.items()}
    print(
        f"{args.duration:g} s {w}x{h} @30 fps, CRF {preset.crf}, medians of {args.repeat} interleaved runs; "
        f"{platform.machine()}, {os.cpu_count()} CPUs; load average (1, 5, 15 min) "
        f"{' '.join(f'{v:.1f}' for v in load_before)} before, {' '.join(f'{v:.1f}' for v in load_after)} after"
    )
    width = max(len(label) for label, *_ in runs)
    print(f"{'run':<{width}} {'wall s':>7} {'CPU s':>7} {'peak MiB':>9}  notes")
    for label, *_ in runs:
        print(
            f"{label:<{width}} {wall_of[label]:7.2f} {cpu_of[label]:7.2f} {peaks[label]:9d}  {notes[label]}"
        )

    def ratio(a: str, b: str) -> str:
        return f"{wall_of[a] / wall_of[b]:.2f} ({cpu_of[a] / cpu_of[b]:.2f})"

    print("\nratios to ffmpeg's zoompan, wall (CPU); the issue's target is <= 0.5:")
    mine = [(label, short) for label, short, *_, kind in runs if kind != "ffmpeg"]
    for label, *_, kind in runs:
        if kind == "ffmpeg":
            parts = ", ".join(f"{short} {ratio(o, label)}" for o, short in mine)
            print(f"  vs {label:<42} {parts}")
    (floor_label,) = (label for label, short, *_ in runs if short == "floor")
    print(
        "\nours / encode floor (ours' frames, x264 alone), wall (CPU): what everything beyond x264 costs; "
        "restated target <= 1.5:"
    )
    for label, short, *_, kind in runs:
        if kind == "ours":
            print(f"  {short:<12} {ratio(label, floor_label)}")
    (theme_floor,) = (label for label, short, *_ in runs if short == "theme floor")
    print(
        "\nfrom the theme / the encode floor on its own frames (its set stands props the scene's does not: "
        "x264 pays for them in both):"
    )
    for label, short, *_, kind in runs:
        if kind == "ours" and short.endswith("/theme"):
            print(f"  {short:<12} {ratio(label, theme_floor)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
