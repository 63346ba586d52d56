"""Region proposals: SLIC superpixels, a square grid, activation bands (spec §1.2)."""

from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage
from skimage.segmentation import slic

from inference.explain.config import ExplainConfig
from inference.explain.errors import ExplainError

EIGHT = np.ones((3, 3), dtype=bool)


def relabel(labels: np.ndarray) -> np.ndarray:
    """Map arbitrary integer labels to 0..K−1 in ascending order of the old labels."""
    _, inverse = np.unique(labels, return_inverse=True)
    return inverse.reshape(labels.shape).astype(np.int32)


def grid_labels(height: int, width: int, cell: int) -> np.ndarray:
    """Square cells of `cell` px; id = row · ceil(W / cell) + col."""
    rows = np.arange(height) // cell
    cols = np.arange(width) // cell
    n_cols = -(-width // cell)
    return (rows[:, None] * n_cols + cols[None, :]).astype(np.int32)


def slic_labels(x: torch.Tensor, cfg: ExplainConfig) -> np.ndarray:
    """SLIC superpixels of a `1×3×H×W` image with the spec's parameters."""
    img = x[0].detach().cpu().numpy().transpose(1, 2, 0).astype(np.float64)
    labels = slic(
        img,
        n_segments=cfg.n_segments,
        compactness=cfg.compactness,
        sigma=cfg.slic_sigma,
        start_label=0,
        enforce_connectivity=True,
        channel_axis=-1,
    )
    return relabel(labels)


def activation_labels(cam: np.ndarray, cfg: ExplainConfig) -> np.ndarray:
    """Quantile bands of the activation map, split into 8-connected components per band
    and bounded by a grid of `activation_cell` px."""
    edges = np.quantile(cam, cfg.activation_quantiles)
    band = np.digitize(cam, edges)
    comp = np.zeros(cam.shape, dtype=np.int64)
    offset = 0
    for b in np.unique(band):
        lab, n = ndimage.label(band == b, structure=EIGHT)
        comp[lab > 0] = lab[lab > 0] + offset
        offset += n
    cells = grid_labels(*cam.shape, cfg.activation_cell).astype(np.int64)
    return relabel(comp * (int(cells.max()) + 1) + cells)


def propose_regions(
    x: torch.Tensor, cfg: ExplainConfig, cam: np.ndarray | None = None
) -> np.ndarray:
    """Integer label map `L: H×W → {0..K−1}` for the chosen proposal method.

    Args:
        x: `1×3×H×W` image in [0, 1].
        cfg: knobs (`regions`, SLIC / grid / activation parameters).
        cam: activation map, required for `regions="activation"`.

    Returns:
        `H×W` int32 labels, 0..K−1.

    Raises:
        ExplainError: `activation` proposals without an activation map.
    """
    h, w = int(x.shape[2]), int(x.shape[3])
    if cfg.regions == "grid":
        return grid_labels(h, w, cfg.grid_cell)
    if cfg.regions == "slic":
        return slic_labels(x, cfg)
    if cam is None:
        msg = "regions='activation' needs an activation map (set target_layer)"
        raise ExplainError(msg)
    return activation_labels(cam, cfg)


def region_masks(labels: np.ndarray) -> np.ndarray:
    """One boolean mask per region: `K×H×W`."""
    k = int(labels.max()) + 1
    return labels[None, :, :] == np.arange(k)[:, None, None]


def region_means(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Mean of `values` over each region (length K, float64)."""
    k = int(labels.max()) + 1
    sums = np.bincount(
        labels.ravel(), weights=values.ravel().astype(np.float64), minlength=k
    )
    counts = np.bincount(labels.ravel(), minlength=k)
    return sums / np.maximum(counts, 1)
