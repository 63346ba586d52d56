"""Localisation of explanations against ground-truth defect masks.

Metrics of one explanation (heat map `h` and binary critical mask `M_E`) against a
ground-truth defect mask `G` (the manifest's optional `mask` column):

- **pointing game** (Zhang et al., 2016, adapted): a *hit* when the global maximum of
  `h` (which must be > 0) is reached somewhere inside `G` dilated by
  `tolerance_px` pixels (a disk; default 4 px at 256×256, i.e. ~1.5 % of the side,
  because hand-drawn and rendered masks are a few pixels off at the edges). Ties
  count as a hit when any maximal pixel lies inside: `max(h[dilate(G)]) == max(h)`.
  An all-zero heat map is a miss.
- **energy inside**: share of the positive heat that falls inside the dilated `G`.
- **IoU, recall, precision** of `M_E` against `G` (not dilated): `|M∩G|/|M∪G|`,
  `|M∩G|/|G|`, `|M∩G|/|M|` (0 for empty denominators), as `mask_overlap`.

Images whose ground-truth mask is empty (good joints) have no localisation; summaries
average over the images that have one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from inference.explain.errors import ExplainError
from inference.explain.impact import mask_overlap

#: Default tolerance of the pointing game in pixels (at the model input size).
POINTING_TOLERANCE_PX = 4


def disk(radius: int) -> np.ndarray:
    """Boolean disk structuring element of the given radius (radius 0 = one pixel)."""
    r = max(0, int(radius))
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    return (yy * yy + xx * xx) <= r * r


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary dilation of `mask` by a disk of `radius` px (0 returns a bool copy)."""
    m = np.asarray(mask).astype(bool)
    if radius <= 0 or not m.any():
        return m.copy()
    return ndimage.binary_dilation(m, structure=disk(radius))


def _check_shapes(a: np.ndarray, b: np.ndarray, what: str) -> None:
    if a.shape != b.shape:
        msg = f"{what} {a.shape} and ground-truth mask {b.shape} differ in size"
        raise ExplainError(msg)


def pointing_hit(
    heat: np.ndarray, gt_mask: np.ndarray, tolerance_px: int = POINTING_TOLERANCE_PX
) -> bool:
    """Pointing game: is the heat map's maximum inside the (dilated) defect mask?

    Args:
        heat: `H×W` heat / importance map (larger = more important).
        gt_mask: `H×W` ground-truth defect mask (non-zero = defect).
        tolerance_px: dilation radius of the mask in px.

    Returns:
        True when `max(heat) > 0` and it is reached inside `dilate(gt, tolerance)`.
    """
    h = np.asarray(heat, dtype=np.float64)
    g = np.asarray(gt_mask).astype(bool)
    _check_shapes(h, g, "heat map")
    peak = float(h.max()) if h.size else 0.0
    if not peak > 0 or not g.any():
        return False
    inside = dilate(g, tolerance_px)
    return bool(float(h[inside].max()) >= peak)


def energy_inside(
    heat: np.ndarray, gt_mask: np.ndarray, tolerance_px: int = POINTING_TOLERANCE_PX
) -> float:
    """Share of the positive heat inside the dilated mask (0 when there is none)."""
    h = np.maximum(np.asarray(heat, dtype=np.float64), 0.0)
    g = np.asarray(gt_mask).astype(bool)
    _check_shapes(h, g, "heat map")
    total = float(h.sum())
    if total <= 0:
        return 0.0
    return float(h[dilate(g, tolerance_px)].sum()) / total


@dataclass(frozen=True)
class Localisation:
    """Localisation of one explanation against one non-empty defect mask.

    Attributes:
        pointing_hit: the heat map's maximum lies inside the dilated mask.
        energy_inside: share of positive heat inside the dilated mask.
        iou: IoU of the critical mask with the defect mask.
        recall: `|M∩G| / |G|`.
        precision: `|M∩G| / |M|` (0 when the critical mask is empty).
        gt_area_frac: defect mask area as a fraction of the image.
        pred_area_frac: critical mask area as a fraction of the image.
    """

    pointing_hit: bool
    energy_inside: float
    iou: float
    recall: float
    precision: float
    gt_area_frac: float
    pred_area_frac: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        return asdict(self)


def localise(
    pred_mask: np.ndarray,
    heat: np.ndarray | None,
    gt_mask: np.ndarray,
    tolerance_px: int = POINTING_TOLERANCE_PX,
) -> Localisation | None:
    """All localisation metrics of one explanation.

    Args:
        pred_mask: `H×W` critical mask of the explainer (binarised at matched area
            for heat-map methods).
        heat: `H×W` heat map for the pointing game; None uses `pred_mask`.
        gt_mask: `H×W` ground-truth defect mask.
        tolerance_px: pointing-game dilation radius.

    Returns:
        The metrics, or None when the ground-truth mask is empty.
    """
    p = np.asarray(pred_mask).astype(bool)
    g = np.asarray(gt_mask).astype(bool)
    _check_shapes(p, g, "critical mask")
    if not g.any():
        return None
    h = p.astype(np.float64) if heat is None else np.asarray(heat, dtype=np.float64)
    ov = mask_overlap(p, g)
    return Localisation(
        pointing_hit=pointing_hit(h, g, tolerance_px),
        energy_inside=energy_inside(h, g, tolerance_px),
        iou=ov.iou,
        recall=ov.recall,
        precision=ov.precision,
        gt_area_frac=float(g.mean()),
        pred_area_frac=float(p.mean()),
    )


def localisation_summary(records: Sequence[Localisation | None]) -> dict[str, Any]:
    """Means over the images that have a defect mask.

    Returns:
        `{"n", "pointing_game", "energy_inside", "iou", "recall", "precision"}`
        (NaN means when `n` is 0).
    """
    ok = [r for r in records if r is not None]
    nan = math.nan

    def mean(name: str) -> float:
        return float(np.mean([float(getattr(r, name)) for r in ok])) if ok else nan

    return {
        "n": len(ok),
        "pointing_game": mean("pointing_hit"),
        "energy_inside": mean("energy_inside"),
        "iou": mean("iou"),
        "recall": mean("recall"),
        "precision": mean("precision"),
    }


def load_gt_mask(path: str | Path, shape: tuple[int, int]) -> np.ndarray:
    """Read a defect mask PNG and resize it (nearest neighbour) to `shape`.

    Any non-zero pixel (in any channel) is defect.

    Args:
        path: mask image file.
        shape: `(H, W)` of the model input the explanation was computed at.

    Returns:
        `H×W` bool mask.

    Raises:
        ExplainError: the file cannot be read.
    """
    import cv2

    arr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if arr is None:
        msg = f"cannot read mask image {path}"
        raise ExplainError(msg)
    m = arr.any(axis=2) if arr.ndim == 3 else arr != 0
    h, w = shape
    if m.shape != (h, w):
        m = cv2.resize(m.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
    return np.asarray(m).astype(bool)
