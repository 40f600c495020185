"""The worlds a clip's camera moves through: the set behind the product, and its shadows.

A ``World`` is a still background at its own resolution plus what the product does to
it (shadows, a reflection) as a separate multiplicative layer, so that the product and
its shadow can move apart from the wall when the camera moves in depth (parallax).

- ``studio_stage`` finds where a studio theme's set stands the product and its props
  (``stage_for_product``, ``place_props``) without drawing anything, so a clip can choose
  from the camera's move where the props may stand before the set is drawn once.
- ``studio_world`` renders that set with ``generation.sets`` (``render_set_pair``): the
  set with the product's silhouette and the same set without it, its backdrop drawn
  once. The second is the empty set (the plate); their ratio around the product is the product's shadow and reflection. For
  parallax it renders the set once more without its props (``render_set``: ``bare``) and
  keeps each prop, with the shadow it casts, as its own layer (``PropLayer``) that moves
  at the depth of the floor row it stands on, instead of being sheared by the rows it
  spans. A podium is kept as a layer too (``World.podium``): it moves with the product
  standing on it (depth 1, the row its front stands on), as do the props on its top face,
  instead of each of its rows moving at the depth of the floor row it covers (its top
  face slid under the product, its front leaned).
- ``scene_world`` takes a finished scene image (e.g. from the diffusion engine): the
  product is filled out of it; its shadow stays painted into the plate. A studio scene's
  layout (its floor's lines, its podium and its props, as data) gives the depths, the
  podium (cut out as a layer moving with the product, as a studio world's) and the props,
  which are cut out as layers or filled out of the picture.
- ``end_card_world`` is a flat, quiet backdrop for the closing card, with the product's
  shadows attached to it, grounded as on a poster's brand colour or white.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import cv2
import numpy as np
from PIL import Image

from generation import compose
from generation.clips.motion import Similarity, WorldGeometry
from generation.config import GenerationConfig
from generation.sets import (
    MAX_PRODUCT_WIDTH,
    PodiumGeometry,
    PropPlacement,
    Stage,
    Variant,
    estimate_foot_ratio,
    estimate_light_side,
    estimate_product_tone,
    flat_box,
    flat_variant,
    move_stage,
    neutral_lying_shadow,
    neutral_standing_shadow,
    piece_shadows,
    place_props,
    plan_variant,
    render_flat_set_pair,
    render_set,
    render_set_pair,
    stage_for_product,
)
from generation.sets.look import light_side_of, resolve_theme
from generation.sets.pieces import arch_foot
from generation.sets.props import CLEAR_GAP, least_height, prop_height
from generation.sets.shadows import Shadow, shadow_factor
from generation.sets.shapes import podium_cover
from generation.types import Box, PlacedProduct, RenderedImage, Segmentation

F32 = np.float32


class AnimatedPlate(Protocol):
    """A plate that changes over time (diffusion background motion)."""

    def plate_at(self, t: float) -> np.ndarray: ...


@dataclass(frozen=True)
class Effect:
    """What the product does to the set around it, as ``out = (bg + .5) * ratio - .5``.

    ``ratio`` is (h, w, 4) float32 (alpha 1) placed at ``origin`` in the effect's own frame;
    ``to_frame`` maps that frame to the frame the timeline's effect transform starts from
    (world pixels for scenes, the product's rest box on the canvas for the end card).
    """

    ratio: np.ndarray
    origin: tuple[int, int]
    to_frame: Similarity = Similarity()


@dataclass(frozen=True)
class PropLayer:
    """One prop of a studio set and the shadow it casts, apart from the set: premultiplied
    RGBA at ``origin`` in world pixels, moving at parallax speed ``ratio`` (its foot's)."""

    pixels: np.ndarray  # (h, w, 4) uint8 premultiplied
    origin: tuple[int, int]
    ratio: float
    # the prop itself (not its shadow): x0, y0, x1, y1 in world pixels
    body: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)


# each prop standing in a studio set: (index in the theme's props, depth ratio, body
# x0, y0, x1, y1 in world pixels)
PropBodies = tuple[tuple[int, float, tuple[float, float, float, float]], ...]


@dataclass(frozen=True)
class World:
    name: str  # e.g. "scene-marble_counter"
    source: str  # studio | scene | end_card
    # Images are RGBA with alpha 255: OpenCV warps four channels about three times
    # faster than three (it has SIMD paths for 8UC4 only).
    plate: np.ndarray  # (H, W, 4) uint8: the set without the product or its shadows
    dressed: np.ndarray  # plate with the product's shadows: what sits behind the product
    effect: Effect | None
    geometry: WorldGeometry
    depth_ratio: np.ndarray  # (H,) float32: parallax speed of each world row (1 = product)
    theme: str | None = None
    seed: int | None = None
    animation: AnimatedPlate | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    bare: np.ndarray | None = None  # (H, W, 4) uint8: the plate without ``props`` (and ``podium``)
    props: tuple[PropLayer, ...] = ()
    podium: PropLayer | None = None  # the podium and the shadows it throws, apart from ``bare``
    prop_bodies: PropBodies = ()  # each prop standing in a studio set

    @property
    def size(self) -> tuple[int, int]:
        return (self.plate.shape[1], self.plate.shape[0])


# ---------------------------------------------------------------------------
# Studio worlds


@dataclass(frozen=True)
class StudioStage:
    """A studio world's set before any of it is drawn: the theme's composition for the
    seed, where the product stands (``geometry``), the depth of each world row, and where
    each prop stands. Finding it takes milliseconds; drawing the set (``studio_world``)
    takes over a second at a story clip's size, so a clip decides which props and what
    room from this and draws the set once."""

    theme: str
    seed: int
    variant: Variant
    stage: Stage
    geometry: WorldGeometry
    depth_ratio: np.ndarray  # (H,) float32, as ``World.depth_ratio``
    standing: tuple[PropPlacement, ...]

    @property
    def prop_bodies(self) -> PropBodies:
        """As ``World.prop_bodies``: (index in the theme's props, depth ratio, body)."""
        pod = self.stage.podium
        return tuple((p.index, _prop_ratio(self.depth_ratio, p, pod), p.body) for p in self.standing)


def studio_stage(
    seg: Segmentation,
    *,
    theme: str,
    seed: int,
    size: tuple[int, int],
    fill: float,
    wall_ratio: float = 0.35,
    front_ratio: float = 1.5,
    max_width: float | None = None,
    centred: bool = False,
    leave_out: tuple[int, ...] = (),
    stand_at: Box | None = None,
    prop_room: tuple[float, float, float, float] | None = None,
    prop_sway: tuple[float, float] = (0.0, 0.0),
    cues: ProductCues | None = None,
    flat: bool = False,
) -> StudioStage:
    """Where ``studio_world`` (same arguments) stands the product and the props, without
    drawing the set. ``cues``: ``product_cues(seg.cutout)`` when already at hand.
    ``prop_sway`` (``Variant.sway``): how far a parallax move carries a row at depth
    ratio 0 sideways against the product, so a prop standing behind it stays in sight.
    ``flat``: the product lies on the theme's surface, seen from straight above
    (``sets.flat``), as the studio engine sets a flat-lay: no wall, no horizon, no props,
    and the whole surface at one depth, just below the product and its shadows
    (``WorldGeometry.flat``: the timeline moves it at a share of the camera's move)."""
    # where the theme stands the product (the scene's composition for this seed)
    cutout = seg.cutout
    light_side, foot_ratio, tone = cues if cues is not None else product_cues(cutout)
    variant = plan_variant(theme, seed, light_side=light_side, foot_ratio=foot_ratio, product_tone=tone)
    if centred:  # the seed varies the camera height, light, colours and props only
        variant = dataclasses.replace(variant, anchor_x=0.5, scale=1.0)
    if leave_out:
        variant = dataclasses.replace(variant, props=tuple(k for k in variant.props if k not in leave_out))
    if flat:
        variant = flat_variant(variant)
        lying = stand_at if stand_at is not None else flat_box(cutout.size, size, fill=fill, variant=variant)
        bx, by, bw, bh = lying
        return StudioStage(
            theme=theme,
            seed=seed,
            variant=variant,
            stage=Stage(box=lying, contact=float(by + bh), horizon=0.0, podium=None),
            geometry=WorldGeometry(
                size=size, product_box=(float(bx), float(by), float(bw), float(bh)), horizon=0.0, flat=True
            ),
            depth_ratio=np.ones(size[1], dtype=F32),
            standing=(),
        )
    if prop_room is not None:
        variant = dataclasses.replace(variant, room=prop_room, sway=prop_sway)
    stage = stage_for_product(
        theme,
        cutout.size,
        size,
        fill=fill,
        seed=seed,
        variant=variant,
        max_width=MAX_PRODUCT_WIDTH if max_width is None else max_width,
    )
    if stand_at is not None:
        stage = move_stage(stage, stand_at, size)
    stage = _podium_in_room(stage, theme, variant, size)
    box = tuple(float(v) for v in stage.box)
    geometry = WorldGeometry(size=size, product_box=box, horizon=stage.horizon)  # type: ignore[arg-type]
    wall_to = _arch_wall_to(theme, stage.horizon, stage.contact)
    ratios = depth_ratios(size[1], stage.horizon, stage.contact, wall_ratio, front_ratio, wall_to=wall_to)
    # placed by the product's box: an empty layer there stands the props of the empty set
    standing = (
        place_props(theme, stage, _nothing_at(stage.box, size), variant, seed=seed) if variant.props else []
    )
    return StudioStage(
        theme=theme,
        seed=seed,
        variant=variant,
        stage=stage,
        geometry=geometry,
        depth_ratio=ratios,
        standing=tuple(standing),
    )


ProductCues = tuple[float | None, float | None, float | None]  # light side, foot ratio, tone


def product_cues(cutout: Image.Image) -> ProductCues:
    """What a set's composition takes from the product photo: the side its light comes
    from, how far the camera looked down on its foot and its tone (``plan_variant``'s cues)."""
    return estimate_light_side(cutout), estimate_foot_ratio(cutout), estimate_product_tone(cutout)


def _podium_in_room(stage: Stage, theme: str, variant: Variant, size: tuple[int, int]) -> Stage:
    """In a clip's room (``variant.room``) the podium narrowed so the floor the camera
    always shows beside it holds the variant's props: at their own size where it can, at
    their least clip size otherwise (``least_height``, as ``place_props`` stands them).
    Never narrower than the theme's own least (1.3x the product's width): where even that
    leaves no floor for a prop (a story), the podium stays as the scene has it and
    ``place_props`` stands the props on its top face. A podium as wide as the move's view
    leaves no floor beside it, and a podium set without its props reads as another set. Its front stays
    on the same floor row (the set's floor, horizon and depths do not change, and the
    move planned on them still holds) and the product's foot as far in front of its top
    face's centre, a little taller for its smaller top face."""
    pod = stage.podium
    if pod is None or variant.room is None or not variant.props:
        return stage
    th = resolve_theme(theme)
    cw, ch = size
    _, _, w, h = stage.box
    lo, hi = max(0.02 * cw, variant.room[0]), min(0.98 * cw, variant.room[1])
    # anti-aliasing as place_props, and a hair for the prop's own drawn size (up to 8 %
    # either way of its nominal one)
    half = min(pod.cx - lo, hi - pod.cx) - 4.0
    nominal = smallest = 0.0  # the widest prop's width and gap, at its size and its least
    for k in variant.props:
        if k >= len(th.props):
            continue
        prop = th.props[k]
        ph = prop_height(prop.size, prop.max_widths, w, h, size)
        least = least_height(prop, ph, h, size, clip=True)
        gap = max(prop.gap * w, CLEAR_GAP * min(cw, ch))
        nominal = max(nominal, gap + 1.08 * ph * prop.aspect)
        smallest = max(smallest, gap + 1.08 * least * prop.aspect)
    least_rx = 0.65 * w
    rx = half - nominal if half - nominal >= least_rx else half - smallest
    if rx >= pod.rx or rx < least_rx:  # room enough already, or none even so: as the scene
        return stage
    ry = pod.ry * rx / pod.rx
    foot = pod.top + 0.35 * pod.ry
    top = foot - 0.35 * ry
    height = pod.bottom + pod.ry - ry - top  # the front on the same floor row
    return dataclasses.replace(stage, podium=dataclasses.replace(pod, top=top, rx=rx, ry=ry, height=height))


def _nothing_at(box: Box, size: tuple[int, int]) -> PlacedProduct:
    """An empty product layer at ``box``: what the props of the empty set stand round."""
    x, y, w, h = box
    return PlacedProduct(layer=Image.new("RGBA", (w, h), (0, 0, 0, 0)), box=(x, y, w, h), canvas_size=size)


def studio_world(
    seg: Segmentation,
    *,
    theme: str,
    seed: int,
    size: tuple[int, int],
    fill: float,
    brand_color: tuple[int, int, int] | None,
    wall_ratio: float = 0.35,
    front_ratio: float = 1.5,
    max_width: float | None = None,
    prop_layers: bool = False,
    centred: bool = False,
    depth_cues: bool = False,
    leave_out: tuple[int, ...] = (),
    stand_at: Box | None = None,
    prop_room: tuple[float, float, float, float] | None = None,
    staged: StudioStage | None = None,
) -> World:
    """The theme's set at ``size`` with the product's shadows as a separate layer.

    ``max_width`` caps the product's width as a share of the world's (the camera's closest
    view shows less than the whole world, and the product must stay inside it).
    ``prop_layers`` also keeps the props as their own layers (``World.bare``, ``props``).
    ``centred`` stands the product in the middle at the size ``fill`` asks for, whatever
    place and size the seed's composition would give it (clips frame the product in the
    middle, and the sets of a sequence line up).
    ``depth_cues`` lights the set with a soft pool on the wall and another on the floor
    (``light_pools``), so that a plain set has something that moves at each depth.
    ``leave_out`` names props of the theme (indices in its ``props``) not to stand;
    ``World.prop_bodies`` says where each prop that stands is.
    ``stand_at`` (world px, the clip's layout chose it) stands the product there, the
    set moved under it (``move_stage``).
    ``prop_room`` (world px: left, right, top, bottom) is what the camera shows in every
    frame: props stand (or shrink to stand) inside it (``Variant.room``).
    ``staged``: where ``studio_stage`` stood the product and the props; drawn as it is
    (``fill``, ``max_width``, ``centred``, ``leave_out``, ``stand_at``, ``prop_room`` and
    the ratios only find it, and are then not used).

    Built with ``generation.sets`` exactly as the studio engine's scenes are (same stage,
    same seeded look), with the product's silhouette and without it.
    """
    # 1. where the theme stands the product and the props, and the set with and without
    # its shadows
    if staged is None:
        staged = studio_stage(
            seg,
            theme=theme,
            seed=seed,
            size=size,
            fill=fill,
            wall_ratio=wall_ratio,
            front_ratio=front_ratio,
            max_width=max_width,
            centred=centred,
            leave_out=leave_out,
            stand_at=stand_at,
            prop_room=prop_room,
        )
    variant, stage = staged.variant, staged.stage
    placed = compose.place_product(seg.cutout, size, stage.box)
    pools: np.ndarray | None = None
    if variant.view == "flat":  # the surface from above, the product's shadows on it
        shadowed, empty = render_flat_set_pair(
            theme, placed, brand_color=brand_color, seed=seed, variant=variant
        )
    else:
        shadowed, empty = render_set_pair(
            theme, placed, stage=stage, brand_color=brand_color, seed=seed, variant=variant
        )
        if depth_cues:
            pools = light_pools(size, stage.box, stage.horizon, stage.contact, variant.azimuth)
    if pools is not None:  # the same light on both: the product's shadow ratio is unchanged
        shadowed, empty = shadowed * pools, empty * pools
    plate = np.clip(empty + 0.5, 0, 255).astype(np.uint8)

    # 2. the product's shadow/reflection: their ratio where the product does not cover
    alpha = _alpha_on_canvas(seg, size, stage.box)
    effect = _effect_from(shadowed, empty, alpha)
    dressed = _apply_effect(plate, effect)
    plate, dressed, effect = rgba(plate), rgba(dressed), _effect4(effect)

    # 3. the props apart from the set, for parallax (each at the depth of its foot: the
    # wall is far, the floor comes towards the camera)
    # and the podium as a layer of its own, moving with the product on it
    ratios = staged.depth_ratio
    bare: np.ndarray | None = None
    props: tuple[PropLayer, ...] = ()
    podium: PropLayer | None = None
    standing = staged.standing
    pod = stage.podium
    if prop_layers and (standing or pod is not None):
        without = dataclasses.replace(variant, props=())
        nothing = _nothing_at(stage.box, size)
        bare_f = render_set(
            theme, nothing, stage=stage, brand_color=brand_color, seed=seed, variant=without, podium=False
        )
        if pools is not None:
            bare_f = bare_f * pools
        bare = rgba(np.clip(bare_f + 0.5, 0, 255).astype(np.uint8))
        pod_shadows, shadows = piece_shadows(
            theme, stage, list(standing), size, brand_color=brand_color, seed=seed, variant=variant
        )
        pieces = [(p, _prop_ratio(ratios, p, pod), d) for p, d in zip(standing, shadows, strict=True)]
        props, podium = _prop_layers(plate, bare, pieces, None if pod is None else (pod, pod_shadows))
    return World(
        name=f"scene-{theme}",
        source="studio",
        plate=plate,
        dressed=dressed,
        effect=effect,
        geometry=staged.geometry,
        depth_ratio=ratios,
        theme=theme,
        seed=seed,
        bare=bare,
        props=props,
        podium=podium,
        prop_bodies=staged.prop_bodies,
    )


# a plain set's light pools: (gain, centre x and y, spread x and y), in the product box's
# width and height from its centre column (x, towards the key light) and its floor row (y)
WALL_POOL = (0.09, 1.0, -0.55, 0.42, 0.42)
FLOOR_POOL = (0.08, 0.75, 0.12, 0.45, 0.07)


def light_pools(
    size: tuple[int, int],
    box: tuple[float, float, float, float],
    horizon: float,
    contact: float,
    azimuth: float,
) -> np.ndarray:
    """(H, W, 1) float32 gain >= 1: a soft pool of light on the wall beside the product, on
    the key light's side, and a flatter one on the floor in front of it (foreshortened).
    On a plain sweep they are what the eye follows when the camera moves: the wall's pool
    drifts one way, the floor's the other, the product between them stays put."""
    w, h = size
    bx, _, bw, bh = (float(v) for v in box)
    side = light_side_of(azimuth) or 1.0  # +1: the light comes from the left
    cx = bx + bw / 2.0
    xs = (np.arange(w, dtype=F32) + 0.5)[None, :]
    ys = (np.arange(h, dtype=F32) + 0.5)[:, None]
    # each pool fades out across the horizon (a sweep has no edge there to stop at)
    wall = np.clip((horizon + 0.1 * bh - ys) / (0.2 * bh), 0.0, 1.0)
    gain = np.ones((h, w), dtype=F32)
    for (strength, ux, uy, sx, sy), rows in ((WALL_POOL, wall), (FLOOR_POOL, 1.0 - wall)):
        px, py = cx - side * ux * bw, contact + uy * bh
        blob = np.exp(-0.5 * (((xs - px) / (sx * bw)) ** 2 + ((ys - py) / (sy * bh)) ** 2))
        gain += strength * blob * rows
    return gain[..., None].astype(F32)


def _prop_layers(
    plate: np.ndarray,
    bare: np.ndarray,
    props: list[tuple[PropPlacement, float, list[Shadow]]],
    podium: tuple[PodiumGeometry, list[Shadow]] | None = None,
) -> tuple[tuple[PropLayer, ...], PropLayer | None]:
    """Each prop as a layer over ``bare``, with the shadows it throws: ``props`` holds
    (placement, depth ratio, its shadows as ``piece_shadows`` gives them). With a
    ``podium`` (which ``bare`` lacks, with its shadows), the podium too, at ``PODIUM_RATIO``.

    A layer is its piece, opaque where it stands (the plate's pixels, the set under its
    anti-aliased edge taken out), over its shadows: what they multiply the set by, as a
    premultiplied darkening of the set under it (alpha its darkest channel's). Layers
    are drawn far to near (``frames._far_to_near``: the props behind the podium, the
    podium, the rest), so where two pieces' shadows overlap they multiply, wherever the
    camera's move takes each (each shadow whole in its own piece's layer: giving each
    changed pixel to the nearest piece's layer left a seam where the parts met once the
    layers moved apart). A shadow is left off the pieces drawn before it, whose plate
    pixels hold it already (a prop's shadow on the podium's top face is the podium's)."""
    h, w = bare.shape[:2]
    pieces: list[tuple[np.ndarray, tuple[int, int], float, list[Shadow]]] = [
        (p.cover, p.origin, ratio, shadows) for p, ratio, shadows in props
    ]
    if podium is not None:
        pieces.append((_podium_coverage(podium[0], (w, h)), (0, 0), PODIUM_RATIO, podium[1]))
    covers = np.zeros((len(pieces), h, w), dtype=F32)
    for k, (c, origin, _, _) in enumerate(pieces):
        on_canvas, of_cover = _overlap(c.shape, origin, (w, h))
        covers[k][on_canvas] = c[of_cover]
    order = list(range(len(props)))
    if podium is not None:  # as frames._far_to_near draws them
        n = len(props)
        order = [k for k in order if pieces[k][2] < PODIUM_RATIO] + [n]
        order += [k for k in range(n) if pieces[k][2] >= PODIUM_RATIO]
    # each piece's shadows, left off the pieces drawn before it: (factor, its box's top-left)
    shades: dict[int, tuple[np.ndarray, tuple[int, int]] | None] = {}
    drawn = np.zeros((h, w), dtype=F32)  # the most the pieces drawn so far cover
    for k in order:
        shades[k] = _left_off(shadow_factor(pieces[k][3]), drawn)
        np.maximum(drawn, covers[k], out=drawn)
    below = bare[..., :3].astype(F32)  # the set as the layers drawn so far leave it
    layers: dict[int, PropLayer | None] = {}
    for k in order:
        # the shadows of the pieces drawn after it, which its plate pixels hold
        later = [shades[j] for j in order[order.index(k) + 1 :]]
        layer = layers[k] = _piece_layer(plate, below, covers[k], shades[k], later, pieces[k][2])
        if layer is not None:
            lh, lw = layer.pixels.shape[:2]
            x, y = layer.origin
            px = layer.pixels.astype(F32)
            region = below[y : y + lh, x : x + lw]
            region[:] = px[..., :3] + region * (1.0 - px[..., 3:] / 255.0)
    pod_layer = layers.pop(len(props)) if podium is not None else None
    kept = (layers[k] for k in range(len(props)))
    return tuple(layer for layer in kept if layer is not None), pod_layer


def _left_off(
    factor: tuple[np.ndarray, tuple[int, int]] | None, drawn: np.ndarray
) -> tuple[np.ndarray, tuple[int, int]] | None:
    """A shadow ``factor`` (``shadow_factor``) left off where ``drawn`` (H, W) covers."""
    if factor is None:
        return None
    f, (x, y) = factor
    on_canvas, of_factor = _overlap(f.shape, (x, y), (drawn.shape[1], drawn.shape[0]))
    f = f[of_factor]
    if f.size == 0:
        return None
    return 1.0 - (1.0 - drawn[on_canvas])[..., None] * (1.0 - f), (on_canvas[1].start, on_canvas[0].start)


def _factor_over(
    shade: tuple[np.ndarray, tuple[int, int]] | None, box: tuple[int, int, int, int]
) -> np.ndarray:
    """A shadow factor (``_left_off``) over the canvas ``box`` (x0, y0, x1, y1): 1 beyond it."""
    x0, y0, x1, y1 = box
    out = np.ones((y1 - y0, x1 - x0, 3), dtype=F32)
    if shade is not None:
        on_box, of_shade = _overlap(shade[0].shape, (shade[1][0] - x0, shade[1][1] - y0), (x1 - x0, y1 - y0))
        out[on_box] = shade[0][of_shade]
    return out


def _piece_layer(
    plate: np.ndarray,
    below: np.ndarray,
    cover: np.ndarray,
    shade: tuple[np.ndarray, tuple[int, int]] | None,
    later: list[tuple[np.ndarray, tuple[int, int]] | None],
    ratio: float,
) -> PropLayer | None:
    """One piece's layer (see ``_prop_layers``) over ``below`` (H, W, 3 float: the set as
    the layers drawn before it leave it): ``cover`` (H, W) where it stands, its shadows'
    factor on the set (``shade``), from the ``plate``'s pixels without the shadows of the
    layers drawn after it (``later``), which they put on it again."""
    h, w = cover.shape
    ys, xs = np.nonzero(cover > 0)
    boxes = [(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)] if ys.size else []
    if shade is not None:
        (fh, fw), (fx, fy) = shade[0].shape[:2], shade[1]
        boxes.append((fx, fy, fx + fw, fy + fh))
    if not boxes:
        return None
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    region = (slice(y0, y1), slice(x0, x1))
    f = _factor_over(shade, (x0, y0, x1, y1))
    own = plate[region][..., :3].astype(F32)
    for other in later:
        own /= _factor_over(other, (x0, y0, x1, y1))
    # premultiplied colour C with alpha a over the set: C + (1 - a) * set = set * f, with
    # C = set * (f - (1 - a)) and a the darkest channel's darkening (C is a faint tint)
    dark = 1.0 - f.min(axis=2)
    under = below[region]
    tint = under * (f - (1.0 - dark)[..., None])
    c = cover[region]
    # the piece's own colour at its soft edge: the plate less the set showing through
    # (with the piece's own shadow on it)
    body = np.clip(own - (1.0 - c)[..., None] * under * f, 0.0, None)
    body = np.minimum(body, 255.0 * c[..., None])
    alpha = c + (1.0 - c) * dark
    rgb = body + (1.0 - c)[..., None] * tint
    pixels = np.clip(np.concatenate([rgb, (alpha * 255.0)[..., None]], axis=2) + 0.5, 0, 255).astype(np.uint8)
    rows, cols = np.nonzero(pixels[..., 3] > 0)
    if rows.size == 0:
        return None
    r0, r1, c0, c1 = int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1
    by, bx = np.nonzero(c > 0.01)
    body_box = (
        (float(bx.min() + x0), float(by.min() + y0), float(bx.max() + 1 + x0), float(by.max() + 1 + y0))
        if by.size
        else (0.0,) * 4
    )
    return PropLayer(np.ascontiguousarray(pixels[r0:r1, c0:c1]), (x0 + c0, y0 + r0), ratio, body_box)


# the podium's parallax speed: the product's (it stands on it), which is the floor's
# where the podium's front stands (the contact row)
PODIUM_RATIO = 1.0


def _podium_coverage(pod: PodiumGeometry, size: tuple[int, int]) -> np.ndarray:
    """(H, W) float32: how much the podium covers each pixel of a ``size`` canvas."""
    w, h = size
    out = np.zeros((h, w), dtype=F32)
    x0, x1 = int(max(0, pod.cx - pod.rx - 2)), int(min(w, pod.cx + pod.rx + 3))
    y0, y1 = int(max(0, pod.top - pod.ry - 2)), int(min(h, pod.bottom + pod.ry + 3))
    if x1 > x0 and y1 > y0:
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(F32) + 0.5
        top, body = podium_cover(pod, xx, yy)
        out[y0:y1, x0:x1] = np.clip(top + body, 0.0, 1.0)
    return out


def _on_podium(pod: PodiumGeometry | None, cx: float, base: float) -> bool:
    """Whether a foot at (``cx``, ``base``) stands on ``pod``'s top face."""
    return pod is not None and pod.holds(cx, base)


def _prop_ratio(ratios: np.ndarray, prop: PropPlacement, pod: PodiumGeometry | None) -> float:
    """A prop's parallax speed: its podium's where it stands on its top face, else the
    floor row's its foot stands on."""
    return PODIUM_RATIO if _on_podium(pod, prop.cx, prop.base) else _depth_at(ratios, prop.base)


def _alpha_on_canvas(seg: Segmentation, size: tuple[int, int], box: Box) -> np.ndarray:
    """The placed product's alpha as a canvas-sized uint8 array."""
    placed = compose.place_product(seg.cutout, size, box)
    alpha = np.zeros((size[1], size[0]), dtype=np.uint8)
    x, y, w, h = box
    layer = np.asarray(placed.layer.getchannel("A"))
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, size[0]), min(y + h, size[1])
    alpha[y0:y1, x0:x1] = layer[y0 - y : y1 - y, x0 - x : x1 - x]
    return alpha


