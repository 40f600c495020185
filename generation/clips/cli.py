"""``python -m generation clip``: a product clip from one photo.

    python -m generation clip photo.jpg --preset story --duration 8 --style parallax --out x.mp4
    python -m generation clip photo.jpg --style sequence --themes marble_counter,podium \\
        --headline "Fresh hand wash" --price 24.90 --currency EUR --cta "Shop now" --out clips/

``add_parser(subparsers, parents)`` adds the command to the main parser; ``run(args)``
runs it (exit 0 done, 2 refused: one line on stderr, nothing written). Standalone:
``python -m generation.clips.cli ...``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from generation.cli_common import (
    EXIT_OK,
    ProgressBar,
    add_command,
    load_mask,
    run_refusing,
    size_type,
)
from generation.clips.audio import DEFAULT_AUDIO_LIMITS, read_audio
from generation.errors import AudioRejected, InvalidSpec


def add_parser(subparsers: Any, parents: Sequence[argparse.ArgumentParser] = ()) -> argparse.ArgumentParser:
    """Add ``clip`` to ``subparsers``; options ``parents`` already define are not re-added."""
    from generation.clips.spec import (
        DIRECTIONS,
        MOTIONS,
        REVEALS,
        STYLES,
        TRANSITIONS,
        preset_names,
        presets_data,
    )

    parser = add_command(
        subparsers,
        "clip",
        parents,
        help="short product video (MP4) with the product pixel-locked",
        description="A short product clip: the camera, light and world move; the product's own "
        "pixels are only scaled and moved, never altered.",
        out_help="output .mp4 file or folder",
    )
    limits = presets_data()["duration_s"]
    parser.add_argument("--preset", choices=preset_names(), default="story")
    parser.add_argument(
        "--duration",
        type=float,
        default=float(limits["default"]),
        help=f"seconds ({limits['min']}-{limits['max']})",
    )
    parser.add_argument("--style", choices=STYLES, default="push_in")
    parser.add_argument("--themes", default="studio_sweep", help="studio theme(s), comma separated")
    parser.add_argument("--transition", choices=TRANSITIONS, default="crossfade")
    parser.add_argument("--direction", choices=DIRECTIONS, default="right", help="pan / parallax travel")
    parser.add_argument(
        "--reveal",
        choices=REVEALS,
        default="drop_in",
        help="how the clip opens: the product drops in, the set fades in around it, or neither",
    )
    parser.add_argument(
        "--size", type=size_type("540x960"), help="WxH instead of the preset's size, e.g. 540x960"
    )
    parser.add_argument(
        "--fill",
        type=float,
        default=0.5,
        help="product size: its longer side share, or by area of the safe area (0.2-0.8)",
    )
    parser.add_argument("--headline", default="")
    parser.add_argument("--price", help="e.g. 24.90")
    parser.add_argument("--currency", default="USD")
    parser.add_argument("--locale", default="en_US", help="how the price is written, e.g. de_DE")
    parser.add_argument(
        "--cta",
        help="call to action on the end card; default: 'Shop now' in the language of --locale "
        "(zh_CN: 立即购买); --cta '' for none",
    )
    parser.add_argument("--logo", type=Path, help="logo image for the end card")
    parser.add_argument("--brand-color", type=_color, help="#rrggbb for the button and end card")
    parser.add_argument("--end-card", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument(
        "--audio",
        type=Path,
        help="sound track (MP3, M4A/AAC, WAV, Ogg or FLAC): AAC in the MP4, looped or cut, faded in and out",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--motion",
        choices=MOTIONS,
        default="camera",
        help="diffusion: background motion from a video model (GPU; SHOPASSETS_CLIP_MOTION_MODEL names it)",
    )
    parser.add_argument("--webm", action="store_true", help="also write a VP9 WebM")
    parser.add_argument("--preview", action="store_true", help="also write a small animated WebP")
    parser.add_argument("--no-poster", dest="poster", action="store_false", help="no JPEG poster frame")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``clip`` for parsed ``args``; returns the exit status."""
    return run_refusing(lambda: _run(args), "write the clip")


