"""Torch helpers shared by the explainers: input checks, eval mode, determinism."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

from inference.explain.errors import ExplainError


def as_image(x: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Check and normalise one image to a float32 `1×3×H×W` tensor.

    Args:
        x: `3×H×W` or `1×3×H×W` tensor (or array) in [0, 1].

    Returns:
        A detached float32 tensor of shape `1×3×H×W`.

    Raises:
        ExplainError: wrong shape or non-finite values.
    """
    t = torch.as_tensor(x)
    if t.ndim == 3:
        t = t.unsqueeze(0)
    if t.ndim != 4 or t.shape[0] != 1 or t.shape[1] != 3:
        msg = f"expected one image of shape 1×3×H×W or 3×H×W, got {tuple(t.shape)}"
        raise ExplainError(msg)
    if t.shape[2] < 2 or t.shape[3] < 2:
        msg = f"image too small: {tuple(t.shape)}"
        raise ExplainError(msg)
    with torch.inference_mode(False):
        # a normal tensor even when the caller runs under inference_mode
        t = t.detach().to(torch.float32)
        if t.is_inference():
            t = t.clone()
    if not bool(torch.isfinite(t).all()):
        msg = "image contains NaN or infinite values"
        raise ExplainError(msg)
    return t


def model_device(model: nn.Module, x: torch.Tensor) -> torch.device:
    """The device of the model's first parameter or buffer, else the image's."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return x.device


def logits_of(out: torch.Tensor, n: int) -> torch.Tensor:
    """Flatten a model output `N`, `N×1` to `N` logits or fail clearly."""
    if not isinstance(out, torch.Tensor):
        msg = f"model must return a tensor of logits, got {type(out).__name__}"
        raise ExplainError(msg)
    if out.ndim == 2 and out.shape[1] == 1:
        out = out[:, 0]
    if out.ndim != 1 or out.shape[0] != n:
        msg = (
            f"model must return one logit per image (N or N×1), got {tuple(out.shape)}"
        )
        raise ExplainError(msg)
    return out


def forward_logits(
    model: nn.Module, batch: torch.Tensor, batch_size: int
) -> torch.Tensor:
    """Logits of a batch of images, evaluated in chunks without gradients."""
    outs = []
    with torch.inference_mode():
        for start in range(0, batch.shape[0], batch_size):
            chunk = batch[start : start + batch_size]
            outs.append(logits_of(model(chunk), chunk.shape[0]).float())
    return torch.cat(outs) if outs else torch.zeros(0)


def sigmoid(logit: float) -> float:
    """Numerically safe logistic function in float64."""
    if logit >= 0:
        return 1.0 / (1.0 + math.exp(-logit))
    e = math.exp(logit)
    return e / (1.0 + e)


@contextlib.contextmanager
def grad_enabled() -> Iterator[None]:
    """Autograd on, also inside a caller's `no_grad` or `inference_mode` block."""
    with torch.inference_mode(False), torch.enable_grad():
        yield


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put the model in eval mode and restore its previous mode afterwards."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


@contextlib.contextmanager
def deterministic(enabled: bool, device: torch.device) -> Iterator[None]:
    """Scoped `torch.use_deterministic_algorithms(True)`; restores the old setting.

    On CPU bit-exactness is promised; on other devices `warn_only=True` is used.
    """
    if not enabled:
        yield
        return
    old = torch.are_deterministic_algorithms_enabled()
    old_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=device.type != "cpu")
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(old, warn_only=old_warn)