def _effect_from(shot: np.ndarray, plate: np.ndarray, alpha: np.ndarray) -> Effect | None:
    """Ratio of the set with the product's shadows to the set without, where they
    differ, filled in under the product (float inputs, as the set renderer gives)."""
    covered = alpha > 0
    # where the sets differ by more than a quarter level in any channel, or the product
    # stands: their bounding box (channel by channel, and OpenCV's box of a mask: numpy's
    # max over a 3-wide last axis and nonzero are each several times slower on a canvas)
    gap = np.abs(shot[..., 0] - plate[..., 0])
    for c in (1, 2):
        np.maximum(gap, np.abs(shot[..., c] - plate[..., c]), out=gap)
    mask = ((gap > 0.25) | covered).view(np.uint8)
    bx, by, bw, bh = cv2.boundingRect(mask)
    if bw == 0 or bh == 0:
        return None
    h, w = alpha.shape
    pad = 4
    x0, y0 = max(bx - pad, 0), max(by - pad, 0)
    x1, y1 = min(bx + bw + pad, w), min(by + bh + pad, h)
    s = np.maximum(shot[y0:y1, x0:x1].astype(F32), 0.0)
    p = np.maximum(plate[y0:y1, x0:x1].astype(F32), 0.0)
    ratio = (s + 0.5) / (p + 0.5)
    # Under the product the shadow cannot be seen; fill it from around so soft edges and
    # parallax never uncover a hole in it.
    known = (~covered[y0:y1, x0:x1]).astype(F32)
    ratio = fill_holes(ratio, known)
    return Effect(ratio=ratio.astype(F32), origin=(x0, y0))


