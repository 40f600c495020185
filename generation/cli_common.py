"""What the command line's commands share: the input options, option parsers, the
progress bar and the way a refused run ends (one line on stderr, exit status 2).

``generation.cli`` (cutout, packshot, scene, check) and the ``poster`` and ``clip``
commands, which can also be added to a parser of their own, all build on it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from generation.errors import GenerationError
from generation.specs import SEGMENTERS
from generation.types import ProgressCallback

EXIT_OK, EXIT_PROBLEMS, EXIT_REFUSED = 0, 1, 2
EXIT_INTERRUPTED = 130


def add_command(
    subparsers: Any,
    name: str,
    parents: Sequence[argparse.ArgumentParser] = (),
    *,
    help: str,
    description: str,
    out_help: str = "output folder (default: .)",
    quiet_help: str = "no progress bar",
) -> argparse.ArgumentParser:
    """Add command ``name`` to ``subparsers`` with the input options ``parents`` do not already define.

    The ``poster`` and ``clip`` commands are added to ``python -m generation`` (whose
    ``parents`` define the input options) and work standalone (no parents) alike.
    """
    parser = subparsers.add_parser(name, parents=list(parents), help=help, description=description)
    add_input_options(parser, parents, out_help=out_help, quiet_help=quiet_help)
    return parser


def add_input_options(
    parser: argparse.ArgumentParser,
    parents: Sequence[argparse.ArgumentParser] = (),
    *,
    out_help: str = "output folder (default: .)",
    quiet_help: str = "no progress bar",
) -> None:
    """Add photo, ``--out``, ``--segmenter``, ``--mask`` and ``--quiet``, except those ``parents`` define."""
    have = parent_dests(parents)
    if "photo" not in have:
        parser.add_argument("photo", type=Path, help="JPEG, PNG, WebP or HEIC product photo")
    if "out" not in have:
        parser.add_argument("--out", type=Path, default=Path("."), help=out_help)
    if "segmenter" not in have:
        parser.add_argument("--segmenter", choices=SEGMENTERS, default="auto")
    if "mask" not in have:
        parser.add_argument("--mask", type=Path, help="your own mask (white = product), photo size")
    if "quiet" not in have:
        parser.add_argument("--quiet", action="store_true", help=quiet_help)


def parent_dests(parents: Sequence[argparse.ArgumentParser]) -> set[str]:
    """The ``dest`` of every option ``parents`` define (a command must not define them again)."""
    return {action.dest for parent in parents for action in parent._actions}


def size_type(example: str) -> Callable[[str], tuple[int, int]]:
    """An argparse ``type`` reading ``"WxH"``; its error shows ``example``."""

    def size(text: str) -> tuple[int, int]:
        width, sep, height = text.lower().partition("x")
        try:
            if not sep:
                raise ValueError(text)
            return int(width), int(height)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected WxH such as {example}, got {text!r}") from None

    return size


def load_mask(path: Path) -> Image.Image:
    """A merchant's mask file as mode L (its alpha if it has one, else its grey levels)."""
    from generation.normalize import normalize_image

    normalized = normalize_image(path)
    if normalized.has_alpha:
        return normalized.image.getchannel("A")
    return normalized.image.convert("L")


def run_refusing(command: Callable[[], int], could_not: str) -> int:
    """``command()``'s exit status; a refusal or a file error ends as one line on stderr.

    ``could_not`` completes "error: could not ..." for an ``OSError`` (the output folder
    is not writable, the disk is full...).
    """
    try:
        return command()
    except GenerationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"error: could not {could_not}{where}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_REFUSED
    except KeyboardInterrupt:
        print("interrupted; nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED


class ProgressBar:
    """tqdm on stderr, cleared when done so an error stays the one line there.

    ``with ProgressBar(quiet) as progress:`` gives a ``ProgressCallback``. The bar never
    runs backwards: a step that reports less than an earlier one leaves it where it is.
    """

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar: Any = None

    def __enter__(self) -> ProgressCallback:
        if self.quiet:
            return lambda fraction, message: None
        from tqdm import tqdm

        bar = tqdm(
            total=100,
            file=sys.stderr,
            leave=False,
            bar_format="{desc:<32.32} {percentage:3.0f}%|{bar}| {elapsed}",
        )
        self.bar = bar
        highest = 0.0

        def report(fraction: float, message: str) -> None:
            nonlocal highest
            highest = max(highest, min(fraction, 1.0))
            bar.n = round(100 * highest)
            bar.set_description_str(message, refresh=False)
            bar.refresh()

        return report

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()
