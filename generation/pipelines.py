"""The high-level entry used by the CLI and the Django service: one photo, many outputs.

The photo is segmented once; every output (cutout, packshot, scenes) is made from
that one segmentation, so all outputs of a request show exactly the same product.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from generation.config import GenerationConfig
from generation.cutout import render_cutout
from generation.engines import Engine, get_engine
from generation.errors import InvalidSpec, ModelUnavailable
from generation.packshot import render_packshot
from generation.specs import SEGMENTERS, PackshotSpec, SceneSpec
from generation.types import ProgressCallback, RenderedImage, Segmentation, no_progress

OUTPUT_KINDS = ("cutout", "packshot", "scene")

# Share of the progress bar the segmentation step takes; the rest is split between
# outputs by how many images each makes.
_SEGMENT_SHARE = 0.2


@dataclass(frozen=True)
class OutputRequest:
    kind: str  # cutout | packshot | scene
    packshot: PackshotSpec | None = None  # defaults to PackshotSpec() for kind "packshot"
    scene: SceneSpec | None = None  # defaults to SceneSpec() for kind "scene"

    def __post_init__(self) -> None:
        if self.kind not in OUTPUT_KINDS:
            raise InvalidSpec(f"unknown output {self.kind!r}; choose one of {', '.join(OUTPUT_KINDS)}")


@dataclass(frozen=True)
class GenerationResult:
    segmentation: Segmentation
    images: list[RenderedImage]


def run_outputs(
    image: Image.Image,
    requests: list[OutputRequest],
    *,
    segmenter: str = "auto",
    mask: Image.Image | None = None,
    config: GenerationConfig | None = None,
    progress: ProgressCallback = no_progress,
) -> GenerationResult:
    """Segment ``image`` once and render every requested output from it.

    ``image`` is a normalized photo (``normalize_image``): RGB, or RGBA when the upload
    carries its own transparency. ``progress`` gets fractions 0..1 that only increase.
    Raises ``GenerationError`` subclasses (``InvalidSpec``, ``SegmentationFailed``,
    ``ModelUnavailable``...) and nothing is half-returned.
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
    config = config or GenerationConfig()
    progress = _monotonic(progress)
    jobs = [_complete(request) for request in requests]
    # Scene engines are looked up before the slow segmentation so a bad name fails fast.
    engines = {job.scene.engine: _engine(job.scene.engine, config) for job in jobs if job.scene}

    # 2. segment once
    progress(0.0, "Finding the product")
    from generation.segment import segment  # the segmenters' registry loads backends lazily

    seg = segment(image, segmenter, config, mask=mask)
    progress(_SEGMENT_SHARE, f"Product found ({seg.segmenter})")

    # 3. each output, weighted by how many images it makes
    weights = [job.scene.count if job.scene else 1 for job in jobs]
    total = float(sum(weights))
    done = 0.0
    images: list[RenderedImage] = []
    for job, weight in zip(jobs, weights, strict=True):
        start = _SEGMENT_SHARE + (1 - _SEGMENT_SHARE) * done / total
        span = (1 - _SEGMENT_SHARE) * weight / total
        if job.kind == "cutout":
            progress(start, "Cutting out the product")
            made = [render_cutout(seg)]
        elif job.kind == "packshot":
            progress(start, "Making the packshot")
            made = [render_packshot(seg, job.packshot)]  # type: ignore[arg-type]
        else:
            spec = job.scene
            assert spec is not None
            progress(start, f"Painting {spec.count} {spec.theme} scene(s)")
            made = engines[spec.engine].render(seg, spec, progress=_sub_progress(progress, start, span))
        images.extend(_with_segmenter(image_out, seg) for image_out in made)
        done += weight

    # 4. result
    progress(1.0, f"Done: {len(images)} image(s)")
    return GenerationResult(segmentation=seg, images=images)


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
    meta = {**rendered.meta, "segmenter": seg.segmenter}
    return RenderedImage(
        image=rendered.image,
        kind=rendered.kind,
        name=rendered.name,
        product_box=rendered.product_box,
        fidelity=rendered.fidelity,
        meta=meta,
    )
