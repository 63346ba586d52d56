"""The end of a training run: calibrate, choose thresholds, measure, save the model.

Fits the temperature and the region thresholds on the validation split, computes
validation and test metrics, and writes the model folder (weights + model card).
Logs under ``inference.training.train_classifier``.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from inference.training.checkpoint import _plain
from inference.training.config import TrainConfig
from inference.training.data import _loader
from inference.training.loop import evaluate
from inference.training.results import TrainResult, _FitState

if TYPE_CHECKING:
    from inference.datasets import Sample
    from inference.training.datasets import JointCropDataset

__all__: list[str] = []

logger = logging.getLogger("inference.training.train_classifier")


def _finish(
    config: TrainConfig,
    fit: _FitState,
    model: nn.Module,
    arch: str,
    device: torch.device,
    out: Path,
    val_ds: JointCropDataset,
    test_ds: JointCropDataset | None,
    splits: dict[str, list[Sample]],
) -> TrainResult:
    from inference.calibration import (
        apply_temperature,
        fit_temperature,
        select_thresholds,
    )
    from inference.metrics import (
        brier_score,
        expected_calibration_error,
        region_metrics,
        threshold_metrics,
    )
    from inference.model_card import save_model

    val_loader = _loader(val_ds, config.batch_size, None, config.workers)
    val_logits, val_y = evaluate(model, val_loader, device)
    temperature = float(fit_temperature(val_logits, val_y))
    val_p = apply_temperature(val_logits, temperature)
    choice = select_thresholds(val_y, val_p, e_max=config.e_max, o_max=config.o_max)
    t_lo, t_hi = float(choice.t_lo), float(choice.t_hi)
    if not choice.feasible:
        logger.warning(
            "threshold targets not met on validation (e_max %g, o_max %g): %s",
            config.e_max,
            config.o_max,
            choice.to_dict(),
        )

    def summary(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
        m = threshold_metrics(y, p).to_dict()
        m["ece"] = float(expected_calibration_error(y, p))
        m["brier"] = float(brier_score(y, p))
        m["regions"] = region_metrics(y, p, t_lo, t_hi).to_dict()
        plain: dict[str, Any] = _plain(m)
        return plain

    val_metrics = summary(val_y, val_p)
    test_metrics: dict[str, Any] = {}
    if test_ds is not None:
        test_loader = _loader(test_ds, config.batch_size, None, config.workers)
        lg, ty = evaluate(model, test_loader, device)
        test_metrics = summary(ty, apply_temperature(lg, temperature))

    def counts(part: list[Sample]) -> dict[str, int]:
        n_pos = sum(r.label for r in part)
        return {"n": len(part), "defective": n_pos, "non_defective": len(part) - n_pos}

    card: dict[str, Any] = {
        "architecture": arch,
        "input_size": config.input_size,
        "temperature": temperature,
        "t_lo": t_lo,
        "t_hi": t_hi,
        "version": config.version,
        "parent_version": config.parent_version,
        "data": {
            "datasets": [str(Path(d)) for d in config.data],
            "split_seed": config.split_seed,
            **{name: counts(part) for name, part in splits.items()},
        },
        "metrics": {"val": val_metrics, "test": test_metrics},
        "training": {
            **_plain(dataclasses.asdict(config)),
            "best_epoch": fit.best_epoch,
            "epochs_run": fit.epochs_run,
            "stopped_early": fit.stopped_early,
        },
    }
    model.eval()
    save_model(model.cpu(), out, card)
    model.to(device)
    return TrainResult(
        model_dir=out,
        checkpoint=fit.checkpoint,
        best_epoch=fit.best_epoch,
        epochs_run=fit.epochs_run,
        stopped_early=fit.stopped_early,
        history=fit.history,
        temperature=temperature,
        t_lo=t_lo,
        t_hi=t_hi,
        val_metrics=val_metrics,
        test_metrics=test_metrics,
        card=card,
    )
