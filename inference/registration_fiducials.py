"""Fiducials of a board photo: value channel, disc search, circle fit, metal channel.

`find_fiducial` locates one round fiducial by normalised cross-correlation with an
anti-aliased disc (coarse, then full resolution) and refines its centre with a
circle fitted to radial edge points; `metal_feature` picks the channel in which the
found fiducials (bare metal) stand out most. See `inference.registration`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np

from inference.errors import DataError
from inference.registration_common import (
    FiducialMatch,
    RegistrationConfig,
    RegistrationError,
    _parabola_peak,
)

if TYPE_CHECKING:
    from inference.synth.recipe import Fiducial

_N_RAYS = 48


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
