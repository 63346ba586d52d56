"""Grad-CAM baseline explainer for single-logit models."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from inference.explain._torch import as_image, deterministic, eval_mode, model_device
from inference.explain.activation import activation_map, resolve_target_layer
from inference.explain.errors import ExplainError


class GradCAM:
    """Grad-CAM on a target layer with the signed score s toward the decision.

    Args:
        model: maps `N×3×H×W` in [0, 1] to `N` or `N×1` logits.
        target_layer: `"auto"` (the model's `target_layer`, else its last
            `Conv2d`), a dotted module name, or a module.
        deterministic: run under `torch.use_deterministic_algorithms(True)`.

    Raises:
        ExplainError: the model has no usable target layer.
    """

    def __init__(
        self,
        model: nn.Module,
        target_layer: str | nn.Module = "auto",
        *,
        deterministic: bool = True,
    ) -> None:
        layer = resolve_target_layer(model, target_layer)
        if layer is None:
            msg = f"{type(model).__name__} has no conv layer; pass target_layer"
            raise ExplainError(msg)
        self.model = model
        self.layer = layer
        self.deterministic = deterministic
        self.n_forward = 0
        self.n_backward = 0

    def attribute(self, x: torch.Tensor) -> np.ndarray:
        """Heat map `H×W` float32 in [0, 1] toward the model's decision on `x`."""
        x = as_image(x)
        x = x.to(model_device(self.model, x))
        with (
            torch.inference_mode(False),
            eval_mode(self.model),
            deterministic(self.deterministic, x.device),
        ):
            cam, _ = activation_map(self.model, x, self.layer)
        self.n_forward += 1
        self.n_backward += 1
        return cam
