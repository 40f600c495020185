#!/usr/bin/env bash
# The diffusion engine's GPU check, one command from a fresh clone (README: "GPU check").
#
#   bash bench/gpu_check.sh           # a CUDA machine: SD1.5 and SDXL at real size, random
#                                     # weights from the real configs; JSON lines on stdout
#   bash bench/gpu_check.sh --tiny    # any machine: the same checks on the tiny test models
#
# Extra arguments go to bench/bench_diffusion.py (e.g. --family sdxl, --compile).
# Dependencies are installed only when the Python it uses cannot import them: from wheels
# in $WHEELS (default .whl, for machines without network), else the project's pins
# next to the machine's own torch, else `make install-gpu` into .venv.
set -euo pipefail
cd "$(dirname "$0")/.."

size=real
if [ "${1:-}" = "--tiny" ]; then
    size=tiny
    shift
fi

py="${PYTHON:-}"
if [ -z "$py" ]; then
    if [ -x .venv/bin/python ]; then py=.venv/bin/python; else py=python3; fi
fi
need='import torch, diffusers, transformers, safetensors, PIL, cv2, numpy, scipy'
if ! "$py" -c "$need" 2>/dev/null; then
    wheels="${WHEELS:-.whl}"
    if ls "$wheels"/*.whl >/dev/null 2>&1; then
        site="${TMPDIR:-/tmp}/shopassets-site"
        echo "installing $(ls "$wheels" | tr '\n' ' ')into $site" >&2
        "$py" -m pip install -q --no-index --no-deps --no-compile --target "$site" "$wheels"/*.whl >&2
        export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
    elif "$py" -c 'import torch' 2>/dev/null; then
        # keep the machine's torch (its CUDA build); the project's pins for the rest
        pins=$(grep -E '^(diffusers|transformers|safetensors|huggingface-hub|Pillow|numpy|opencv-python-headless|scipy|accelerate|peft)==' requirements.txt)
        # shellcheck disable=SC2086
        "$py" -m pip install -q $pins >&2
    else
        make install-gpu >&2
        py=.venv/bin/python
    fi
    "$py" -c "$need"
fi

export PYTHONUNBUFFERED=1
if [ "$size" = tiny ]; then
    exec "$py" bench/bench_diffusion.py --json --size tiny "$@"
fi
"$py" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else "no CUDA GPU here: bash bench/gpu_check.sh --tiny checks the plumbing on the CPU")'
# Each line is printed as it is measured: a run stopped by the limit keeps what it measured.
exec timeout "${GPU_CHECK_SECONDS:-450}" "$py" bench/bench_diffusion.py --json --size real "$@"
