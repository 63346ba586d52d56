"""Register a board photo to its recipe: fiducials first, then the joints themselves.

The recipe (product.md §7, `inference.synth.recipe.Recipe`) gives fiducials and joint
boxes in *board coordinates*. `register` finds the 3x3 transform board -> image:

1. **Fiducials.** Each fiducial is searched near its expected position (recipe
   coordinates scaled by image size / board size) within ``search_radius`` px:
   normalised cross-correlation with an anti-aliased disc template on the value
   channel (max of R, G, B, so a red-lit pad in a tiered RGB image counts as
   bright), coarse on a reduced copy, then at full resolution; either polarity is
   accepted. The centre is refined to sub-pixel precision by fitting a circle to
   the edge points found along 48 radial rays (parabolic peak of the radial
   derivative). A fiducial is *found* only if the correlation score is at least
   ``min_fiducial_score``, the fitted radius is within ``radius_tolerance`` of the
   recipe's and the edge points lie on a circle (RMS <= ``max_circle_rms``).
2. **Fiducial transform.** 3 fiducials -> affine (exactly determined), 4 ->
   homography (exactly determined), 5+ -> least-squares homography. Its sanity
   check (the fit has no redundancy with 3 or 4 points) is the *shape error*: how
   far the fiducials are from the best similarity (rotation + scale + shift),
   relative to their span; a camera looking at a flat board stays well under
   ``max_shape_error`` (measured <= 0.5 % on the synthetic boards), a fiducial
   matched on the wrong feature does not.
3. **Refinement from the joints.** Three fiducials cannot see perspective: the
   affine alone is off by 7 px on average (13 px worst) at the far corner of a
   800x600 board and by 24 px (70 px) on 4000x3000. So the projected joint boxes
   are rendered as a mask and matched by normalised cross-correlation, with the
   support limited to the boxes plus a 1-px ring (labels, silkscreen bars and
   bodies next to the pads must not pull the match):

   - *features*: the "metal" channel (of R, G, B, min, max: the one in which the
     found fiducial discs, bare metal like the pads, stand out most from the
     board; inverted if darker), and the edge energy (blurred gradient
     magnitude, polarity-free, for lighting that makes metal both bright and
     dark such as coaxial grayscale AOI);
   - *coarse*: a 4x3 grid of tiles on a reduced image (long side ~1000 px), wide
     search (``refine_search``), masked and unmasked, both features; each
     accepted set of tile matches gives a start transform;
   - *fine*: per component (refdes), at half then full resolution, small search;
     the metal feature first, the energy feature if it fails.

   Each match gives one correspondence (the mask centroid). A homography is
   fitted to fiducials plus matches: RANSAC against gross mismatches, then a
   Huber least squares on the inliers in which each fiducial weighs
   ``max(3, sqrt(n_matches))`` (so a few-px bias of the joint matches under some
   lighting cannot pull the fit off the fiducials). The inlier threshold is
   1.5 px, retried at 3 px when too few joints agree that closely.

Refusal (never guess): `RegistrationError` when a fiducial is not found, the shape
error is too large, or the refined fit's RMS residual or its distance from a found
fiducial exceeds ``max_residual_px`` / ``max_fiducial_error_px``. When too few
joints can be matched (a board with few parts), the fiducial transform is kept,
a warning is logged and `Registration.refined` is False, so callers can tell.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import cv2
import numpy as np

from inference.errors import DataError, InferenceError

if TYPE_CHECKING:
    from inference.synth.recipe import Fiducial, Recipe, RecipeJoint

__all__ = [
    "FiducialMatch",
    "Registration",
    "RegistrationConfig",
    "RegistrationError",
    "find_fiducial",
    "metal_feature",
    "register",
    "value_channel",
]

log = logging.getLogger(__name__)

_N_RAYS = 48
_ENERGY_SIGMA = 2.0  # px, blur of the full-resolution edge-energy feature


class RegistrationError(InferenceError):
    """A board image cannot be registered to its recipe (fiducials, residual)."""


@dataclass(frozen=True)
class RegistrationConfig:
    """Tuning of `register`. Distances are image pixels unless said otherwise.

    Attributes:
        search_radius: how far from its expected position a fiducial may be;
            None: ``max(4 r, 0.08 * max(width, height))``.
        min_fiducial_score: lowest |NCC| of a fiducial match.
        radius_tolerance: allowed relative error of the fitted fiducial radius.
        max_circle_rms: largest RMS distance of the edge points from the fitted
            circle, as a fraction of the radius (rejects square pads).
        max_shape_error: largest departure of the fiducials from a similarity
            transform, as a fraction of their span.
        refine: refine the fiducial transform with the joints (recommended).
        refine_search: wide search of the tile stage; None: ``0.03 * max(w, h)``.
        min_match_score: lowest NCC of a joint-mask match.
        min_refine_points: fewest accepted joint matches to use the refinement.
        max_residual_px: refuse when the final fit's RMS residual is larger.
        max_fiducial_error_px: refuse when a fiducial is farther than this from
            the refined transform's projection of it.
    """

    search_radius: float | None = None
    min_fiducial_score: float = 0.5
    radius_tolerance: float = 0.3
    max_circle_rms: float = 0.08
    max_shape_error: float = 0.015
    refine: bool = True
    refine_search: float | None = None
    min_match_score: float = 0.2
    min_refine_points: int = 3
    max_residual_px: float = 2.5
    max_fiducial_error_px: float = 3.0


@dataclass(frozen=True)
class FiducialMatch:
    """One fiducial located in the image.

    Attributes:
        id: the recipe's fiducial id.
        board_xy: centre in board (recipe) coordinates.
        image_xy: centre found in the image (sub-pixel).
        radius: fitted radius in image pixels.
        score: |NCC| of the disc template at the match (1 = perfect).
        circle_rms: RMS distance of the edge points from the fitted circle (px).
    """

    id: str
    board_xy: tuple[float, float]
    image_xy: tuple[float, float]
    radius: float
    score: float
    circle_rms: float


@dataclass(frozen=True)
class Registration:
    """The transform board (recipe) -> image and how well it is supported.

    Attributes:
        homography: 3x3 float64, recipe coordinates -> image pixels.
        model: ``"affine"`` (3 fiducials, not refined) or ``"homography"``.
        fiducials: the fiducial matches used.
        residual_px: RMS reprojection error over the correspondences of the final
            fit (fiducials plus inlier joint matches; 0 for an exactly determined
            fiducial-only fit).
        fiducial_error_px: largest distance between a found fiducial and its
            projection through `homography`.
        shape_error: departure of the fiducials from a similarity, fraction of span.
        refined: True if joint matches refined the fiducial transform.
        n_matches: joint matches used in the final fit (inliers).
        timings_ms: wall time per stage.
    """

    homography: np.ndarray
    model: str
    fiducials: tuple[FiducialMatch, ...]
    residual_px: float
    fiducial_error_px: float
    shape_error: float
    refined: bool
    n_matches: int
    timings_ms: dict[str, float] = field(default_factory=dict)

    def project(self, points: np.ndarray | Sequence) -> np.ndarray:
        """Map (N, 2) board points into the image; returns (N, 2) float64."""
        return _project(np.asarray(points, np.float64).reshape(-1, 2), self.homography)


def value_channel(image: np.ndarray) -> np.ndarray:
    """Per-pixel maximum over the colour channels (HxW uint8); gray passes through.

    Args:
        image: HxW or HxWxC uint8 image (any channel order).

    Returns:
        HxW uint8, C-contiguous.

    Raises:
        DataError: not a 2-D or 3-D uint8 array.
    """
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        msg = "board image must be a uint8 numpy array"
        raise DataError(msg)
    if image.ndim == 2:
        return np.ascontiguousarray(image)
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4):
        msg = f"board image must be HxW or HxWx3, got shape {image.shape}"
        raise DataError(msg)
    if image.shape[2] == 1:
        return np.ascontiguousarray(image[:, :, 0])
    v = cv2.max(image[:, :, 0], image[:, :, 1])
    return cv2.max(v, image[:, :, 2])


# ---------------------------------------------------------------------------
# Small geometry helpers


def _project(pts: np.ndarray, hom: np.ndarray) -> np.ndarray:
    ph = np.concatenate([pts, np.ones((len(pts), 1))], axis=1) @ hom.T
    return ph[:, :2] / ph[:, 2:3]


def _similarity_error(src: np.ndarray, dst: np.ndarray) -> float:
    """Max distance of `dst` from the least-squares similarity image of `src`,
    as a fraction of the span of `dst` (Umeyama, no reflection)."""
    ms, md = src.mean(0), dst.mean(0)
    a, b = src - ms, dst - md
    # Complex form: b ≈ z * a with z = s * exp(i theta).
    ac = a[:, 0] + 1j * a[:, 1]
    bc = b[:, 0] + 1j * b[:, 1]
    z = (np.conj(ac) @ bc) / max(float((np.abs(ac) ** 2).sum()), 1e-12)
    err = np.abs(bc - z * ac).max()
    span = max(float(np.ptp(dst, axis=0).max()), 1e-6)
    return float(err / span)


def _fiducial_transform(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, str]:
    n = len(src)
    if n == 3:
        aff = cv2.getAffineTransform(src.astype(np.float32), dst.astype(np.float32))
        return np.vstack([aff, [0.0, 0.0, 1.0]]), "affine"
    if n == 4:
        hom = cv2.getPerspectiveTransform(
            src.astype(np.float32), dst.astype(np.float32)
        )
        return hom / hom[2, 2], "homography"
    hom, _ = cv2.findHomography(src, dst, 0)
    if hom is None:
        msg = "fiducials are degenerate (collinear?): no transform can be fitted"
        raise RegistrationError(msg)
    return hom / hom[2, 2], "homography"


def _parabola_peak(m: np.ndarray, y: int, x: int) -> tuple[float, float]:
    """Sub-pixel offset of a 2-D maximum at (y, x) from 1-D parabolas."""

    def off(a: float, b: float, c: float) -> float:
        den = a - 2.0 * b + c
        if abs(den) < 1e-12:
            return 0.0
        return float(np.clip(0.5 * (a - c) / den, -0.5, 0.5))

    h, w = m.shape
    dx = off(m[y, x - 1], m[y, x], m[y, x + 1]) if 0 < x < w - 1 else 0.0
    dy = off(m[y - 1, x], m[y, x], m[y + 1, x]) if 0 < y < h - 1 else 0.0
    return dx, dy


# ---------------------------------------------------------------------------
# Fiducials


def _disc_template(r: float) -> np.ndarray:
    """Anti-aliased disc of radius r on a square of half-side ~1.8 r (float32)."""
    half = max(2, math.ceil(1.8 * r))
    yy, xx = np.mgrid[-half : half + 1, -half : half + 1].astype(np.float32)
    d = np.sqrt(xx * xx + yy * yy)
    return np.clip(r + 0.5 - d, 0.0, 1.0).astype(np.float32)


def _circle_fit(pts: np.ndarray) -> tuple[float, float, float, np.ndarray]:
    """Algebraic (Kasa) circle fit; returns cx, cy, r and the radial residuals."""
    x, y = pts[:, 0], pts[:, 1]
    a = np.stack([x, y, np.ones_like(x)], axis=1)
    sol, *_ = np.linalg.lstsq(a, -(x * x + y * y), rcond=None)
    cx, cy = -sol[0] / 2.0, -sol[1] / 2.0
    r = math.sqrt(max(cx * cx + cy * cy - sol[2], 1e-12))
    res = np.hypot(x - cx, y - cy) - r
    return float(cx), float(cy), float(r), res


def _refine_circle(
    v: np.ndarray, cx: float, cy: float, r: float, polarity: float
) -> tuple[float, float, float, float, int]:
    """Circle through the radial edge points around (cx, cy); (cx, cy, r, rms, n)."""
    ang = np.linspace(0.0, 2.0 * math.pi, _N_RAYS, endpoint=False)
    step = 0.25
    t = np.arange(0.45 * r, 1.6 * r, step, dtype=np.float64)
    xs = (cx + np.cos(ang)[:, None] * t[None, :]).astype(np.float32)
    ys = (cy + np.sin(ang)[:, None] * t[None, :]).astype(np.float32)
    prof = cv2.remap(
        v, xs, ys, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    prof = cv2.GaussianBlur(prof, (0, 0), sigmaX=1.0, sigmaY=0.01)
    der = -polarity * np.gradient(prof, axis=1)
    k = np.argmax(der, axis=1)
    pts = []
    for i, j in enumerate(k):
        if j <= 0 or j >= len(t) - 1 or der[i, j] <= 0:
            continue
        a, b, c = der[i, j - 1], der[i, j], der[i, j + 1]
        den = a - 2 * b + c
        off = 0.5 * (a - c) / den if abs(den) > 1e-12 else 0.0
        rad = t[j] + step * float(np.clip(off, -0.5, 0.5))
        pts.append((cx + math.cos(ang[i]) * rad, cy + math.sin(ang[i]) * rad))
    if len(pts) < _N_RAYS // 2:
        return cx, cy, r, float("inf"), len(pts)
    p = np.asarray(pts)
    fx, fy, fr, res = _circle_fit(p)
    mad = float(np.median(np.abs(res)))
    keep = np.abs(res) <= max(3.0 * 1.4826 * mad, 0.5)
    if keep.sum() >= _N_RAYS // 2 and not keep.all():
        fx, fy, fr, res = _circle_fit(p[keep])
    rms = float(np.sqrt(np.mean(res**2)))
    return fx, fy, fr, rms, int(keep.sum())


def find_fiducial(
    v: np.ndarray,
    fiducial: Fiducial,
    guess_xy: tuple[float, float],
    radius_px: float,
    *,
    search_radius: float,
    config: RegistrationConfig | None = None,
) -> FiducialMatch:
    """Locate one round fiducial near `guess_xy` in a value-channel image.

    Args:
        v: HxW uint8 image (see `value_channel`).
        fiducial: the recipe's fiducial (id and board position).
        guess_xy: expected centre in image pixels.
        radius_px: expected radius in image pixels.
        search_radius: half-side of the square search window (px).
        config: thresholds; defaults to `RegistrationConfig()`.

    Returns:
        The match with sub-pixel centre, radius and quality numbers.

    Raises:
        RegistrationError: no disc of the right size in the window; the message
            names the fiducial, where it was searched and why it was rejected.
    """
    cfg = config or RegistrationConfig()
    h, w = v.shape
    gx, gy = guess_xy
    where = (
        f"fiducial {fiducial.id} (board {fiducial.x:.0f},{fiducial.y:.0f}; searched "
        f"±{search_radius:.0f} px around image {gx:.0f},{gy:.0f})"
    )
    pad = math.ceil(1.8 * radius_px) + 2
    x0 = max(0, math.floor(gx - search_radius - pad))
    y0 = max(0, math.floor(gy - search_radius - pad))
    x1 = min(w, math.ceil(gx + search_radius + pad) + 1)
    y1 = min(h, math.ceil(gy + search_radius + pad) + 1)
    if x1 - x0 < 2 * pad + 1 or y1 - y0 < 2 * pad + 1:
        msg = f"{where}: the search window lies outside the {w}x{h} image"
        raise RegistrationError(msg)
    win = v[y0:y1, x0:x1].astype(np.float32)
    if float(win.std()) < 1.0:
        msg = f"{where}: not found, the image is blank there (no contrast)"
        raise RegistrationError(msg)
    # Coarse: reduced so that the radius is ~6 px.
    k = max(1, int(radius_px // 6))
    small = cv2.resize(
        win,
        (max(1, win.shape[1] // k), max(1, win.shape[0] // k)),
        interpolation=cv2.INTER_AREA,
    )
    tpl = _disc_template(radius_px / k)
    if small.shape[0] < tpl.shape[0] or small.shape[1] < tpl.shape[1]:
        msg = f"{where}: search window too small for the fiducial"
        raise RegistrationError(msg)
    ncc = cv2.matchTemplate(small, tpl, cv2.TM_CCOEFF_NORMED)
    ncc = np.nan_to_num(ncc, nan=0.0)
    ay, ax = np.unravel_index(int(np.argmax(np.abs(ncc))), ncc.shape)
    half_s = tpl.shape[0] // 2
    cx = x0 + (ax + half_s + 0.5) * k - 0.5
    cy = y0 + (ay + half_s + 0.5) * k - 0.5
    # Fine: full resolution, a few pixels around the coarse peak.
    tplf = _disc_template(radius_px)
    hf = tplf.shape[0] // 2
    m = 2 * k + 2
    fx0 = max(0, round(cx) - hf - m)
    fy0 = max(0, round(cy) - hf - m)
    fx1 = min(w, round(cx) + hf + m + 1)
    fy1 = min(h, round(cy) + hf + m + 1)
    fine_win = v[fy0:fy1, fx0:fx1].astype(np.float32)
    if fine_win.shape[0] < tplf.shape[0] or fine_win.shape[1] < tplf.shape[1]:
        msg = f"{where}: not found, the best candidate touches the image border"
        raise RegistrationError(msg)
    nf = np.nan_to_num(cv2.matchTemplate(fine_win, tplf, cv2.TM_CCOEFF_NORMED))
    py, px = np.unravel_index(int(np.argmax(np.abs(nf))), nf.shape)
    score = float(nf[py, px])
    polarity = 1.0 if score >= 0 else -1.0
    dx, dy = _parabola_peak(np.abs(nf), int(py), int(px))
    cx, cy = fx0 + px + hf + dx, fy0 + py + hf + dy
    if abs(score) < cfg.min_fiducial_score:
        msg = (
            f"{where}: not found, best disc match scores {abs(score):.2f} "
            f"< {cfg.min_fiducial_score:.2f} at image {cx:.0f},{cy:.0f}"
        )
        raise RegistrationError(msg)
    rx, ry, rr, rms, n = _refine_circle_window(v, cx, cy, radius_px, polarity)
    if not math.isfinite(rms):
        msg = (
            f"{where}: not found, the candidate at image {cx:.0f},{cy:.0f} has no "
            f"clear round edge ({n} of {_N_RAYS} edge points)"
        )
        raise RegistrationError(msg)
    rel = rr / radius_px - 1.0
    if abs(rel) > cfg.radius_tolerance:
        msg = (
            f"{where}: not found, the disc at image {rx:.0f},{ry:.0f} has radius "
            f"{rr:.1f} px, expected {radius_px:.1f} px (±{cfg.radius_tolerance:.0%})"
        )
        raise RegistrationError(msg)
    if rms > cfg.max_circle_rms * radius_px:
        msg = (
            f"{where}: not found, the candidate at image {rx:.0f},{ry:.0f} is not "
            f"round (edge RMS {rms:.2f} px > {cfg.max_circle_rms * radius_px:.2f})"
        )
        raise RegistrationError(msg)
    if math.hypot(rx - cx, ry - cy) > 0.5 * radius_px:
        msg = f"{where}: not found, edge fit and disc match disagree"
        raise RegistrationError(msg)
    return FiducialMatch(
        id=fiducial.id,
        board_xy=(float(fiducial.x), float(fiducial.y)),
        image_xy=(rx, ry),
        radius=rr,
        score=abs(score),
        circle_rms=rms,
    )


def _refine_circle_window(
    v: np.ndarray, cx: float, cy: float, r: float, polarity: float
) -> tuple[float, float, float, float, int]:
    """`_refine_circle` on a float copy of just the window around the disc."""
    h, w = v.shape
    half = math.ceil(1.7 * r) + 3
    x0, y0 = max(0, math.floor(cx) - half), max(0, math.floor(cy) - half)
    x1, y1 = min(w, math.floor(cx) + half + 1), min(h, math.floor(cy) + half + 1)
    win = v[y0:y1, x0:x1].astype(np.float32)
    fx, fy, fr, rms, n = _refine_circle(win, cx - x0, cy - y0, r, polarity)
    return fx + x0, fy + y0, fr, rms, n


def metal_feature(
    image: np.ndarray, fiducials: Sequence[FiducialMatch]
) -> tuple[np.ndarray, str]:
    """The single channel in which bare metal stands out most from the board.

    Fiducials are bare copper/finish like the pads, so they teach which channel
    separates metal from solder mask on *this* image: each candidate (R, G, B,
    min and max of the channels) is scored by how far the mean inside the found
    fiducial discs lies from the image median, in units of the image's robust
    spread. A darker-than-board result is inverted so metal is always bright.

    Args:
        image: HxW or HxWx3 uint8 image.
        fiducials: the found fiducials (centre and radius in image pixels).

    Returns:
        (HxW uint8 feature image, name of the channel used).
    """
    if image.ndim == 2 or image.shape[2] == 1:
        cands = {"gray": value_channel(image)}
    else:
        c0, c1, c2 = image[:, :, 0], image[:, :, 1], image[:, :, 2]
        cands = {
            "max": value_channel(image),
            "min": cv2.min(cv2.min(c0, c1), c2),
            "ch0": np.ascontiguousarray(c0),
            "ch1": np.ascontiguousarray(c1),
            "ch2": np.ascontiguousarray(c2),
        }
    best, best_score, invert = "", -1.0, False
    for name, ch in cands.items():
        sample = ch[::7, ::7].astype(np.float32)
        med = float(np.median(sample))
        spread = 1.4826 * float(np.median(np.abs(sample - med))) + 2.0
        inside = []
        for f in fiducials:
            r = max(1, int(0.6 * f.radius))
            x, y = round(f.image_xy[0]), round(f.image_xy[1])
            inside.append(
                float(ch[max(0, y - r) : y + r + 1, max(0, x - r) : x + r + 1].mean())
            )
        d = float(np.mean(inside)) - med
        score = abs(d) / spread
        if score > best_score:
            best, best_score, invert = name, score, d < 0
    out = cands[best]
    return (cv2.bitwise_not(out) if invert else out), best + (
        "-inverted" if invert else ""
    )


# ---------------------------------------------------------------------------
# Joint-mask matching


@dataclass
class _Match:
    board_xy: np.ndarray  # (2,)
    image_xy: np.ndarray  # (2,)
    score: float


def _box_corners(joints: Sequence[RecipeJoint]) -> np.ndarray:
    """(N, 4, 2) corners of the recipe boxes in board coordinates."""
    b = np.array([j.box for j in joints], np.float64).reshape(-1, 4)
    x0, y0 = b[:, 0], b[:, 1]
    x1, y1 = x0 + b[:, 2], y0 + b[:, 3]
    return np.stack(
        [
            np.stack([x0, y0], 1),
            np.stack([x1, y0], 1),
            np.stack([x1, y1], 1),
            np.stack([x0, y1], 1),
        ],
        axis=1,
    )


def _match_group(
    v: np.ndarray,
    corners_img: np.ndarray,
    centroid_board: np.ndarray,
    centroid_img: np.ndarray,
    search: float,
    scale: float,
    min_score: float,
    masked: bool,
) -> _Match | None:
    """Match the rendered mask of `corners_img` (image px of `v`) within ±search.

    `scale` converts `v` pixels to full-image pixels (for a reduced `v`).
    """
    h, w = v.shape
    s = math.ceil(search)
    lo = np.floor(corners_img.reshape(-1, 2).min(0)).astype(int) - 2
    hi = np.ceil(corners_img.reshape(-1, 2).max(0)).astype(int) + 3
    tx0, ty0 = int(lo[0]), int(lo[1])
    tx1, ty1 = int(hi[0]), int(hi[1])
    sx0, sy0, sx1, sy1 = tx0 - s, ty0 - s, tx1 + s, ty1 + s
    if sx0 < 0 or sy0 < 0 or sx1 > w or sy1 > h:
        return None
    tpl = np.zeros((ty1 - ty0, tx1 - tx0), np.uint8)
    shift = 4
    pts = np.rint((corners_img - [tx0, ty0]) * (1 << shift)).astype(np.int32)
    cv2.fillPoly(tpl, list(pts), 255, cv2.LINE_AA, shift)
    # Only the boxes and a 1-px ring count: labels, silkscreen bars and bodies
    # next to the pads must not pull the match.
    support = cv2.dilate((tpl > 0).astype(np.uint8), np.ones((3, 3), np.uint8))
    tplf = cv2.GaussianBlur(tpl.astype(np.float32), (0, 0), 0.8)
    raw = v[sy0:sy1, sx0:sx1]
    lo_v, hi_v, _, _ = cv2.minMaxLoc(raw)
    if hi_v - lo_v < 2:  # flat: nothing to match
        return None
    region = raw.astype(np.float32)
    ncc = cv2.matchTemplate(
        region,
        tplf,
        cv2.TM_CCOEFF_NORMED,
        mask=support.astype(np.float32) if masked else None,
    )
    ncc = np.nan_to_num(ncc, nan=0.0, posinf=0.0, neginf=0.0)
    ncc[ncc > 1.001] = 0.0  # masked NCC over a near-flat window: meaningless
    py, px = np.unravel_index(int(np.argmax(ncc)), ncc.shape)
    score = float(ncc[py, px])
    # A peak on the edge of the search range is not a localised match.
    if score < min_score or not (
        0 < px < ncc.shape[1] - 1 and 0 < py < ncc.shape[0] - 1
    ):
        return None
    dx, dy = _parabola_peak(ncc, int(py), int(px))
    off = np.array([px + dx - s, py + dy - s]) * scale
    return _Match(centroid_board, centroid_img + off, score)


def _groups_tiles(
    corners: np.ndarray, board_size: tuple[int, int], nx: int = 4, ny: int = 3
) -> list[np.ndarray]:
    centres = corners.mean(axis=1)
    bw, bh = board_size
    gx = np.clip((centres[:, 0] / bw * nx).astype(int), 0, nx - 1)
    gy = np.clip((centres[:, 1] / bh * ny).astype(int), 0, ny - 1)
    key = gy * nx + gx
    return [np.flatnonzero(key == k) for k in range(nx * ny) if (key == k).sum() >= 2]


def _groups_parts(joints: Sequence[RecipeJoint]) -> list[np.ndarray]:
    by: dict[str, list[int]] = {}
    for i, j in enumerate(joints):
        by.setdefault(j.refdes or f"#{i}", []).append(i)
    return [np.asarray(v) for v in by.values()]


def _match_stage(
    v: np.ndarray,
    hom: np.ndarray,
    corners: np.ndarray,
    groups: list[np.ndarray],
    *,
    reduce: int,
    search: float,
    min_score: float,
    masked: bool,
) -> list[_Match]:
    """One matching pass: every group's mask projected by `hom`, matched in `v`
    (reduced by `reduce`), within ±`search` full-image px."""
    red = np.diag([1.0 / reduce, 1.0 / reduce, 1.0]) @ hom
    flat = corners.reshape(-1, 2)
    img_corners = _project(flat, red).reshape(corners.shape)
    area = (corners[:, 2, 0] - corners[:, 0, 0]) * (corners[:, 2, 1] - corners[:, 0, 1])
    centres = corners.mean(axis=1)
    out = []
    for g in groups:
        wts = area[g] / area[g].sum()
        cb = (centres[g] * wts[:, None]).sum(0)
        ci = _project(cb[None], hom)[0]
        m = _match_group(
            v,
            img_corners[g],
            cb,
            ci,
            search / reduce,
            float(reduce),
            min_score,
            masked,
        )
        if m is not None:
            out.append(m)
    return out


def _fit_refined(
    fids_b: np.ndarray,
    fids_i: np.ndarray,
    matches: list[_Match],
    hom_init: np.ndarray,
    threshold: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Robust homography on fiducials (weight max(3, sqrt(n))) and n joint matches.

    RANSAC removes gross mismatches, then a Huber least-squares fit on the
    inliers weighs the fiducials (sub-pixel circle fits) above the joint matches.
    Returns (H, inlier board points, inlier image points), fiducials first, or
    None when the fiducials do not fit.
    """
    from scipy.optimize import least_squares

    nf = len(fids_b)
    src = np.vstack([fids_b, np.array([m.board_xy for m in matches])])
    dst = np.vstack([fids_i, np.array([m.image_xy for m in matches])])
    hom, mask = cv2.findHomography(
        src, dst, cv2.RANSAC, threshold, maxIters=2000, confidence=0.999
    )
    if hom is None:
        hom, mask = hom_init, np.ones((len(src), 1), np.uint8)
    inl = mask.ravel().astype(bool)
    inl[:nf] = True
    w_fid = max(3.0, math.sqrt(len(src) - nf))
    wts = np.where(np.arange(len(src)) < nf, w_fid, 1.0)[inl]
    # Normalise coordinates for conditioning.
    c = src.mean(0)
    k = 1.0 / max(float(np.abs(src - c).max()), 1.0)
    t = np.array([[k, 0, -k * c[0]], [0, k, -k * c[1]], [0, 0, 1.0]])
    h_n = (hom / hom[2, 2]) @ np.linalg.inv(t)
    h_n = h_n / h_n[2, 2]
    s_n = _project(src[inl], t)
    d_in = dst[inl]

    def resid(p: np.ndarray) -> np.ndarray:
        hh = np.append(p, 1.0).reshape(3, 3)
        return ((_project(s_n, hh) - d_in) * wts[:, None]).ravel()

    sol = least_squares(
        resid, h_n.ravel()[:8], loss="huber", f_scale=0.5 * threshold, x_scale="jac"
    )
    hom2 = np.append(sol.x, 1.0).reshape(3, 3) @ t
    hom2 = hom2 / hom2[2, 2]
    err = np.linalg.norm(_project(src, hom2) - dst, axis=1)
    keep = err <= threshold
    if not keep[:nf].all():
        return None
    return hom2, src[keep], dst[keep]


