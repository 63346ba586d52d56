"""Grad-CAM-style activation map on a target layer (spec §1.2 "activation signal")."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from inference.explain._torch import eval_mode, grad_enabled, logits_of
from inference.explain.errors import ExplainError


def resolve_target_layer(
    model: nn.Module, spec: str | nn.Module | None
) -> nn.Module | None:
    """Find the layer whose output feeds the activation map.

    Args:
        model: the classifier.
        spec: None (no layer), a module, a dotted module name, or `"auto"`:
            the model's `target_layer` attribute (a module or a name) if it has one,
            else its last `nn.Conv2d`, else None.

    Returns:
        The layer, or None when `spec` is None or `"auto"` finds no conv layer.

    Raises:
        ExplainError: a named layer that the model does not have.
    """
    if spec is None or isinstance(spec, nn.Module):
        return spec
    if spec == "auto":
        attr = getattr(model, "target_layer", None)
        if isinstance(attr, nn.Module):
            return attr
        if isinstance(attr, str):
            return resolve_target_layer(model, attr)
        convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
        return convs[-1] if convs else None
    modules = dict(model.named_modules())
    if spec not in modules:
        msg = f"target_layer {spec!r} is not a module of {type(model).__name__}"
        raise ExplainError(msg)
    return modules[spec]


@contextlib.contextmanager
def captured_output(layer: nn.Module) -> Iterator[list[torch.Tensor]]:
    """Record the layer's forward outputs; the hook is removed even on exceptions.

    Yields:
        A list that receives each output tensor of `layer` during the block.
    """
    store: list[torch.Tensor] = []

    def hook(_module: nn.Module, _inputs: object, output: object) -> None:
        if isinstance(output, (tuple, list)):
            output = output[0]
        store.append(output)

    handle = layer.register_forward_hook(hook)
    try:
        yield store
    finally:
        handle.remove()


def activation_map(
    model: nn.Module, x: torch.Tensor, layer: nn.Module, sign: float | None = None
) -> tuple[np.ndarray, float]:
    """Grad-CAM map `ReLU(Σ_k g_k A_k)` of the signed score `s = sign · logit`.

    Args:
        model: single-logit classifier.
        x: `1×3×H×W` image on the model's device.
        layer: target layer (its output is `1×C×h×w`).
        sign: +1 to explain "defective", −1 to explain "non-defective"; None =
            toward the model's decision on `x` (one forward + one backward).

    Returns:
        (`H×W` float32 map in [0, 1] (divided by its max when > 0), the logit).

    Raises:
        ExplainError: the layer's output is not a 4-D feature map or the score does
            not depend on it.
    """
    with eval_mode(model), captured_output(layer) as store, grad_enabled():
        xin = x.detach().clone().requires_grad_(True)
        logit = logits_of(model(xin), 1)[0]
        if not store:
            msg = f"target layer {type(layer).__name__} was not called in forward"
            raise ExplainError(msg)
        acts = store[-1]
        if acts.ndim != 4:
            msg = f"target layer output must be N×C×h×w, got {tuple(acts.shape)}"
            raise ExplainError(msg)
        if not acts.requires_grad:
            msg = "target layer output does not depend on the input"
            raise ExplainError(msg)
        if sign is None:
            sign = 1.0 if float(logit.detach()) >= 0 else -1.0
        score = sign * logit
        (grads,) = torch.autograd.grad(score, acts, allow_unused=True)
    if grads is None:
        grads = torch.zeros_like(acts)
    weights = grads.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * acts.detach()).sum(dim=1, keepdim=True))
    cam = F.interpolate(cam, size=x.shape[2:], mode="bilinear", align_corners=False)
    out = cam[0, 0].detach().cpu().numpy().astype(np.float32)
    peak = float(out.max())
    if peak > 0:
        out = out / peak
    return np.clip(out, 0.0, 1.0).astype(np.float32), float(logit.detach())
