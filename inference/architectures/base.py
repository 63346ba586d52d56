"""Common pieces of every classifier: input normalisation, the one-logit interface.

Every model takes float32 ``N x 3 x H x W`` RGB in [0, 1] (algorithms.md §0); the
mean/std
or range scaling a backbone needs lives inside the model (`InputNorm`), so explainers
and
the preprocessing preset work in plain pixel space.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from inference.errors import DataError, ModelLoadError

__all__ = [
    "INPUT_NORMS",
    "InputNorm",
    "OneLogitClassifier",
    "TFSameConv2d",
    "apply_tf_same_padding",
    "conv_sharing_weights",
    "load_pretrained_state",
]

logger = logging.getLogger(__name__)

#: Supported input normalisations (applied to [0, 1] RGB inside the model).
INPUT_NORMS: dict[str, str] = {
    "none": "x (the network sees [0, 1] pixels)",
    "imagenet": "(x - mean) / std with ImageNet mean (0.485, 0.456, 0.406), "
    "std (0.229, 0.224, 0.225)",
    "tf": "2x - 1, range [-1, 1] (TF-slim MobileNet weights)",
    "lite": "(255x - 127) / 128 (EfficientNet-Lite weights)",
}

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


class InputNorm(nn.Module):
    """Affine per-channel input normalisation ``x * scale + shift``.

    The constants are non-persistent buffers: they never appear in a state_dict; the
    mode is recorded in the model card instead.

    Args:
        mode: one of `INPUT_NORMS`.
    """

    def __init__(self, mode: str = "none") -> None:
        super().__init__()
        if mode not in INPUT_NORMS:
            choices = sorted(INPUT_NORMS)
            msg = f"unknown input normalisation {mode!r}; expected one of {choices}"
            raise DataError(msg)
        self.mode = mode
        if mode == "imagenet":
            scale = [1.0 / s for s in _IMAGENET_STD]
            shift = [-m / s for m, s in zip(_IMAGENET_MEAN, _IMAGENET_STD, strict=True)]
        elif mode == "tf":
            scale, shift = [2.0] * 3, [-1.0] * 3
        elif mode == "lite":
            scale, shift = [255.0 / 128.0] * 3, [-127.0 / 128.0] * 3
        else:
            scale, shift = [1.0] * 3, [0.0] * 3
        self.register_buffer(
            "scale", torch.tensor(scale).view(1, 3, 1, 1), persistent=False
        )
        self.register_buffer(
            "shift", torch.tensor(shift).view(1, 3, 1, 1), persistent=False
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise a ``N x 3 x H x W`` batch."""
        if self.mode == "none":
            return x
        return x * self.scale + self.shift

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"


