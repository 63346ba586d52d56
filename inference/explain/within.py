"""Relative importance inside each critical factor (spec §1.4)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from inference.explain._oracle import MaskOracle
from inference.explain._torch import grad_enabled, logits_of
from inference.explain.regions import grid_labels
from inference.explain.result import SubRegion, bbox_of


def integrated_gradients(
    model: nn.Module,
    x: torch.Tensor,
    x_rem: torch.Tensor,
    sign: float,
    steps: int,
    batch_size: int,
) -> np.ndarray:
    """Per-pixel IG from `x_rem` to `x` with the midpoint rule, summed over channels.

    `IG_c,u = (x − x_rem)_c,u · (1/T) Σ_t ∂s(x_rem + α_t (x − x_rem))/∂x_c,u`,
    `α_t = (t − 0.5)/T`, `s = sign · logit`. Exactly 0 wherever `x == x_rem`.

    Args:
        model: single-logit classifier (in eval mode).
        x: original image `1×3×H×W`.
        x_rem: image with the critical factors removed, same shape.
        sign: +1 or −1, the direction of the explained score.
        steps: T.
        batch_size: path points per backward pass.

    Returns:
        `H×W` float64 attribution a(u) in signed-score units.
    """
    diff = (x - x_rem).detach()
    alphas = (torch.arange(steps, dtype=torch.float64) + 0.5) / steps
    grad_sum = torch.zeros_like(x, dtype=torch.float64)
    with grad_enabled():
        for start in range(0, steps, batch_size):
            a = alphas[start : start + batch_size].to(x.dtype).to(x.device)
            path = (x_rem + a.view(-1, 1, 1, 1) * diff).detach().requires_grad_(True)
            score = sign * logits_of(model(path), path.shape[0])
            (grads,) = torch.autograd.grad(score.sum(), path, allow_unused=True)
            if grads is not None:
                grad_sum += grads.detach().to(torch.float64).sum(dim=0, keepdim=True)
    attr = (diff.to(torch.float64) * grad_sum / steps).sum(dim=1)[0]
    return attr.cpu().numpy()


def sub_blocks(factor: np.ndarray, sub_cell: int, max_sub: int) -> np.ndarray:
    """Split a factor by a square grid, doubling the cell until ≤ `max_sub` pieces.

    Returns:
        `H×W` int32: −1 outside the factor, else the piece index 0..n−1 in ascending
        grid-cell order.
    """
    cell = sub_cell
    h, w = factor.shape
    while True:
        grid = grid_labels(h, w, cell)
        ids = np.unique(grid[factor])
        if ids.size <= max_sub or cell >= max(h, w):
            break
        cell *= 2
    out = np.full(factor.shape, -1, dtype=np.int32)
    out[factor] = np.searchsorted(ids, grid[factor]).astype(np.int32)
    return out


def block_importance(
    method: str,
    blocks: np.ndarray,
    n_blocks: int,
    mask: np.ndarray,
    attr: np.ndarray | None,
    oracle: MaskOracle,
    sign: float,
) -> np.ndarray:
    """r_B for each sub-block of one factor.

    `ig`: r_B = Σ_{u∈B} a(u). `occlusion_restore`: r_B = s(R(x, M* ∖ B)) − s(R(x, M*)).
    """
    if method == "ig":
        if attr is None:
            msg = "ig block importance needs the attribution map"
            raise ValueError(msg)
        inside = blocks >= 0
        return np.bincount(blocks[inside], weights=attr[inside], minlength=n_blocks)
    base = sign * oracle.logit(mask)
    restored = [mask & (blocks != b) for b in range(n_blocks)]
    return sign * oracle.logits(restored) - base


def regional_heatmap(
    factor_labels: np.ndarray,
    n_factors: int,
    importance_of: Callable[[np.ndarray, int], np.ndarray],
    sub_cell: int,
    max_sub: int,
) -> tuple[np.ndarray, list[tuple[SubRegion, ...]]]:
    """Per-factor normalised heatmap h and the sub-regions of every factor.

    Args:
        factor_labels: `H×W`, 0 = background, 1..m.
        n_factors: m.
        importance_of: `(blocks, n_blocks) -> r_B array` for one factor.
        sub_cell: sub-block grid in px.
        max_sub: most pieces per factor.

    Returns:
        (`H×W` float32 heat in [0, 1], sub-regions per factor in factor order).
    """
    heat = np.zeros(factor_labels.shape, dtype=np.float64)
    per_factor: list[tuple[SubRegion, ...]] = []
    for k in range(1, n_factors + 1):
        blocks = sub_blocks(factor_labels == k, sub_cell, max_sub)
        n = int(blocks.max()) + 1
        r = np.asarray(importance_of(blocks, n), dtype=np.float64)
        areas = np.bincount(blocks[blocks >= 0], minlength=n).astype(np.float64)
        dens = np.maximum(0.0, r) / np.maximum(areas, 1.0)
        top = float(dens.max()) if n else 0.0
        norm = dens / top if top > 0 else np.zeros_like(dens)
        pos = np.maximum(0.0, r)
        total = float(pos.sum())
        share = pos / total if total > 0 else np.zeros_like(pos)
        inside = blocks >= 0
        heat[inside] = norm[blocks[inside]]
        per_factor.append(
            tuple(
                SubRegion(
                    id=b + 1,
                    area_px=int(areas[b]),
                    bbox=bbox_of(blocks == b),
                    importance=float(r[b]),
                    share=float(share[b]),
                    density=float(norm[b]),
                )
                for b in range(n)
            )
        )
    return np.clip(heat, 0.0, 1.0).astype(np.float32), per_factor
