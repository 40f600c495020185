"""The high-level entry used by the CLI and the Django service: one photo, many outputs.

The photo is segmented once; every output (cutout, packshot, scenes) is made from
that one segmentation, so all outputs of a request show exactly the same product.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from PIL import Image

from generation.config import GenerationConfig
from generation.cutout import render_cutout
from generation.engines import Engine, get_engine
from generation.errors import GenerationError, InvalidSpec, ModelUnavailable
from generation.packshot import render_packshot
from generation.specs import SEGMENTERS, PackshotSpec, SceneSpec
from generation.types import ProgressCallback, RenderedImage, Segmentation, no_progress

OUTPUT_KINDS = ("cutout", "packshot", "scene", "poster", "clip")

# Share of the progress bar the segmentation step takes; the rest is split between
# outputs by how many images each makes.
_SEGMENT_SHARE = 0.2


@dataclass(frozen=True)
class PosterRerender:
    """One poster made again from its layout JSON (``posters.render.rerender``): the same
    template data, spec and background, with ``texts`` and/or ``size`` changed."""

    layout: dict[str, Any]  # the stored layout JSON, decoded
    texts: dict[str, Any] = field(default_factory=dict)  # headline, subline, cta, ribbon, badge, prices
    size: str | None = None  # a preset name or "WxH"; None keeps the poster's
    background: RenderedImage | None = None  # the scene it was made on, when it was
    meta: dict[str, Any] = field(default_factory=dict)  # recorded with the new poster


@dataclass(frozen=True)
class OutputRequest:
    kind: str  # cutout | packshot | scene | poster | clip
    packshot: PackshotSpec | None = None  # defaults to PackshotSpec() for kind "packshot"
    scene: SceneSpec | None = None  # defaults to SceneSpec() for kind "scene"
    # kind "poster": one generation.posters.PosterSpec per poster (templates x sizes x headlines)
    posters: tuple[Any, ...] = ()
    # kind "clip": a generation.clips.ClipSpec; the MP4 goes to run_outputs' ``workdir``
    clip: Any = None
    # kind "poster" instead of ``posters``: one poster made again from its layout
    rerender: PosterRerender | None = None

    def __post_init__(self) -> None:
        if self.kind not in OUTPUT_KINDS:
            raise InvalidSpec(f"unknown output {self.kind!r}; choose one of {', '.join(OUTPUT_KINDS)}")
        if self.kind == "poster" and not self.posters and self.rerender is None:
            raise InvalidSpec("a poster output needs at least one poster spec or a layout to re-render")
        if self.rerender is not None and (self.kind != "poster" or self.posters):
            raise InvalidSpec("a re-render is a poster output of its own, with no other poster specs")


@dataclass(frozen=True)
class GenerationResult:
    segmentation: Segmentation
    images: list[RenderedImage]
    layouts: dict[str, str] = field(default_factory=dict)  # poster name -> layout JSON
    clips: list[Any] = field(default_factory=list)  # generation.clips.ClipResult, files in workdir
    # outputs that could not be made while the rest were, each with what it would have been
    not_made: list[NotMade] = field(default_factory=list)

    @property
    def failed(self) -> list[str]:
        """The outputs that could not be made, as "poster-<template>-<size>: why"."""
        return [str(missing) for missing in self.not_made]


@dataclass(frozen=True)
class NotMade:
    """One output that could not be made while the others were (a poster whose words do
    not fit its template at one size): its would-be ``name``, its ``kind``, ``reason`` and
    ``meta`` (a poster's ``template`` and ``size``)."""

    kind: str
    name: str
    reason: str
    meta: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


# run_outputs' ``on_output``: called with each output as soon as it is made (or found
# impossible), as a GenerationResult holding only that output
OutputCallback = Callable[[GenerationResult], None]


def run_outputs(
    image: Image.Image,
    requests: list[OutputRequest],
    *,
    segmenter: str = "auto",
    mask: Image.Image | None = None,
    config: GenerationConfig | None = None,
    progress: ProgressCallback = no_progress,
    workdir: Path | None = None,
    logo: Image.Image | None = None,
    audio: Path | None = None,
    on_output: OutputCallback | None = None,
) -> GenerationResult:
    """Segment ``image`` once and render every requested output from it.

    ``image`` is a normalized photo (``normalize_image``): RGB, or RGBA when the upload
    carries its own transparency. ``progress`` gets fractions 0..1 that only increase.
    Raises ``GenerationError`` subclasses (``InvalidSpec``, ``SegmentationFailed``,
    ``ModelUnavailable``...) and nothing is half-returned. Posters built on a scene use the
    first scene this call makes; clips are written into ``workdir`` (required for them),
    with ``audio`` as their sound track when given (``generation.clips.audio``).

    ``on_output`` gets each output as soon as it is made, before the next one starts: an
    image with its poster layout, a scene, a clip, or a poster that could not be made (a
    diffusion engine's scenes come together, as it paints them in one batch). What it
    raises stops the call.
    """
    # 1. check inputs
    if not requests:
        raise InvalidSpec("ask for at least one output (cutout, packshot or scene)")
    if segmenter not in SEGMENTERS:
        raise InvalidSpec(f"unknown segmenter {segmenter!r}; choose one of {', '.join(SEGMENTERS)}")
    if image.width < 1 or image.height < 1:
        raise InvalidSpec("the photo has no pixels")
    if image.mode not in ("RGB", "RGBA"):
        has_alpha = "A" in image.getbands() or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
    if mask is not None and mask.size != image.size:
        raise InvalidSpec(
            f"the mask is {mask.width} x {mask.height} px but the photo is "
            f"{image.width} x {image.height} px; they must match"
        )
    if any(r.kind == "clip" for r in requests) and workdir is None:
        raise InvalidSpec("a clip output needs a working folder for its MP4")
    config = config or GenerationConfig()
    progress = _monotonic(progress)
    jobs = [_complete(request) for request in requests]
    # Scene engines are looked up before the slow segmentation so a bad name fails fast.
    engines = {job.scene.engine: _engine(job.scene.engine, config) for job in jobs if job.scene}

    # 2. segment once
    progress(0.0, "Finding the product")
    from generation.segment import segment  # the segmenters' registry loads backends lazily

    seg = segment(image, segmenter, config, mask=mask)
    progress(_SEGMENT_SHARE, "Product found")  # a merchant reads this: no segmenter ids

    # 3. each output, weighted by how many images it makes
    weights = [_weight(job) for job in jobs]
    total = float(sum(weights))
    done = 0.0
    images: list[RenderedImage] = []
    layouts: dict[str, str] = {}
    clips: list[Any] = []
    not_made: list[NotMade] = []

    def keep(outs: Sequence[RenderedImage] = (), clip: Any = None, missing: NotMade | None = None) -> None:
        made = [_with_segmenter(image_out, seg) for image_out in outs]
        images.extend(made)
        if clip is not None:
            clips.append(clip)
        if missing is not None:
            not_made.append(missing)
        if on_output is not None:
            on_output(
                GenerationResult(
                    segmentation=seg,
                    images=made,
                    layouts={im.name: layouts[im.name] for im in made if im.name in layouts},
                    clips=[clip] if clip is not None else [],
                    not_made=[missing] if missing is not None else [],
                )
            )

    for job, weight in zip(jobs, weights, strict=True):
        start = _SEGMENT_SHARE + (1 - _SEGMENT_SHARE) * done / total
        span = (1 - _SEGMENT_SHARE) * weight / total
        if job.kind == "cutout":
            progress(start, "Cutting out the product")
            keep([render_cutout(seg)])
        elif job.kind == "packshot":
            progress(start, "Making the packshot")
            keep([render_packshot(seg, job.packshot)])  # type: ignore[arg-type]
        elif job.kind == "scene":
            spec = job.scene
            assert spec is not None
            progress(start, f"Painting {spec.count} scene{'s' if spec.count != 1 else ''}")
            handed: set[str] = set()

            def one_scene(scene: RenderedImage, handed: set[str] = handed) -> None:
                handed.add(scene.name)
                keep([scene])

            scenes = engines[spec.engine].render(
                seg, spec, progress=_sub_progress(progress, start, span), on_image=one_scene
            )
            rest = [scene for scene in scenes if scene.name not in handed]
            if rest:
                keep(rest)
        elif job.kind == "poster" and job.rerender is not None:
            progress(start, "Laying out the poster again")
            keep([_rerender(seg, job.rerender, layouts)])
        elif job.kind == "poster":
            _posters(seg, job.posters, images, layouts, keep, config, _sub_progress(progress, start, span))
        else:
            clip = _clip(
                seg, job.clip, images, workdir, logo, audio, config, _sub_progress(progress, start, span)
            )
            keep(clip=clip)
        done += weight

    # 4. result
    progress(1.0, f"Done: {len(images) + len(clips)} output(s)")
    return GenerationResult(
        segmentation=seg,
        images=images,
        layouts=layouts,
        clips=clips,
        not_made=not_made,
    )


def _weight(job: OutputRequest) -> float:
    """Rough cost of an output in units of one image, for the progress bar."""
    if job.scene:
        return job.scene.count
    if job.kind == "poster":
        return 0.5 * max(1, len(job.posters))
    if job.kind == "clip":
        return 6.0
    return 1.0


def _posters(
    seg: Segmentation,
    specs: tuple[Any, ...],
    made_so_far: list[RenderedImage],
    layouts: dict[str, str],
    keep: Callable[..., None],
    config: GenerationConfig,
    progress: ProgressCallback,
) -> None:
    """Every poster that can be made, each handed to ``keep`` as it is made; one that
    cannot is handed to it as a ``NotMade`` with its reason and never stops the others
    (unless none at all can be made)."""
    from generation.posters.render import render_poster

    scene = next((im for im in made_so_far if im.kind == "scene"), None)
    seen: dict[str, int] = {}
    made = 0
    for i, spec in enumerate(specs):
        progress(i / len(specs), f"Laying out poster {i + 1} of {len(specs)}")
        background = scene if spec.background == "scene" else None
        if spec.background == "scene" and scene is None:
            raise InvalidSpec("a poster on a scene needs a scene output in the same request")
        try:
            poster = render_poster(seg, spec, background=background, config=config)
        except GenerationError as exc:
            if i == len(specs) - 1 and not made:
                raise  # not one poster of the set: the output fails as a whole
            name = f"poster-{spec.template}-{spec.size_name}"
            meta = {"template": spec.template, "size": spec.size_name}
            keep(missing=NotMade("poster", name, str(exc), meta))
            continue
        name = poster.name
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:  # the same template and size with other words: a variant
            name = f"{name}-{seen[name]:02d}"
        rendered = poster.rendered_image()
        layouts[name] = poster.layout_json()
        made += 1
        keep([replace(rendered, name=name, meta={**rendered.meta, "template": poster.template})])
    progress(1.0, "Posters laid out")


def _rerender(seg: Segmentation, job: PosterRerender, layouts: dict[str, str]) -> RenderedImage:
    """The poster again; words that no longer fit shrink, rewrap or end in an ellipsis as on
    any poster, and ``TextDoesNotFit`` fails the output naming the element."""
    from generation.posters.render import rerender

    poster = rerender(job.layout, seg, texts=job.texts, size=job.size, background=job.background)
    rendered = poster.rendered_image()
    layouts[poster.name] = poster.layout_json()
    return replace(rendered, meta={**rendered.meta, "template": poster.template, **job.meta})


def _clip(
    seg: Segmentation,
    spec: Any,
    made_so_far: list[RenderedImage],
    workdir: Path | None,
    logo: Image.Image | None,
    audio: Path | None,
    config: GenerationConfig,
    progress: ProgressCallback,
) -> Any:
    from generation.clips.render import render_clip

    assert workdir is not None
    scenes = [im for im in made_so_far if im.kind == "scene"] or None
    out = Path(workdir) / f"clip-{spec.style}-{spec.preset}.mp4"
    return render_clip(
        seg, spec, out, scenes=scenes, config=config, logo=logo, audio=audio, progress=progress
    )


def _engine(name: str, config: GenerationConfig) -> Engine:
    try:
        return get_engine(name, config)
    except ImportError as exc:  # an engine module or its optional dependency is absent
        raise ModelUnavailable(f"the {name} scene engine cannot be loaded on this machine ({exc})") from exc


def _complete(request: OutputRequest) -> OutputRequest:
    """The request with its default spec filled in, checked against its kind."""
    if request.kind == "packshot":
        return OutputRequest("packshot", packshot=request.packshot or PackshotSpec())
    if request.kind == "scene":
        return OutputRequest("scene", scene=request.scene or SceneSpec())
    if request.kind == "clip" and request.clip is None:
        from generation.clips.spec import ClipSpec

        return OutputRequest("clip", clip=ClipSpec())
    return request


def _monotonic(progress: ProgressCallback) -> ProgressCallback:
    # Engines report their own fractions; a bar that jumps backwards looks broken.
    highest = [0.0]

    def report(fraction: float, message: str) -> None:
        highest[0] = max(highest[0], min(fraction, 1.0))
        progress(highest[0], message)

    return report


def _sub_progress(progress: ProgressCallback, start: float, span: float) -> ProgressCallback:
    def report(fraction: float, message: str) -> None:
        progress(start + span * min(max(fraction, 0.0), 1.0), message)

    return report


def _with_segmenter(rendered: RenderedImage, seg: Segmentation) -> RenderedImage:
    # Every output records which segmenter cut the product out (engines may omit it).
    if rendered.meta.get("segmenter") == seg.segmenter:
        return rendered
    return replace(rendered, meta={**rendered.meta, "segmenter": seg.segmenter})
