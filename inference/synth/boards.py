"""Synthetic whole boards: a PCB top view with components, joints, defects and recipe.

`render_board(seed, config)` draws one board in *board coordinates* (the recipe's
frame), then warps it with its own camera homography (shift, rotation, scale, a
little perspective) and randomises the photometry. It returns the image, the
`Recipe` (ideal board coordinates), the 3x3 homography board -> image and the
ground truth per joint (box in image coordinates, label, defect type, severity)
plus a defect-id mask in image coordinates.

Metal (pads, solder, leads, pins) is modelled as a height map and shaded with one
lighting model per style, so fillets, domes and bridges share one look:

- ``color``: colour camera, diffuse light from the top-left plus specular highlights;
- ``gray``: grayscale AOI, coaxial plus ring light (flat metal bright, slopes dark);
- ``rgb``: tiered RGB ring light of colour AOI (flat red, medium green, steep blue).

`generate_board_dataset` writes ``boards/``, ``recipes/``, ``truth/`` and a manifest.
Same seed, same bytes.
"""

from __future__ import annotations

import logging
import math
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from scipy import ndimage

from inference.synth.board_parts import PACKAGE_WEIGHTS, PACKAGES, Package, PadSpec
from inference.synth.recipe import (
    Fiducial,
    Recipe,
    RecipeJoint,
    dumps_rows,
    project_box,
    project_points,
)
from inference.types import DefectCode

log = logging.getLogger(__name__)

BOARD_STYLES: tuple[str, ...] = ("color", "gray", "rgb")
SIZE_PRESETS: dict[str, tuple[int, int]] = {
    "small": (800, 600),
    "demo": (2000, 1500),
    "default": (3000, 2200),
    "large": (4000, 3000),
}
BOARD_DEFECTS: tuple[str, ...] = (
    DefectCode.INSUFFICIENT_SOLDER,
    DefectCode.EXCESS_SOLDER,
    DefectCode.BRIDGE,
    DefectCode.SOLDER_BALL,
    DefectCode.MISSING_COMPONENT,
    DefectCode.TOMBSTONE,
    DefectCode.SHIFTED_COMPONENT,
    DefectCode.LIFTED_LEAD,
    DefectCode.COLD_JOINT,
)

# Materials of the metal height map.
_NONE, _PAD, _SOLDER, _LEAD, _HOLE = 0, 1, 2, 3, 4

# Solder-mask colours (BGR) and the lighter tint of copper under the mask.
_PALETTES: list[tuple[float, tuple[int, int, int], tuple[int, int, int]]] = [
    (0.50, (62, 138, 24), (80, 165, 46)),  # green
    (0.15, (40, 88, 22), (58, 112, 36)),  # dark green
    (0.13, (125, 62, 12), (150, 88, 32)),  # blue
    (0.12, (26, 26, 28), (40, 42, 42)),  # black
    (0.10, (30, 32, 150), (48, 54, 176)),  # red
]
_ALBEDO_SOLDER = np.array([200.0, 203.0, 206.0], np.float32)
_ALBEDO_LEAD = np.array([182.0, 184.0, 188.0], np.float32)
_ALBEDO_HASL = np.array([150.0, 153.0, 157.0], np.float32)
_ALBEDO_ENIG = np.array([88.0, 168.0, 214.0], np.float32)


@dataclass(frozen=True)
class BoardConfig:
    """What to draw. Sizes in pixels of the board image; `px_per_mm` sets the scale."""

    width: int = 3000
    height: int = 2200
    px_per_mm: float = 40.0
    n_components: int | None = None  # None: from the board area
    defect_rate: float = 0.12  # fraction of joints with a defect (roughly)
    style: str = "mixed"  # one of BOARD_STYLES or "mixed"
    transform: bool = True  # camera homography (shift, rotation, scale, perspective)
    photometric: bool = True  # gain, gamma, white balance, vignetting, noise, blur
    package_weights: dict[str, float] | None = None  # None: PACKAGE_WEIGHTS


@dataclass
class JointTruth:
    """Ground truth of one joint: recipe identity, boxes, label and defect."""

    index: int
    refdes: str
    pin: str
    type: str
    package: str
    box_board: tuple[float, float, float, float]
    box: tuple[float, float, float, float]  # image coordinates
    label: int = 0
    defect_type: str = ""
    severity: float = 0.0
    defect_id: int = 0  # value in the defect-id mask; 0 = none

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {
            "index": self.index,
            "refdes": self.refdes,
            "pin": self.pin,
            "type": self.type,
            "package": self.package,
            "box": [round(v, 1) for v in self.box],
            "box_board": [round(v, 1) for v in self.box_board],
            "label": self.label,
            "defect_type": self.defect_type,
            "severity": round(self.severity, 3),
            "defect_id": self.defect_id,
        }


@dataclass
class BoardSample:
    """One rendered board with its recipe and ground truth."""

    image: np.ndarray  # HxWx3 BGR uint8, or HxW for the gray style
    recipe: Recipe
    homography: np.ndarray  # 3x3, recipe (board) coordinates -> image coordinates
    joints: list[JointTruth]
    defects: list[dict[str, Any]]  # id, type, severity, joints, bbox (image coords)
    defect_ids: np.ndarray  # int32 image-coordinate mask of defect ids (0 = none)
    solder_ids: np.ndarray  # int32 board-coordinate map: joint index + 1 on its solder
    style: str
    seed: int
    meta: dict[str, Any] = field(default_factory=dict)

    def truth_dict(self) -> dict[str, Any]:
        """Ground truth as a JSON-ready dictionary (no file paths)."""
        fid = project_points(
            [[f.x, f.y] for f in self.recipe.fiducials], self.homography
        )
        return {
            "seed": self.seed,
            "style": self.style,
            "product": self.recipe.product,
            "image_size": [int(self.image.shape[1]), int(self.image.shape[0])],
            "homography": [[float(v) for v in row] for row in self.homography],
            "fiducials": [
                {"id": f.id, "x": round(float(p[0]), 2), "y": round(float(p[1]), 2)}
                for f, p in zip(self.recipe.fiducials, fid, strict=True)
            ],
            "n_joints": len(self.joints),
            "n_defective": sum(j.label for j in self.joints),
            "defects": self.defects,
            "joints": [j.to_dict() for j in self.joints],
            **self.meta,
        }


# ---------------------------------------------------------------------------
# Placement


@dataclass
class _Part:
    refdes: str
    pkg: Package
    cx: float
    cy: float
    k: int  # rotation in quarter turns
    ppm: float
    defect: str = ""  # component-level defect
    shift: tuple[float, float] = (0.0, 0.0)  # mm, component frame
    severity: float = 0.0
    tomb_end: int = 0

    def pt(self, x: float, y: float) -> tuple[float, float]:
        for _ in range(self.k % 4):
            x, y = -y, x
        return self.cx + x * self.ppm, self.cy + y * self.ppm

    def rect(
        self, r: tuple[float, float, float, float]
    ) -> tuple[float, float, float, float]:
        ax, ay = self.pt(r[0], r[1])
        bx, by = self.pt(r[2], r[3])
        return min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)

    def vec(self, d: tuple[float, float]) -> tuple[float, float]:
        x, y = d
        for _ in range(self.k % 4):
            x, y = -y, x
        return x, y

    def shifted(self, r: tuple[float, float, float, float]) -> tuple[float, ...]:
        dx, dy = self.shift
        return (r[0] + dx, r[1] + dy, r[2] + dx, r[3] + dy)


def _pick_style(rng: np.random.Generator, style: str) -> str:
    if style == "mixed":
        return str(rng.choice(BOARD_STYLES, p=[0.5, 0.3, 0.2]))
    if style not in BOARD_STYLES:
        msg = f"unknown board style {style!r}; choose one of {(*BOARD_STYLES, 'mixed')}"
        raise ValueError(msg)
    return style


