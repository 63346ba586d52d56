"""Drawing an explanation the way the paper shows it (Fig. 3) and its one-line text."""

from __future__ import annotations

import numpy as np
import torch
from matplotlib import colormaps
from scipy import ndimage

from inference.explain.errors import ExplainError
from inference.explain.result import CriticalFactorResult

_SQUARE = np.ones((3, 3), dtype=bool)


def to_rgb_float(image: torch.Tensor | np.ndarray) -> np.ndarray:
    """`H×W×3` float64 in [0, 1] from a `1×3×H×W`/`3×H×W` tensor or an RGB array."""
    if isinstance(image, torch.Tensor):
        t = image.detach().cpu()
        if t.ndim == 4:
            t = t[0]
        if t.ndim != 3 or t.shape[0] != 3:
            msg = f"expected a 3×H×W image tensor, got {tuple(image.shape)}"
            raise ExplainError(msg)
        arr = t.numpy().transpose(1, 2, 0).astype(np.float64)
    else:
        arr = np.asarray(image)
        if arr.ndim != 3 or arr.shape[2] != 3:
            msg = f"expected an H×W×3 RGB array, got {arr.shape}"
            raise ExplainError(msg)
        arr = arr.astype(np.float64) / 255.0 if arr.dtype == np.uint8 else arr
    return np.clip(arr.astype(np.float64), 0.0, 1.0)


def factor_outline(factor_labels: np.ndarray, width: int = 1) -> np.ndarray:
    """Inner boundary of every factor: `F_k XOR erode(F_k, 3×3)`, `width` px thick."""
    out = np.zeros(factor_labels.shape, dtype=bool)
    for k in np.unique(factor_labels):
        if k == 0:
            continue
        f = factor_labels == k
        eroded = ndimage.binary_erosion(f, structure=_SQUARE, iterations=max(1, width))
        out |= f & ~eroded
    return out


def render(
    image: torch.Tensor | np.ndarray,
    result: CriticalFactorResult,
    *,
    alpha: float = 0.5,
    cmap: str = "jet",
    outline_width: int = 1,
    show_heatmap: bool = True,
) -> np.ndarray:
    """Overlay the within-factor heatmap (only inside M*) and white factor outlines.

    Args:
        image: the explained image (`1×3×H×W` tensor in [0, 1] or `H×W×3` array).
        result: the CFI result for that image.
        alpha: opacity of the heatmap colours.
        cmap: matplotlib colormap name.
        outline_width: outline thickness in px (1–2 recommended).
        show_heatmap: False draws only the outlines.

    Returns:
        `H×W×3` uint8 RGB.
    """
    rgb = to_rgb_float(image)
    if rgb.shape[:2] != result.mask.shape:
        msg = (
            f"image {rgb.shape[:2]} and explanation {result.mask.shape} differ in size"
        )
        raise ExplainError(msg)
    out = rgb.copy()
    inside = result.mask.astype(bool)
    if show_heatmap and inside.any():
        colours = colormaps[cmap](np.clip(result.heatmap, 0.0, 1.0))[..., :3]
        out[inside] = (1.0 - alpha) * rgb[inside] + alpha * colours[inside]
    out[factor_outline(result.factor_labels, outline_width)] = 1.0
    return np.round(np.clip(out, 0.0, 1.0) * 255.0).astype(np.uint8)


def summary_text(result: CriticalFactorResult) -> str:
    """One sentence for the operator, e.g. "removing the outlined region drops
    P(defect) from 0.93 to 0.12"."""
    n = len(result.factors)
    what = "the outlined region" if n == 1 else f"the {n} outlined regions"
    before, after = result.p_before, result.p_after
    budget = (
        "; the search stopped at its forward-pass budget"
        if result.budget_exhausted
        else ""
    )
    if n == 0 or result.impact_type == "none":
        return (
            f"no compact region changes the decision (P(defect) {before:.2f}); "
            f"the evidence is spread over the image{budget}"
        )
    verb = "drops" if after < before else "raises"
    text = f"removing {what} {verb} P(defect) from {before:.2f} to {after:.2f}"
    if result.impact_type == "confidence":
        text += " (decision unchanged)"
    return text + budget
