"""Command line: ShopAssets outputs without Django.

    python -m generation cutout photo.jpg --out outdir/
    python -m generation packshot photo.jpg --out outdir/ [--size 2000 --no-shadow]
    python -m generation scene photo.jpg --theme marble_counter -n 4 --out outdir/
    python -m generation poster photo.jpg --size 1080x1920 --headline ... --price 199 --currency CNY --out outdir/
    python -m generation clip photo.jpg --preset story --duration 8 --style parallax --out x.mp4
    python -m generation job photo.jpg --request request.json --out outdir/   # a whole job request
    python -m generation check image.jpg        # packshot rules, JSON; exit 1 if not ok
    python -m generation models list|pull|verify # model weights (see generation.weights.cli)

Exit status: 0 done, 1 ``check`` found problems, 2 the input or options were refused
(one line on stderr, nothing written).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from generation.cli_common import (
    EXIT_OK,
    EXIT_PROBLEMS,
    ProgressBar,
    add_input_options,
    load_mask,
    run_refusing,
    size_type,
)
from generation.config import GenerationConfig
from generation.errors import InvalidSpec
from generation.request import Capabilities, InvalidRequest, JobRequest, budget_from, parse_request
from generation.specs import ENGINES
from generation.types import RenderedImage


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m generation",
        description="Turn a product photo into cutouts, packshots and scenes. "
        "The product's own pixels are never altered.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    add_input_options(common)

    formatted = argparse.ArgumentParser(add_help=False)
    formatted.add_argument("--format", choices=("png", "jpg"), default="png", dest="image_format")

    commands.add_parser("cutout", parents=[common], help="transparent PNG cutout and its full-size mask")

    packshot = commands.add_parser(
        "packshot", parents=[common, formatted], help="white square marketplace packshot"
    )
    packshot.add_argument("--size", type=int, default=2000, help="canvas side in px (1600-8000)")
    packshot.add_argument("--fill", type=float, default=0.85, help="product's longer side share")
    packshot.add_argument("--no-shadow", dest="shadow", action="store_false")

    scene = commands.add_parser("scene", parents=[common, formatted], help="themed scene images")
    scene.add_argument("--theme", default="studio_sweep")
    scene.add_argument("-n", "--count", type=int, default=1, help="how many variants (1-16)")
    scene.add_argument("--engine", choices=ENGINES, default="studio")
    scene.add_argument("--seed", type=int, default=0)
    scene.add_argument(
        "--size", type=size_type("1600x1200"), default=(1600, 1600), help="WxH, e.g. 1600x1200"
    )
    scene.add_argument("--fill", type=float, default=0.6)
    scene.add_argument("--prompt", default="", help="extra words for the diffusion engine")

    from generation.clips import cli as clip_cli
    from generation.posters import cli as poster_cli
    from generation.weights import cli as models_cli

    # --format of the poster command takes webp too, so it gets only the common options
    poster_cli.add_parser(commands, [common])
    clip_cli.add_parser(commands, [common])

    job = commands.add_parser(
        "job",
        parents=[common],
        help="every output of a job request (JSON, the format the API takes; see README)",
    )
    job.add_argument(
        "--request", type=Path, required=True, help='JSON file, e.g. {"outputs": ["packshot", "scene"]}'
    )

    check = commands.add_parser("check", help="check an image against packshot rules (JSON)")
    check.add_argument("image", type=Path)
    check.add_argument("--min-size", type=int, default=1600)

    models_cli.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "models":
        from generation.weights import cli as models_cli

        return run_refusing(lambda: models_cli.run(args), "install the models")
    return run_refusing(lambda: _dispatch(args), "write the outputs")


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "check":
        return _check(args)
    if args.command == "poster":
        from generation.posters import cli as poster_cli

        return poster_cli.run(args)
    if args.command == "clip":
        from generation.clips import cli as clip_cli

        return clip_cli.run(args)
    if args.command == "job":
        return _job(args)
    return _generate(args)


def _check(args: argparse.Namespace) -> int:
    from generation.normalize import normalize_image
    from generation.packshot import check_packshot

    normalized = normalize_image(args.image)
    result = check_packshot(normalized.image, min_size=args.min_size)
    print(json.dumps({"file": str(args.image), **result.to_dict()}, indent=2))
    return EXIT_OK if result.ok else EXIT_PROBLEMS


def _generate(args: argparse.Namespace) -> int:
    from generation.cutout import render_mask
    from generation.normalize import normalize_image
    from generation.pipelines import run_outputs
    from generation.sidecar import output_names, write_outputs

    # 1. check inputs: options (through the job request model), the photo, the mask
    config = GenerationConfig.from_env()
    if args.command == "packshot":
        options = {"packshot": {"size": args.size, "fill": args.fill, "shadow": args.shadow}}
    elif args.command == "scene":
        scene = {"theme": args.theme, "count": args.count, "seed": args.seed, "engine": args.engine}
        scene |= {"width": args.size[0], "height": args.size[1], "prompt": args.prompt, "fill": args.fill}
        options = {"scene": scene}
    else:
        options = {}
    request = _checked_request({"outputs": [args.command], "segmenter": args.segmenter, **options}, config)
    requests = request.output_requests()
    photo = normalize_image(args.photo)
    mask = load_mask(args.mask) if args.mask else None

    # 2. segment and render, with a progress bar on stderr
    with ProgressBar(args.quiet) as progress:
        result = run_outputs(
            photo.image,
            requests,
            segmenter=args.segmenter,
            mask=mask,
            config=config,
            progress=progress,
        )
    images = list(result.images)
    if args.command == "cutout":
        seg = result.segmentation
        images.append(
            RenderedImage(
                image=render_mask(seg),
                kind="mask",
                name="mask",
                product_box=seg.box,
                fidelity=None,
                meta={"segmenter": seg.segmenter, "engine": "cutout"},
            )
        )

    # 3. write, never over the photo itself
    image_format = getattr(args, "image_format", "png")
    stem = args.photo.stem
    targets = [
        (args.out / name).resolve() for name in output_names(images, stem=stem, image_format=image_format)
    ]
    if args.photo.resolve() in targets:
        raise InvalidSpec(f"writing to {args.out} would overwrite {args.photo}; choose another --out folder")
    for path in write_outputs(images, args.out, stem=stem, image_format=image_format):
        print(path)
    return EXIT_OK


def _checked_request(data: object, config: GenerationConfig) -> JobRequest:
    """``data`` as a job request, refused like the API refuses it (field path and reason).

    Models are checked when the job runs: a missing one fails naming its install command.
    """
    return parse_request(data, capabilities=Capabilities.everything(), budget=budget_from(config))


def _job(args: argparse.Namespace) -> int:
    from generation.normalize import normalize_image
    from generation.pipelines import run_outputs
    from generation.sidecar import output_names, write_outputs

    # 1. check inputs: the request, the photo, the mask
    config = GenerationConfig.from_env()
    try:
        data = json.loads(args.request.read_text(encoding="utf-8"), parse_constant=_no_constant)
    except ValueError as exc:
        raise InvalidSpec(f"{args.request} is not JSON: {exc}") from None
    if isinstance(data, dict) and args.segmenter != "auto":
        data.setdefault("segmenter", args.segmenter)
    request = _checked_request(data, config)
    if request.clip is not None and request.clip.audio is not None:
        raise InvalidRequest(
            "names one of a merchant's stored audio tracks, which only the service has; "
            "give a file with `clip --audio`",
            "clip.audio",
        )
    photo = normalize_image(args.photo)
    mask = load_mask(args.mask) if args.mask else None

    # 2. segment and render; clips go to a working folder until everything is made
    with ProgressBar(args.quiet) as progress, tempfile.TemporaryDirectory(prefix="job-") as workdir:
        result = run_outputs(
            photo.image,
            request.output_requests(),
            segmenter=request.segmenter,
            mask=mask,
            config=config,
            progress=progress,
            workdir=Path(workdir),
        )

        # 3. write the images, never over the photo itself, then move the clips' files beside them
        stem = args.photo.stem
        names = output_names(result.images, stem=stem, image_format=request.format)
        if args.photo.resolve() in [(args.out / name).resolve() for name in names]:
            raise InvalidSpec(
                f"writing to {args.out} would overwrite {args.photo}; choose another --out folder"
            )
        for path in write_outputs(result.images, args.out, stem=stem, image_format=request.format):
            print(path)
        for clip in result.clips:
            args.out.mkdir(parents=True, exist_ok=True)
            for made in (clip.path, clip.poster, clip.webm, clip.preview):
                if made is not None:
                    print(shutil.move(made, args.out / made.name))
    return EXIT_OK


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a number JSON allows")
