"""Scene buffers and drawing primitives of the joint renderer.

A scene is a top-down 2.5-D description of a small patch of board in canvas pixels:
a height field (in pixel units, so its gradient is the surface slope), a material id
per pixel, a roughness (0 = mirror-smooth solder, 1 = grainy) and a translucent tint
layer (flux film, burn marks). `styles.shade` turns it into an image.

All primitives draw into a clipped window around the shape so that a small feature
costs a small amount of work.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Scene:
    """Mutable 2.5-D scene (see module docstring)."""

    h: np.ndarray  # float32 (H, W) height in px
    mat: np.ndarray  # uint8 (H, W) material id (see materials.Mat)
    rough: np.ndarray  # float32 (H, W) in [0, 1]
    tint: np.ndarray  # float32 (H, W, 3) film colour
    tint_a: np.ndarray  # float32 (H, W) film opacity in [0, 1]
    mod: np.ndarray  # float32 (H, W) albedo modulation (board texture), not a defect
    grain: np.ndarray  # float32 (H, W) fine noise that roughness turns into grain

    @classmethod
    def new(cls, height: int, width: int) -> Scene:
        return cls(
            h=np.zeros((height, width), np.float32),
            mat=np.zeros((height, width), np.uint8),
            rough=np.zeros((height, width), np.float32),
            tint=np.zeros((height, width, 3), np.float32),
            tint_a=np.zeros((height, width), np.float32),
            mod=np.ones((height, width), np.float32),
            grain=np.zeros((height, width), np.float32),
        )

    @property
    def shape(self) -> tuple[int, int]:
        return self.mat.shape  # type: ignore[return-value]

    def crop(self, rows: slice, cols: slice) -> Scene:
        """View of a window of the scene (no copy)."""
        return Scene(
            self.h[rows, cols],
            self.mat[rows, cols],
            self.rough[rows, cols],
            self.tint[rows, cols],
            self.tint_a[rows, cols],
            self.mod[rows, cols],
            self.grain[rows, cols],
        )

    def copy(self) -> Scene:
        return Scene(
            self.h.copy(),
            self.mat.copy(),
            self.rough.copy(),
            self.tint.copy(),
            self.tint_a.copy(),
            self.mod.copy(),
            self.grain.copy(),
        )


def window(
    shape: tuple[int, int], cx: float, cy: float, rx: float, ry: float | None = None
) -> tuple[slice, slice, np.ndarray, np.ndarray] | None:
    """Clipped window around (cx, cy) of half-size (rx, ry) with coordinate grids.

    Returns (rows, cols, X, Y) where X, Y hold pixel-centre coordinates of the window,
    or None when the window misses the canvas.
    """
    ry = rx if ry is None else ry
    hgt, wid = shape
    x0, x1 = max(0, int(np.floor(cx - rx - 2))), min(wid, int(np.ceil(cx + rx + 3)))
    y0, y1 = max(0, int(np.floor(cy - ry - 2))), min(hgt, int(np.ceil(cy + ry + 3)))
    if x0 >= x1 or y0 >= y1:
        return None
    xs = np.arange(x0, x1, dtype=np.float32)
    ys = np.arange(y0, y1, dtype=np.float32)
    X, Y = np.meshgrid(xs, ys)
    return slice(y0, y1), slice(x0, x1), X, Y


def local_xy(
    X: np.ndarray, Y: np.ndarray, cx: float, cy: float, angle: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates relative to (cx, cy) in a frame rotated by `angle` (radians)."""
    dx, dy = X - cx, Y - cy
    if angle == 0.0:
        return dx, dy
    c, s = np.float32(np.cos(angle)), np.float32(np.sin(angle))
    return c * dx + s * dy, -s * dx + c * dy


def sdf_box(u: np.ndarray, v: np.ndarray, hw: float, hh: float, r: float = 0.0):
    """Signed distance to a rounded box of half-size (hw, hh), corner radius r."""
    r = min(r, hw, hh)
    qx = np.abs(u) - (hw - r)
    qy = np.abs(v) - (hh - r)
    outside = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0))
    inside = np.minimum(np.maximum(qx, qy), 0)
    return outside + inside - r


def sdf_circle(u: np.ndarray, v: np.ndarray, r: float) -> np.ndarray:
    """Signed distance to a circle of radius r centred at the origin."""
    return np.hypot(u, v) - r


def sdf_capsule(
    X: np.ndarray, Y: np.ndarray, p0: tuple[float, float], p1: tuple[float, float], r
) -> np.ndarray:
    """Signed distance to a capsule (segment p0-p1 thickened by r)."""
    ax, ay = p0
    bx, by = p1
    px, py = X - ax, Y - ay
    vx, vy = bx - ax, by - ay
    t = np.clip((px * vx + py * vy) / max(vx * vx + vy * vy, 1e-6), 0, 1)
    return np.hypot(px - t * vx, py - t * vy) - r


def smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    """Hermite step from 0 at e0 to 1 at e1."""
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def dome(sdf: np.ndarray, radius: float, height: float, power: float = 0.5):
    """Convex cap height over a region given by its SDF (0 outside).

    `power` 0.5 gives a spherical-looking cap; larger values a flatter top.
    """
    t = np.clip(-sdf / max(radius, 1e-3), 0.0, 1.0)
    return (height * (1.0 - (1.0 - t) ** 2) ** power).astype(np.float32)


def put(
    scene: Scene,
    win: tuple[slice, slice, np.ndarray, np.ndarray],
    region: np.ndarray,
    mat: int | None = None,
    h: np.ndarray | float | None = None,
    rough: float | None = None,
    mode: str = "set",
) -> None:
    """Write material / height / roughness into `region` (bool, window-shaped).

    mode "set" replaces the height, "max" keeps the higher surface, "add" adds.
    """
    rows, cols = win[0], win[1]
    if mat is not None:
        scene.mat[rows, cols][region] = mat
    if h is not None:
        hh = np.broadcast_to(np.asarray(h, np.float32), region.shape)
        view = scene.h[rows, cols]
        if mode == "set":
            view[region] = hh[region]
        elif mode == "max":
            view[region] = np.maximum(view[region], hh[region])
        else:
            view[region] += hh[region]
    if rough is not None:
        scene.rough[rows, cols][region] = rough


def value_noise(rng: np.random.Generator, shape: tuple[int, int], cell: float):
    """Smooth random field in about [-1, 1] with feature size `cell` px."""
    import cv2

    gh = max(2, int(np.ceil(shape[0] / cell)) + 2)
    gw = max(2, int(np.ceil(shape[1] / cell)) + 2)
    g = rng.standard_normal((gh, gw)).astype(np.float32)
    big = cv2.resize(g, (int(gw * cell), int(gh * cell)), interpolation=cv2.INTER_CUBIC)
    return np.ascontiguousarray(big[: shape[0], : shape[1]])


def scene_diff_mask(
    good: Scene, bad: Scene, h_tol: float = 0.15, slope_tol: float = 0.08
) -> np.ndarray:
    """Pixels where two scenes differ in appearance-relevant properties.

    Material, roughness or film changes count; a height change counts where it also
    tilts the surface (|d slope| > slope_tol): seen from the top, shading depends on
    the surface normal, so a surface that only sinks or rises does not look different.
    """
    dh = bad.h - good.h
    m = good.mat != bad.mat
    m |= np.abs(good.rough - bad.rough) > 0.05
    m |= np.abs(good.tint_a - bad.tint_a) > 0.05
    gy, gx = np.gradient(dh)
    m |= (np.abs(dh) > h_tol) & (np.abs(gx) + np.abs(gy) > slope_tol)
    return m.astype(np.uint8)
