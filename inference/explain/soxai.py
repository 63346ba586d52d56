"""SOXAI: second-order explainability map of a dataset's explanations (spec §4)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment
from torch import nn

from inference.explain._torch import as_image, eval_mode, model_device
from inference.explain.errors import ExplainError
from inference.explain.render import render
from inference.explain.result import CriticalFactorResult, bbox_of

Colour = tuple[float, float, float]


def masked_crop(
    x: torch.Tensor,
    mask: np.ndarray,
    *,
    fill: Colour = (0.5, 0.5, 0.5),
    margin: int = 8,
    size: int = 256,
    weights: np.ndarray | None = None,
) -> torch.Tensor:
    """Keep only the explanation's pixels, crop to them and resize (§4.1 steps 2–3).

    Args:
        x: `1×3×H×W` image in [0, 1].
        mask: `H×W` critical mask M*; must not be empty.
        fill: neutral colour g (dataset mean colour) for everything outside M*.
        margin: px added around the mask's bounding box (clipped to the image).
        size: output side.
        weights: optional `H×W` pixel weights in [0, 1] inside M* (heatmap).

    Returns:
        `1×3×size×size` float32 tensor; it does not depend on pixels outside M*.
    """
    x = as_image(x)
    m = np.asarray(mask).astype(bool)
    if m.shape != tuple(x.shape[2:]) or not m.any():
        msg = "masked_crop needs a non-empty mask of the image's size"
        raise ExplainError(msg)
    w_np = m.astype(np.float32) if weights is None else np.where(m, weights, 0.0)
    w = torch.from_numpy(w_np.astype(np.float32)).to(x.device)[None, None]
    g = torch.tensor(fill, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    xm = torch.where(w > 0, x * w + g * (1 - w), g.expand_as(x))
    bx, by, bw, bh = bbox_of(m)
    h, wd = int(x.shape[2]), int(x.shape[3])
    y0, y1 = max(0, by - margin), min(h, by + bh + margin)
    x0, x1 = max(0, bx - margin), min(wd, bx + bw + margin)
    crop = xm[:, :, y0:y1, x0:x1]
    side = max(y1 - y0, x1 - x0)
    canvas = g.expand(1, 3, side, side).clone()
    top, left = (side - (y1 - y0)) // 2, (side - (x1 - x0)) // 2
    canvas[:, :, top : top + y1 - y0, left : left + x1 - x0] = crop
    return F.interpolate(
        canvas, size=(size, size), mode="bilinear", align_corners=False, antialias=True
    )


def feature_vectors(model: nn.Module, batch: torch.Tensor) -> torch.Tensor:
    """`model.features(batch)`, globally average-pooled when it is a feature map."""
    feats = getattr(model, "features", None)
    if not callable(feats):
        msg = f"{type(model).__name__} has no features(x) method for SOXAI"
        raise ExplainError(msg)
    out = feats(batch)
    if out.ndim == 4:
        out = out.mean(dim=(2, 3))
    if out.ndim != 2:
        msg = f"features(x) must give N×C×h×w or N×D, got {tuple(out.shape)}"
        raise ExplainError(msg)
    return out


def _l2(v: torch.Tensor) -> np.ndarray:
    v = v.double()
    return (v / v.norm(dim=1, keepdim=True).clamp_min(1e-12)).float().cpu().numpy()


@dataclass(frozen=True)
class Embedding:
    """Embeddings of the explained images that have a non-empty explanation."""

    vectors: np.ndarray
    kept: tuple[int, ...]
    n_excluded: int


def embed_masked_crop(
    model: nn.Module,
    images: Sequence[torch.Tensor],
    masks: Sequence[np.ndarray],
    *,
    fill: Colour = (0.5, 0.5, 0.5),
    margin: int = 8,
    size: int = 256,
    batch_size: int = 32,
    heatmaps: Sequence[np.ndarray] | None = None,
) -> Embedding:
    """Default SOXAI embedding: classifier features of the masked crops, L2-normed.

    Images with an empty mask are excluded (and counted).
    """
    kept = [i for i, m in enumerate(masks) if np.asarray(m).any()]
    rows: list[np.ndarray] = []
    dev = model_device(model, images[0]) if kept else torch.device("cpu")
    with eval_mode(model), torch.inference_mode():
        for start in range(0, len(kept), batch_size):
            idx = kept[start : start + batch_size]
            batch = torch.cat(
                [
                    masked_crop(
                        images[i],
                        masks[i],
                        fill=fill,
                        margin=margin,
                        size=size,
                        weights=None if heatmaps is None else heatmaps[i],
                    )
                    for i in idx
                ]
            ).to(dev)
            rows.append(_l2(feature_vectors(model, batch)))
    vecs = np.concatenate(rows) if rows else np.zeros((0, 0), dtype=np.float32)
    return Embedding(vecs, tuple(kept), len(masks) - len(kept))


def embed_masked_gap(
    model: nn.Module, images: Sequence[torch.Tensor], masks: Sequence[np.ndarray]
) -> Embedding:
    """Cheap SOXAI embedding: mask-weighted pooling of the last feature map."""
    kept = [i for i, m in enumerate(masks) if np.asarray(m).any()]
    rows = []
    with eval_mode(model), torch.inference_mode():
        for i in kept:
            x = as_image(images[i])
            x = x.to(model_device(model, x))
            feats = getattr(model, "features", None)
            if not callable(feats):
                msg = f"{type(model).__name__} has no features(x) method"
                raise ExplainError(msg)
            a = feats(x)
            if a.ndim != 4:
                msg = "masked_gap needs features(x) to return N×C×h×w"
                raise ExplainError(msg)
            m = torch.from_numpy(np.asarray(masks[i], np.float32)).to(a.device)
            m = F.adaptive_avg_pool2d(m[None, None], a.shape[2:])
            e = (a * m).sum(dim=(2, 3)) / m.sum().clamp_min(1e-12)
            rows.append(_l2(e))
    vecs = np.concatenate(rows) if rows else np.zeros((0, 0), dtype=np.float32)
    return Embedding(vecs, tuple(kept), len(masks) - len(kept))


def tsne_2d(
    vectors: np.ndarray, *, random_state: int = 0, pca_dim: int = 50
) -> np.ndarray:
    """PCA to 50 dims if needed, then t-SNE to 2-D with the spec's parameters.

    PCA keeps `min(pca_dim, n)` components (PCA cannot give more than n);
    perplexity = `min(30, (n − 1)/3)`, `init="pca"`, `learning_rate="auto"`.

    Args:
        vectors: `n×D` embeddings.
        random_state: seed of PCA and t-SNE.
        pca_dim: PCA target dimension when D is larger.

    Returns:
        `n×2` float array (zeros for n < 2).
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    v = np.asarray(vectors, dtype=np.float64)
    n = v.shape[0]
    if n < 2:
        return np.zeros((n, 2))
    if v.shape[1] > pca_dim:
        v = PCA(min(pca_dim, n), random_state=random_state).fit_transform(v)
    tsne = TSNE(
        n_components=2,
        perplexity=min(30.0, (n - 1) / 3.0),
        init="pca",
        learning_rate="auto",
        metric="euclidean",
        random_state=random_state,
    )
    return tsne.fit_transform(v)


