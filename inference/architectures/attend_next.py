"""Attend-NeXt backbones (algorithms.md §5), written from the spec's description.

Attend-NeXt-S follows §5.2 exactly (1,632,345 parameters with a one-logit head).
Attend-NeXt-L is the fitted stand-in of §5.3 (an **approximation**: the real Large
config is not published).

One deliberate, parameter-free deviation: the channel-softmax gate of each stage's first
block is multiplied by the channel count ``C``. A softmax over ``C`` channels averages
``1/C``, so the unscaled gate shrinks the projected input about ``C`` times per stage;
the last stage (one block, no residual after it) then hands the head features of order
1e-3 and a network trained from scratch collapses to a constant logit
(docs/architectures.md). Scaled, the gate averages 1 and passes the signal at its own
size. ``gate="softmax"`` builds the unscaled original.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import nn

from inference.architectures.base import OneLogitClassifier

__all__ = [
    "ATTEND_NEXT_L_CONFIG",
    "ATTEND_NEXT_S_CONFIG",
    "GATES",
    "AttendNeXt",
    "AttendNeXtL",
    "AttendNeXtS",
    "Block",
]

#: (width, depth, block type) per stage.
ATTEND_NEXT_S_CONFIG: tuple[tuple[int, int, str], ...] = (
    (40, 2, "basic"),
    (84, 2, "basic"),
    (176, 3, "bottleneck"),
    (372, 1, "bottleneck"),
)
ATTEND_NEXT_L_CONFIG: tuple[tuple[int, int, str], ...] = (
    (44, 3, "basic"),
    (96, 3, "basic"),
    (196, 6, "bottleneck"),
    (416, 2, "bottleneck"),
)
_STAGE_STRIDES = (1, 2, 2, 2)
_GROUPS = 4
#: Gate variants: "scaled" (``C * softmax``, default) or "softmax" (§5.2 as written).
GATES = ("scaled", "softmax")


def _round4(c: int) -> int:
    return max(4, c // 4 * 4)


def _conv_bn(
    cin: int, cout: int, k: int, stride: int = 1, groups: int = 1
) -> list[nn.Module]:
    return [
        nn.Conv2d(
            cin, cout, k, stride=stride, padding=(k - 1) // 2, groups=groups, bias=False
        ),
        nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1),
    ]


class Block(nn.Module):
    """Basic (expansion 1) or bottleneck (expansion 2) block of §5.2.

    The first block of a stage has a projection shortcut and merges with the attention
    step ``softmax_over_channels(main) * projection(x)``; the others add a residual.
    All downsampling is average-pool-then-conv.

    Args:
        cin: input channels.
        width: block width ``c``.
        kind: ``"basic"`` or ``"bottleneck"``.
        stride: 1 or 2.
        first: whether this is the first block of its stage (projection + attention).
        gate: ``"scaled"`` multiplies the channel softmax by the channel count (mean 1);
            ``"softmax"`` is §5.2 as written.
    """

    def __init__(
        self,
        cin: int,
        width: int,
        kind: str,
        stride: int,
        first: bool,
        gate: str = "scaled",
    ) -> None:
        super().__init__()
        if gate not in GATES:
            msg = f"unknown gate {gate!r}; choose one of {GATES}"
            raise ValueError(msg)
        c = _round4(width)
        pool: list[nn.Module] = [nn.AvgPool2d(2, 2)] if stride == 2 else []
        if kind == "basic":
            cout = c
            layers = [
                *pool,
                *_conv_bn(cin, c, 3, groups=_GROUPS),
                nn.SiLU(),
                *_conv_bn(c, c, 3, groups=_GROUPS),
            ]
        elif kind == "bottleneck":
            cout = 2 * c
            layers = [
                *_conv_bn(cin, c, 1),
                nn.SiLU(),
                *pool,
                *_conv_bn(c, c, 3, groups=_GROUPS),
                nn.SiLU(),
                *_conv_bn(c, cout, 1),
            ]
        else:
            msg = f"unknown block kind {kind!r}"
            raise ValueError(msg)
        self.main = nn.Sequential(*layers)
        self.first = first
        self.shortcut = (
            nn.Sequential(
                *([nn.AvgPool2d(2, 2)] if stride == 2 else []), *_conv_bn(cin, cout, 1)
            )
            if first
            else None
        )
        if not first and (cin != cout or stride != 1):
            msg = "only the first block of a stage may change width or resolution"
            raise ValueError(msg)
        self.act = nn.SiLU()
        self.out_channels = cout
        self.gate_scale = float(cout) if gate == "scaled" else 1.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Main path merged with the shortcut, then SiLU."""
        main = self.main(x)
        if self.shortcut is not None:
            gate = torch.softmax(main, dim=1)
            if self.gate_scale != 1.0:
                gate = gate * self.gate_scale
            out = gate * self.shortcut(x)
        else:
            out = main + x
        return self.act(out)


class AttendNeXt(OneLogitClassifier):
    """Attend-NeXt network with a one-logit (or ``num_classes``) head.

    Args:
        config: ``(width, depth, kind)`` per stage.
        num_classes: head outputs (1 for the defect logit; 1000 for the ImageNet check).
        input_norm: input normalisation mode (default ``"none"``: the paper feeds /255).
        gate: ``"scaled"`` (default) or ``"softmax"``; see the module docstring.
    """

    def __init__(
        self,
        config: Sequence[tuple[int, int, str]],
        num_classes: int = 1,
        input_norm: str = "none",
        gate: str = "scaled",
    ) -> None:
        super().__init__(input_norm=input_norm)
        self.stem = nn.Sequential(
            *_conv_bn(3, 32, 3, stride=2),
            nn.SiLU(),
            *_conv_bn(32, 32, 3, groups=_GROUPS),
            nn.SiLU(),
            nn.AvgPool2d(3, stride=2, padding=1),
        )
        cin = 32
        stages: list[nn.Module] = []
        for (width, depth, kind), stride in zip(config, _STAGE_STRIDES, strict=True):
            blocks = []
            for i in range(depth):
                block = Block(
                    cin, width, kind, stride if i == 0 else 1, first=i == 0, gate=gate
                )
                blocks.append(block)
                cin = block.out_channels
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.num_features = cin
        self.fc = nn.Linear(cin, num_classes)
        self.target_layer = self.stages[-1]

    def _feature_map(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.stem(x))

    def _head(self, fmap: torch.Tensor) -> torch.Tensor:
        return self.fc(fmap.mean(dim=(2, 3)))


class AttendNeXtS(AttendNeXt):
    """Attend-NeXt-S (§5.2): 1,632,345 parameters, 744-d features."""

    arch_name: ClassVar[str] = "attend_next_s"

    def __init__(
        self, num_classes: int = 1, input_norm: str = "none", gate: str = "scaled"
    ) -> None:
        super().__init__(ATTEND_NEXT_S_CONFIG, num_classes, input_norm, gate)


class AttendNeXtL(AttendNeXt):
    """Attend-NeXt-L (approximation, §5.3): fitted stand-in, 3,894,885 parameters."""

    arch_name: ClassVar[str] = "attend_next_l"
    approximation: ClassVar[bool] = True

    def __init__(
        self, num_classes: int = 1, input_norm: str = "none", gate: str = "scaled"
    ) -> None:
        super().__init__(ATTEND_NEXT_L_CONFIG, num_classes, input_norm, gate)
