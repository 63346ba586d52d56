"""Multiply-accumulate (MAC) counting of conv and linear layers with forward hooks.

This is the counting rule of algorithms.md §3.4: only `nn.Conv2d` (any ``groups``) and
`nn.Linear` are counted; normalisation, activations, pooling, softmax and additions are
not. Reported per image. The paper's "FLOPs" agree with such MAC counts within ~5 %.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import nn

__all__ = ["MacReport", "count_macs", "count_params", "mac_hooks"]


@dataclass
class MacReport:
    """MAC counts of one forward pass, per image.

    Attributes:
        conv: MACs of all convolutions.
        linear: MACs of all linear layers.
        per_layer: ``{qualified module name: MACs}`` in call order.
    """

    conv: int = 0
    linear: int = 0
    per_layer: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Conv + linear MACs."""
        return self.conv + self.linear

    @property
    def gmacs(self) -> float:
        """Total in GMACs (1e9)."""
        return self.total / 1e9


@contextmanager
def mac_hooks(model: nn.Module, batch_size: int = 1) -> Iterator[MacReport]:
    """Context manager that records conv/linear MACs of forward passes inside it.

    Hooks are removed on exit, also when the body raises.

    Args:
        model: network to instrument.
        batch_size: images per forward pass (counts are divided by it).

    Yields:
        A `MacReport` that fills while forward passes run.
    """
    report = MacReport()
    handles = []

    def conv_hook(name: str):
        def hook(
            mod: nn.Module, inp: tuple[torch.Tensor, ...], out: torch.Tensor
        ) -> None:
            assert isinstance(mod, nn.Conv2d)
            kh, kw = mod.kernel_size
            macs = out.numel() * (mod.in_channels // mod.groups) * kh * kw // batch_size
            report.conv += macs
            report.per_layer[name] = report.per_layer.get(name, 0) + macs

        return hook

    def linear_hook(name: str):
        def hook(
            mod: nn.Module, inp: tuple[torch.Tensor, ...], out: torch.Tensor
        ) -> None:
            assert isinstance(mod, nn.Linear)
            macs = out.numel() * mod.in_features // batch_size
            report.linear += macs
            report.per_layer[name] = report.per_layer.get(name, 0) + macs

        return hook

    for name, mod in model.named_modules():
        if isinstance(mod, nn.Conv2d):
            handles.append(mod.register_forward_hook(conv_hook(name)))
        elif isinstance(mod, nn.Linear):
            handles.append(mod.register_forward_hook(linear_hook(name)))
    try:
        yield report
    finally:
        for h in handles:
            h.remove()


def count_macs(model: nn.Module, input_size: tuple[int, int] = (256, 256)) -> MacReport:
    """MACs of one image of ``3 x H x W`` through ``model`` (eval mode, no grad).

    The model's train/eval mode is restored afterwards.

    Args:
        model: network taking ``N x 3 x H x W``.
        input_size: ``(H, W)``.

    Returns:
        The report.
    """
    was_training = model.training
    model.eval()
    try:
        param = next(model.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
        x = torch.zeros(1, 3, *input_size, device=device)
        with mac_hooks(model) as report, torch.no_grad():
            model(x)
    finally:
        model.train(was_training)
    return report


def count_params(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (``sum(p.numel())``).

    Args:
        model: the network.
        trainable_only: count only parameters with ``requires_grad``.

    Returns:
        The count.
    """
    return sum(
        p.numel() for p in model.parameters() if p.requires_grad or not trainable_only
    )