@dataclass(frozen=True)
class Group:
    """One KMeans cluster of explanations and its label / defect-type mix."""

    cluster: int
    size: int
    label_counts: dict[str, int]
    defect_type_counts: dict[str, int]


def kmeans_groups(
    points: np.ndarray,
    k: int,
    *,
    labels: Sequence[object] | None = None,
    defect_types: Sequence[object] | None = None,
    random_state: int = 0,
) -> tuple[np.ndarray, tuple[Group, ...]]:
    """KMeans(k, n_init=10) on embeddings or 2-D points; sizes and mixes per group."""
    from sklearn.cluster import KMeans

    pts = np.asarray(points, dtype=np.float64)
    if not 1 <= k <= pts.shape[0]:
        msg = f"k={k} clusters need at least k points, got {pts.shape[0]}"
        raise ExplainError(msg)
    assign = KMeans(n_clusters=k, n_init=10, random_state=random_state).fit_predict(pts)
    groups = []
    for c in range(k):
        idx = np.flatnonzero(assign == c)
        lab = Counter(str(labels[i]) for i in idx) if labels is not None else Counter()
        dt = (
            Counter(str(defect_types[i]) for i in idx)
            if defect_types is not None
            else {}
        )
        groups.append(
            Group(
                c,
                int(idx.size),
                dict(sorted(lab.items())),
                dict(sorted(dict(dt).items())),
            )
        )
    return assign.astype(np.int64), tuple(groups)


