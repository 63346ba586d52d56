"""How a model answers removals: the premise of removal-based explanations.

CFI, occlusion and the Impact Score read a model's answer to *removed* regions. They
are faithful only if the model gives two answers: removing the evidence of a defect
makes the joint look good, and removing something else changes nothing. This module
measures both on crops with pixel defect masks (our synthetic data):

- ``defect``: of the defective crops the model calls defective, the share whose
  decision flips when the true defect mask (dilated by ``dilate`` px at the model's
  input) is filled;
- ``good``: of the good crops the model calls good, the share whose decision flips
  when a random disc covering ``area`` of the image is filled.

Each for the explainer's three fills (``blur``, ``mean``, ``constant``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch
from scipy import ndimage
from torch import nn

from inference.explain.config import ExplainConfig
from inference.explain.removal import baseline_image, remove_np

__all__ = ["FILLS", "RemovalResponse", "removal_response"]

FILLS = ("blur", "mean", "constant")


@dataclass
class RemovalResponse:
    """Flip counts per fill: ``defect[fill] = (flipped, n)``, same for ``good``."""

    defect: dict[str, list[int]] = field(
        default_factory=lambda: {f: [0, 0] for f in FILLS}
    )
    good: dict[str, list[int]] = field(
        default_factory=lambda: {f: [0, 0] for f in FILLS}
    )

    def rate(self, kind: str, fill: str) -> float:
        """Share of flips of ``kind`` (``defect`` or ``good``) under ``fill``."""
        flipped, n = getattr(self, kind)[fill]
        return flipped / n if n else float("nan")

    def to_dict(self) -> dict[str, dict[str, list[int]]]:
        """``{"defect": {fill: [flipped, n]}, "good": {...}}``."""
        return {"defect": self.defect, "good": self.good}


def _disc(size: int, area: float, rng: np.random.Generator) -> np.ndarray:
    r = size * np.sqrt(area / np.pi)
    cy, cx = rng.uniform(r, size - r, 2)
    yy, xx = np.indices((size, size))
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r


def removal_response(
    model: nn.Module,
    crops: Iterable[tuple[torch.Tensor, int, np.ndarray | None]],
    *,
    dilate: int = 2,
    area: float = 0.1,
    blur_sigma: float = 10.0,
    seed: int = 0,
) -> RemovalResponse:
    """Measure the two removal answers of ``model``.

    Args:
        model: one-logit classifier (eval mode is set here).
        crops: ``(x, label, defect_mask)``: ``x`` a preprocessed ``1x3xHxW`` image,
            ``label`` 1 = defective, ``defect_mask`` an ``HxW`` boolean mask at any
            resolution (resized to the input; None or empty = no mask).
        dilate: px the defect mask grows by at the input size.
        area: share of the image a random disc covers on good crops.
        blur_sigma: sigma of the ``blur`` fill (px at the input size).
        seed: seed of the random discs.

    Returns:
        The flip counts per fill.
    """
    model.eval()
    cfg = ExplainConfig(blur_sigma=blur_sigma)
    rng = np.random.default_rng(seed)
    out = RemovalResponse()
    for x, label, raw in crops:
        size = int(x.shape[-1])
        with torch.no_grad():
            decision = int(model(x).item() >= 0)
        if label == 1 and decision == 1 and raw is not None and raw.any():
            m = cv2.resize(
                raw.astype(np.uint8), (size, size), interpolation=cv2.INTER_NEAREST
            )
            mask = (
                ndimage.binary_dilation(m > 0, iterations=dilate) if dilate else m > 0
            )
            counts = out.defect
        elif label == 0 and decision == 0:
            mask, counts = _disc(size, area, rng), out.good
        else:
            continue
        for fill in FILLS:
            removed = remove_np(x, mask, baseline_image(x, cfg, fill))
            with torch.no_grad():
                flipped = int(model(removed).item() >= 0) != decision
            counts[fill][0] += int(flipped)
            counts[fill][1] += 1
    return out
