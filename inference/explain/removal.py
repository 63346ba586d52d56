"""Removal operator R(x, M) = x ⊙ (1 − M) + b(x) ⊙ M and its baselines (spec §1.2)."""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy import ndimage

from inference.explain.config import ExplainConfig
from inference.explain.errors import ExplainError


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Per-channel Gaussian blur, radius `ceil(3σ)`, reflect padding.

    Args:
        x: `1×3×H×W` image.
        sigma: standard deviation in px.

    Returns:
        The blurred image, same shape, dtype and device.
    """
    arr = x.detach().cpu().numpy().astype(np.float64)
    radius = math.ceil(3.0 * sigma)
    out = np.empty_like(arr)
    for c in range(arr.shape[1]):
        # scipy's "mirror" is torch's "reflect" (edge pixel not repeated).
        out[0, c] = ndimage.gaussian_filter(
            arr[0, c], sigma, mode="mirror", radius=radius
        )
    return torch.from_numpy(out.astype(np.float32)).to(x.device)


def baseline_image(
    x: torch.Tensor, cfg: ExplainConfig, name: str | None = None
) -> torch.Tensor:
    """The fill image b(x) of a removal baseline.

    Args:
        x: `1×3×H×W` image in [0, 1].
        cfg: knobs (`blur_sigma`, `fill_value`, `dataset_mean`).
        name: baseline name; None = `cfg.baseline`.

    Returns:
        `1×3×H×W` float32 fill image on x's device.
    """
    name = cfg.baseline if name is None else name
    if name == "blur":
        return gaussian_blur(x, cfg.blur_sigma)
    if name == "mean":
        return x.mean(dim=(2, 3), keepdim=True).expand_as(x).contiguous()
    if name == "constant":
        return torch.full_like(x, float(cfg.fill_value))
    if name == "dataset_mean":
        if cfg.dataset_mean is None:
            msg = "baseline 'dataset_mean' needs cfg.dataset_mean"
            raise ExplainError(msg)
        mean = torch.tensor(cfg.dataset_mean, dtype=x.dtype, device=x.device)
        return mean.view(1, 3, 1, 1).expand_as(x).contiguous()
    msg = f"unknown baseline {name!r}"
    raise ExplainError(msg)


def feather(mask: np.ndarray, sigma: float) -> np.ndarray:
    """Soften a {0,1} mask with a Gaussian (σ = 0 returns it as float32 unchanged)."""
    m = mask.astype(np.float32)
    if sigma <= 0:
        return m
    return np.clip(ndimage.gaussian_filter(m, sigma, mode="nearest"), 0.0, 1.0).astype(
        np.float32
    )


def remove(
    x: torch.Tensor, masks: torch.Tensor, baseline: torch.Tensor
) -> torch.Tensor:
    """Apply R(x, M) for one or many masks.

    Pixels where the mask is 0 are bit-identical to `x`.

    Args:
        x: `1×3×H×W` image.
        masks: `H×W`, `1×H×W`, `K×H×W` or `K×1×H×W` masks in [0, 1].
        baseline: `1×3×H×W` fill image b(x).

    Returns:
        `K×3×H×W` images with the masked pixels replaced by the baseline.
    """
    m = masks.to(device=x.device, dtype=x.dtype)
    if m.ndim == 2:
        m = m.unsqueeze(0)
    if m.ndim == 3:
        m = m.unsqueeze(1)
    if m.ndim != 4 or m.shape[1] != 1 or m.shape[2:] != x.shape[2:]:
        msg = f"mask shape {tuple(masks.shape)} does not fit image {tuple(x.shape)}"
        raise ExplainError(msg)
    blended = x * (1 - m) + baseline * m
    return torch.where(m == 0, x.expand_as(blended), blended)


def remove_np(
    x: torch.Tensor,
    mask: np.ndarray,
    baseline: torch.Tensor,
    feather_sigma: float = 0.0,
) -> torch.Tensor:
    """R(x, M) for one boolean/0-1 numpy mask `H×W` (optionally feathered)."""
    return remove(x, torch.from_numpy(feather(mask, feather_sigma)), baseline)
