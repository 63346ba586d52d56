"""Cached, counted model evaluations of R(x, M) for one image."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from inference.explain._torch import forward_logits, logits_of
from inference.explain.removal import feather, remove


class MaskOracle:
    """Logits of R(x, M) for boolean masks, evaluated in batches and cached by mask.

    Args:
        model: the eager model (used when `forward` is None).
        x: the image `1×3×H×W`.
        baseline: its fill image b(x).
        batch_size: images per forward call.
        feather_sigma: mask feathering σ (0 = hard masks).
        forward: optional replacement of the eager forward, `N×3×H×W` images ->
            `N` logits of the same function (e.g. `fast_model.OnnxForward`).

    Attributes:
        n_forward: images passed forward so far (cache hits are free).
        n_backward: images passed backward (updated by gradient users).
    """

    def __init__(
        self,
        model: nn.Module,
        x: torch.Tensor,
        baseline: torch.Tensor,
        batch_size: int,
        feather_sigma: float = 0.0,
        forward: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        self.model = model
        self.forward = forward
        self.x = x
        self.baseline = baseline
        self.batch_size = batch_size
        self.feather_sigma = feather_sigma
        self.n_forward = 0
        self.n_backward = 0
        self._cache: dict[bytes, float] = {}

    def _run(self, batch: torch.Tensor) -> torch.Tensor:
        if self.forward is None:
            return forward_logits(self.model, batch, self.batch_size)
        outs = []
        for start in range(0, batch.shape[0], self.batch_size):
            chunk = batch[start : start + self.batch_size]
            outs.append(logits_of(self.forward(chunk), chunk.shape[0]).float())
        return torch.cat(outs)

    @staticmethod
    def _key(mask: np.ndarray) -> bytes:
        return np.packbits(mask.astype(bool, copy=False)).tobytes()

    def reference(self) -> float:
        """Logit of the unmodified image (one forward, cached as the empty mask)."""
        empty = np.zeros(self.x.shape[2:], dtype=bool)
        key = self._key(empty)
        if key not in self._cache:
            self._cache[key] = float(self._run(self.x)[0])
            self.n_forward += 1
        return self._cache[key]

    def logits(self, masks: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
        """Logits (float64) of R(x, M) for each mask; unseen masks are forwarded."""
        keys = [self._key(m) for m in masks]
        todo: dict[bytes, np.ndarray] = {}
        for key, mask in zip(keys, masks, strict=True):
            if key not in self._cache and key not in todo:
                todo[key] = mask
        items = list(todo.items())
        for start in range(0, len(items), self.batch_size):
            chunk = items[start : start + self.batch_size]
            stack = np.stack([feather(m, self.feather_sigma) for _, m in chunk])
            batch = remove(self.x, torch.from_numpy(stack), self.baseline)
            out = self._run(batch)
            self.n_forward += len(chunk)
            for (key, _), value in zip(chunk, out.tolist(), strict=True):
                self._cache[key] = float(value)
        return np.array([self._cache[k] for k in keys], dtype=np.float64)

    def logit(self, mask: np.ndarray) -> float:
        """Logit of R(x, M) for one mask."""
        return float(self.logits([mask])[0])
