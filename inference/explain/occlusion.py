"""Occlusion baseline explainer: sliding window or region occlusion."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from inference.explain._torch import (
    as_image,
    deterministic,
    eval_mode,
    forward_logits,
    model_device,
)
from inference.explain.config import ExplainConfig
from inference.explain.errors import ExplainError
from inference.explain.removal import baseline_image, remove


class Occlusion:
    """Drop of the signed score s when a window (or a region) is removed.

    Args:
        model: maps `N×3×H×W` in [0, 1] to `N` or `N×1` logits.
        window: square window side in px (sliding mode).
        stride: window step in px (sliding mode).
        regions: optional `H×W` int label map; then each region is occluded once
            and every pixel gets its region's drop (region mode).
        cfg: removal baseline knobs (`baseline`, `blur_sigma`, ...) and `batch_size`.
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        window: int = 32,
        stride: int = 16,
        regions: np.ndarray | None = None,
        cfg: ExplainConfig | None = None,
    ) -> None:
        if window <= 0 or stride <= 0:
            msg = "window and stride must be > 0"
            raise ExplainError(msg)
        self.model = model
        self.window = window
        self.stride = stride
        self.regions = regions
        self.cfg = ExplainConfig() if cfg is None else cfg
        self.n_forward = 0

    def _masks(self, h: int, w: int) -> np.ndarray:
        if self.regions is not None:
            labels = np.asarray(self.regions)
            if labels.shape != (h, w):
                msg = f"region map {labels.shape} does not fit image {(h, w)}"
                raise ExplainError(msg)
            return labels[None] == np.unique(labels)[:, None, None]
        win = min(self.window, h, w)
        rows = list(range(0, h - win + 1, self.stride))
        cols = list(range(0, w - win + 1, self.stride))
        if rows[-1] != h - win:
            rows.append(h - win)
        if cols[-1] != w - win:
            cols.append(w - win)
        masks = np.zeros((len(rows) * len(cols), h, w), dtype=bool)
        for i, (r, c) in enumerate((r, c) for r in rows for c in cols):
            masks[i, r : r + win, c : c + win] = True
        return masks

    def attribute_raw(self, x: torch.Tensor) -> np.ndarray:
        """Mean score drop per pixel (signed-score units, float64, may be < 0)."""
        x = as_image(x)
        x = x.to(model_device(self.model, x))
        h, w = int(x.shape[2]), int(x.shape[3])
        masks = self._masks(h, w)
        bs = self.cfg.batch_size
        with eval_mode(self.model), deterministic(self.cfg.deterministic, x.device):
            l0 = float(forward_logits(self.model, x, 1)[0])
            sign = 1.0 if l0 >= 0 else -1.0
            b = baseline_image(x, self.cfg)
            drops = []
            for start in range(0, masks.shape[0], bs):
                chunk = torch.from_numpy(masks[start : start + bs])
                out = forward_logits(self.model, remove(x, chunk, b), bs)
                drops.append(sign * (l0 - out.double().cpu().numpy()))
        self.n_forward += 1 + masks.shape[0]
        d = np.concatenate(drops)
        total = np.zeros((h, w), dtype=np.float64)
        count = np.zeros((h, w), dtype=np.float64)
        for drop, mask in zip(d.tolist(), masks, strict=True):
            total[mask] += drop
            count[mask] += 1.0
        return total / np.maximum(count, 1.0)

    def attribute(self, x: torch.Tensor) -> np.ndarray:
        """Heat map `H×W` float32 in [0, 1]: positive drops divided by their max."""
        raw = np.maximum(self.attribute_raw(x), 0.0)
        peak = float(raw.max())
        return (raw / peak if peak > 0 else raw).astype(np.float32)