def _apply_effect(plate: np.ndarray, effect: Effect | None) -> np.ndarray:
    out = plate.copy()
    if effect is None:
        return out
    x0, y0 = effect.origin
    h, w = effect.ratio.shape[:2]
    region = out[y0 : y0 + h, x0 : x0 + w]
    # (bg + .5) * ratio - .5, rounded to nearest
    region[:] = np.clip(np.floor((region.astype(F32) + 0.5) * effect.ratio), 0, 255).astype(np.uint8)
    return out


def rgba(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> (H, W, 4) with alpha 255."""
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2RGBA)


# A ratio r changes no byte v (0..255) when floor((v + .5) * r) == v: for every v when
# 255 / 255.5 <= r < 256 / 255.5 (0.99804 .. 1.00196); inside this band, kept off its ends,
# the effect leaves the set as it is
_NO_CHANGE = (0.9981, 1.0019)


def _effect4(effect: Effect | None) -> Effect | None:
    """The effect with its alpha ratio (1), trimmed to the pixels it changes (``_trimmed``)."""
    if effect is None:
        return None
    effect = _trimmed(effect)
    ones = np.ones(effect.ratio.shape[:2] + (1,), dtype=F32)
    ratio = np.ascontiguousarray(np.concatenate([effect.ratio, ones], axis=2))
    return Effect(ratio=ratio, origin=effect.origin, to_frame=effect.to_frame)


def _trimmed(effect: Effect, margin: int = 2) -> Effect:
    """``effect`` cut to the box of the ratios that change a byte (``_NO_CHANGE``), with a
    ``margin`` of pixels that do not; the same where it is drawn, at any placement: a
    bilinear sample that reads a pixel past the cut (1 there, as past the whole effect)
    lies at the margin, all of whose ratios, and so their blends, change nothing either.
    The light round a product's shadow and reflection differs from 1 by less than a level
    far beyond them (a story clip's marble counter: 721 of 1393 rows change): each frame
    that fades the effect in no longer blends, nor draws in RGB, the rest."""
    ratio = effect.ratio
    lo, hi = _NO_CHANGE
    flat = ratio.reshape(ratio.shape[0], -1)
    changes = ((flat < lo) | (flat > hi)).view(np.uint8)
    # per pixel: any channel (the columns of a channel-interleaved row, divided back)
    x, y, w, h = cv2.boundingRect(changes)
    if w == 0 or h == 0:
        return effect
    c = ratio.shape[2] if ratio.ndim == 3 else 1
    x0, x1 = max(x // c - margin, 0), min((x + w - 1) // c + 1 + margin, ratio.shape[1])
    y0, y1 = max(y - margin, 0), min(y + h + margin, ratio.shape[0])
    if (x0, y0, x1, y1) == (0, 0, ratio.shape[1], ratio.shape[0]):
        return effect
    return dataclasses.replace(
        effect,
        ratio=np.ascontiguousarray(ratio[y0:y1, x0:x1]),
        origin=(effect.origin[0] + x0, effect.origin[1] + y0),
    )


def _arch_wall_to(theme: str | None, horizon: float, contact: float) -> float | None:
    """The row a theme's wall arch moves whole with the wall down to (``depth_ratios``'
    ``wall_to``): the row it stands on, its anti-aliased edge a pixel past it; None
    without an arch (or a theme)."""
    if theme is None or resolve_theme(theme).backdrop.arch is None:
        return None
    return arch_foot(horizon, contact) + 1.0


def depth_ratios(
    height: int, horizon: float, contact: float, wall: float, front: float, *, wall_to: float | None = None
) -> np.ndarray:
    """Parallax speed per world row: ``wall`` above the horizon, 1 at the product's foot,
    rising to ``front`` at the bottom edge (the floor is a plane seen in perspective).
    ``wall_to`` (a row below the horizon): the rows down to it move with the wall too and
    the floor's rise starts there, e.g. a wall arch's foot (``arch_foot``), so the arch,
    which reaches a little below the horizon, moves whole instead of its foot shearing
    against the floor rows beside it."""
    rows = np.arange(height, dtype=F32) + 0.5
    if wall_to is not None:
        horizon = max(horizon, wall_to)
    horizon = min(horizon, contact - 1.0)
    floor = wall + (1.0 - wall) * (rows - horizon) / max(contact - horizon, 1.0)
    ratio = np.where(rows < horizon, wall, floor)
    return np.clip(ratio, wall, front).astype(F32)


# ---------------------------------------------------------------------------
# Worlds from finished scene images


def scene_world(
    seg: Segmentation,
    scene: RenderedImage,
    *,
    wall_ratio: float = 0.35,
    front_ratio: float = 1.5,
    prop_layers: bool = False,
    leave_out: tuple[int, ...] = (),
) -> World:
    """A world from a finished scene: the product is filled out (its shadow stays).

    A scene the studio engine made carries its set's lines and props as data
    (``meta["layout"]``): the floor's real horizon and contact row give the depths, each
    prop's place is known (``World.prop_bodies``) and, with ``prop_layers``, each prop is
    cut out of the picture by its coverage drawn again and kept as its own layer
    (``World.props``) over the picture with the prop filled out (``World.bare``); its
    shadow stays painted on the floor. A podium it records is cut out too, with its own
    shadows, as ``World.podium``: it moves with the product standing on it (the product's
    shadow painted on its top face with it) over the set built again without it (or,
    where that does not match the picture, with the podium filled out from around and its
    shadows left painted). ``leave_out`` names props (indices in the theme's
    ``props``) to fill out of the picture from around them, with the floor under their
    foot (their contact shadow; a faint cast shadow further off stays). Any other scene
    has no props to know of, and its floor is assumed to start a little behind the
    product's foot.
    """
    image = np.ascontiguousarray(np.asarray(scene.image.convert("RGB")))
    size = (image.shape[1], image.shape[0])
    alpha = _alpha_on_canvas(seg, size, scene.product_box)
    # one pixel beyond the matte: the scene's own soft edge blended the product in
    hole = cv2.dilate((alpha > 0).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    plate_f = fill_holes(image.astype(F32), (~hole).astype(F32))
    effect: Effect | None = None
    if (flat := _flat_surface(seg, scene, image, hole)) is not None:
        # a flat-lay: the surface itself where the product and its shadows lay (marble
        # veins and wood grain, not a smooth patch with the shadow's outline round it),
        # and its shadows built again apart from it, to move with the product
        surface, lay, effect = flat
        np.copyto(plate_f, surface, where=lay[..., None])
    x, y, w, h = scene.product_box
    layout, (horizon, contact) = _scene_lines(scene)
    wall_to = _arch_wall_to(scene.meta.get("theme"), horizon, contact) if layout else None
    ratios = _scene_ratios(scene, size[1], horizon, contact, wall_ratio, front_ratio, wall_to)
    standing = [PropPlacement.from_dict(p, size) for p in layout["props"]] if layout else []
    if gone := [p for p in standing if p.index in leave_out]:
        mask = _prop_footprint(gone, size)
        kept = tuple(p.index for p in standing if p.index not in leave_out)
        rebuilt = _set_without_props(seg, scene, kept, mask, (horizon, contact)) if layout else None
        if rebuilt is not None:  # the set itself where the prop stood: marble veins, no smudge
            np.copyto(plate_f, rebuilt, where=_shadowed_by(rebuilt, image, mask, hole)[..., None])
        else:
            plate_f = _with_grain(fill_holes(plate_f, (~mask).astype(F32)), mask, scene.meta.get("seed") or 0)
        standing = [p for p in standing if p.index not in leave_out]
    if flat is None and not scene_lies_flat(scene):
        # a standing product: the fill under its foot took its contact shadow with it
        # (the darkest line, within a pixel or two of the matte) and left it floating.
        # Its shadows built again apart from the set (a studio scene's own), or else a
        # contact shadow and occlusion as on a poster, move with it over the set
        grounded = _standing_shadows(seg, scene, image, hole, (horizon, contact), standing, leave_out)
        if grounded is not None:
            surface, lay, effect = grounded
            np.copyto(plate_f, surface, where=lay[..., None])
        else:
            effect = _grounding_effect(seg, scene)
    plate_rgb = np.clip(plate_f + 0.5, 0, 255).astype(np.uint8)
    plate = rgba(plate_rgb)
    dressed = plate if effect is None else rgba(_apply_effect(plate_rgb, effect))
    bodies = tuple((p.index, _depth_at(ratios, p.base), p.body) for p in standing)
    bare: np.ndarray | None = None
    props: tuple[PropLayer, ...] = ()
    podium: PropLayer | None = None
    pod = PodiumGeometry.from_dict(layout["podium"]) if layout and layout.get("podium") else None
    if prop_layers and (standing or pod is not None):
        bare_f = plate_f
        if pod is not None:
            # the podium as a layer moving with the product standing on it (the product's
            # shadow painted on its top face, and its own shadows, with it), over the set
            # built again without it
            pod_cover = _podium_coverage(pod, size)
            under = cv2.dilate((pod_cover > 0.01).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
            found = _set_without_podium(seg, scene, pod, standing, under, (horizon, contact))
            shade = None
            if found is not None:
                rebuilt, shade = found
                # the set itself where the podium stood, where its shadows fell and where
                # the product stood (its place filled from the podium's top face otherwise)
                fill = under | hole
                if shade is not None:
                    on_canvas, of_shade = _overlap(shade[0].shape, shade[1], size)
                    fill[on_canvas] |= shade[0][of_shade].min(axis=2) < 0.999
                bare_f = np.where(fill[..., None], rebuilt, bare_f)
            else:  # its shadows stay painted on the floor
                bare_f = _with_grain(
                    fill_holes(bare_f, (~under).astype(F32)), under, scene.meta.get("seed") or 0
                )
            podium = _piece_layer(plate_f, bare_f, pod_cover, shade, [], PODIUM_RATIO)
        if standing:
            covered = _covered(standing, size)
            # a pixel beyond the coverage: the prop's anti-aliased edge holds some of it
            around = cv2.dilate((covered > 0.01).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
            bare_f = fill_holes(bare_f, (~around).astype(F32))
            props = tuple(_cut_out(plate, p, ratios) for p in standing)
        bare = rgba(np.clip(bare_f + 0.5, 0, 255).astype(np.uint8))
    return World(
        name=scene.name,
        source="scene",
        plate=plate,
        dressed=dressed,
        effect=_effect4(effect),
        geometry=WorldGeometry(
            size=size,
            product_box=(float(x), float(y), float(w), float(h)),
            horizon=horizon,
            flat=flat is not None,
        ),
        depth_ratio=ratios,
        theme=scene.meta.get("theme"),
        seed=scene.meta.get("seed"),
        meta={"engine": scene.meta.get("engine"), "layout": bool(layout)},
        bare=bare,
        props=props,
        podium=podium,
        prop_bodies=bodies,
    )


def _scene_lines(scene: RenderedImage) -> tuple[dict[str, Any] | None, tuple[float, float]]:
    """A finished scene's layout (a studio scene's, else None) and its floor's horizon
    and contact rows."""
    x, y, w, h = scene.product_box
    layout = scene.meta.get("layout") if scene.meta.get("engine") == "studio" else None
    if layout:
        return layout, (float(layout["horizon"]), float(layout["contact"]))
    # unknown set: assume the floor starts a little behind the foot
    return None, (y + 0.75 * h, float(y + h))


def scene_lies_flat(scene: RenderedImage) -> bool:
    """Whether a finished scene shows its product lying flat, seen from above (any engine's
    record ``view``, a studio scene's variant's: ``_surface_under``)."""
    return scene.meta.get("view") == "flat" or _surface_under(scene)


def _scene_ratios(
    scene: RenderedImage,
    height: int,
    horizon: float,
    contact: float,
    wall: float,
    front: float,
    wall_to: float | None,
) -> np.ndarray:
    """``depth_ratios`` of a finished scene's rows; a flat-lay's surface, seen from above,
    lies all at one depth (1), as a flat-lay set for a clip does (a studio scene's,
    built again whole, then moves under the product: ``WorldGeometry.flat``)."""
    if scene_lies_flat(scene):
        return np.ones(height, dtype=F32)
    return depth_ratios(height, horizon, contact, wall, front, wall_to=wall_to)


@dataclass(frozen=True)
class SceneStage:
    """What ``scene_world`` makes of a finished scene that the timeline and the prop
    checks need, without filling anything out of the picture (milliseconds, where the
    world takes about half a second at a story clip's size): where the product stands
    and where each prop does, as the world would have them."""

    geometry: WorldGeometry
    prop_bodies: PropBodies


def scene_stage(scene: RenderedImage, *, wall_ratio: float = 0.35, front_ratio: float = 1.5) -> SceneStage:
    """``scene_world(seg, scene, ...)``'s geometry and prop bodies (no prop left out)."""
    size = scene.image.size
    x, y, w, h = scene.product_box
    layout, (horizon, contact) = _scene_lines(scene)
    wall_to = _arch_wall_to(scene.meta.get("theme"), horizon, contact) if layout else None
    ratios = _scene_ratios(scene, size[1], horizon, contact, wall_ratio, front_ratio, wall_to)
    standing = [PropPlacement.from_dict(p, size) for p in layout["props"]] if layout else []
    return SceneStage(
        geometry=WorldGeometry(
            size=size,
            product_box=(float(x), float(y), float(w), float(h)),
            horizon=horizon,
            flat=_surface_under(scene),
        ),
        prop_bodies=tuple((p.index, _depth_at(ratios, p.base), p.body) for p in standing),
    )


# the set built again matches the picture round a filled prop within this mean level
REBUILT_MATCH = 3.0
# a scene's picture run on past its edges: mirrored there, and blurred more the further out
# (Gaussian sigma: this share of the picture's shorter side, reached this share of the way out)
OVERSCAN_BLUR = 0.025
OVERSCAN_RAMP = 0.6

Pad = tuple[int, int, int, int]  # left, top, right, bottom, px


def overscan_needed(
    geometry: WorldGeometry, rest_box: tuple[float, float, float, float], canvas: tuple[int, int]
) -> Pad:
    """World px a world must run on past each edge to cover ``canvas`` with its product
    box on ``rest_box`` (canvas px), two more for the warp's last sample."""
    x, y, w, _ = geometry.product_box
    scale = rest_box[2] / w
    ww, wh = geometry.size
    x0, y0 = (0 - rest_box[0]) / scale + x, (0 - rest_box[1]) / scale + y
    x1, y1 = x0 + canvas[0] / scale, y0 + canvas[1] / scale

    def past(v: float) -> int:
        return math.ceil(v) + 2 if v > 1e-6 else 0

    return (past(-x0), past(-y0), past(x1 - ww), past(y1 - wh))


def overscan(world: World, pad: Pad, *, front: float) -> World:
    """``world`` with its picture run on by ``pad`` px past its edges (``extend``), so that
    the camera can frame a finished scene with its product higher (or smaller) than the
    scene stood it without showing an edge. Its props, depths and product box move with it;
    the floor's depth runs on at its slope, up to ``front``."""
    left, top, right, bottom = pad
    if world.animation is not None:
        raise ValueError("an animated world is framed before it is animated")
    moved = _mover(pad)
    ratio = world.depth_ratio
    ends = (float(ratio[1] - ratio[0]), float(ratio[-1] - ratio[-2])) if len(ratio) > 1 else (0.0, 0.0)
    above = ratio[0] - ends[0] * np.arange(top, 0, -1, dtype=F32)
    below = ratio[-1] + ends[1] * np.arange(1, bottom + 1, dtype=F32)
    ratios = np.clip(
        np.concatenate([above, ratio, below]), float(ratio.min()), max(front, float(ratio.max()))
    ).astype(F32)
    plate = extend(world.plate, pad)
    effect = world.effect
    if effect is not None:
        effect = dataclasses.replace(effect, to_frame=effect.to_frame.then(Similarity(1.0, left, top)))
    return dataclasses.replace(
        world,
        plate=plate,
        dressed=plate if world.dressed is world.plate else extend(world.dressed, pad),
        effect=effect,
        geometry=_padded(world.geometry, pad),
        depth_ratio=ratios,
        bare=None if world.bare is None else extend(world.bare, pad),
        props=tuple(
            dataclasses.replace(p, origin=(p.origin[0] + left, p.origin[1] + top), body=moved(p.body))
            for p in world.props
        ),
        podium=None
        if world.podium is None
        else dataclasses.replace(
            world.podium,
            origin=(world.podium.origin[0] + left, world.podium.origin[1] + top),
            body=moved(world.podium.body),
        ),
        prop_bodies=tuple((k, r, moved(body)) for k, r, body in world.prop_bodies),
        meta={**world.meta, "overscan": list(pad)},
    )


def overscan_stage(stage: SceneStage, pad: Pad) -> SceneStage:
    """``stage`` as ``overscan`` places its world: geometry and prop bodies moved by ``pad``."""
    moved = _mover(pad)
    return SceneStage(
        geometry=_padded(stage.geometry, pad),
        prop_bodies=tuple((k, r, moved(body)) for k, r, body in stage.prop_bodies),
    )


def _padded(geometry: WorldGeometry, pad: Pad) -> WorldGeometry:
    left, top, right, bottom = pad
    x, y, w, h = geometry.product_box
    return dataclasses.replace(
        geometry,
        size=(geometry.size[0] + left + right, geometry.size[1] + top + bottom),
        product_box=(x + left, y + top, w, h),
        horizon=geometry.horizon + top,
    )


def _mover(pad: Pad) -> Callable[[tuple[float, float, float, float]], tuple[float, float, float, float]]:
    left, top = pad[0], pad[1]

    def moved(body: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        return (body[0] + left, body[1] + top, body[2] + left, body[3] + top)

    return moved


def extend(image: np.ndarray, pad: Pad) -> np.ndarray:
    """``image`` (H, W, C uint8) run on by ``pad`` px past its edges: mirrored at each edge
    (no seam, no streaks of a repeated row), blurred more the further out, so the run-on
    reads as the set going soft out of focus rather than as a copy of it."""
    left, top, right, bottom = pad
    h, w = image.shape[:2]
    mirrored = cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_REFLECT_101)
    reach = max(pad)
    if reach == 0:
        return image
    sigma = max(1.0, OVERSCAN_BLUR * min(h, w))
    ramp = max(OVERSCAN_RAMP * reach, 1.0)
    result = mirrored.copy()
    # only the run-on is blurred and blended (the picture is kept bit for bit): each strip
    # of it is blurred with the kernel's reach of the mirrored image round it, which gives
    # the same bytes there as blurring the whole
    radius = _gaussian_radius(sigma)
    big_h, big_w = mirrored.shape[:2]
    strips = (
        (0, top, 0, big_w),
        (top + h, big_h, 0, big_w),
        (top, top + h, 0, left),
        (top, top + h, left + w, big_w),
    )
    for y0, y1, x0, x1 in strips:
        if y1 <= y0 or x1 <= x0:
            continue
        cy0, cy1 = max(0, y0 - radius), min(big_h, y1 + radius)
        cx0, cx1 = max(0, x0 - radius), min(big_w, x1 + radius)
        soft = _blur_within(mirrored, (cy0, cy1, cx0, cx1), sigma)
        soft = soft[y0 - cy0 : y1 - cy0, x0 - cx0 : x1 - cx0]
        ys = np.arange(y0, y1, dtype=F32) - top
        xs = np.arange(x0, x1, dtype=F32) - left
        dy = np.maximum(np.maximum(-ys, ys - (h - 1)), 0.0)
        dx = np.maximum(np.maximum(-xs, xs - (w - 1)), 0.0)
        weight = np.clip(np.hypot(dy[:, None], dx[None, :]) / ramp, 0.0, 1.0)[..., None]
        blended = mirrored[y0:y1, x0:x1].astype(F32) * (1.0 - weight) + soft.astype(F32) * weight
        result[y0:y1, x0:x1] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
    return result


def _gaussian_radius(sigma: float) -> int:
    """At least half the kernel OpenCV's ``GaussianBlur`` takes for ``sigma`` on 8-bit images."""
    return (round(sigma * 3 * 2 + 1) | 1) // 2 + 2  # two more in case of rounding


def _blur_within(image: np.ndarray, box: tuple[int, int, int, int], sigma: float) -> np.ndarray:
    """``GaussianBlur`` of ``image[y0:y1, x0:x1]`` with the image's own pixels round it
    as far as they go (reflected beyond, as for the whole image)."""
    y0, y1, x0, x1 = box
    return cv2.GaussianBlur(
        np.ascontiguousarray(image[y0:y1, x0:x1]), (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101
    )


def _scene_set(
    seg: Segmentation, scene: RenderedImage, lines: tuple[float, float]
) -> tuple[str, int, Variant, Stage] | None:
    """The studio scene's theme, seed, composition and stage as its engine built them (the
    product where the scene has it, the floor's lines as its layout records them, and
    the podium where it records one), or None when its theme and seed are not known or
    give another composition."""
    theme, seed = scene.meta.get("theme"), scene.meta.get("seed")
    if not isinstance(theme, str) or not isinstance(seed, int):
        return None
    cutout = seg.cutout
    light_side, foot_ratio, tone = product_cues(cutout)
    variant = plan_variant(theme, seed, light_side=light_side, foot_ratio=foot_ratio, product_tone=tone)
    if variant.to_dict() != scene.meta.get("variant"):
        return None
    size = scene.image.size
    stage = stage_for_product(theme, cutout.size, size, fill=0.5, seed=seed, variant=variant)
    stage = dataclasses.replace(
        move_stage(stage, scene.product_box, size), horizon=lines[0], contact=lines[1]
    )
    recorded = (scene.meta.get("layout") or {}).get("podium")
    if recorded and stage.podium is not None:
        stage = dataclasses.replace(stage, podium=PodiumGeometry.from_dict(recorded))
    return theme, seed, variant, stage


def _surface_under(scene: RenderedImage) -> bool:
    """Whether a finished scene is a flat-lay whose surface ``scene_world`` builds again
    whole under the product (a studio scene's, ``_flat_surface``), which can then move
    unlike the product (``WorldGeometry.flat``). A flat-lay from another engine has only
    the picture's fill where the product lay: it moves with the product."""
    meta = scene.meta
    return meta.get("engine") == "studio" and (meta.get("variant") or {}).get("view") == "flat"


def _flat_surface(
    seg: Segmentation, scene: RenderedImage, picture: np.ndarray, hole: np.ndarray
) -> tuple[np.ndarray, np.ndarray, Effect | None] | None:
    """A flat-lay studio scene's surface built again without the product (H, W, 3 float),
    where the product and its shadows lay on it (H, W bool: ``hole`` and, within a fifth
    of the product's size of it, wherever the picture is darker than the surface), and the
    product's shadows built again as an effect that moves with it (the picture's are
    taken out with the product); or None for any other scene, or one whose surface built
    again does not match the picture away from the product (a brand colour its metadata
    does not carry)."""
    meta = scene.meta
    v = meta.get("variant") or {}
    theme, seed = meta.get("theme"), meta.get("seed")
    if meta.get("engine") != "studio" or v.get("view") != "flat":
        return None
    if not isinstance(theme, str) or not isinstance(seed, int):
        return None
    variant = Variant.from_dict(v)
    size = (picture.shape[1], picture.shape[0])
    placed = compose.place_product(seg.cutout, size, scene.product_box)
    shadowed, empty = render_flat_set_pair(theme, placed, seed=seed, variant=variant)
    # as the picture holds it: a white sweep's surface is built a little over 255
    rebuilt = np.clip(empty, 0.0, 255.0)
    _, _, w, h = scene.product_box
    reach = max(3, round(0.2 * max(w, h)))
    near = cv2.dilate(hole.astype(np.uint8), np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)) > 0
    if not _matches(rebuilt, picture.astype(F32), ~near):
        return None
    darker = (rebuilt - picture.astype(F32)).max(axis=2) > 1.5
    effect = _effect_from(shadowed, empty, _alpha_on_canvas(seg, size, scene.product_box))
    return rebuilt, hole | (near & darker), effect


def _standing_shadows(
    seg: Segmentation,
    scene: RenderedImage,
    picture: np.ndarray,
    hole: np.ndarray,
    lines: tuple[float, float],
    standing: list[PropPlacement],
    left_out: tuple[int, ...],
) -> tuple[np.ndarray, np.ndarray, Effect] | None:
    """A standing product's studio scene built again without the product's shadows and
    reflection (H, W, 3 float; with the props ``standing`` only, those ``left_out`` gone),
    where they lay (H, W bool: ``hole`` and wherever they change the set), and them as an
    effect that moves with the product (``studio_world``'s, from the same set); or None
    when it cannot be built again or does not match the picture away from them."""
    if scene.meta.get("engine") != "studio" or not scene.meta.get("layout"):
        return None
    found = _scene_set(seg, scene, lines)
    if found is None:
        return None
    theme, seed, variant, stage = found
    size = (picture.shape[1], picture.shape[0])
    placed = compose.place_product(seg.cutout, size, scene.product_box)
    kept = dataclasses.replace(variant, props=tuple(p.index for p in standing))
    shadowed, empty = render_set_pair(theme, placed, stage=stage, seed=seed, variant=kept)
    effect = _effect_from(shadowed, empty, _alpha_on_canvas(seg, size, scene.product_box))
    if effect is None:
        return None
    gap = np.abs(shadowed - empty).max(axis=2) > 0.25
    lay = hole | (cv2.dilate(gap.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)
    # compared away from the product's shadows and from the props left out
    away = ~lay
    if left_out:
        placed_props = (PropPlacement.from_dict(d, size) for d in scene.meta["layout"]["props"])
        away &= ~_prop_footprint([p for p in placed_props if p.index in left_out], size)
    rebuilt = np.clip(empty, 0.0, 255.0)
    if not _matches(rebuilt, picture.astype(F32), away):
        return None
    return rebuilt, lay, effect


def _grounding_effect(seg: Segmentation, scene: RenderedImage) -> Effect | None:
    """A standing product's contact shadow and occlusion at its foot as on a poster
    (``sets.neutral_standing_shadow`` without its floor shadow: the picture has painted
    its own), in the scene's pixels, for a scene whose set cannot be built again."""
    placed = compose.place_product(seg.cutout, scene.image.size, scene.product_box)
    shadow = neutral_standing_shadow(
        placed, strength=END_CARD_SHADOW_STRENGTH, light_side=estimate_light_side(seg.cutout), cast=False
    )
    darkened = shadow_factor([shadow] if shadow is not None else [])
    if darkened is None:
        return None
    factor, origin = darkened
    # on the picture only (drawn round the product, the occlusion can reach past its edge)
    on_canvas, of_factor = _overlap(factor.shape, origin, scene.image.size)
    if factor[of_factor].size == 0:
        return None
    return Effect(
        ratio=np.ascontiguousarray(factor[of_factor]), origin=(on_canvas[1].start, on_canvas[0].start)
    )


def _matches(rebuilt: np.ndarray, picture: np.ndarray, ring: np.ndarray) -> bool:
    """Whether a set built again matches the scene's picture on ``ring`` (H, W bool)."""
    return bool(ring.any()) and float(np.abs(rebuilt[ring] - picture[ring]).mean()) <= REBUILT_MATCH


def _set_without_props(
    seg: Segmentation,
    scene: RenderedImage,
    kept: tuple[int, ...],
    mask: np.ndarray,
    lines: tuple[float, float],
) -> np.ndarray | None:
    """The studio scene's set built again from its theme and seed with the product where
    the scene has it and only the props ``kept`` (H, W, 3 float), or None when it cannot
    be (no theme or seed, another composition) or does not match the picture in a ring
    round ``mask`` (a brand colour the scene's metadata does not carry)."""
    found = _scene_set(seg, scene, lines)
    if found is None:
        return None
    theme, seed, variant, stage = found
    size = scene.image.size
    placed = compose.place_product(seg.cutout, size, scene.product_box)
    without = dataclasses.replace(variant, props=tuple(k for k in variant.props if k in kept))
    rebuilt = render_set(theme, placed, stage=stage, seed=seed, variant=without).astype(F32)
    ring = cv2.dilate(mask.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool) & ~mask
    ring &= _alpha_on_canvas(seg, size, scene.product_box) == 0
    picture = np.asarray(scene.image.convert("RGB"), dtype=F32)
    return rebuilt if _matches(rebuilt, picture, ring) else None


def _set_without_podium(
    seg: Segmentation,
    scene: RenderedImage,
    pod: PodiumGeometry,
    standing: list[PropPlacement],
    mask: np.ndarray,
    lines: tuple[float, float],
) -> tuple[np.ndarray, tuple[np.ndarray, tuple[int, int]] | None] | None:
    """The studio scene's set built again without its podium (and its shadows) or the
    product, with the props ``standing`` (H, W, 3 float), and what the podium's shadows
    multiply the set by (``shadow_factor``); or None when it cannot be built or does not
    match the picture in a ring round ``mask`` (where the podium stood; where its shadows
    fall left out)."""
    found = _scene_set(seg, scene, lines)
    if found is None:
        return None
    theme, seed, variant, stage = found
    stage = dataclasses.replace(stage, podium=pod)
    size = scene.image.size
    nothing = _nothing_at(scene.product_box, size)
    kept = dataclasses.replace(variant, props=tuple(p.index for p in standing))
    rebuilt = render_set(theme, nothing, stage=stage, seed=seed, variant=kept, podium=False).astype(F32)
    shade = shadow_factor(piece_shadows(theme, stage, [], size, seed=seed, variant=variant)[0])
    ring = cv2.dilate(mask.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool) & ~mask
    ring &= _alpha_on_canvas(seg, size, scene.product_box) == 0
    if shade is not None:
        on_canvas, of_shade = _overlap(shade[0].shape, shade[1], size)
        ring[on_canvas] &= shade[0][of_shade].min(axis=2) >= 0.99
    picture = np.asarray(scene.image.convert("RGB"), dtype=F32)
    return (rebuilt, shade) if _matches(rebuilt, picture, ring) else None


def _shadowed_by(
    rebuilt: np.ndarray, picture: np.ndarray, mask: np.ndarray, product: np.ndarray
) -> np.ndarray:
    """(H, W) bool: ``mask`` (where props stood) and, near it, wherever the picture differs
    from the set built again without them (their cast shadows, which reach past the foot),
    never on the product (``product``)."""
    h = int(mask.any(axis=1).sum())
    k = max(3, h)
    out = mask.copy()
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return out
    # nothing beyond the kernel's reach of the mask can be marked: only that box is
    # compared (a margin past it, so the 3 px dilation sees what it would in the whole)
    y0, y1 = max(int(rows[0]) - k - 2, 0), min(int(rows[-1]) + k + 3, mask.shape[0])
    x0, x1 = max(int(cols[0]) - k - 2, 0), min(int(cols[-1]) + k + 3, mask.shape[1])
    box = (slice(y0, y1), slice(x0, x1))
    reach = cv2.dilate(mask[box].astype(np.uint8), np.ones((k, k), np.uint8)).astype(bool)
    differs = np.abs(rebuilt[box] - picture[box].astype(F32)).max(axis=2) > 1.0
    differs = cv2.dilate(differs.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    out[box] |= differs & reach & ~product[box]
    return out


def _with_grain(values: np.ndarray, mask: np.ndarray, seed: int) -> np.ndarray:
    """``values`` (H, W, 3 float) with grain added where ``mask`` is set, as strong as the
    fine grain round it (a filled area is smooth and would show as a patch)."""
    ring = cv2.dilate(mask.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool) & ~mask
    if not ring.any():
        return values
    fine = values - cv2.GaussianBlur(values, (0, 0), 1.5)
    # the high-pass keeps about 0.8 of white grain's deviation
    sigma = float(fine[ring].std()) / 0.8
    rng = np.random.default_rng([seed % 2**32, 0x6A])
    noise = rng.normal(0.0, sigma, values.shape[:2]).astype(F32)[..., None]
    return np.where(mask[..., None], values + noise, values)


def _prop_footprint(props: list[PropPlacement], size: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: where ``props`` cover the picture (a pixel beyond), and the floor
    under each one's foot that its contact shadow darkens."""
    w, h = size
    covered = _covered(props, size)
    mask = cv2.dilate((covered > 0.01).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    for p in props:
        x0, x1 = max(int(p.cx - 0.65 * p.width), 0), min(int(p.cx + 0.65 * p.width) + 1, w)
        y0, y1 = max(int(p.base - 0.06 * p.height), 0), min(int(p.base + 0.14 * p.height) + 2, h)
        mask[y0:y1, x0:x1] = True
    return mask


def _overlap(
    shape: tuple[int, ...], origin: tuple[int, int], size: tuple[int, int]
) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
    """Where a tile of ``shape`` (rows, columns) placed at ``origin`` (x, y) overlaps a
    ``size`` (w, h) canvas: the canvas's rows and columns, then the tile's (empty slices
    when they do not overlap)."""
    w, h = size
    ox, oy = origin
    th, tw = shape[:2]
    x0, y0, x1, y1 = max(ox, 0), max(oy, 0), min(ox + tw, w), min(oy + th, h)
    x1, y1 = max(x1, x0), max(y1, y0)
    return (slice(y0, y1), slice(x0, x1)), (slice(y0 - oy, y1 - oy), slice(x0 - ox, x1 - ox))


def _covered(props: list[PropPlacement], size: tuple[int, int]) -> np.ndarray:
    """(H, W) float32: the most any of ``props`` covers each pixel of a ``size`` canvas."""
    covered = np.zeros((size[1], size[0]), dtype=F32)
    for p in props:
        on_canvas, of_cover = _overlap(p.cover.shape, p.origin, size)
        region = covered[on_canvas]
        np.maximum(region, p.cover[of_cover], out=region)
    return covered


def _depth_at(ratios: np.ndarray, base: float) -> float:
    """The depth ratio of the floor row a foot at ``base`` stands on."""
    return float(ratios[min(max(round(base) - 1, 0), len(ratios) - 1)])


def _cut_out(plate: np.ndarray, prop: PropPlacement, ratios: np.ndarray) -> PropLayer:
    """``prop`` cut out of the picture ``plate`` by its coverage: premultiplied RGBA at the
    depth of its foot."""
    h, w = plate.shape[:2]
    on_canvas, of_cover = _overlap(prop.cover.shape, prop.origin, (w, h))
    a = prop.cover[of_cover][..., None]
    rgb = plate[on_canvas][..., :3].astype(F32) * a
    pixels = np.clip(np.concatenate([rgb, a * 255.0], axis=2) + 0.5, 0, 255).astype(np.uint8)
    return PropLayer(
        pixels, (on_canvas[1].start, on_canvas[0].start), _depth_at(ratios, prop.base), prop.body
    )


def fill_holes(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Fill where ``known`` is 0 from the known pixels around (pull-push pyramid).

    Smooth, O(pixels), and exact where ``known`` is 1; ``values`` is (h, w) or (h, w, c).
    """
    values = values.astype(F32)
    known = known.astype(F32)
    h, w = known.shape
    if known.min() >= 1.0:
        return values
    if min(h, w) <= 2 or known.max() <= 0:
        total = known.sum()
        mean = (values * (known[..., None] if values.ndim == 3 else known)).sum(axis=(0, 1)) / max(
            total, 1e-6
        )
        return values * _expand(known, values) + mean * (1 - _expand(known, values))
    half = ((w + 1) // 2, (h + 1) // 2)
    weighted = cv2.resize(values * _expand(known, values), half, interpolation=cv2.INTER_AREA)
    weight = cv2.resize(known, half, interpolation=cv2.INTER_AREA)
    coarse = weighted / np.maximum(_expand(weight, weighted), 1e-6)
    coarse = fill_holes(coarse, np.minimum(weight * 4.0, 1.0))
    up = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR)
    k = _expand(known, values)
    return values * k + up * (1 - k)


def _expand(mask: np.ndarray, like: np.ndarray) -> np.ndarray:
    return mask[..., None] if like.ndim == 3 else mask


# ---------------------------------------------------------------------------
# The end card


# how dark the product's shadows on the end card are (a theme's contact shadow strength:
# between a poster's on white and on the brand colour, ``posters.backgrounds.SHADOW_STRENGTH``)
END_CARD_SHADOW_STRENGTH = 0.5


def end_card_world(
    canvas: tuple[int, int],
    *,
    colors: tuple[tuple[int, int, int], tuple[int, int, int]],
    product_rgba: np.ndarray,
    rest_box: tuple[float, float, float, float],
    seed: int,
    flat: bool = False,
    light_side: float | None = None,
) -> World:
    """A quiet gradient card with a soft glow, and the product's shadows following it.

    ``product_rgba`` is the product master; its shadows are computed once in the master's
    own pixels and mapped onto the product's rest box (``Effect.to_frame``), and darken
    the card as they darken a poster's brand colour or white. A standing product is
    grounded as on a poster (``sets.neutral_standing_shadow``: a contact shadow tight and
    dark at its foot, the occlusion round it and a faint floor shadow cast away from the
    light); a flat-lay (``flat``: seen from above, as its sets show it) lies in its own
    shadow round its whole silhouette (``sets.neutral_lying_shadow``). ``light_side``: +1
    the light on the product comes from the left, -1 the right, None straight ahead.
    """
    cw, ch = canvas
    top, bottom = (np.array(c, dtype=F32) for c in colors)
    ys = ((np.arange(ch, dtype=F32) + 0.5) / ch)[:, None, None]
    xs = ((np.arange(cw, dtype=F32) + 0.5) / cw)[None, :, None]
    plate = top * (1 - ys) + bottom * ys
    # a soft pool of light behind where the product settles
    glow = np.exp(-(((xs - 0.5) / 0.55) ** 2 + ((ys - 0.4) / 0.4) ** 2))
    plate = plate * (1.0 + 0.06 * glow)
    # fine static grain: smooth gradients band badly in 8-bit H.264 without it
    rng = np.random.default_rng([seed % 2**32, 0xEC])
    plate = plate + rng.normal(0.0, 1.1, (ch, cw, 1)).astype(F32)
    plate_u8 = rgba(np.clip(plate + 0.5, 0, 255).astype(np.uint8))

    # the product's shadows, in master pixels with a margin round it
    mh, mw = product_rgba.shape[:2]
    shadow: Shadow | None
    if flat:
        pad = max(8, int(0.25 * mh))
        alpha = product_rgba[..., 3].astype(F32) / 255.0
        density, pad = neutral_lying_shadow(
            alpha, float(max(mw, mh)), strength=END_CARD_SHADOW_STRENGTH, light_side=light_side, margin=pad
        )
        shadow = (density, (0, 0))
    else:
        # room for the floor shadow cast sideways (up to 0.45 of the product's height)
        # and the occlusion below its foot (0.22)
        pad = max(8, int(0.5 * mh))
        layer = Image.fromarray(product_rgba, "RGBA")
        placed = PlacedProduct(layer=layer, box=(pad, pad, mw, mh), canvas_size=(mw + 2 * pad, mh + 2 * pad))
        shadow = neutral_standing_shadow(placed, strength=END_CARD_SHADOW_STRENGTH, light_side=light_side)
    darkened = shadow_factor([shadow] if shadow is not None else [])
    s = rest_box[2] / mw
    to_frame = Similarity(s, rest_box[0] - s * pad, rest_box[1] - s * pad)
    effect = None
    if darkened is not None:
        factor, origin = darkened
        effect = _effect4(Effect(ratio=factor, origin=origin, to_frame=to_frame))
    geometry = WorldGeometry(size=canvas, product_box=rest_box, horizon=0.0)
    return World(
        name="end-card",
        source="end_card",
        plate=plate_u8,
        dressed=plate_u8,
        effect=effect,
        geometry=geometry,
        depth_ratio=np.ones(ch, dtype=F32),
    )


# ---------------------------------------------------------------------------
# Depth from a model (optional)


def estimated_depth_ratios(
    world: World, config: GenerationConfig, *, wall: float, front: float
) -> np.ndarray | None:
    """Per-row parallax speeds from the configured depth estimator (controlnet-aux).

    None when ``config.depth_estimator`` is unset or controlnet-aux cannot be imported
    here: the ground-plane model of ``depth_ratios`` is then used.
    """
    if not config.depth_estimator:
        return None
    from generation.models import import_controlnet_aux, load_depth_estimator

    if import_controlnet_aux() is None:
        return None
    detector = load_depth_estimator(config.depth_estimator, config)
    picture = detector(Image.fromarray(np.ascontiguousarray(world.plate[..., :3]), "RGB"))
    disparity = np.asarray(picture.convert("L").resize(world.size, Image.Resampling.BILINEAR), dtype=F32)
    _, y, _, h = world.geometry.product_box
    return depth_ratios_from_disparity(disparity, y + h, wall=wall, front=front)


def depth_ratios_from_disparity(
    disparity: np.ndarray, contact: float, *, wall: float, front: float
) -> np.ndarray:
    """Per-row parallax speeds from a disparity map (near = large, as depth annotators
    draw it): each row's median disparity relative to the product's floor contact row,
    kept within ``wall..front`` and never decreasing down the frame (a floor comes nearer)."""
    rows = np.median(disparity.astype(F32), axis=1)
    k = int(min(max(round(contact) - 1, 0), rows.shape[0] - 1))
    ratio = rows / max(float(rows[k]), 1e-3)
    ratio = np.maximum.accumulate(np.clip(ratio, wall, front))
    return ratio.astype(F32)
