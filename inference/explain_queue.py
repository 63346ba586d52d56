"""Explanations of a board's possibly defective joints, in review-queue order.

Step 4 of product.md §1. After the joints are persisted the caller hands the crops
and the queue order (highest P(defect) first, `BoardInspection.queue_order`) to
`explain_joints`; each finished explanation is written as files and passed to
``on_explained`` at once, so the first joint of the queue is reviewable while the
rest are still being computed.

Artefacts per joint, in ``out_dir``:

- ``<stem>.overlay.png``: the crop with the critical-factor outline and heatmap.
- ``<stem>.heatmap.npz``: ``heatmap`` (float32 ``H x W`` in [0, 1], 0 off M*).
- ``<stem>.mask.npz``: ``mask`` (uint8 M*) and ``factor_labels`` (int32).

No DB and no Qt here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inference.errors import InferenceError
from inference.explain.cache import config_hash
from inference.explain.errors import ExplainError
from inference.explain.render import render, summary_text
from inference.explain.result import CriticalFactorResult
from inference.explain.runner import Explainer, save_overlay
from inference.pipeline import CancelCheck, check_cancel

__all__ = [
    "JointExplanation",
    "explain_joints",
    "explainer_version",
]

log = logging.getLogger(__name__)

EXPLAINER_NAME = "cfi"


def explainer_version(explainer: Explainer) -> str:
    """A short provenance string: method plus the hash of its knobs."""
    return f"{EXPLAINER_NAME}/{config_hash(explainer.cfg)[:12]}"


@dataclass(frozen=True, eq=False)
class JointExplanation:
    """One finished explanation.

    Attributes:
        index: the joint's index in the board's joint list.
        rank: its position in the queue (0 = first).
        result: the critical-factor result.
        seconds: compute time (also for cache hits: the original cost).
        cached: served from the explanation cache.
        overlay_path: the overlay PNG.
        heatmap_path: the heatmap ``.npz``.
        mask_path: the mask ``.npz``.
        summary: one-line human summary (`summary_text`).
        explainer_version: `explainer_version` of the explainer used.
    """

    index: int
    rank: int
    result: CriticalFactorResult
    seconds: float
    cached: bool
    overlay_path: Path
    heatmap_path: Path
    mask_path: Path
    summary: str
    explainer_version: str

    @property
    def forward_passes(self) -> int:
        """Model forward passes the explanation needed."""
        return int(self.result.n_forward)


def _write_artefacts(
    out_dir: Path, stem: str, x: Any, result: CriticalFactorResult
) -> tuple[Path, Path, Path]:
    overlay = out_dir / f"{stem}.overlay.png"
    heatmap = out_dir / f"{stem}.heatmap.npz"
    mask = out_dir / f"{stem}.mask.npz"
    save_overlay(overlay, render(x, result))
    np.savez_compressed(heatmap, heatmap=np.asarray(result.heatmap, np.float32))
    np.savez_compressed(
        mask,
        mask=np.asarray(result.mask, np.uint8),
        factor_labels=np.asarray(result.factor_labels, np.int32),
    )
    return overlay, heatmap, mask


def explain_joints(
    explainer: Explainer,
    crops: np.ndarray | Sequence[np.ndarray],
    order: Sequence[int],
    out_dir: str | Path,
    *,
    stem: str = "joint",
    on_explained: Callable[[JointExplanation], None] | None = None,
    on_error: Callable[[int, Exception], None] | None = None,
    cancel: CancelCheck | None = None,
    limit: int | None = None,
) -> list[JointExplanation]:
    """Explain the joints ``order`` names, one after the other, in that order.

    Args:
        explainer: CFI explainer (model, knobs, cache).
        crops: the board's uint8 RGB crops (`BoardInspection.crops`).
        order: joint indices to explain, first = first in the review queue.
        out_dir: folder for the artefacts (created).
        stem: file-name prefix; files are ``<stem>_<index>.*``.
        on_explained: called with each explanation as soon as its files exist.
        on_error: called as ``on_error(index, error)`` when one joint cannot be
            explained; the others go on (default: logged).
        cancel: checked before each joint.
        limit: explain at most this many (None: all).

    Returns:
        The explanations, in queue order.

    Raises:
        Cancelled: ``cancel`` asked to stop (the finished ones were already
            reported through ``on_explained``).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    version = explainer_version(explainer)
    preset = explainer.em.preset
    todo = list(order) if limit is None else list(order)[: max(0, int(limit))]
    done: list[JointExplanation] = []
    for rank, index in enumerate(todo):
        check_cancel(cancel)
        t0 = time.perf_counter()
        try:
            x = preset(np.asarray(crops[index]))[None]
            result, seconds, cached = explainer.explain(x)
            paths = _write_artefacts(out, f"{stem}_{index:04d}", x, result)
        except (InferenceError, ExplainError, ValueError, OSError, RuntimeError) as exc:
            if on_error is not None:
                on_error(index, exc)
            else:
                log.warning("cannot explain joint %d: %s", index, exc)
            continue
        item = JointExplanation(
            index=int(index),
            rank=rank,
            result=result,
            seconds=float(seconds),
            cached=bool(cached),
            overlay_path=paths[0],
            heatmap_path=paths[1],
            mask_path=paths[2],
            summary=summary_text(result),
            explainer_version=version,
        )
        log.debug(
            "explained joint %d (rank %d) in %.2f s",
            index,
            rank,
            time.perf_counter() - t0,
        )
        done.append(item)
        if on_explained is not None:
            on_explained(item)
    return done