def _run(args: argparse.Namespace) -> int:
    from PIL import Image

    from generation.clips.render import render_clip
    from generation.config import GenerationConfig
    from generation.normalize import normalize_image
    from generation.request import Capabilities, budget_from, parse_request
    from generation.segment import segment
    from generation.typography.words import default_cta

    # 1. check inputs: options (through the job request model, refused as the API refuses
    # them), output names, the photo, the mask, the logo, the audio track
    config = GenerationConfig.from_env()
    options = {
        "preset": args.preset,
        "duration": args.duration,
        "style": args.style,
        "themes": [t.strip() for t in args.themes.split(",") if t.strip()],
        "seed": args.seed,
        "size": list(args.size) if args.size else None,
        "direction": args.direction,
        "transition": args.transition,
        "reveal": args.reveal,
        "headline": args.headline,
        "price": args.price,
        "currency": args.currency,
        "locale": args.locale,
        "cta": default_cta(args.locale) if args.cta is None else args.cta,
        "end_card": args.end_card,
        "brand_color": list(args.brand_color) if args.brand_color else None,
        "fill": args.fill,
        "motion": args.motion,
        "webm": args.webm,
        "preview": args.preview,
        "poster": args.poster,
    }
    request = parse_request(
        {"outputs": ["clip"], "segmenter": args.segmenter, "clip": options},
        capabilities=Capabilities.everything(),  # a missing video model fails naming its install command
        budget=budget_from(config),
    )
    spec = request.clip_spec()
    out = _output_path(args.out, args.photo, spec.style)
    sidecar = out.with_suffix(".json")
    written = [
        out,
        sidecar,
        out.with_suffix(".webm"),
        out.with_name(f"{out.stem}_preview.webp"),
        out.with_name(f"{out.stem}_poster.jpg"),
    ]
    photo_path = args.photo.resolve()
    if any(p.resolve() == photo_path for p in written):
        raise InvalidSpec(f"writing {out.name} would overwrite {args.photo}; choose another --out")
    photo = normalize_image(args.photo)
    mask = load_mask(args.mask) if args.mask else None
    logo = Image.open(args.logo) if args.logo else None
    if logo is not None:
        logo.load()
    if args.audio is not None:
        try:
            read_audio(args.audio, DEFAULT_AUDIO_LIMITS)
        except OSError as exc:
            raise InvalidSpec(f"--audio {args.audio}: {exc.strerror or exc}") from None
        except AudioRejected as exc:
            raise InvalidSpec(f"--audio {args.audio.name}: {exc}") from None

    # 2. segment, render and encode, with a progress bar on stderr
    with ProgressBar(args.quiet) as progress:
        progress(0.0, "Finding the product")
        seg = segment(photo.image, args.segmenter, config, mask=mask)
        result = render_clip(
            seg,
            spec,
            out,
            config=config,
            logo=logo,
            progress=lambda f, m: progress(0.05 + 0.95 * f, m),
            sidecar=True,  # <stem>.json, renamed into place together with the clip
            audio=args.audio,
        )
    for path in (result.path, result.webm, result.preview, result.poster, sidecar):
        if path is not None:
            print(path)
    return EXIT_OK


def _output_path(out: Path, photo: Path, style: str) -> Path:
    if out.suffix.lower() == ".mp4":
        return out
    if out.suffix:
        raise InvalidSpec(f"--out must be a folder or a .mp4 file, got {out}")
    return out / f"{photo.stem}_clip-{style}.mp4"


def _color(text: str) -> tuple[int, int, int]:
    value = text.strip().lstrip("#")
    if len(value) != 6:
        raise argparse.ArgumentTypeError(f"expected #rrggbb, got {text!r}")
    try:
        return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected #rrggbb, got {text!r}") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m generation.clips.cli")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