# ---------------------------------------------------------------------------
# Entry point


def register(
    image: np.ndarray, recipe: Recipe, *, config: RegistrationConfig | None = None
) -> Registration:
    """Find the transform from the recipe's board coordinates to `image`.

    Args:
        image: the board photo, HxWx3 (RGB or BGR, only the channel maximum is
            used) or HxW uint8.
        recipe: the product's recipe with at least 3 fiducials.
        config: thresholds; defaults to `RegistrationConfig()`.

    Returns:
        The registration (homography recipe -> image, residuals, matches).

    Raises:
        RegistrationError: fewer than 3 fiducials in the recipe, a fiducial not
            found, fiducials inconsistent with a flat board, or a residual above
            the limit. The message says which and by how much.
        DataError: `image` is not a uint8 image array.
    """
    cfg = config or RegistrationConfig()
    t0 = time.perf_counter()
    v = value_channel(image)
    h, w = v.shape
    fids = list(recipe.fiducials)
    if len(fids) < 3:
        msg = (
            f"recipe {recipe.product!r} has {len(fids)} fiducial(s); registration "
            "needs at least 3"
        )
        raise RegistrationError(msg)
    if float(v.std()) < 1.0:
        msg = f"blank image ({w}x{h}, no contrast): no fiducial can be found"
        raise RegistrationError(msg)
    bw, bh = recipe.board_size
    sx, sy = w / bw, h / bh
    s_r = math.sqrt(sx * sy)
    search = cfg.search_radius
    matches_f: list[FiducialMatch] = []
    for f in fids:
        rad = f.r * s_r
        sr = search if search is not None else max(4.0 * rad, 0.08 * max(w, h))
        matches_f.append(
            find_fiducial(v, f, (f.x * sx, f.y * sy), rad, search_radius=sr, config=cfg)
        )
    t1 = time.perf_counter()
    fb = np.array([m.board_xy for m in matches_f], np.float64)
    fi = np.array([m.image_xy for m in matches_f], np.float64)
    shape_err = _similarity_error(fb, fi)
    if shape_err > cfg.max_shape_error:
        worst = _worst_fiducial(fb, fi, [m.id for m in matches_f])
        msg = (
            f"fiducials do not agree with a flat board: shape error {shape_err:.1%} "
            f"of their span > {cfg.max_shape_error:.1%} (most suspect: {worst}); "
            "a fiducial was probably matched on the wrong feature"
        )
        raise RegistrationError(msg)
    hom0, model = _fiducial_transform(fb, fi)
    fid_err0 = float(np.linalg.norm(_project(fb, hom0) - fi, axis=1).max())
    if model == "homography" and len(fids) > 4:
        rms0 = float(np.sqrt(np.mean(np.sum((_project(fb, hom0) - fi) ** 2, axis=1))))
    else:
        rms0 = 0.0
    if rms0 > cfg.max_residual_px:
        msg = (
            f"fiducial fit residual {rms0:.2f} px > {cfg.max_residual_px:.2f} px "
            f"(fiducials {', '.join(m.id for m in matches_f)})"
        )
        raise RegistrationError(msg)
    timings = {"fiducials": (t1 - t0) * 1e3}
    result = Registration(
        homography=hom0,
        model=model,
        fiducials=tuple(matches_f),
        residual_px=rms0,
        fiducial_error_px=fid_err0,
        shape_error=shape_err,
        refined=False,
        n_matches=0,
        timings_ms=timings,
    )
    if not cfg.refine or not recipe.joints:
        return result
    feat, feat_name = metal_feature(image, matches_f)
    log.debug("recipe %s: matching joints on the %s channel", recipe.product, feat_name)
    refined = _refine(feat, recipe, hom0, fb, fi, cfg)
    timings["refine"] = (time.perf_counter() - t1) * 1e3
    if refined is None:
        log.warning(
            "recipe %s: too few joint matches to refine the fiducial %s; "
            "perspective is not corrected",
            recipe.product,
            model,
        )
        return result
    hom, src, dst = refined
    err = np.linalg.norm(_project(src, hom) - dst, axis=1)
    rms = float(np.sqrt(np.mean(err**2)))
    fid_err = float(np.linalg.norm(_project(fb, hom) - fi, axis=1).max())
    if rms > cfg.max_residual_px or fid_err > cfg.max_fiducial_error_px:
        msg = (
            f"registration residual too large: RMS {rms:.2f} px (limit "
            f"{cfg.max_residual_px:.2f}), fiducial error {fid_err:.2f} px (limit "
            f"{cfg.max_fiducial_error_px:.2f}) over {len(src)} points"
        )
        raise RegistrationError(msg)
    return Registration(
        homography=hom,
        model="homography",
        fiducials=tuple(matches_f),
        residual_px=rms,
        fiducial_error_px=fid_err,
        shape_error=shape_err,
        refined=True,
        n_matches=len(src) - len(fb),
        timings_ms=timings,
    )


