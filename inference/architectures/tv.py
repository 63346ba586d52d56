"""torchvision backbones with a one-logit head (algorithms.md §5.4).

The torchvision model is kept whole under ``backbone`` (state_dict keys ``backbone.*``)
and built with ``num_classes=1``, which reproduces the parameter counts of the seed's
Table 1. Weights are never downloaded: ``weights=None`` always; ImageNet weights for the
two MobileNets can be loaded from a local file (`load_pretrained_state`).
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn
from torchvision import models

from inference.architectures.base import OneLogitClassifier, apply_tf_same_padding

__all__ = [
    "ConvNeXtBase",
    "ConvNeXtSmall",
    "ConvNeXtTiny",
    "MobileNetV2",
    "MobileNetV3Small",
    "ShuffleNetV2",
    "TorchvisionClassifier",
]


class TorchvisionClassifier(OneLogitClassifier):
    """Common base: a torchvision model under ``backbone``.

    Args:
        backbone: torchvision model with a one-output head.
        input_norm: input normalisation mode.
        tf_same_padding: wrap strided convolutions to pad like TensorFlow.
    """

    def __init__(
        self,
        backbone: nn.Module,
        input_norm: str = "imagenet",
        tf_same_padding: bool = False,
    ) -> None:
        super().__init__(input_norm=input_norm, tf_same_padding=tf_same_padding)
        self.backbone = backbone
        if tf_same_padding:
            apply_tf_same_padding(self.backbone)


class _FeaturesClassifier(TorchvisionClassifier):
    """Models with ``features`` / ``avgpool`` / ``classifier`` (MobileNet, ConvNeXt)."""

    def __init__(
        self,
        backbone: nn.Module,
        input_norm: str = "imagenet",
        tf_same_padding: bool = False,
    ) -> None:
        super().__init__(backbone, input_norm, tf_same_padding)
        self.target_layer = self.backbone.features[-1]

    def _feature_map(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone.features(x)

    #: flatten the pooled map before ``classifier`` (ConvNeXt flattens inside it)
    flatten_before_classifier: ClassVar[bool] = True

    def _head(self, fmap: torch.Tensor) -> torch.Tensor:
        pooled = nn.functional.adaptive_avg_pool2d(fmap, 1)
        if self.flatten_before_classifier:
            pooled = torch.flatten(pooled, 1)
        return self.backbone.classifier(pooled)


class MobileNetV2(_FeaturesClassifier):
    """torchvision ``mobilenet_v2`` (2,225,153 parameters with one logit)."""

    arch_name: ClassVar[str] = "mobilenet_v2"
    head_prefix: ClassVar[str] = "classifier.1."

    def __init__(
        self, input_norm: str = "imagenet", tf_same_padding: bool = False
    ) -> None:
        super().__init__(
            models.mobilenet_v2(weights=None, num_classes=1),
            input_norm,
            tf_same_padding,
        )


class MobileNetV3Small(_FeaturesClassifier):
    """torchvision ``mobilenet_v3_small`` (1,518,881 parameters with one logit)."""

    arch_name: ClassVar[str] = "mobilenet_v3_small"
    head_prefix: ClassVar[str] = "classifier.3."

    def __init__(
        self, input_norm: str = "imagenet", tf_same_padding: bool = False
    ) -> None:
        super().__init__(
            models.mobilenet_v3_small(weights=None, num_classes=1),
            input_norm,
            tf_same_padding,
        )


class _ConvNeXt(_FeaturesClassifier):
    """ConvNeXt: the classifier holds LayerNorm2d -> Flatten -> Linear."""

    flatten_before_classifier: ClassVar[bool] = False


class ConvNeXtTiny(_ConvNeXt):
    """torchvision ``convnext_tiny`` (27,820,897 parameters with one logit)."""

    arch_name: ClassVar[str] = "convnext_tiny"

    def __init__(
        self, input_norm: str = "imagenet", tf_same_padding: bool = False
    ) -> None:
        super().__init__(
            models.convnext_tiny(weights=None, num_classes=1),
            input_norm,
            tf_same_padding,
        )


class ConvNeXtSmall(_ConvNeXt):
    """torchvision ``convnext_small`` (49,455,457 parameters with one logit)."""

    arch_name: ClassVar[str] = "convnext_small"

    def __init__(
        self, input_norm: str = "imagenet", tf_same_padding: bool = False
    ) -> None:
        super().__init__(
            models.convnext_small(weights=None, num_classes=1),
            input_norm,
            tf_same_padding,
        )


class ConvNeXtBase(_ConvNeXt):
    """torchvision ``convnext_base`` (87,567,489 parameters with one logit)."""

    arch_name: ClassVar[str] = "convnext_base"

    def __init__(
        self, input_norm: str = "imagenet", tf_same_padding: bool = False
    ) -> None:
        super().__init__(
            models.convnext_base(weights=None, num_classes=1),
            input_norm,
            tf_same_padding,
        )


class ShuffleNetV2(TorchvisionClassifier):
    """torchvision ``shufflenet_v2_x1_0`` (1,254,629 parameters with one logit)."""

    arch_name: ClassVar[str] = "shufflenet_v2"

    def __init__(
        self, input_norm: str = "imagenet", tf_same_padding: bool = False
    ) -> None:
        super().__init__(
            models.shufflenet_v2_x1_0(weights=None, num_classes=1),
            input_norm,
            tf_same_padding,
        )
        self.target_layer = self.backbone.conv5

    def _feature_map(self, x: torch.Tensor) -> torch.Tensor:
        b = self.backbone
        x = b.maxpool(b.conv1(x))
        return b.conv5(b.stage4(b.stage3(b.stage2(x))))

    def _head(self, fmap: torch.Tensor) -> torch.Tensor:
        return self.backbone.fc(fmap.mean(dim=(2, 3)))
