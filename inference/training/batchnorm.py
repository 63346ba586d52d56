"""BatchNorm statistics: re-estimate them (PreciseBN / AdaBN) or re-express them.

Re-exported by ``inference.training.train_classifier``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

__all__ = ["recalibrate_bn_preserving", "recompute_bn_stats"]


@torch.no_grad()
def recompute_bn_stats(
    model: nn.Module, loader: Any, device: torch.device, max_batches: int
) -> int:
    """Re-estimate BatchNorm running statistics for the current weights (PreciseBN).

    Running means and variances are reset and replaced by the plain average over up
    to ``max_batches`` training batches (forward passes in train mode, no gradients).

    Args:
        model: the network.
        loader: training batches ``(images, labels)``.
        device: where to compute.
        max_batches: batches to average over.

    Returns:
        The number of batches used (0 when the model has no BatchNorm).
    """
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns or max_batches <= 0:
        return 0
    was_training = model.training
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average
    model.train()
    used = 0
    try:
        for images, _ in loader:
            if used >= max_batches:
                break
            model(images.to(device))
            used += 1
    finally:
        for bn, mom in zip(bns, momenta, strict=True):
            bn.momentum = mom
        model.train(was_training)
    return used


@torch.no_grad()
def recalibrate_bn_preserving(
    model: nn.Module, loader: Any, device: torch.device, max_batches: int
) -> int:
    """Give every BatchNorm real running statistics without changing the eval output.

    Pretrained weights converted from TFLite have BatchNorm folded into the
    convolutions (running mean 0, variance 1): train-mode BatchNorm, which
    normalises with batch statistics, would wipe the pretrained function out, and
    so would a plain re-estimation of the statistics. Here the input statistics of
    every BatchNorm are measured in eval mode and each layer is re-expressed with
    them, its weight and bias adjusted so that ``y = a * x + c`` stays the same
    (see /work/shared/weights/README.md).

    Args:
        model: the network.
        loader: batches ``(images, labels)``.
        device: where to compute.
        max_batches: batches to measure.

    Returns:
        The number of batches used (0 when the model has no BatchNorm).
    """
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns or max_batches <= 0:
        return 0
    sums: dict[nn.Module, list[Any]] = {m: [0, 0.0, 0.0] for m in bns}

    def hook(mod: nn.Module, inputs: tuple[torch.Tensor, ...], _out: Any) -> None:
        x = inputs[0].double()
        dims = [d for d in range(x.ndim) if d != 1]
        acc = sums[mod]
        acc[0] += x.numel() // x.shape[1]
        acc[1] = acc[1] + x.sum(dims)
        acc[2] = acc[2] + (x * x).sum(dims)

    handles = [m.register_forward_hook(hook) for m in bns]
    was_training = model.training
    model.eval()
    used = 0
    try:
        for images, _ in loader:
            if used >= max_batches:
                break
            model(images.to(device))
            used += 1
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    if used == 0:
        return 0
    for m in bns:
        n, s1, s2 = sums[m]
        if n == 0 or m.running_mean is None or m.running_var is None:
            continue
        mu = s1 / n
        var = (s2 / n - mu * mu).clamp_min(1e-8)
        rv = m.running_var.double()
        w = m.weight.double() if m.weight is not None else torch.ones_like(rv)
        b = m.bias.double() if m.bias is not None else torch.zeros_like(rv)
        a = w / (rv + m.eps).sqrt()
        c = b - a * m.running_mean.double()
        m.running_mean.copy_(mu)
        m.running_var.copy_(var)
        if m.weight is not None and m.bias is not None:
            m.weight.copy_(a * (var + m.eps).sqrt())
            m.bias.copy_(a * mu + c)
    return used
