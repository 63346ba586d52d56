"""The error and result types of a classifier training run.

``TrainingError`` (training cannot go on), ``EpochStats`` (one epoch's numbers),
``TrainResult`` (what ``train`` returns) and the private ``_FitState`` handed from the
epoch loop to the final calibration step. Re-exported by
``inference.training.train_classifier``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inference.errors import InferenceError

__all__ = ["EpochStats", "TrainResult", "TrainingError"]


class TrainingError(InferenceError):
    """Training cannot go on (NaN loss, unusable data, bad checkpoint, ...)."""


@dataclass(frozen=True)
class EpochStats:
    """One epoch's numbers.

    Attributes:
        epoch: 0-based global epoch index (linear probe epochs first).
        phase: ``"lp"`` or ``"ft"``.
        train_loss: mean training loss (smoothed, mixed targets).
        val_loss: validation BCE (plain targets, no pos_weight).
        val_accuracy: validation accuracy at 0.5.
        val_auroc: validation AUROC (NaN with one class).
        lr: learning rate at the epoch's first step.
        seconds: wall time of the epoch.
    """

    epoch: int
    phase: str
    train_loss: float
    val_loss: float
    val_accuracy: float
    val_auroc: float
    lr: float
    seconds: float


@dataclass
class TrainResult:
    """What a training run produced.

    Attributes:
        model_dir: the written model folder.
        checkpoint: the last checkpoint file.
        best_epoch: epoch whose weights were kept (0-based, global).
        epochs_run: epochs completed (including ones done before a resume).
        stopped_early: early stopping ended the run.
        history: per-epoch statistics.
        temperature: fitted temperature.
        t_lo: lower region threshold chosen on validation.
        t_hi: upper region threshold chosen on validation.
        val_metrics: validation metrics with the temperature applied.
        test_metrics: test-split metrics (empty without a test split).
        card: the model card written to ``model.json``.
    """

    model_dir: Path
    checkpoint: Path
    best_epoch: int
    epochs_run: int
    stopped_early: bool
    history: list[EpochStats]
    temperature: float
    t_lo: float
    t_hi: float
    val_metrics: dict[str, Any]
    test_metrics: dict[str, Any]
    card: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "model_dir": str(self.model_dir),
            "checkpoint": str(self.checkpoint),
            "best_epoch": self.best_epoch,
            "epochs_run": self.epochs_run,
            "stopped_early": self.stopped_early,
            "history": [dataclasses.asdict(h) for h in self.history],
            "temperature": self.temperature,
            "t_lo": self.t_lo,
            "t_hi": self.t_hi,
            "val_metrics": self.val_metrics,
            "test_metrics": self.test_metrics,
        }


@dataclass
class _FitState:
    best_epoch: int
    epochs_run: int
    stopped_early: bool
    history: list[EpochStats]
    checkpoint: Path
