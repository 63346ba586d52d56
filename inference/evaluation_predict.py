"""Run a `DefectClassifier` over labelled image files, skipping unreadable ones.

Re-exported by ``inference.evaluation``; logs under ``inference.evaluation``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from inference.errors import DataError, InferenceError

__all__ = ["predict_samples"]

logger = logging.getLogger("inference.evaluation")


def predict_samples(
    classifier: Any,
    samples: Sequence[tuple[Path, int]],
    *,
    batch_size: int = 64,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, str]]]:
    """Run a `DefectClassifier` over labelled image files.

    Unreadable images are skipped (logged, and listed in the returned ``skipped``) so
    one bad file does not stop the evaluation.

    Args:
        classifier: an ``inference.classifier.DefectClassifier``.
        samples: ``(path, label)`` pairs.
        batch_size: images per forward pass.
        progress: show a tqdm bar.

    Returns:
        ``(labels, logits, kept_indices, skipped)``; ``skipped`` holds
        ``{"path", "error"}`` entries.

    Raises:
        DataError: no sample at all, or none readable.
    """
    from tqdm.auto import tqdm

    from inference.training.datasets import load_crop, preprocess_crop

    if len(samples) == 0:
        msg = "the dataset is empty: no labelled images to evaluate"
        raise DataError(msg)
    labels: list[int] = []
    kept: list[int] = []
    logits: list[np.ndarray] = []
    skipped: list[dict[str, str]] = []
    batch: list[torch.Tensor] = []

    def flush() -> None:
        if batch:
            logits.append(classifier.logits(torch.stack(batch)))
            batch.clear()

    bar = tqdm(range(len(samples)), desc="evaluate", leave=False, disable=not progress)
    for i in bar:
        path, label = samples[i]
        try:
            img = preprocess_crop(load_crop(path), classifier.input_size)
        except InferenceError as exc:  # ImageDecodeError, DataError
            logger.warning("skipping %s", exc)
            skipped.append({"path": str(path), "error": str(exc)})
            continue
        batch.append(img)
        labels.append(int(label))
        kept.append(i)
        if len(batch) >= batch_size:
            flush()
    flush()
    if not labels:
        msg = f"none of the {len(samples)} images could be read"
        raise DataError(msg)
    return (
        np.asarray(labels, dtype=np.int64),
        np.concatenate(logits).astype(np.float64),
        np.asarray(kept, dtype=np.int64),
        skipped,
    )
