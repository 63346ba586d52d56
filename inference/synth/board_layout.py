"""Part placement of a synthetic board: components on an occupancy grid.

`_place_parts` drops packages (`inference.synth.board_parts`) at random positions
without overlap and names them by reading order; `_Part` maps a package's
millimetre frame (with its rotation and any component shift) to board pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from inference.synth.board_config import BOARD_STYLES
from inference.synth.board_parts import PACKAGE_WEIGHTS, PACKAGES, Package

if TYPE_CHECKING:
    from inference.synth.board_config import BoardConfig


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