def _worst_fiducial(fb: np.ndarray, fi: np.ndarray, ids: list[str]) -> str:
    """The fiducial whose removal best restores a similarity (needs 4+)."""
    if len(fb) <= 3:
        return "cannot tell which with 3 fiducials"
    errs = []
    for i in range(len(fb)):
        keep = np.arange(len(fb)) != i
        errs.append(_similarity_error(fb[keep], fi[keep]))
    return f"fiducial {ids[int(np.argmin(errs))]}"


def _energy(img: np.ndarray, sigma: float) -> np.ndarray:
    """Local edge energy (blurred gradient magnitude) scaled to uint8.

    Polarity-free: metal joints are busy (bright tops, dark slopes, edges) while
    solder mask is smooth, whatever the lighting makes bright or dark.
    """
    x = img.astype(np.float32)
    gx = cv2.Sobel(x, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(x, cv2.CV_32F, 0, 1, ksize=3)
    e = cv2.GaussianBlur(cv2.magnitude(gx, gy), (0, 0), sigma)
    top = float(np.percentile(e[::4, ::4], 99.5))
    return cv2.convertScaleAbs(e, alpha=255.0 / max(top, 1e-3))


def _refine(
    v: np.ndarray,
    recipe: Recipe,
    hom0: np.ndarray,
    fb: np.ndarray,
    fi: np.ndarray,
    cfg: RegistrationConfig,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Coarse tile stage on a reduced image, then per-part passes down to full size.

    Two features are tried: the metal channel (sharp where metal is bright) and
    the edge energy (works where metal is both bright and dark, e.g. coaxial
    grayscale AOI); masked and unmasked tile matches give the coarse starts.
    """
    h, w = v.shape
    corners = _box_corners(recipe.joints)
    reduce = max(1, round(max(w, h) / 1000))
    wide = cfg.refine_search if cfg.refine_search is not None else 0.03 * max(w, h)
    wide = max(wide, 4.0 * reduce)

    def shrink(img: np.ndarray, k: int) -> np.ndarray:
        if k == 1:
            return img
        return cv2.resize(img, (w // k, h // k), interpolation=cv2.INTER_AREA)

    vs = shrink(v, reduce)
    coarse_tol = max(3.0, 1.5 * reduce)
    tiles = _groups_tiles(corners, recipe.board_size)
    parts = _groups_parts(recipe.joints)
    # Coarse starts, best supported first.
    starts: list[tuple[int, np.ndarray]] = []
    for feat in (vs, _energy(vs, max(1.0, 2.0 / reduce))):
        for masked in (True, False):
            m1 = _match_stage(
                feat,
                hom0,
                corners,
                tiles,
                reduce=reduce,
                search=wide,
                min_score=cfg.min_match_score,
                masked=masked,
            )
            if len(m1) < 2:
                continue
            fit = _fit_refined(fb, fi, m1, hom0, coarse_tol)
            if fit is not None and _close(fit[0], hom0, recipe.board_size, 1.5 * wide):
                starts.append((len(fit[1]), fit[0]))
    starts.sort(key=lambda t: -t[0])
    plans = [(hom, 2.0 * coarse_tol + 2.0) for _, hom in starts[:2]]
    if reduce == 1:
        plans.append((hom0, wide))
    # Fine passes: half resolution first on large images, then full resolution.
    mid = max(1, reduce // 2)
    full_feats: dict[str, np.ndarray] = {"metal": v}
    for name in ("metal", "energy"):
        if name not in full_feats:
            full_feats[name] = _energy(v, _ENERGY_SIGMA)
        pyramid = {1: full_feats[name]}
        if mid > 1:
            pyramid[mid] = shrink(full_feats[name], mid)
        for hom_start, search in plans:
            hom = hom_start
            fit: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
            steps = [(mid, search), (1, 1.5 * mid + 2.0)] if mid > 1 else [(1, search)]
            for k, srch in steps:
                m2 = _match_stage(
                    pyramid[k],
                    hom,
                    corners,
                    parts,
                    reduce=k,
                    search=srch,
                    min_score=cfg.min_match_score,
                    masked=True,
                )
                fit = None
                if len(m2) >= cfg.min_refine_points:
                    # Strict inlier threshold first; twice that for lighting whose
                    # joint matches are biased by a few px (their residual shows).
                    tol = max(1.5, 1.0 * k + 0.5)
                    for t in (tol, 2.0 * tol):
                        fit = _fit_refined(fb, fi, m2, hom, t)
                        if fit is not None and (
                            len(fit[1]) - len(fb) >= cfg.min_refine_points
                        ):
                            break
                        fit = None
                if fit is None:
                    break
                hom = fit[0]
            if fit is not None and _close(fit[0], hom0, recipe.board_size, 1.5 * wide):
                log.debug("refined on the %s feature", name)
                return fit
    return None


def _close(
    a: np.ndarray, b: np.ndarray, board_size: tuple[int, int], tol: float
) -> bool:
    """True if two transforms map a 5x5 grid over the board within `tol` px."""
    bw, bh = board_size
    g = np.array([[x, y] for x in np.linspace(0, bw, 5) for y in np.linspace(0, bh, 5)])
    return bool(np.linalg.norm(_project(g, a) - _project(g, b), axis=1).max() <= tol)
