"""Train the one-logit defect classifier (torchvision ``references/classification``).

Recipe (SolderNet paper + algorithms.md §3.3): BCE-with-logits on label-smoothed
targets, mixup, AdamW (betas 0.9/0.999, weight decay 1e-4), batch 128, a linear probe
(only the head trains, backbone frozen in eval mode) followed by a full fine-tune
(LP-FT), each phase with its own cosine decay, class imbalance handled by ``pos_weight``
or a balanced sampler, early stopping on the validation loss. Afterwards the temperature
is fitted and the region thresholds ``t_lo``/``t_hi`` are chosen on the validation
split, and the model folder (weights + model card) is written.

Every random draw comes from generators seeded by ``(seed, epoch)``, so an epoch gives
the same result whether the run was interrupted before it or not: resuming from
``checkpoint.pt`` (model, optimizer, epoch, early-stopping state; plain tensors and
dicts, loaded with ``weights_only=True``) reproduces the uninterrupted run on CPU.

This module holds the run itself (``train``) and the command line; the parts live in
``results`` (error and result types), ``data`` (folders, splits, loaders), ``loop``
(epochs, mixup, loss), ``batchnorm``, ``checkpoint`` and ``finalize`` (calibration,
thresholds, model folder) of ``inference.training``, re-exported here.

Usage::

    python -m inference.training.train_classifier --data DATA --arch attend_next_s \
        --lp-epochs 1 --epochs 10 --out models/attend_next_s
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from inference.errors import DataError
from inference.training.batchnorm import (
    recalibrate_bn_preserving,
    recompute_bn_stats,
)
from inference.training.checkpoint import (
    _clone_state,
    _load_checkpoint,
    _plain,
    _save_checkpoint,
)
from inference.training.config import (
    BALANCE_CHOICES,
    TrainConfig,
    add_train_arguments,
)
from inference.training.data import (
    _check_two_classes,
    _loader,
    load_dataset_rows,
    split_rows,
)
from inference.training.datasets import (
    JointCropDataset,
    balanced_weights,
    pos_weight_of,
)
from inference.training.finalize import _finish
from inference.training.loop import (
    _cosine_lr,
    _make_optimizer,
    _val_stats,
    evaluate,
    head_parameters,
    train_one_epoch,
)
from inference.training.loop import (
    _smooth as _smooth,  # re-exported: importable from here as before
)
from inference.training.removal_aug import RemovalAugmentConfig
from inference.training.results import (
    EpochStats,
    TrainingError,
    TrainResult,
    _FitState,
)

if TYPE_CHECKING:
    from inference.datasets import Sample

__all__ = [
    "EpochStats",
    "TrainConfig",
    "TrainResult",
    "TrainingError",
    "evaluate",
    "get_args_parser",
    "head_parameters",
    "load_dataset_rows",
    "main",
    "recalibrate_bn_preserving",
    "recompute_bn_stats",
    "split_rows",
    "train",
    "train_one_epoch",
]

logger = logging.getLogger(__name__)

CHECKPOINT_NAME = "checkpoint.pt"


# --------------------------------------------------------------------------------------
# The run


def _build(config: TrainConfig) -> tuple[nn.Module, str]:
    from inference.architectures import build_model

    torch.manual_seed(config.seed)
    if config.from_model:
        from inference.model_card import load_model

        loaded = load_model(config.from_model)
        return loaded.model, loaded.card.architecture
    return build_model(config.arch, pretrained_path=config.pretrained), config.arch


def train(config: TrainConfig) -> TrainResult:
    """Train, calibrate and save a defect classifier.

    Args:
        config: the run's settings.

    Returns:
        The run's result; the model folder is ``config.out``.

    Raises:
        DataError: empty data, only one class in a split, invalid manifest.
        ImageDecodeError: an unreadable image (the message names the file).
        TrainingError: NaN loss (names epoch and batch), bad checkpoint.
        InferenceError: unknown architecture or device.
    """
    from inference.device import select_device

    if config.balance not in BALANCE_CHOICES:
        msg = f"unknown --balance {config.balance!r}; use one of {BALANCE_CHOICES}"
        raise DataError(msg)
    if (
        config.epochs < 0
        or config.lp_epochs < 0
        or config.epochs + config.lp_epochs == 0
    ):
        msg = "nothing to train: --epochs and --lp-epochs are both 0"
        raise TrainingError(msg)
    if config.batch_size < 1:
        msg = f"--batch-size must be >= 1, got {config.batch_size}"
        raise TrainingError(msg)
    if config.threads:
        torch.set_num_threads(int(config.threads))
    device = select_device(config.device)
    out = Path(config.out)

    rows = load_dataset_rows(config.data)
    _check_two_classes(rows, "dataset")
    splits = split_rows(rows, seed=config.split_seed)
    _check_two_classes(splits["train"], "training split")
    _check_two_classes(splits["val"], "validation split")
    logger.info(
        "split: train %d, val %d, test %d",
        len(splits["train"]),
        len(splits["val"]),
        len(splits.get("test", [])),
    )

    if not 0.0 <= config.removal_p <= 1.0:
        msg = f"--removal-p must be in [0, 1], got {config.removal_p}"
        raise TrainingError(msg)
    removal = RemovalAugmentConfig(p=config.removal_p) if config.removal_p > 0 else None

    def make_ds(part: list[Sample], train_mode: bool) -> JointCropDataset:
        return JointCropDataset(
            [(r.path, r.label) for r in part],
            input_size=config.input_size,
            train=train_mode and config.augment,
            seed=config.seed,
            cache=config.cache_images,
            masks=[r.mask for r in part],
            removal=removal if train_mode else None,
        )

    train_ds = make_ds(splits["train"], True)
    val_ds = make_ds(splits["val"], False)
    test_ds = make_ds(splits["test"], False) if splits.get("test") else None
    for ds in (train_ds, val_ds, test_ds):
        if ds is not None and config.cache_images:
            ds.preload(progress=config.progress)

    previous_det = torch.are_deterministic_algorithms_enabled()
    if config.deterministic:
        torch.use_deterministic_algorithms(True, warn_only=device.type != "cpu")
    try:
        model, arch = _build(config)
        model.to(device)
        result = _fit(config, model, arch, device, out, train_ds, val_ds)
        return _finish(
            config, result, model, arch, device, out, val_ds, test_ds, splits
        )
    finally:
        torch.use_deterministic_algorithms(previous_det)


def _fit(
    config: TrainConfig,
    model: nn.Module,
    arch: str,
    device: torch.device,
    out: Path,
    train_ds: JointCropDataset,
    val_ds: JointCropDataset,
) -> _FitState:
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / CHECKPOINT_NAME
    total_epochs = config.lp_epochs + config.epochs
    n_train = len(train_ds)
    steps = math.ceil(n_train / config.batch_size)
    if config.max_train_batches is not None:
        steps = min(steps, config.max_train_batches)
    labels = train_ds.labels
    pos_weight = pos_weight_of(labels) if config.balance == "pos_weight" else None
    sample_w = balanced_weights(labels) if config.balance == "sampler" else None
    val_loader = _loader(val_ds, config.batch_size, None, config.workers)

    start_epoch = 0
    history: list[EpochStats] = []
    best_loss, best_epoch, bad_epochs = math.inf, -1, 0
    best_state: dict[str, torch.Tensor] | None = None
    opt_state: dict[str, Any] | None = None
    opt_phase = ""
    if config.resume:
        path = ckpt_path if config.resume == "auto" else Path(config.resume)
        ck = _load_checkpoint(path)
        if ck.get("arch") != arch:
            msg = f"checkpoint {path} is for {ck.get('arch')!r}, not {arch!r}"
            raise TrainingError(msg)
        try:
            model.load_state_dict(ck["model"])
        except (RuntimeError, KeyError, TypeError) as exc:
            msg = f"checkpoint {path} does not fit the {arch} model: {exc}"
            raise TrainingError(msg) from exc
        start_epoch = int(ck["epoch"]) + 1
        best_loss = float(ck["best_loss"])
        best_epoch = int(ck["best_epoch"])
        bad_epochs = int(ck["bad_epochs"])
        best_state = ck.get("best_state") or None
        opt_state = ck.get("optimizer")
        opt_phase = str(ck.get("phase", ""))
        history = [EpochStats(**h) for h in ck.get("history", [])]
        logger.info("resuming %s after epoch %d", path, start_epoch)
        resumed_stopped = bool(ck.get("stopped_early"))
    else:
        resumed_stopped = False

    pretrained = bool(config.pretrained or config.from_model)
    if pretrained and start_epoch == 0 and config.precise_bn_batches > 0:
        g0 = torch.Generator().manual_seed(config.seed * 1_000_003)
        order0 = torch.randperm(n_train, generator=g0).tolist()
        train_ds.set_epoch(0)
        used = recalibrate_bn_preserving(
            model,
            _loader(train_ds, config.batch_size, order0, config.workers),
            device,
            config.precise_bn_batches,
        )
        logger.info("BatchNorm statistics re-expressed from %d batches", used)

    optimizer: torch.optim.Optimizer | None = None
    phase_now = ""
    stopped = resumed_stopped
    epoch = start_epoch - 1
    end_epoch = start_epoch if resumed_stopped else total_epochs
    for epoch in range(start_epoch, end_epoch):
        lp = epoch < config.lp_epochs
        phase = "lp" if lp else "ft"
        if phase != phase_now:
            head = head_parameters(model)
            head_ids = {id(p) for p in head}
            for p in model.parameters():
                p.requires_grad_(not lp or id(p) in head_ids)
            params = head if lp else list(model.parameters())
            base_lr = config.lp_lr if lp else config.lr
            optimizer = _make_optimizer(params, base_lr, config.weight_decay)
            if opt_state is not None and opt_phase == phase:
                optimizer.load_state_dict(opt_state)
            opt_state = None
            phase_now = phase
        assert optimizer is not None
        phase_epoch = epoch if lp else epoch - config.lp_epochs
        phase_len = config.lp_epochs if lp else config.epochs
        base_lr = config.lp_lr if lp else config.lr

        def lr_at(
            i: int, pe: int = phase_epoch, pl: int = phase_len, b: float = base_lr
        ) -> float:
            return _cosine_lr(b, pe * steps + i, pl * steps)

        torch.manual_seed(config.seed * 7919 + epoch)  # dropout & co.
        train_ds.set_epoch(epoch)
        g = torch.Generator().manual_seed(config.seed * 1_000_003 + epoch)
        if sample_w is not None:
            order = torch.multinomial(sample_w, n_train, replacement=True, generator=g)
        else:
            order = torch.randperm(n_train, generator=g)
        loader = _loader(train_ds, config.batch_size, order.tolist(), config.workers)
        t0 = time.perf_counter()
        if config.precise_bn_batches > 0 and lp and not pretrained:
            # The frozen backbone's BatchNorm statistics, estimated on this data
            # (AdaBN): the head then learns on the features it will be evaluated on.
            recompute_bn_stats(model, loader, device, config.precise_bn_batches)
        train_loss, lr0 = train_one_epoch(
            model,
            loader,
            optimizer,
            epoch=epoch,
            device=device,
            lr_at=lr_at,
            label_smoothing=config.label_smoothing,
            mixup_alpha=config.mixup_alpha,
            pos_weight=pos_weight,
            seed=config.seed,
            linear_probe=lp,
            progress=config.progress,
            max_batches=config.max_train_batches,
        )
        if config.precise_bn_batches > 0 and not lp:
            recompute_bn_stats(model, loader, device, config.precise_bn_batches)
        logits, y = evaluate(model, val_loader, device)
        val_loss, val_acc, val_auc = _val_stats(logits, y)
        if not math.isfinite(val_loss):
            msg = f"validation loss became {val_loss} after epoch {epoch + 1}"
            raise TrainingError(msg)
        stats = EpochStats(
            epoch,
            phase,
            train_loss,
            val_loss,
            val_acc,
            val_auc,
            lr0,
            time.perf_counter() - t0,
        )
        history.append(stats)
        logger.info(
            "epoch %d/%d [%s] train %.4f val %.4f acc %.4f auroc %.4f (%.1fs)",
            epoch + 1,
            total_epochs,
            phase,
            train_loss,
            val_loss,
            val_acc,
            val_auc,
            stats.seconds,
        )
        # Early stopping and best weights: over fine-tune epochs (or LP-only runs).
        if not lp or config.epochs == 0:
            if val_loss < best_loss:
                best_loss, best_epoch, bad_epochs = val_loss, epoch, 0
                best_state = _clone_state(model)
            else:
                bad_epochs += 1
            stopped = config.patience > 0 and bad_epochs >= config.patience
        _save_checkpoint(
            ckpt_path,
            {
                "format": "soldernet-train-checkpoint/1",
                "arch": arch,
                "model": _clone_state(model),
                "optimizer": optimizer.state_dict(),
                "phase": phase,
                "epoch": epoch,
                "best_loss": best_loss,
                "best_epoch": best_epoch,
                "bad_epochs": bad_epochs,
                "best_state": best_state if best_state is not None else {},
                "stopped_early": stopped,
                "history": [dataclasses.asdict(h) for h in history],
                "config": _plain(dataclasses.asdict(config)),
            },
        )
        if stopped:
            logger.info(
                "early stop after epoch %d (best %d)", epoch + 1, best_epoch + 1
            )
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    for p in model.parameters():
        p.requires_grad_(True)
    return _FitState(best_epoch, epoch + 1, stopped, history, ckpt_path)


# --------------------------------------------------------------------------------------
# Command line


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    """The training arguments (also used by ``soldernet train``).

    Args:
        add_help: add ``-h/--help`` (False when embedding in another parser).

    Returns:
        The parser.
    """
    d = TrainConfig()
    p = argparse.ArgumentParser(
        description="Train a SolderNet defect classifier", add_help=add_help
    )
    add_train_arguments(p, d)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Script entry point: parse arguments and train.

    Args:
        argv: arguments (default ``sys.argv[1:]``).

    Returns:
        Exit code.
    """
    args = get_args_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    result = train(TrainConfig.from_args(args))
    logger.info("model written to %s", result.model_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