def _place_parts(
    rng: np.random.Generator, cfg: BoardConfig, keepout: list[tuple[float, ...]]
) -> tuple[list[_Part], np.ndarray, float]:
    """Place components without overlap (occupancy grid, rejection sampling).

    Returns the parts, the occupancy grid (parts, labels, margins) and its cell size.
    """
    ppm = cfg.px_per_mm
    w, h = cfg.width, cfg.height
    cell = max(2.0, ppm * 0.25)
    gw, gh = math.ceil(w / cell), math.ceil(h / cell)
    occ = np.zeros((gh, gw), bool)
    border = math.ceil(1.2 * ppm / cell)
    occ[:border], occ[-border:], occ[:, :border], occ[:, -border:] = (
        True,
        True,
        True,
        True,
    )
    for x0, y0, x1, y1 in keepout:
        occ[
            int(y0 / cell) : math.ceil(y1 / cell), int(x0 / cell) : math.ceil(x1 / cell)
        ] = True
    weights = cfg.package_weights or PACKAGE_WEIGHTS
    names = [n for n in weights if n in PACKAGES]
    p = np.array([weights[n] for n in names], float)
    p /= p.sum()
    area_mm2 = (w / ppm) * (h / ppm)
    target = (
        cfg.n_components
        if cfg.n_components is not None
        else max(3, round(area_mm2 / 42))
    )
    parts: list[_Part] = []
    failures = 0
    margin = 0.45 * ppm
    label_h = 1.15 * ppm
    label_w = 3.0 * ppm  # room for a four-character refdes
    while len(parts) < target and failures < 12 * target + 40:
        pkg = PACKAGES[names[int(rng.choice(len(names), p=p))]]
        k = (
            int(rng.integers(4))
            if pkg.family not in ("chip_r",)
            else int(rng.integers(2))
        )
        ex = pkg.extent
        ok = False
        for _ in range(25):
            cx = float(rng.uniform(0, w))
            cy = float(rng.uniform(0, h))
            part = _Part("", pkg, cx, cy, k, ppm)
            x0, y0, x1, y1 = part.rect(ex)
            x0, y0, x1, y1 = (
                x0 - margin,
                y0 - margin - label_h,
                max(x1 + margin, x0 - margin + label_w),
                y1 + margin,
            )
            gx0, gy0 = int(x0 // cell), int(y0 // cell)
            gx1, gy1 = math.ceil(x1 / cell), math.ceil(y1 / cell)
            if gx0 < 0 or gy0 < 0 or gx1 > gw or gy1 > gh:
                continue
            if occ[gy0:gy1, gx0:gx1].any():
                continue
            occ[gy0:gy1, gx0:gx1] = True
            parts.append(part)
            ok = True
            break
        if not ok:
            failures += 1
    # Refdes by reading order, per prefix.
    parts.sort(key=lambda q: (round(q.cy / (8 * ppm)), q.cx))
    counters: dict[str, int] = {}
    for q in parts:
        counters[q.pkg.prefix] = counters.get(q.pkg.prefix, 0) + 1
        q.refdes = f"{q.pkg.prefix}{counters[q.pkg.prefix]}"
    return parts, occ, cell


# ---------------------------------------------------------------------------
# Metal height map


class _Metal:
    """Board-wide height map (px), material and gloss, plus id maps."""

    def __init__(self, w: int, h: int) -> None:
        self.h = np.zeros((h, w), np.float32)
        self.mat = np.zeros((h, w), np.uint8)
        self.gloss = np.full((h, w), 255, np.uint8)
        self.solder_ids = np.zeros((h, w), np.uint16)
        self.defect_ids = np.zeros((h, w), np.uint16)
        self.shape = (h, w)

    def window(self, rect: tuple[float, ...], pad: float) -> tuple[int, int, int, int]:
        x0 = max(0, math.floor(rect[0] - pad))
        y0 = max(0, math.floor(rect[1] - pad))
        x1 = min(self.shape[1], math.ceil(rect[2] + pad))
        y1 = min(self.shape[0], math.ceil(rect[3] + pad))
        return x0, y0, x1, y1

    def put(
        self,
        win: tuple[int, int, int, int],
        hh: np.ndarray,
        mat: int | np.ndarray,
        where: np.ndarray,
        joint: int = -1,
        gloss: int = 255,
    ) -> None:
        """Write heights where `where` and higher than what is there (holes always)."""
        x0, y0, x1, y1 = win
        sh = self.h[y0:y1, x0:x1]
        sm = self.mat[y0:y1, x0:x1]
        m = where & ((hh >= sh) | (sm == _NONE))
        if isinstance(mat, np.ndarray):
            m &= mat != _NONE
            sm[m] = mat[m]
        else:
            sm[m] = mat
        sh[m] = hh[m]
        self.gloss[y0:y1, x0:x1][m] = gloss
        if joint >= 0:
            ids = self.solder_ids[y0:y1, x0:x1]
            ids[m & (sm == _SOLDER)] = joint + 1

    def hole(self, win: tuple[int, int, int, int], where: np.ndarray) -> None:
        x0, y0, x1, y1 = win
        self.mat[y0:y1, x0:x1][where] = _HOLE
        self.h[y0:y1, x0:x1][where] = 0.0
        self.solder_ids[y0:y1, x0:x1][where] = 0

    def mark(
        self, win: tuple[int, int, int, int], where: np.ndarray, defect_id: int
    ) -> None:
        x0, y0, x1, y1 = win
        self.defect_ids[y0:y1, x0:x1][where] = defect_id


def _rect_mask(win: tuple[int, int, int, int], rect: tuple[float, ...]) -> np.ndarray:
    x0, y0, x1, y1 = win
    m = np.zeros((y1 - y0, x1 - x0), bool)
    a = max(0, round(rect[0]) - x0)
    b = max(0, round(rect[1]) - y0)
    c = min(x1 - x0, round(rect[2]) - x0)
    d = min(y1 - y0, round(rect[3]) - y0)
    if c > a and d > b:
        m[b:d, a:c] = True
    return m


def _circle_mask(
    win: tuple[int, int, int, int], cx: float, cy: float, r: float
) -> np.ndarray:
    x0, y0, x1, y1 = win
    yy, xx = np.mgrid[y0:y1, x0:x1]
    # Pixel centres at integer coordinates, as in OpenCV (warps, Hough).
    return (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r


def _dist_outside(mask: np.ndarray) -> np.ndarray:
    """Distance (px) of each pixel to the nearest pixel of `mask`."""
    if not mask.any():
        return np.full(mask.shape, 1e6, np.float32)
    return cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 5)


def _dome(mask: np.ndarray, height: float, r: float) -> np.ndarray:
    """A flat-topped dome over `mask` with round edges of radius `r` (px)."""
    inner = cv2.distanceTransform(np.pad(mask.astype(np.uint8), 1), cv2.DIST_L2, 5)[
        1:-1, 1:-1
    ]
    t = np.clip(inner / max(r, 1e-3), 0.0, 1.0)
    return (height * np.sqrt(1.0 - (1.0 - t) ** 2)).astype(np.float32)


def _fillet(
    target: np.ndarray, height: float, reach: float, power: float
) -> np.ndarray:
    """Concave fillet falling from `height` at the target to 0 at distance `reach`."""
    d = _dist_outside(target)
    t = np.clip(1.0 - d / max(reach, 1e-3), 0.0, 1.0)
    return (height * t**power).astype(np.float32)


# ---------------------------------------------------------------------------
# Rendering of one board


@dataclass
class _Ctx:
    rng: np.random.Generator
    cfg: BoardConfig
    metal: _Metal
    defects: list[dict[str, Any]] = field(default_factory=list)
    truth: list[JointTruth] = field(default_factory=list)
    joint_defect: dict[int, tuple[str, float, int]] = field(default_factory=dict)

    @property
    def ppm(self) -> float:
        return self.cfg.px_per_mm

    def new_defect(self, kind: str, severity: float, joints: list[int]) -> int:
        did = len(self.defects) + 1
        self.defects.append(
            {
                "id": did,
                "type": str(kind),
                "severity": round(float(severity), 3),
                "joints": joints,
            }
        )
        for j in joints:
            self.joint_defect[j] = (str(kind), float(severity), did)
        return did


def _joint_rects(
    part: _Part, spec: PadSpec
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(pad rect, joint box) in board px."""
    pad = part.rect(spec.pad)
    box = pad
    if spec.kind == "gull" and spec.target is not None:
        foot = part.rect(spec.target)
        box = (
            min(pad[0], foot[0]),
            min(pad[1], foot[1]),
            max(pad[2], foot[2]),
            max(pad[3], foot[3]),
        )
    m = 0.08 * part.ppm
    return pad, (box[0] - m, box[1] - m, box[2] + m, box[3] + m)


def _render_pad(ctx: _Ctx, part: _Part, spec: PadSpec, pad: tuple[float, ...]) -> None:
    win = ctx.metal.window(pad, 2)
    coat = 0.02 * ctx.ppm
    if spec.kind == "tht" and spec.round_pad:
        cx, cy = (pad[0] + pad[2]) / 2, (pad[1] + pad[3]) / 2
        where = _circle_mask(win, cx, cy, (pad[2] - pad[0]) / 2)
    else:
        where = _rect_mask(win, pad)
    # Bare pads are matte next to reflowed solder.
    ctx.metal.put(win, np.full(where.shape, coat, np.float32), _PAD, where, gloss=100)


def _render_joint(
    ctx: _Ctx, part: _Part, spec: PadSpec, index: int, defect: str, sev: float, did: int
) -> None:
    """Draw one joint (solder, lead or pin) and its defect mask."""
    ppm, rng, metal = ctx.ppm, ctx.rng, ctx.metal
    pad = part.rect(spec.pad)
    win = metal.window(pad, 0.6 * ppm)
    pad_m = _rect_mask(win, pad)
    if spec.kind == "tht":
        _render_tht(ctx, part, spec, index, defect, sev, did, pad, win)
        return
    body_h = part.pkg.height * ppm
    target_r = part.rect(part.shifted(spec.target))
    gloss = 255
    hh: np.ndarray
    if spec.kind == "gull":
        assert spec.lead is not None
        lead_r = part.rect(part.shifted(spec.lead))
        foot_m = _rect_mask(win, target_r)
        lead_m = _rect_mask(win, lead_r)
        lead_t = 0.15 * ppm
        ox, oy = part.vec(spec.out)
        # Lead height: knee falls from body height/2 at the body edge to the foot.
        xx = np.arange(win[0], win[2], dtype=np.float32)[None, :] + 0.5
        yy = np.arange(win[1], win[3], dtype=np.float32)[:, None] + 0.5
        if ox:
            s = (xx - (lead_r[0] if ox > 0 else lead_r[2])) * ox
            foot_s = (target_r[0] - lead_r[0]) if ox > 0 else (lead_r[2] - target_r[2])
        else:
            s = (yy - (lead_r[1] if oy > 0 else lead_r[3])) * oy
            foot_s = (target_r[1] - lead_r[1]) if oy > 0 else (lead_r[3] - target_r[3])
        s = np.broadcast_to(s, lead_m.shape)
        knee = 0.45 * body_h
        lift = 0.0
        if defect == DefectCode.LIFTED_LEAD:
            lift = (0.12 + 0.25 * sev) * ppm
            total = (lead_r[2] - lead_r[0]) if ox else (lead_r[3] - lead_r[1])
            lead_h = knee + (lead_t + lift - knee) * np.clip(s / max(total, 1), 0, 1)
        else:
            lead_h = np.where(
                s < foot_s,
                knee + (lead_t - knee) * np.clip(s / max(foot_s, 1), 0, 1),
                lead_t,
            )
        if defect != DefectCode.MISSING_COMPONENT:
            metal.put(win, lead_h.astype(np.float32), _LEAD, lead_m, index)
        hf = 0.75 * lead_t + 0.12 * ppm
        reach = 0.3 * ppm
        target_m = foot_m
    else:  # chip
        target_m = _rect_mask(win, target_r)
        hf = 0.8 * body_h
        reach = max(2.0, (pad[2] - pad[0] + pad[3] - pad[1]) / 2 * 0.55)
        if defect == DefectCode.TOMBSTONE:
            # The part stands on one end: its footprint is a thin strip of the end face.
            if part.tomb_end == int(spec.pin) - 1:
                hf *= 1.4
            else:
                target_m = np.zeros_like(pad_m)
    power = 1.7
    if defect == DefectCode.INSUFFICIENT_SOLDER:
        f = 1.0 - 0.8 * sev
        hf *= f
        reach *= f
    elif defect == DefectCode.COLD_JOINT:
        gloss = int(255 * (0.55 - 0.4 * sev))
    elif defect == DefectCode.EXCESS_SOLDER:
        power = 0.9
        reach *= 1.2 + 0.6 * sev
        hf *= 1.4 + 0.6 * sev

    wet = target_m.any() and defect not in (
        DefectCode.MISSING_COMPONENT,
        DefectCode.LIFTED_LEAD,
    )
    if wet:
        hh = _fillet(target_m, hf, reach, power)
        allowed = pad_m
        if defect == DefectCode.EXCESS_SOLDER:
            grow = max(1, int(0.05 * ppm))
            allowed = cv2.dilate(
                pad_m.astype(np.uint8), np.ones((5, 5), np.uint8), iterations=grow
            ).astype(bool)
        hh = np.where(allowed, hh, 0.0).astype(np.float32)
        # Reflowed solder wets the whole pad: a thin coat under the fillet.
        coat = (0.035 if defect != DefectCode.INSUFFICIENT_SOLDER else 0.0) * ppm
        hh = np.maximum(hh, np.where(pad_m, coat, 0.0)).astype(np.float32)
    else:
        # Unwetted paste, reflowed into a low dome on the pad.
        shrink = 0.06 * ppm
        inner = (pad[0] + shrink, pad[1] + shrink, pad[2] - shrink, pad[3] - shrink)
        hh = _dome(_rect_mask(win, inner), 0.09 * ppm, 0.12 * ppm)
    if defect == DefectCode.COLD_JOINT:
        noise = rng.normal(0, 1, hh.shape).astype(np.float32)
        noise = cv2.GaussianBlur(noise, (0, 0), 0.6)
        hh = np.where(hh > 0.5, hh + noise * (0.02 + 0.03 * sev) * ppm, hh)
    where = hh > 0.05 * ppm * 0.5
    metal.put(win, hh, _SOLDER, where, index, gloss)
    if defect and did:
        if defect in (DefectCode.EXCESS_SOLDER, DefectCode.COLD_JOINT):
            metal.mark(win, where, did)
        elif defect == DefectCode.LIFTED_LEAD:
            metal.mark(win, pad_m | _rect_mask(win, target_r), did)
        elif defect in (
            DefectCode.INSUFFICIENT_SOLDER,
            DefectCode.MISSING_COMPONENT,
            DefectCode.TOMBSTONE,
            DefectCode.SHIFTED_COMPONENT,
        ):
            metal.mark(win, pad_m, did)


def _render_tht(
    ctx: _Ctx,
    part: _Part,
    spec: PadSpec,
    index: int,
    defect: str,
    sev: float,
    did: int,
    pad: tuple[float, ...],
    win: tuple[int, int, int, int],
) -> None:
    ppm, rng, metal = ctx.ppm, ctx.rng, ctx.metal
    cx, cy = (pad[0] + pad[2]) / 2, (pad[1] + pad[3]) / 2
    rp = (pad[2] - pad[0]) / 2
    pin = part.rect(spec.target)
    pr = (pin[2] - pin[0]) / 2
    hole_r = spec.hole_r * ppm
    pad_m = _circle_mask(win, cx, cy, rp) if spec.round_pad else _rect_mask(win, pad)
    pin_m = _circle_mask(win, cx, cy, pr)
    hc = 0.55 * rp
    reach = rp - pr
    gloss = 255
    power = 1.3
    if defect == DefectCode.MISSING_COMPONENT:
        metal.hole(win, _circle_mask(win, cx, cy, hole_r))
        if did:
            metal.mark(win, pad_m, did)
        return
    if defect == DefectCode.INSUFFICIENT_SOLDER:
        f = 1.0 - 0.75 * sev
        hc *= f
        reach *= f
        metal.hole(win, _circle_mask(win, cx, cy, hole_r) & ~pin_m)
    elif defect == DefectCode.COLD_JOINT:
        gloss = int(255 * (0.55 - 0.4 * sev))
    thr = 0.02 * ppm
    if defect == DefectCode.EXCESS_SOLDER:
        big = rp * (1.05 + 0.25 * sev)
        hh = _dome(_circle_mask(win, cx, cy, big), (0.9 + 0.4 * sev) * rp, big * 0.9)
        where = hh > thr
    else:
        tip = _dome(pin_m, hc + 0.12 * ppm, pr * 0.6)
        metal.put(win, tip, _LEAD, pin_m, index)
        hh = np.where(pad_m, _fillet(pin_m, hc, reach, power), 0.0).astype(np.float32)
        where = (hh > thr) & ~pin_m
    if defect == DefectCode.COLD_JOINT:
        noise = cv2.GaussianBlur(
            rng.normal(0, 1, hh.shape).astype(np.float32), (0, 0), 0.6
        )
        hh = np.where(hh > 0.5, hh + noise * (0.02 + 0.03 * sev) * ppm, hh)
    metal.put(win, hh.astype(np.float32), _SOLDER, where, index, gloss)
    if defect and did:
        if defect in (DefectCode.EXCESS_SOLDER, DefectCode.COLD_JOINT):
            metal.mark(win, where, did)
        else:
            metal.mark(win, pad_m, did)


def _render_blob(
    ctx: _Ctx,
    rect: tuple[float, ...],
    height: float,
    did: int,
    joint: int,
    circle: bool = False,
) -> None:
    """A solder bridge (rounded slab) or a solder ball (sphere)."""
    metal = ctx.metal
    win = metal.window(rect, 2)
    if circle:
        cx, cy = (rect[0] + rect[2]) / 2, (rect[1] + rect[3]) / 2
        r = (rect[2] - rect[0]) / 2
        m = _circle_mask(win, cx, cy, r)
        hh = _dome(m, height, r)
    else:
        m = _rect_mask(win, rect)
        r = 0.5 * min(rect[2] - rect[0], rect[3] - rect[1])
        hh = _dome(m, height, r)
    metal.put(win, hh, _SOLDER, m, joint)
    metal.mark(win, m, did)


def _shade(metal: _Metal, base: np.ndarray, style: str, finish: np.ndarray) -> None:
    """Shade the metal height map into `base` (in place) with the style's lighting."""
    idx = np.flatnonzero(metal.mat)
    if idx.size == 0:
        return
    gx = cv2.Sobel(metal.h, cv2.CV_32F, 1, 0, ksize=3, scale=0.125).ravel()[idx]
    gy = cv2.Sobel(metal.h, cv2.CV_32F, 0, 1, ksize=3, scale=0.125).ravel()[idx]
    inv = 1.0 / np.sqrt(gx * gx + gy * gy + 1.0)
    nx, ny, nz = -gx * inv, -gy * inv, inv
    mat = metal.mat.ravel()[idx]
    gloss = metal.gloss.ravel()[idx].astype(np.float32) / 255.0
    alb = np.empty((idx.size, 3), np.float32)
    alb[:] = _ALBEDO_SOLDER
    alb[mat == _LEAD] = _ALBEDO_LEAD
    alb[mat == _PAD] = finish
    # Cold/grainy solder is duller and greyer.
    alb *= (0.78 + 0.22 * gloss)[:, None]
    out: np.ndarray
    if style == "color":
        lx, ly, lz = -0.3, -0.4, 0.87
        diff = np.clip(nx * lx + ny * ly + nz * lz, 0, 1)
        hxv, hyv, hzv = lx, ly, lz + 1.0
        hn = math.sqrt(hxv * hxv + hyv * hyv + hzv * hzv)
        spec = np.clip((nx * hxv + ny * hyv + nz * hzv) / hn, 0, 1) ** 60
        # Environment: steep slopes reflect the dark surroundings.
        env = 0.55 + 0.45 * nz**3
        out = alb * (0.2 + 0.8 * diff * env)[:, None] + (235 * spec * gloss)[:, None]
    elif style == "gray":
        g = alb.mean(axis=1)
        theta = np.degrees(np.arccos(np.clip(nz, 0, 1)))
        coax = nz**40
        ring = np.exp(-(((theta - 32.0) / 11.0) ** 2))
        val = g * (0.1 + 0.95 * coax) + 85 * ring * gloss + 40 * coax * gloss
        out = np.repeat(val[:, None], 3, axis=1)
    else:  # rgb tiers
        theta = np.degrees(np.arccos(np.clip(nz, 0, 1)))
        r = np.exp(-((theta / 9.0) ** 2))
        gch = np.exp(-(((theta - 22.0) / 9.0) ** 2))
        b = np.exp(-(((theta - 45.0) / 14.0) ** 2))
        k = (0.35 + 0.65 * gloss) * alb.mean(axis=1) / 200.0
        out = np.stack([b, gch, r], axis=1) * (245 * k)[:, None] + 8
    hole = mat == _HOLE
    out[hole] = 14.0
    out = np.clip(out, 0, 255).astype(np.uint8)
    flat = base.reshape(-1, 3)
    flat[idx] = out


def _hex_text(rng: np.random.Generator, n: int) -> str:
    chars = string.ascii_uppercase + string.digits
    return "".join(chars[int(i)] for i in rng.integers(0, len(chars), n))


def _put_text(
    img: np.ndarray,
    text: str,
    org: tuple[float, float],
    height_px: float,
    color: tuple[int, int, int],
    vertical: bool = False,
) -> None:
    """Draw `text` with its top-left at `org`, about `height_px` tall."""
    font = cv2.FONT_HERSHEY_SIMPLEX
    scale = max(0.2, height_px / 22.0)
    thick = max(1, round(height_px / 9.0))
    (tw, th), base = cv2.getTextSize(text, font, scale, thick)
    if not vertical:
        cv2.putText(
            img,
            text,
            (round(org[0]), round(org[1] + th)),
            font,
            scale,
            color,
            thick,
            cv2.LINE_AA,
        )
        return
    tile = np.zeros((th + base + 2, tw + 2, 3), np.uint8)
    cv2.putText(
        tile, text, (1, th + 1), font, scale, (255, 255, 255), thick, cv2.LINE_AA
    )
    tile = cv2.rotate(tile, cv2.ROTATE_90_COUNTERCLOCKWISE)
    x0, y0 = round(org[0]), round(org[1])
    hgt, wid = tile.shape[:2]
    h, w = img.shape[:2]
    if x0 < 0 or y0 < 0 or x0 + wid > w or y0 + hgt > h:
        return
    a = tile[..., :1].astype(np.float32) / 255.0
    roi = img[y0 : y0 + hgt, x0 : x0 + wid]
    roi[:] = (roi * (1 - a) + np.array(color, np.float32) * a).astype(np.uint8)


def _draw_traces(
    rng: np.random.Generator,
    copper: np.ndarray,
    parts: list[_Part],
    ppm: float,
    vias: list[tuple[float, float, float, bool]],
    occ: np.ndarray,
    cell: float,
) -> None:
    """Copper traces under the mask: from pads outward, a 45° jog, to a via.

    A route whose via would land on a part or its label (`occ`) is dropped.
    """
    h, w = copper.shape
    width = max(1, round(0.22 * ppm))
    for part in parts:
        for spec in part.pkg.pads:
            if rng.random() > 0.6:
                continue
            pad = part.rect(spec.pad)
            x, y = (pad[0] + pad[2]) / 2, (pad[1] + pad[3]) / 2
            ox, oy = part.vec(spec.out)
            pts = [(x, y)]
            l1 = rng.uniform(0.8, 3.0) * ppm
            x, y = x + ox * l1, y + oy * l1
            pts.append((x, y))
            side = 1 if rng.random() < 0.5 else -1
            l2 = rng.uniform(0.5, 4.0) * ppm
            dx, dy = (ox - side * oy) / math.sqrt(2), (oy + side * ox) / math.sqrt(2)
            x, y = x + dx * l2, y + dy * l2
            pts.append((x, y))
            l3 = rng.uniform(0.5, 5.0) * ppm
            x, y = x + ox * l3, y + oy * l3
            pts.append((x, y))
            if not (2 * ppm < x < w - 2 * ppm and 2 * ppm < y < h - 2 * ppm):
                continue
            if occ[int(y / cell), int(x / cell)]:
                continue
            cv2.polylines(
                copper,
                [np.round(np.array(pts)).astype(np.int32)],
                False,
                255,
                width,
                cv2.LINE_AA,
            )
            vias.append((x, y, rng.uniform(0.28, 0.4) * ppm, bool(rng.random() < 0.5)))
    # A few long buses.
    for _ in range(int(rng.integers(2, 6))):
        y = rng.uniform(0.1, 0.9) * h
        x0 = rng.uniform(0.02, 0.3) * w
        x1 = rng.uniform(0.6, 0.98) * w
        n = int(rng.integers(2, 6))
        for i in range(n):
            yy = y + i * 0.6 * ppm
            jog = rng.uniform(0.3, 0.6) * (x1 - x0)
            pts = [
                (x0, yy),
                (x0 + jog, yy),
                (x0 + jog + 2 * ppm, yy + 2 * ppm),
                (x1, yy + 2 * ppm),
            ]
            cv2.polylines(
                copper,
                [np.round(np.array(pts)).astype(np.int32)],
                False,
                255,
                width,
                cv2.LINE_AA,
            )


def _draw_body(img: np.ndarray, part: _Part, rng: np.random.Generator) -> None:
    """Component body on top of the joints (SMD parts only)."""
    pkg, ppm = part.pkg, part.ppm
    if (
        pkg.mount != "smd"
        or part.defect == DefectCode.MISSING_COMPONENT
        or pkg.body is None
    ):
        return
    if part.defect == DefectCode.TOMBSTONE:
        spec = pkg.pads[part.tomb_end]
        sgn = spec.out[0]
        end = pkg.body[2] if sgn > 0 else pkg.body[0]
        t = pkg.height
        face = (
            min(end, end - sgn * t),
            pkg.body[1],
            max(end, end - sgn * t),
            pkg.body[3],
        )
        x0, y0, x1, y1 = part.rect(face)
        _shadow(img, (x0, y0, x1, y1), ppm, strength=0.55, offset=0.35)
        cv2.rectangle(
            img, (round(x0), round(y0)), (round(x1), round(y1)), (168, 171, 174), -1
        )
        ins = max(1, round(0.06 * ppm))
        cv2.rectangle(
            img,
            (round(x0) + ins, round(y0) + ins),
            (round(x1) - ins, round(y1) - ins),
            (196, 198, 200),
            -1,
        )
        return
    body = part.rect(part.shifted(pkg.body))
    x0, y0, x1, y1 = body
    _shadow(img, body, ppm, strength=0.45, offset=0.12)
    fam = pkg.family
    if fam in ("chip_r", "chip_c"):
        col = (
            (30, 30, 32)
            if fam == "chip_r"
            else tuple(
                int(v) for v in np.array([88, 128, 168]) * rng.uniform(0.85, 1.1)
            )
        )
        cv2.rectangle(img, (round(x0), round(y0)), (round(x1), round(y1)), col, -1)
        for spec in pkg.pads:
            tx0, ty0, tx1, ty1 = part.rect(part.shifted(spec.target))
            cv2.rectangle(
                img,
                (round(tx0), round(ty0)),
                (round(tx1), round(ty1)),
                (165, 168, 172),
                -1,
            )
            ins = max(1, round(0.05 * ppm))
            cv2.rectangle(
                img,
                (round(tx0) + ins, round(ty0) + ins),
                (round(tx1) - ins, round(ty1) - ins),
                (188, 190, 193),
                -1,
            )
        if fam == "chip_r" and (x1 - x0) * (y1 - y0) > 500:
            # The resistor's white overcoat with a code.
            bw, bh = x1 - x0, y1 - y0
            inner = (
                (x0 + 0.22 * bw, y0 + 0.12 * bh, x1 - 0.22 * bw, y1 - 0.12 * bh)
                if bw > bh
                else (x0 + 0.12 * bw, y0 + 0.22 * bh, x1 - 0.12 * bw, y1 - 0.22 * bh)
            )
            code = f"{int(rng.integers(10, 99))}{int(rng.integers(0, 6))}"
            _put_text(
                img,
                code,
                (inner[0] + 1, inner[1] + 1),
                0.6 * min(inner[3] - inner[1], (inner[2] - inner[0]) / 2),
                (200, 200, 200),
                vertical=bh > bw,
            )
        return
    col = (40, 40, 43)
    cv2.rectangle(img, (round(x0), round(y0)), (round(x1), round(y1)), col, -1)
    ins = max(1, round(0.18 * ppm))
    cv2.rectangle(
        img,
        (round(x0) + ins, round(y0) + ins),
        (round(x1) - ins, round(y1) - ins),
        (50, 50, 54),
        -1,
    )
    if fam in ("soic", "qfp"):
        sx, sy = part.shift
        if fam == "qfp":
            px, py = part.pt(pkg.body[0] + 0.7 + sx, pkg.body[1] + 0.7 + sy)
        else:
            px, py = part.pt(pkg.body[0] + 0.6 + sx, pkg.body[3] - 0.6 + sy)
        cv2.circle(
            img, (round(px), round(py)), max(2, round(0.3 * ppm)), (28, 28, 30), -1
        )
        bw, bh = x1 - x0, y1 - y0
        th = 0.12 * min(bw, bh) if fam == "qfp" else 0.2 * min(bw, bh)
        _put_text(
            img,
            _hex_text(rng, 6),
            (x0 + 0.2 * bw, y0 + 0.3 * bh),
            th,
            (125, 125, 128),
            vertical=bh > bw * 1.2,
        )


def _shadow(
    img: np.ndarray, rect: tuple[float, ...], ppm: float, strength: float, offset: float
) -> None:
    off = offset * ppm
    pad = int(0.4 * ppm + off) + 2
    h, w = img.shape[:2]
    x0 = max(0, int(rect[0]) - pad)
    y0 = max(0, int(rect[1]) - pad)
    x1 = min(w, int(rect[2]) + pad)
    y1 = min(h, int(rect[3]) + pad)
    if x1 <= x0 or y1 <= y0:
        return
    m = np.zeros((y1 - y0, x1 - x0), np.float32)
    cv2.rectangle(
        m,
        (round(rect[0] + off) - x0, round(rect[1] + off) - y0),
        (round(rect[2] + off) - x0, round(rect[3] + off) - y0),
        1.0,
        -1,
    )
    m = cv2.GaussianBlur(m, (0, 0), max(0.5, 0.12 * ppm))
    roi = img[y0:y1, x0:x1]
    roi[:] = (roi * (1.0 - strength * m[..., None])).astype(np.uint8)


def _silkscreen(
    img: np.ndarray, part: _Part, rng: np.random.Generator, color: tuple[int, int, int]
) -> None:
    pkg, ppm = part.pkg, part.ppm
    ex = part.rect(pkg.extent)
    thick = max(1, round(0.15 * ppm))
    m = 0.25 * ppm
    x0, y0, x1, y1 = ex[0] - m, ex[1] - m, ex[2] + m, ex[3] + m
    if pkg.family == "radial":
        cx, cy = part.pt(0, 0)
        cv2.circle(
            img,
            (round(cx), round(cy)),
            round((pkg.body[2] - pkg.body[0]) / 2 * ppm),
            color,
            thick,
            cv2.LINE_AA,
        )
        px, py = part.pt(pkg.pads[0].pad[0] - 0.6, -1.2)
        _put_text(img, "+", (px - 0.4 * ppm, py - 0.4 * ppm), 0.8 * ppm, color)
    elif pkg.mount == "tht" or pkg.family in ("soic", "qfp", "sot"):
        bx0, by0, bx1, by1 = (
            part.rect(pkg.body) if pkg.mount == "smd" else (x0, y0, x1, y1)
        )
        if pkg.mount == "smd":
            bx0, by0, bx1, by1 = bx0 - m / 2, by0 - m / 2, bx1 + m / 2, by1 + m / 2
        cv2.rectangle(
            img,
            (round(bx0), round(by0)),
            (round(bx1), round(by1)),
            color,
            thick,
            cv2.LINE_AA,
        )
        if pkg.family in ("soic", "dip", "qfp"):
            p1 = part.rect(pkg.pads[0].pad)
            cv2.circle(
                img,
                (round(p1[0] - 0.5 * ppm), round(p1[1] - 0.3 * ppm)),
                max(2, round(0.2 * ppm)),
                color,
                -1,
                cv2.LINE_AA,
            )
    else:
        # Chip parts: two lines along the long sides.
        if x1 - x0 > y1 - y0:
            cv2.line(
                img,
                (round(x0 + 2 * m), round(y0)),
                (round(x1 - 2 * m), round(y0)),
                color,
                thick,
            )
            cv2.line(
                img,
                (round(x0 + 2 * m), round(y1)),
                (round(x1 - 2 * m), round(y1)),
                color,
                thick,
            )
        else:
            cv2.line(
                img,
                (round(x0), round(y0 + 2 * m)),
                (round(x0), round(y1 - 2 * m)),
                color,
                thick,
            )
            cv2.line(
                img,
                (round(x1), round(y0 + 2 * m)),
                (round(x1), round(y1 - 2 * m)),
                color,
                thick,
            )
    # Refdes above the part.
    th = 0.8 * ppm
    _put_text(img, part.refdes, (x0, y0 - th - 0.3 * ppm), th, color)
    del rng


def _choose_defects(ctx: _Ctx, parts: list[_Part]) -> None:
    """Component-level defects (missing, tombstone, shifted) on the parts."""
    rng, rate = ctx.rng, ctx.cfg.defect_rate
    for part in parts:
        fam = part.pkg.family
        if rng.random() >= rate * 0.35:
            continue
        if fam in ("chip_r", "chip_c"):
            kind = rng.choice(["missing", "tombstone", "shifted"], p=[0.3, 0.35, 0.35])
        elif part.pkg.mount == "smd":
            kind = rng.choice(["missing", "shifted"], p=[0.3, 0.7])
        else:
            kind = "missing"
        part.defect = {
            "missing": DefectCode.MISSING_COMPONENT,
            "tombstone": DefectCode.TOMBSTONE,
            "shifted": DefectCode.SHIFTED_COMPONENT,
        }[str(kind)]
        part.severity = float(rng.uniform(0.3, 1.0))
        if part.defect == DefectCode.TOMBSTONE:
            part.tomb_end = int(rng.integers(2))
        if part.defect == DefectCode.SHIFTED_COMPONENT:
            bw = part.pkg.body[3] - part.pkg.body[1] if part.pkg.body else 1.0
            if fam in ("soic", "qfp", "sot"):
                pitch = abs(part.pkg.pads[1].pad[0] - part.pkg.pads[0].pad[0]) or 0.8
                part.shift = (
                    float(rng.choice([-1, 1])) * pitch * (0.25 + 0.3 * part.severity),
                    0.0,
                )
                if fam == "qfp":
                    part.shift = (part.shift[0], part.shift[0] * 0.6)
            else:
                part.shift = (
                    float(rng.uniform(-0.15, 0.15)),
                    float(rng.choice([-1, 1])) * bw * (0.25 + 0.3 * part.severity),
                )


def render_board(seed: int, config: BoardConfig | None = None) -> BoardSample:
    """Render one synthetic board (deterministic per seed).

    Args:
        seed: random seed; the same seed and config give the same bytes.
        config: sizes, scale, defect rate, style; defaults to `BoardConfig()`.

    Returns:
        The image (after its camera transform and photometry), recipe, homography
        (board -> image), per-joint truth and defect masks.
    """
    cfg = config or BoardConfig()
    if cfg.width < 200 or cfg.height < 200:
        msg = f"board size must be at least 200x200 px, got {cfg.width}x{cfg.height}"
        raise ValueError(msg)
    rng = np.random.default_rng(seed)
    style = _pick_style(rng, cfg.style)
    w, h, ppm = cfg.width, cfg.height, cfg.px_per_mm
    pal = _PALETTES[int(rng.choice(len(_PALETTES), p=[p[0] for p in _PALETTES]))]
    mask_col = np.array(pal[1], np.float32) * rng.uniform(0.9, 1.1, 3).astype(
        np.float32
    )
    cu_col = np.array(pal[2], np.float32) * (mask_col / np.array(pal[1], np.float32))
    finish = _ALBEDO_ENIG if rng.random() < 0.25 else _ALBEDO_HASL
    silk = (
        (232, 234, 236)
        if pal[1] != (26, 26, 28) or rng.random() < 0.7
        else (90, 220, 235)
    )

    # Fiducials in three corners (TL, TR, BL): the orientation is unique.
    fr, fclear = 0.5 * ppm, 1.25 * ppm
    inset = 2.6 * ppm
    fids = [
        Fiducial("F1", inset, inset, fr),
        Fiducial("F2", w - inset, inset, fr),
        Fiducial("F3", inset, h - inset, fr),
    ]
    keepout = [
        (f.x - 2 * fclear, f.y - 2 * fclear, f.x + 2 * fclear, f.y + 2 * fclear)
        for f in fids
    ]
    parts, occ, cell = _place_parts(rng, cfg, keepout)

    ctx = _Ctx(rng, cfg, _Metal(w, h))
    _choose_defects(ctx, parts)

    # Base: solder mask with low-frequency mottling and a fine grain.
    small = rng.normal(0, 1, (max(2, h // 64), max(2, w // 64), 3)).astype(np.float32)
    small = cv2.GaussianBlur(small, (0, 0), 1.2) * 5.0 + mask_col
    base = cv2.resize(
        np.clip(small, 0, 255).astype(np.uint8), (w, h), interpolation=cv2.INTER_LINEAR
    )
    copper = np.zeros((h, w), np.uint8)
    vias: list[tuple[float, float, float, bool]] = []
    _draw_traces(rng, copper, parts, ppm, vias, occ, cell)
    on = np.flatnonzero(copper)
    a = copper.ravel()[on].astype(np.float32)[:, None] / 255.0
    flat = base.reshape(-1, 3)
    flat[on] = (flat[on] * (1.0 - a) + (cu_col - mask_col) * a + mask_col * a).astype(
        np.uint8
    )
    laminate = (0.45 * mask_col + 0.55 * np.array([110, 150, 170], np.float32)).tolist()
    for f in fids:
        cv2.circle(
            base, (round(f.x), round(f.y)), round(fclear), laminate, -1, cv2.LINE_AA
        )
    for x, y, r, open_via in vias:
        if open_via:
            cv2.circle(
                base, (round(x), round(y)), round(r * 1.4), laminate, -1, cv2.LINE_AA
            )
    for part in parts:
        for spec in part.pkg.pads:
            pad = part.rect(spec.pad)
            c = 0.07 * ppm
            if spec.kind == "tht" and spec.round_pad:
                cv2.circle(
                    base,
                    (round((pad[0] + pad[2]) / 2), round((pad[1] + pad[3]) / 2)),
                    round((pad[2] - pad[0]) / 2 + c),
                    laminate,
                    -1,
                    cv2.LINE_AA,
                )
            else:
                cv2.rectangle(
                    base,
                    (round(pad[0] - c), round(pad[1] - c)),
                    (round(pad[2] + c), round(pad[3] + c)),
                    laminate,
                    -1,
                )
        _silkscreen(base, part, rng, silk)

    # Metal: fiducials, vias, pads, then joints.
    metal = ctx.metal
    for f in fids:
        win = metal.window((f.x - f.r, f.y - f.r, f.x + f.r, f.y + f.r), 2)
        m = _circle_mask(win, f.x, f.y, f.r)
        metal.put(win, np.full(m.shape, 0.02 * ppm, np.float32), _PAD, m)
    for x, y, r, open_via in vias:
        if not open_via:
            cv2.circle(
                base, (round(x), round(y)), round(r), cu_col.tolist(), -1, cv2.LINE_AA
            )
            continue
        win = metal.window((x - r, y - r, x + r, y + r), 2)
        m = _circle_mask(win, x, y, r)
        metal.put(win, _dome(m, 0.08 * ppm, r * 0.8), _SOLDER, m)
        metal.hole(win, _circle_mask(win, x, y, r * 0.35))

    truth: list[JointTruth] = []
    recipe_joints: list[RecipeJoint] = []
    joint_list: list[tuple[_Part, PadSpec, int]] = []
    for part in parts:
        for spec in part.pkg.pads:
            pad, box = _joint_rects(part, spec)
            _render_pad(ctx, part, spec, pad)
            idx = len(joint_list)
            joint_list.append((part, spec, idx))
            bb = (box[0], box[1], box[2] - box[0], box[3] - box[1])
            recipe_joints.append(
                RecipeJoint(part.refdes, spec.pin, part.pkg.mount, part.pkg.name, bb)
            )
            truth.append(
                JointTruth(
                    idx, part.refdes, spec.pin, part.pkg.mount, part.pkg.name, bb, bb
                )
            )

    # Component defects apply to all joints of the part; then joint-level defects.
    jrate = ctx.cfg.defect_rate * 0.7
    planned: dict[int, tuple[str, float]] = {}
    for part, spec, idx in joint_list:
        if part.defect:
            planned[idx] = (part.defect, part.severity)
            continue
        if rng.random() >= jrate:
            continue
        options = [
            DefectCode.INSUFFICIENT_SOLDER,
            DefectCode.EXCESS_SOLDER,
            DefectCode.COLD_JOINT,
            DefectCode.SOLDER_BALL,
        ]
        if spec.kind == "gull":
            options += [DefectCode.LIFTED_LEAD, DefectCode.BRIDGE, DefectCode.BRIDGE]
        if spec.kind == "tht":
            options += [DefectCode.BRIDGE]
        planned[idx] = (str(rng.choice(options)), float(rng.uniform(0.3, 1.0)))

    # Bridges need a neighbour on the same part, next along the row.
    by_part: dict[int, list[tuple[_Part, PadSpec, int]]] = {}
    for item in joint_list:
        by_part.setdefault(id(item[0]), []).append(item)
    bridges: list[tuple[int, int]] = []
    for idx, (kind, _sev) in list(planned.items()):
        if kind != DefectCode.BRIDGE:
            continue
        part, spec, _ = joint_list[idx]
        nb = _neighbour(part, spec, by_part[id(part)])
        if nb is None or (nb in planned and planned[nb][0] != DefectCode.BRIDGE):
            planned[idx] = (DefectCode.EXCESS_SOLDER, planned[idx][1])
            continue
        if any(nb in b or idx in b for b in bridges):
            planned.pop(idx)
            continue
        bridges.append((idx, nb))
        planned[nb] = (DefectCode.BRIDGE, planned[idx][1])

    # Component-level defects share one defect id per part.
    part_did: dict[int, int] = {}
    for part, _spec, _idx in joint_list:
        if not part.defect:
            continue
        if id(part) not in part_did:
            ids = [i for p2, _s, i in joint_list if p2 is part]
            part_did[id(part)] = ctx.new_defect(part.defect, part.severity, ids)
    for a, b in bridges:
        ctx.new_defect(DefectCode.BRIDGE, 1.0, [a, b])
    for part, spec, idx in joint_list:
        kind, sev = planned.get(idx, ("", 0.0))
        did = 0
        if kind and kind != DefectCode.BRIDGE and not part.defect:
            did = ctx.new_defect(kind, sev, [idx])
        elif part.defect:
            did = part_did[id(part)]
        render_kind = (
            "" if kind in (DefectCode.BRIDGE, DefectCode.SOLDER_BALL) else kind
        )
        _render_joint(ctx, part, spec, idx, render_kind, sev, did)
        if kind == DefectCode.SOLDER_BALL:
            pad = part.rect(spec.pad)
            r = float(rng.uniform(0.08, 0.17)) * ppm
            ang = float(rng.uniform(0, 2 * math.pi))
            cx = (pad[0] + pad[2]) / 2 + math.cos(ang) * (
                (pad[2] - pad[0]) / 2 + r + 0.15 * ppm
            )
            cy = (pad[1] + pad[3]) / 2 + math.sin(ang) * (
                (pad[3] - pad[1]) / 2 + r + 0.15 * ppm
            )
            sev_b = min(1.0, r / (0.17 * ppm))
            ctx.defects[did - 1]["severity"] = round(sev_b, 3)
            ctx.joint_defect[idx] = (kind, sev_b, did)
            _render_blob(
                ctx, (cx - r, cy - r, cx + r, cy + r), r, did, idx, circle=True
            )
    for a, b in bridges:
        pa, _sa, _ = joint_list[a]
        ra, rb = pa.rect(joint_list[a][1].target), pa.rect(joint_list[b][1].target)
        sa, sb = joint_list[a][1], joint_list[b][1]
        if sa.kind == "tht":
            ra, rb = pa.rect(sa.pad), pa.rect(sb.pad)
        x0, y0 = min(ra[0], rb[0]), min(ra[1], rb[1])
        x1, y1 = max(ra[2], rb[2]), max(ra[3], rb[3])
        # Shrink along the lead so the slab sits on the feet.
        ox, _oy = pa.vec(sa.out)
        if ox:
            cxm, half = (x0 + x1) / 2, (x1 - x0) * 0.4
            x0, x1 = cxm - half, cxm + half
        else:
            cym, half = (y0 + y1) / 2, (y1 - y0) * 0.4
            y0, y1 = cym - half, cym + half
        did = ctx.joint_defect[a][2]
        hb = (0.3 if sa.kind == "tht" else 0.16) * ppm
        _render_blob(ctx, (x0, y0, x1, y1), hb, did, a)

    if style == "rgb":
        base = (base.astype(np.float32) * 0.5).astype(np.uint8)
    _shade(metal, base, style, finish)
    for part in parts:
        _draw_body(base, part, rng)

    # Camera: homography board -> image, then photometry.
    hom = _camera(rng, cfg, fids) if cfg.transform else np.eye(3)
    border = (28, 30, 30)
    img = cv2.warpPerspective(
        base,
        hom,
        (w, h),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=border,
    )
    did_img = cv2.warpPerspective(
        metal.defect_ids,
        hom,
        (w, h),
        flags=cv2.INTER_NEAREST,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    if cfg.photometric:
        img = _photometric(rng, img, style)
    if style == "gray":
        img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)

    defects_out: list[dict[str, Any]] = []
    slices = ndimage.find_objects(did_img.astype(np.int32)) if ctx.defects else []
    areas = np.bincount(did_img.ravel(), minlength=len(ctx.defects) + 1)
    for d in ctx.defects:
        sl = slices[d["id"] - 1] if d["id"] - 1 < len(slices) else None
        bbox = None
        if sl is not None:
            bbox = [
                sl[1].start,
                sl[0].start,
                sl[1].stop - sl[1].start,
                sl[0].stop - sl[0].start,
            ]
        defects_out.append({**d, "bbox": bbox, "area_px": int(areas[d["id"]])})
    for t in truth:
        t.box = project_box(t.box_board, hom)
        if t.index in ctx.joint_defect:
            kind, sev, did = ctx.joint_defect[t.index]
            t.label, t.defect_type, t.severity, t.defect_id = 1, kind, sev, did
    recipe = Recipe(
        product=f"SYN-{seed & 0xFFFFFFFF:08X}",
        board_size=(w, h),
        fiducials=fids,
        joints=recipe_joints,
    )
    meta = {
        "px_per_mm": ppm,
        "n_components": len(parts),
        "finish": "enig" if finish is _ALBEDO_ENIG else "hasl",
    }
    return BoardSample(
        img,
        recipe,
        hom,
        truth,
        defects_out,
        did_img,
        metal.solder_ids,
        style,
        seed,
        meta,
    )


def _neighbour(
    part: _Part, spec: PadSpec, items: list[tuple[_Part, PadSpec, int]]
) -> int | None:
    """Index of the nearest joint of the same part on the same side (same `out`)."""
    best, best_d = None, 1e9
    cx = (spec.pad[0] + spec.pad[2]) / 2
    cy = (spec.pad[1] + spec.pad[3]) / 2
    for _p, s2, idx in items:
        if s2 is spec or s2.out != spec.out:
            continue
        d = abs((s2.pad[0] + s2.pad[2]) / 2 - cx) + abs(
            (s2.pad[1] + s2.pad[3]) / 2 - cy
        )
        if d < best_d:
            best, best_d = idx, d
    if best is None or best_d > 3.0:
        return None
    return best


def _camera(
    rng: np.random.Generator, cfg: BoardConfig, fids: list[Fiducial]
) -> np.ndarray:
    """Random homography board -> image that keeps every fiducial well inside."""
    w, h = cfg.width, cfg.height
    c = np.array([[1, 0, -w / 2], [0, 1, -h / 2], [0, 0, 1]], np.float64)
    for attempt in range(8):
        k = 0.5**attempt
        ang = math.radians(rng.uniform(-2.5, 2.5) * k)
        s = 1.0 + rng.uniform(-0.04, 0.03) * k
        tx = rng.uniform(-0.02, 0.02) * w * k
        ty = rng.uniform(-0.02, 0.02) * h * k
        px = rng.uniform(-1, 1) * 1.0e-5 * 2000 / w * k
        py = rng.uniform(-1, 1) * 1.0e-5 * 2000 / h * k
        rot = np.array(
            [
                [s * math.cos(ang), -s * math.sin(ang), 0],
                [s * math.sin(ang), s * math.cos(ang), 0],
                [px, py, 1],
            ]
        )
        back = np.array([[1, 0, w / 2 + tx], [0, 1, h / 2 + ty], [0, 0, 1]], np.float64)
        hom = back @ rot @ c
        hom /= hom[2, 2]
        pts = project_points([[f.x, f.y] for f in fids], hom)
        m = 3.0 * fids[0].r
        if (
            (pts[:, 0] > m).all()
            and (pts[:, 0] < w - m).all()
            and (pts[:, 1] > m).all()
            and (pts[:, 1] < h - m).all()
        ):
            return hom
    return np.eye(3)


def _photometric(rng: np.random.Generator, img: np.ndarray, style: str) -> np.ndarray:
    """Gain, bias, gamma, white balance (LUTs), vignetting, blur and sensor noise."""
    h, w = img.shape[:2]
    gain = rng.uniform(0.88, 1.12)
    bias = rng.uniform(-8, 8)
    gamma = rng.uniform(0.85, 1.18)
    wb = rng.uniform(0.94, 1.06, 3) if style != "gray" else np.ones(3)
    x = np.arange(256, dtype=np.float64) / 255.0
    lut = np.stack(
        [np.clip(255.0 * (x**gamma) * gain * wb[c] + bias, 0, 255) for c in range(3)],
        axis=1,
    ).astype(np.uint8)
    img = cv2.LUT(img, lut.reshape(1, 256, 3))
    sigma = rng.uniform(0.0, 0.9)
    if sigma > 0.35:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    strength = rng.uniform(0.0, 0.22)
    vy, vx = np.ogrid[-1 : 1 : complex(0, 24), -1 : 1 : complex(0, 32)]
    vig = (1.0 - strength * (vx**2 + vy**2) / 2).astype(np.float32)
    vig = cv2.resize(vig, (w, h), interpolation=cv2.INTER_LINEAR)
    tile = rng.normal(0, rng.uniform(1.0, 3.5), (256, 256, 3)).astype(np.float32)
    ry, rx = int(rng.integers(256)), int(rng.integers(256))
    tile = np.roll(tile, (ry, rx), axis=(0, 1))
    # Block-wise, so no full-size float copies are held at once.
    for y0 in range(0, h, 256):
        for x0 in range(0, w, 256):
            blk = img[y0 : y0 + 256, x0 : x0 + 256]
            bh, bw = blk.shape[:2]
            f = blk.astype(np.float32)
            f *= vig[y0 : y0 + bh, x0 : x0 + bw, None]
            f += tile[:bh, :bw]
            np.clip(f, 0, 255, out=f)
            blk[:] = f.astype(np.uint8)
    return img


# ---------------------------------------------------------------------------
# Dataset writer


def board_seed(seed: int, i: int) -> int:
    """The seed of board `i` of a dataset generated with `seed`."""
    return int(np.random.SeedSequence([int(seed), int(i)]).generate_state(1)[0])


def generate_board_dataset(
    out_dir: str | Path,
    n: int,
    seed: int,
    *,
    style: str = "mixed",
    size: tuple[int, int] = SIZE_PRESETS["default"],
    px_per_mm: float = 40.0,
    defect_rate: float = 0.12,
    image_format: str = "jpg",
    jpeg_quality: int = 90,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Write `n` boards: ``boards/``, ``recipes/``, ``truth/`` and ``manifest.csv``.

    Per board ``truth/<id>.json`` holds the homography (recipe -> image), the
    per-joint truth and the defect list; ``truth/<id>_defects.png`` is the defect-id
    mask in image coordinates (uint8, or uint16 when there are more than 255 defects;
    value = ``defect_id`` of the joints) and ``truth/<id>_mask.png`` its binary form,
    referenced by the manifest's ``mask`` column. Returns the manifest path.
    """
    from inference.datasets import Sample, write_manifest

    if n <= 0:
        msg = f"n must be positive, got {n}"
        raise ValueError(msg)
    if image_format not in ("jpg", "png"):
        msg = f"image_format must be 'jpg' or 'png', got {image_format!r}"
        raise ValueError(msg)
    if style != "mixed" and style not in BOARD_STYLES:
        msg = f"unknown board style {style!r}; choose one of {(*BOARD_STYLES, 'mixed')}"
        raise ValueError(msg)
    out = Path(out_dir)
    for sub in ("boards", "recipes", "truth"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    cfg = BoardConfig(
        width=int(size[0]),
        height=int(size[1]),
        px_per_mm=px_per_mm,
        defect_rate=defect_rate,
        style=style,
    )
    samples: list[Sample] = []
    for i in range(n):
        bid = f"board_{i:04d}"
        s = board_seed(seed, i)
        board = render_board(s, cfg)
        img_path = out / "boards" / f"{bid}.{image_format}"
        params = (
            [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)]
            if image_format == "jpg"
            else [cv2.IMWRITE_PNG_COMPRESSION, 6]
        )
        _write_image(img_path, board.image, params)
        board.recipe.save(out / "recipes" / f"{bid}.json")
        ids = board.defect_ids
        ids_img = ids.astype(np.uint16 if ids.max(initial=0) > 255 else np.uint8)
        _write_image(out / "truth" / f"{bid}_defects.png", ids_img, [])
        _write_image(
            out / "truth" / f"{bid}_mask.png",
            np.where(ids > 0, 255, 0).astype(np.uint8),
            [],
        )
        truth = board.truth_dict()
        truth.update(
            {
                "board_id": bid,
                "image": f"boards/{bid}.{image_format}",
                "recipe": f"recipes/{bid}.json",
                "defect_mask": f"truth/{bid}_defects.png",
                "binary_mask": f"truth/{bid}_mask.png",
            }
        )
        (out / "truth" / f"{bid}.json").write_text(dumps_rows(truth), encoding="utf-8")
        label = int(truth["n_defective"] > 0)
        samples.append(
            Sample(
                path=img_path,
                label=label,
                defect_type="board",
                group=bid,
                mask=out / "truth" / f"{bid}_mask.png",
            )
        )
        log.debug(
            "board %s: %d joints, %d defective",
            bid,
            truth["n_joints"],
            truth["n_defective"],
        )
        if progress is not None:
            progress(i + 1)
    manifest = out / "manifest.csv"
    write_manifest(samples, manifest)
    return manifest


def _write_image(path: Path, img: np.ndarray, params: list[int]) -> None:
    ok, buf = cv2.imencode(path.suffix, img, params)
    if not ok:
        msg = f"{path}: could not encode image"
        raise OSError(msg)
    path.write_bytes(buf.tobytes())
