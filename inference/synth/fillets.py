"""Solder fillet geometry shared by every joint kind.

A fillet wets a pad (given by its signed distance field, negative inside) and climbs a
core (pin, lead foot or chip termination, also an SDF). With t = 0 at the core and t = 1
at the pad edge, a good joint has the concave meniscus h = H (1 - t)^gamma. Defect
modifiers (all in [0, 1], 0 = good) bend that profile:

* ``insufficient``: the surface sinks (keeping its slopes), so the wetted area
  shrinks towards the core; an angular bump (``sector``) keeps part of the ring
  wetted (the "C" ring of real unfilled THT joints).
* ``excess``: the solder swells past the pad edge into a convex dome.
* ``globule``: non-wetting, the solder pulls into a convex ball leaving bare pad.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .materials import Mat
from .scene import Scene, dome, value_noise


@dataclass(frozen=True)
class FilletMods:
    """Defect modifiers of one fillet (0 = good)."""

    insufficient: float = 0.0
    excess: float = 0.0
    globule: float = 0.0
    sector_angle: float = 0.0  # direction of the still-wetted sector (radians)
    sector_amount: float = 0.0  # 0..1 how much of the ring that sector keeps wetted
    offset: tuple[float, float] = (0.0, 0.0)  # globule offset, fraction of extent
    wobble_seed: int = -1  # >= 0: irregular (noisy) retreat of insufficient solder


GOOD = FilletMods()


def solder_height(
    X: np.ndarray,
    Y: np.ndarray,
    pad_sdf: np.ndarray,
    core_sdf: np.ndarray,
    centre: tuple[float, float],
    extent: float,
    height: float,
    gamma: float,
    mods: FilletMods = GOOD,
    edge: float = 0.35,
) -> np.ndarray:
    """Solder surface height over a pad (0 where there is no solder).

    Args:
        X, Y: window pixel coordinates.
        pad_sdf: signed distance to the pad outline (negative inside).
        core_sdf: signed distance to the pin / lead / termination (negative inside).
        centre: core centre (x, y) in pixels, for the angular sector and globule.
        extent: typical pad half-size in pixels (scales the excess and the globule).
        height: fillet height at the core.
        gamma: meniscus exponent (> 1 concave).
        mods: defect modifiers.
        edge: weight of a linear term that keeps a wetting angle at the pad edge
            (a fillet meets the pad at an angle, it does not flatten out).
    """
    d_out = np.maximum(-pad_sdf, 0.0)
    d_in = np.maximum(core_sdf, 0.0)
    t = d_in / (d_in + d_out + 1e-3)
    on_pad = pad_sdf < 0
    s_i = mods.insufficient
    q = 1.0 - np.clip(t, 0, 1)
    h = height * (edge * q + (1 - edge) * q**gamma) * on_pad
    if s_i > 0:  # less solder: the surface sinks, keeping its slopes, and retreats
        ang = np.arctan2(Y - centre[1], X - centre[0])
        bump = np.maximum(np.cos(ang - mods.sector_angle), 0) ** 3 * mods.sector_amount
        h = h - height * 0.92 * s_i * (1.0 - bump)
        edge_h = 0.0  # irregular retreat: the solder edge stops at a noisy thickness
        if mods.wobble_seed >= 0:
            n = value_noise(
                np.random.default_rng(mods.wobble_seed),
                X.shape,
                max(2.0, extent * 0.35),
            )
            edge_h = 0.12 * height * s_i * np.clip(n + 1.0, 0.0, 2.0)
        h = np.where(h > edge_h, h, 0.0)
    if mods.excess > 0:
        s_e = mods.excess
        ext = extent * 0.55 * s_e
        sdf_e = pad_sdf - ext
        hd = dome(sdf_e, (extent + ext) * 0.9, height * (1.0 + 1.6 * s_e), 0.6)
        c = float(np.clip(s_e / 0.35, 0, 1))
        h = np.maximum(h * (1 - c) + hd * c, h * (sdf_e < 0))
    if mods.globule > 0:
        s_g = mods.globule
        rb = extent * (0.95 - 0.5 * s_g)
        gx = centre[0] + mods.offset[0] * extent * s_g
        gy = centre[1] + mods.offset[1] * extent * s_g
        sdf_b = np.hypot(X - gx, Y - gy) - rb
        hb = dome(sdf_b, rb, height * (1.0 + 0.9 * s_g), 0.5)
        h = np.where(sdf_b < 0, np.maximum(hb, h * (1 - s_g)), h * (1 - s_g) ** 3)
        h = h * (h > 0.05 * height)
    return h.astype(np.float32)


def apply_solder(
    scene: Scene,
    rows: slice,
    cols: slice,
    hs: np.ndarray,
    base_rough: float,
    floor: float,
) -> np.ndarray:
    """Lay solder of height `hs` (+ pad floor) where it rises above the surface.

    Returns the window-shaped bool mask of the pixels that became solder.
    """
    view_h = scene.h[rows, cols]
    top = hs + floor
    win = (hs > 0.02) & (top > view_h - 1e-3)
    view_h[win] = top[win]
    scene.mat[rows, cols][win] = Mat.SOLDER
    scene.rough[rows, cols][win] = base_rough
    return win
