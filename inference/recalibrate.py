"""Re-fit a trained model's temperature and region thresholds without retraining.

The operating point of a model (temperature, ``t_lo``, ``t_hi``; algorithms.md §3.2-3.3)
is fitted on the validation split at the end of training. An engineer re-fits it when
the target escape rate changes, when a better fitting rule ships (the Laplace-smoothed
temperature of `inference.calibration.fit_temperature`), or on newly labelled data from
the line. The weights are not touched: the decision at p = 0.5 and the AUROC stay the
same; confidence, ECE, trust and the review band change.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from inference.errors import DataError

__all__ = ["recalibrate"]

logger = logging.getLogger(__name__)


def recalibrate(
    model_dir: str | Path,
    data: Sequence[str | Path] | None = None,
    *,
    split: str = "val",
    split_seed: int | None = None,
    e_max: float = 0.0,
    o_max: float = 0.01,
    out: str | Path | None = None,
    device: str = "cpu",
    batch_size: int = 64,
) -> dict[str, Any]:
    """Fit temperature and thresholds on labelled data and write the updated card.

    Args:
        model_dir: the model folder.
        data: dataset folders (default: the card's training datasets).
        split: ``"val"`` (default: the split the card's numbers were fitted on),
            ``"all"`` (e.g. a fresh labelled set from the line), ``"train"`` or
            ``"test"``.
        split_seed: seed of the group-aware split (default: the card's).
        e_max: allowed automatic escape rate for ``t_lo``.
        o_max: allowed automatic overkill rate for ``t_hi``.
        out: write the re-calibrated model here (default: in place).
        device: torch device for the logits.
        batch_size: crops per forward pass.

    Returns:
        ``{"before": {...}, "after": {...}, "n", "defective", "split", "model_dir"}``;
        each side holds temperature, thresholds, ECE, review rate and the validation
        rates they reach.

    Raises:
        DataError: no data given and none on the card, one class only, bad split.
        ModelLoadError: the model folder cannot be loaded.
    """
    from inference.calibration import (
        apply_temperature,
        fit_temperature,
        select_thresholds,
    )
    from inference.classifier import DefectClassifier
    from inference.evaluation_predict import predict_samples
    from inference.metrics import expected_calibration_error, region_metrics
    from inference.model_card import load_model, save_model
    from inference.training.data import load_split

    loaded = load_model(model_dir, device=device)
    card = loaded.card
    folders = list(data or card.data.get("datasets") or [])
    if not folders:
        msg = f"{model_dir}: no --data given and the card names no datasets"
        raise DataError(msg)
    seed = int(card.data.get("split_seed", 0) if split_seed is None else split_seed)
    rows = load_split(folders, split, seed)
    clf = DefectClassifier.from_loaded(loaded, batch_size=batch_size)
    y, logits, _kept, skipped = predict_samples(
        clf, [(r.path, r.label) for r in rows], batch_size=batch_size
    )
    if y.min() == y.max():
        msg = f"the {split} data hold one class only; calibration needs both"
        raise DataError(msg)

    def side(temperature: float, t_lo: float, t_hi: float) -> dict[str, Any]:
        p = apply_temperature(logits, temperature)
        regions = region_metrics(y, p, t_lo, t_hi).to_dict()
        return {
            "temperature": float(temperature),
            "t_lo": float(t_lo),
            "t_hi": float(t_hi),
            "ece": float(expected_calibration_error(y, p)),
            "review_rate": float(regions["review_rate"]),
            "auto_escape": float(regions["auto_escape"]),
            "auto_overkill": float(regions["auto_overkill"]),
            "max_confidence_of_errors": _max_error_confidence(y, p),
        }

    before = side(card.temperature, card.t_lo, card.t_hi)
    temperature = fit_temperature(logits, y)
    choice = select_thresholds(
        y, apply_temperature(logits, temperature), e_max=e_max, o_max=o_max
    )
    after = side(temperature, choice.t_lo, choice.t_hi)
    card.temperature = after["temperature"]
    card.t_lo = after["t_lo"]
    card.t_hi = after["t_hi"]
    history = list(card.extra.get("recalibrations", []))
    history.append(
        {
            "data": [str(f) for f in folders],
            "split": split,
            "split_seed": seed,
            "n": len(y),
            "e_max": e_max,
            "o_max": o_max,
            "before": before,
            "after": after,
        }
    )
    card.extra["recalibrations"] = history
    target = Path(out) if out is not None else Path(model_dir)
    save_model(loaded.model.cpu(), target, card)
    logger.info(
        "re-calibrated %s: T %.4g -> %.4g, t_lo %.3g -> %.3g, t_hi %.3g -> %.3g",
        model_dir,
        before["temperature"],
        after["temperature"],
        before["t_lo"],
        after["t_lo"],
        before["t_hi"],
        after["t_hi"],
    )
    return {
        "model_dir": str(target),
        "split": split,
        "n": len(y),
        "defective": int(y.sum()),
        "skipped": skipped,
        "feasible": bool(choice.feasible),
        "before": before,
        "after": after,
    }


def _max_error_confidence(y: np.ndarray, p: np.ndarray) -> float | None:
    wrong = (p >= 0.5).astype(int) != y
    if not wrong.any():
        return None
    return float(np.max(np.maximum(p[wrong], 1.0 - p[wrong])))
