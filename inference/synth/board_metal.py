"""The metal height map of a synthetic board and its shading.

Pads, solder, leads and pins are written into one board-wide height map
(`_Metal`: height, material, gloss, joint and defect ids) with the mask, dome and
fillet primitives here; `_shade` turns it into pixels with the style's lighting
(``color``, ``gray`` coaxial + ring, ``rgb`` tiers).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

# Materials of the metal height map.
_NONE, _PAD, _SOLDER, _LEAD, _HOLE = 0, 1, 2, 3, 4

_ALBEDO_SOLDER = np.array([200.0, 203.0, 206.0], np.float32)
_ALBEDO_LEAD = np.array([182.0, 184.0, 188.0], np.float32)
_ALBEDO_HASL = np.array([150.0, 153.0, 157.0], np.float32)
_ALBEDO_ENIG = np.array([88.0, 168.0, 214.0], np.float32)


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
