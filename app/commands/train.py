"""`soldernet train`: train a defect classifier."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.cli import EXIT_FAILURE, EXIT_OK


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `train` subcommand."""
    from inference.training.config import add_train_arguments

    p = sub.add_parser(
        "train",
        help="train a classifier on one or more datasets",
        description=(
            "Train a one-logit defect classifier (LP-FT, AdamW, cosine decay, label "
            "smoothing, mixup), fit its temperature and region thresholds on the "
            "validation split and write a model folder (weights + model.json)."
        ),
    )
    add_train_arguments(p)
    p.add_argument("--json", metavar="PATH", help="write the training summary as JSON")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Train with the parsed arguments; prints a summary."""
    from inference.errors import InferenceError
    from inference.evaluation import jsonable
    from inference.training.train_classifier import TrainConfig, train

    try:
        result = train(TrainConfig.from_args(args))
    except InferenceError as exc:
        print(f"soldernet train: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    summary = result.to_dict()
    val = result.val_metrics
    print(f"model written to {result.model_dir}")
    print(
        f"epochs run {result.epochs_run} (best {result.best_epoch + 1}"
        f"{', stopped early' if result.stopped_early else ''}); "
        f"temperature {result.temperature:.3f}; "
        f"t_lo {result.t_lo:.4f} t_hi {result.t_hi:.4f}"
    )
    print(
        f"validation: accuracy {val['accuracy']:.4f} overkill {val['overkill']:.4f} "
        f"escape {val['escape']:.4f} AUROC {_num(val['auroc'])} ECE {val['ece']:.4f}"
    )
    if result.test_metrics:
        t = result.test_metrics
        print(
            f"test: accuracy {t['accuracy']:.4f} overkill {t['overkill']:.4f} "
            f"escape {t['escape']:.4f} AUROC {_num(t['auroc'])} ECE {t['ece']:.4f}"
        )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(jsonable(summary), indent=2), "utf-8")
    return EXIT_OK


def _num(v: object) -> str:
    return f"{v:.4f}" if isinstance(v, float) and v == v else "n/a"