def grid_layout(points: np.ndarray) -> tuple[np.ndarray, int]:
    """Assign 2-D points to distinct cells of a G×G grid, G = ceil(sqrt(n)).

    Returns:
        (`n×2` int array of (row, col), G).
    """
    p = np.asarray(points, dtype=np.float64)
    n = p.shape[0]
    if n == 0:
        return np.zeros((0, 2), dtype=np.int64), 0
    lo, span = p.min(axis=0), np.ptp(p, axis=0)
    unit = np.where(span > 0, (p - lo) / np.where(span > 0, span, 1.0), 0.5)
    g = math.ceil(math.sqrt(n))
    rows, cols = np.divmod(np.arange(g * g), g)
    centres = np.stack([(cols + 0.5) / g, (rows + 0.5) / g], axis=1)
    cost = ((unit[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    _, cell = linear_sum_assignment(cost)
    return np.stack([rows[cell], cols[cell]], axis=1).astype(np.int64), g


def explanation_thumbnail(
    image: torch.Tensor,
    result: CriticalFactorResult,
    *,
    size: int = 64,
    margin: int = 8,
) -> np.ndarray:
    """Rendered explanation cropped (square) around M* and resized to `size`."""
    rgb = render(image, result)
    h, w = rgb.shape[:2]
    if result.mask.any():
        bx, by, bw, bh = bbox_of(result.mask.astype(bool))
        side = min(max(bw, bh) + 2 * margin, h, w)
        cy, cx = by + bh // 2, bx + bw // 2
        y0 = int(np.clip(cy - side // 2, 0, h - side))
        x0 = int(np.clip(cx - side // 2, 0, w - side))
        rgb = rgb[y0 : y0 + side, x0 : x0 + side]
    return cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA)


def soxai_map(
    thumbnails: Sequence[np.ndarray], cells: np.ndarray, grid: int, *, thumb: int = 64
) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """Paste one thumbnail per cell on a white `grid·thumb` canvas.

    Returns:
        (canvas `H×W×3` uint8, the `(x, y, w, h)` box of every thumbnail).
    """
    canvas = np.full((grid * thumb, grid * thumb, 3), 255, dtype=np.uint8)
    boxes = []
    for img, (r, c) in zip(thumbnails, np.asarray(cells).tolist(), strict=True):
        tile = np.asarray(img, dtype=np.uint8)
        if tile.shape[:2] != (thumb, thumb):
            tile = cv2.resize(tile, (thumb, thumb), interpolation=cv2.INTER_AREA)
        canvas[r * thumb : (r + 1) * thumb, c * thumb : (c + 1) * thumb] = tile[..., :3]
        boxes.append((c * thumb, r * thumb, thumb, thumb))
    return canvas, boxes


def scatter_plot(
    points: np.ndarray,
    groups: Sequence[object],
    *,
    title: str = "SOXAI map",
    path: str | Path | None = None,
) -> np.ndarray:
    """Scatter of the 2-D points coloured by label or cluster (matplotlib Agg).

    Returns:
        The figure as an `H×W×3` uint8 RGB array (also written to `path` if given).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 6), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    keys = [str(g) for g in groups]
    for i, key in enumerate(sorted(set(keys))):
        sel = np.array([k == key for k in keys], dtype=bool)
        ax.scatter(pts[sel, 0], pts[sel, 1], s=12, color=f"C{i % 10}", label=key)
    ax.set_title(title)
    if keys:
        ax.legend(loc="best", fontsize=8)
    fig.canvas.draw()
    rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    if path is not None:
        fig.savefig(path)
    return rgb