class TFSameConv2d(nn.Conv2d):
    """Convolution padded like TensorFlow ``SAME`` (the extra pixel goes bottom/right).

    Parameter names equal `nn.Conv2d`'s, so state_dicts are interchangeable.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pad dynamically, then convolve without padding."""
        ih, iw = x.shape[-2:]
        kh, kw = self.kernel_size
        sh, sw = self.stride
        dh, dw = self.dilation
        pad_h = max((-(-ih // sh) - 1) * sh + (kh - 1) * dh + 1 - ih, 0)
        pad_w = max((-(-iw // sw) - 1) * sw + (kw - 1) * dw + 1 - iw, 0)
        if pad_h or pad_w:
            x = F.pad(
                x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2]
            )
        return F.conv2d(
            x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups
        )


def conv_sharing_weights(
    conv: nn.Conv2d,
    cls: type[nn.Conv2d] = nn.Conv2d,
    *,
    stride: int | tuple[int, ...] | None = None,
    padding: int | tuple[int, ...] = 0,
) -> nn.Conv2d:
    """A ``cls`` convolution with ``conv``'s shape that shares its weight and bias.

    Args:
        conv: the convolution to copy.
        cls: the class of the copy (e.g. `TFSameConv2d`).
        stride: the copy's stride (None: ``conv``'s).
        padding: the copy's padding.
    """
    new = cls(
        conv.in_channels,
        conv.out_channels,
        conv.kernel_size,
        stride=conv.stride if stride is None else stride,
        padding=padding,
        dilation=conv.dilation,
        groups=conv.groups,
        bias=conv.bias is not None,
    )
    new.weight = conv.weight
    if conv.bias is not None:
        new.bias = conv.bias
    return new


def _tf_same_copy(conv: nn.Conv2d) -> TFSameConv2d:
    return conv_sharing_weights(conv, TFSameConv2d, padding=0)


def apply_tf_same_padding(module: nn.Module) -> nn.Module:
    """Replace every strided `nn.Conv2d` in ``module`` by a `TFSameConv2d` (in place).

    State-dict keys are unchanged. Needed for weights converted from TensorFlow/TFLite
    (the README of the shared weights: V3-Small accuracy 76 % -> 54 % without it).

    Args:
        module: the network to patch.

    Returns:
        The same module, patched.
    """
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is nn.Conv2d and max(child.stride) > 1:
                setattr(parent, name, _tf_same_copy(child))
    return module


class OneLogitClassifier(nn.Module):
    """Base of all classifiers: [0, 1] RGB in, one defect logit out.

    Subclasses implement `_feature_map` (normalised input -> last feature map) and
    `_head` (last feature map -> ``N x 1`` logit), and set `target_layer`.

    Attributes:
        arch_name: registry name.
        approximation: ``True`` when the layout is a fitted stand-in (Attend-NeXt-L).
        target_layer: module whose output is the last feature map (Grad-CAM, explainer).
        input_norm: the input normalisation module.
    """

    arch_name: ClassVar[str] = ""
    approximation: ClassVar[bool] = False
    target_layer: nn.Module

    def __init__(self, input_norm: str = "none", tf_same_padding: bool = False) -> None:
        super().__init__()
        self.input_norm = InputNorm(input_norm)
        self.tf_same_padding = bool(tf_same_padding)

    def _feature_map(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _head(self, fmap: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """Last convolutional feature map ``N x C x h x w`` (output of `target_layer`).

        Args:
            x: ``N x 3 x H x W`` float32 RGB in [0, 1].

        Returns:
            The feature map.
        """
        return self._feature_map(self.input_norm(x))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate embedding: the global-average-pooled last feature map ``N x C``.

        Args:
            x: ``N x 3 x H x W`` float32 RGB in [0, 1].

        Returns:
            ``N x C`` features (744-d for Attend-NeXt-S).
        """
        return self.feature_map(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Defect logit.

        Args:
            x: ``N x 3 x H x W`` float32 RGB in [0, 1].

        Returns:
            ``N x 1`` logits; ``sigmoid`` gives P(defective).
        """
        return self._head(self.feature_map(x))

    def arch_options(self) -> dict[str, Any]:
        """Options that `build_model` needs to rebuild this exact network."""
        return {
            "name": self.arch_name,
            "input_norm": self.input_norm.mode,
            "tf_same_padding": self.tf_same_padding,
            "approximation": self.approximation,
        }


def load_pretrained_state(
    module: nn.Module, path: str | Path, head_prefix: str
) -> None:
    """Load a pretrained state_dict file into ``module``, skipping its classification
    head.

    The file is read with ``torch.load(..., weights_only=True)`` (no pickled code runs).
    Keys of the final classifier layer (``head_prefix``) are skipped because our head
    has
    one output; every other key must match in name and shape.

    Args:
        module: network built with a one-output head (a torchvision backbone or ours).
        path: state_dict file (.pth).
        head_prefix: key prefix of the final Linear, e.g. ``"classifier.1."``; keys with
            it are skipped (the file's head has another number of outputs).

    Raises:
        ModelLoadError: missing/unreadable file, pickled objects, or mismatched keys.
    """
    path = Path(path)
    if not path.is_file():
        msg = f"pretrained weight file not found: {path}"
        raise ModelLoadError(msg)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        msg = f"cannot read pretrained weights {path} as a plain state_dict: {exc}"
        raise ModelLoadError(msg) from exc
    if not isinstance(state, dict):
        msg = f"{path} does not hold a state_dict (got {type(state).__name__})"
        raise ModelLoadError(msg)
    state = {k: v for k, v in state.items() if not k.startswith(head_prefix)}
    own = module.state_dict()
    problems = [
        f"{k}: file {tuple(v.shape)} vs model {tuple(own[k].shape)}"
        for k, v in state.items()
        if k in own and own[k].shape != v.shape
    ]
    if problems:
        msg = f"{path}: shape mismatch for {len(problems)} tensors, e.g. {problems[:3]}"
        raise ModelLoadError(msg)
    result = module.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if not k.startswith(head_prefix)]
    if missing or result.unexpected_keys:
        msg = (
            f"{path} does not fit {type(module).__name__}: missing {missing[:5]}, "
            f"unexpected {result.unexpected_keys[:5]}"
        )
        raise ModelLoadError(msg)
    logger.info("loaded pretrained backbone weights from %s", path)
