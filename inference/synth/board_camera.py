"""The camera of a synthetic board: its homography and its photometry.

`_camera` draws a random board -> image homography (shift, rotation, scale, a
little perspective) that keeps every fiducial inside; `_photometric` applies gain,
gamma, white balance, blur, vignetting and sensor noise.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import cv2
import numpy as np

from inference.synth.recipe import project_points

if TYPE_CHECKING:
    from inference.synth.board_config import BoardConfig
    from inference.synth.recipe import Fiducial


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
