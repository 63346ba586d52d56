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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from inference.errors import DataError, InferenceError
from inference.training.config import (
    BALANCE_CHOICES,
    TrainConfig,
    add_train_arguments,
)
from inference.training.datasets import (
    JointCropDataset,
    balanced_weights,
    pos_weight_of,
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


# --------------------------------------------------------------------------------------
# Data


def load_dataset_rows(folders: Sequence[str | Path]) -> list[Sample]:
    """Read and pool the manifests of dataset folders.

    Args:
        folders: dataset folders, each with a ``manifest.csv``.

    Returns:
        The rows (``inference.datasets.Sample``, absolute paths); groups are prefixed
        with the folder name so that groups of different datasets never merge.

    Raises:
        DataError: no folder given, a manifest is invalid (names file and row), or
            every manifest is empty.
    """
    from inference.datasets import ManifestError, read_manifest

    if not folders:
        msg = "no dataset folder given"
        raise DataError(msg)
    out: list[Sample] = []
    for folder in folders:
        folder = Path(folder)
        try:
            rows = read_manifest(folder)
        except ManifestError as exc:
            raise DataError(str(exc)) from exc
        out.extend(
            dataclasses.replace(r, group=f"{folder.name}/{r.group}") for r in rows
        )
    if not out:
        names = ", ".join(str(f) for f in folders)
        msg = f"the dataset is empty: no labelled images in {names}"
        raise DataError(msg)
    return out


def split_rows(rows: Sequence[Sample], seed: int = 0) -> dict[str, list[Sample]]:
    """Group-aware, class-stratified 60/20/20 split (``inference.datasets``).

    Args:
        rows: manifest rows.
        seed: split seed.

    Returns:
        ``{"train": [...], "val": [...], "test": [...]}``.
    """
    from inference.datasets import split_groups

    return split_groups(rows, seed=seed).parts()


def _check_two_classes(rows: Sequence[Sample], what: str) -> None:
    if not rows:
        msg = f"the {what} is empty: no labelled images"
        raise DataError(msg)
    n_pos = sum(r.label for r in rows)
    if n_pos == 0 or n_pos == len(rows):
        only = "defective (1)" if n_pos else "non-defective (0)"
        msg = (
            f"the {what} holds only {only} joints ({len(rows)} images); a defect "
            "classifier needs both classes"
        )
        raise DataError(msg)


# --------------------------------------------------------------------------------------
# Model helpers


def head_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The parameters of the classification head (trained alone in the linear probe).

    Looks for a ``head``, ``classifier`` or ``fc`` attribute of the model, then of its
    ``backbone`` (torchvision wrappers), else takes the last ``nn.Linear``.

    Args:
        model: the classifier.

    Returns:
        The head's parameters.

    Raises:
        TrainingError: no head can be found.
    """
    owners = [model, getattr(model, "backbone", None)]
    for owner in owners:
        if not isinstance(owner, nn.Module):
            continue
        for name in ("head", "classifier", "fc"):
            mod = getattr(owner, name, None)
            if isinstance(mod, nn.Module) and any(True for _ in mod.parameters()):
                return list(mod.parameters())
    last: nn.Module | None = None
    for mod in model.modules():
        if isinstance(mod, nn.Linear):
            last = mod
    if last is None:
        msg = f"cannot find the classification head of {type(model).__name__}"
        raise TrainingError(msg)
    return list(last.parameters())


def _cosine_lr(base_lr: float, step: int, total_steps: int) -> float:
    if total_steps <= 0:
        return base_lr
    frac = min(step, total_steps) / total_steps
    return 0.5 * base_lr * (1.0 + math.cos(math.pi * frac))


def _make_optimizer(params: Sequence[nn.Parameter], lr: float, wd: float) -> Any:
    return torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.999), weight_decay=wd)


def _smooth(targets: torch.Tensor, eps: float) -> torch.Tensor:
    return targets * (1.0 - eps) + 0.5 * eps


# --------------------------------------------------------------------------------------
# One epoch


def train_one_epoch(
    model: nn.Module,
    loader: Any,
    optimizer: torch.optim.Optimizer,
    *,
    epoch: int,
    device: torch.device,
    lr_at: Callable[[int], float],
    label_smoothing: float = 0.1,
    mixup_alpha: float = 0.2,
    pos_weight: float | None = None,
    seed: int = 0,
    linear_probe: bool = False,
    progress: bool = False,
    max_batches: int | None = None,
) -> tuple[float, float]:
    """Train one epoch.

    Args:
        model: the classifier (one logit).
        loader: yields ``(images, labels)`` batches.
        optimizer: the phase's optimizer.
        epoch: global epoch index (for seeding and messages).
        device: where to compute.
        lr_at: learning rate of step ``i`` of this epoch.
        label_smoothing: epsilon of label smoothing.
        mixup_alpha: Beta parameter of mixup (0 = off).
        pos_weight: BCE weight of the defective class (None = 1).
        seed: run seed; mixup draws from ``default_rng([seed, epoch])``.
        linear_probe: keep the model in eval mode (frozen BatchNorm statistics).
        progress: show a tqdm bar.
        max_batches: stop after this many batches.

    Returns:
        ``(mean training loss, learning rate of the first step)``.

    Raises:
        TrainingError: the loss became NaN or infinite (names the epoch and batch).
    """
    from tqdm.auto import tqdm

    model.train(not linear_probe)
    rng = np.random.default_rng([seed, epoch, 0x3A1])
    pw = None if pos_weight is None else torch.tensor(pos_weight, device=device)
    criterion = nn.BCEWithLogitsLoss(pos_weight=pw)
    total, count, first_lr = 0.0, 0, lr_at(0)
    bar = tqdm(loader, desc=f"epoch {epoch + 1}", leave=False, disable=not progress)
    for i, (images, labels) in enumerate(bar):
        if max_batches is not None and i >= max_batches:
            break
        lr = lr_at(i)
        for group in optimizer.param_groups:
            group["lr"] = lr
        images = images.to(device, non_blocking=True)
        targets = _smooth(labels.to(device, torch.float32), label_smoothing)
        if mixup_alpha > 0 and images.shape[0] > 1:
            lam = float(rng.beta(mixup_alpha, mixup_alpha))
            perm = torch.as_tensor(rng.permutation(images.shape[0]), device=device)
            images = lam * images + (1.0 - lam) * images[perm]
            targets = lam * targets + (1.0 - lam) * targets[perm]
        logits = model(images).reshape(-1)
        loss = criterion(logits, targets)
        if not torch.isfinite(loss):
            msg = (
                f"training loss became {loss.item()} at epoch {epoch + 1}, "
                f"batch {i + 1}; lower the learning rate (--lr) or check the data"
            )
            raise TrainingError(msg)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += float(loss.item()) * images.shape[0]
        count += images.shape[0]
        bar.set_postfix(loss=f"{total / count:.4f}", lr=f"{lr:.2e}")
    if count == 0:
        msg = f"epoch {epoch + 1} saw no training batch"
        raise TrainingError(msg)
    return total / count, first_lr


@torch.inference_mode()
def evaluate(
    model: nn.Module,
    loader: Any,
    device: torch.device,
    *,
    progress: bool = False,
    desc: str = "validate",
) -> tuple[np.ndarray, np.ndarray]:
    """Run the model over a loader in eval mode.

    Args:
        model: the classifier (one logit).
        loader: yields ``(images, labels)`` batches without augmentation.
        device: where to compute.
        progress: show a tqdm bar.
        desc: label of the bar.

    Returns:
        ``(logits, labels)`` as float64 / int64 numpy arrays.
    """
    from tqdm.auto import tqdm

    model.eval()
    logits: list[torch.Tensor] = []
    labels: list[torch.Tensor] = []
    for images, y in tqdm(loader, desc=desc, leave=False, disable=not progress):
        logits.append(model(images.to(device)).reshape(-1).float().cpu())
        labels.append(y.reshape(-1))
    lg = torch.cat(logits).double().numpy()
    return lg, torch.cat(labels).long().numpy()


@torch.no_grad()
def recompute_bn_stats(
    model: nn.Module, loader: Any, device: torch.device, max_batches: int
) -> int:
    """Re-estimate BatchNorm running statistics for the current weights (PreciseBN).

    Running means and variances are reset and replaced by the plain average over up
    to ``max_batches`` training batches (forward passes in train mode, no gradients).

    Args:
        model: the network.
        loader: training batches ``(images, labels)``.
        device: where to compute.
        max_batches: batches to average over.

    Returns:
        The number of batches used (0 when the model has no BatchNorm).
    """
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns or max_batches <= 0:
        return 0
    was_training = model.training
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average
    model.train()
    used = 0
    try:
        for images, _ in loader:
            if used >= max_batches:
                break
            model(images.to(device))
            used += 1
    finally:
        for bn, mom in zip(bns, momenta, strict=True):
            bn.momentum = mom
        model.train(was_training)
    return used


@torch.no_grad()
def recalibrate_bn_preserving(
    model: nn.Module, loader: Any, device: torch.device, max_batches: int
) -> int:
    """Give every BatchNorm real running statistics without changing the eval output.

    Pretrained weights converted from TFLite have BatchNorm folded into the
    convolutions (running mean 0, variance 1): train-mode BatchNorm, which
    normalises with batch statistics, would wipe the pretrained function out, and
    so would a plain re-estimation of the statistics. Here the input statistics of
    every BatchNorm are measured in eval mode and each layer is re-expressed with
    them, its weight and bias adjusted so that ``y = a * x + c`` stays the same
    (see /work/shared/weights/README.md).

    Args:
        model: the network.
        loader: batches ``(images, labels)``.
        device: where to compute.
        max_batches: batches to measure.

    Returns:
        The number of batches used (0 when the model has no BatchNorm).
    """
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns or max_batches <= 0:
        return 0
    sums: dict[nn.Module, list[Any]] = {m: [0, 0.0, 0.0] for m in bns}

    def hook(mod: nn.Module, inputs: tuple[torch.Tensor, ...], _out: Any) -> None:
        x = inputs[0].double()
        dims = [d for d in range(x.ndim) if d != 1]
        acc = sums[mod]
        acc[0] += x.numel() // x.shape[1]
        acc[1] = acc[1] + x.sum(dims)
        acc[2] = acc[2] + (x * x).sum(dims)

    handles = [m.register_forward_hook(hook) for m in bns]
    was_training = model.training
    model.eval()
    used = 0
    try:
        for images, _ in loader:
            if used >= max_batches:
                break
            model(images.to(device))
            used += 1
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    if used == 0:
        return 0
    for m in bns:
        n, s1, s2 = sums[m]
        if n == 0 or m.running_mean is None or m.running_var is None:
            continue
        mu = s1 / n
        var = (s2 / n - mu * mu).clamp_min(1e-8)
        rv = m.running_var.double()
        w = m.weight.double() if m.weight is not None else torch.ones_like(rv)
        b = m.bias.double() if m.bias is not None else torch.zeros_like(rv)
        a = w / (rv + m.eps).sqrt()
        c = b - a * m.running_mean.double()
        m.running_mean.copy_(mu)
        m.running_var.copy_(var)
        if m.weight is not None and m.bias is not None:
            m.weight.copy_(a * (var + m.eps).sqrt())
            m.bias.copy_(a * mu + c)
    return used


def _val_stats(logits: np.ndarray, labels: np.ndarray) -> tuple[float, float, float]:
    from inference.metrics import threshold_metrics

    lg = torch.as_tensor(logits)
    y = torch.as_tensor(labels, dtype=torch.float64)
    loss = float(nn.functional.binary_cross_entropy_with_logits(lg, y).item())
    p = torch.sigmoid(lg).numpy()
    m = threshold_metrics(labels, p)
    return loss, float(m.accuracy), float(m.auroc)


# --------------------------------------------------------------------------------------
# Checkpoints


def _save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def _load_checkpoint(path: Path) -> dict[str, Any]:
    if not path.is_file():
        msg = f"checkpoint {path} does not exist"
        raise TrainingError(msg)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        msg = f"cannot load checkpoint {path}: {exc}"
        raise TrainingError(msg) from exc
    if not isinstance(state, dict) or "model" not in state or "epoch" not in state:
        msg = f"{path} is not a training checkpoint of this program"
        raise TrainingError(msg)
    return state


def _clone_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


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


def _loader(ds: JointCropDataset, batch_size: int, indices: Any, workers: int) -> Any:
    return DataLoader(
        ds,
        batch_size=batch_size,
        sampler=indices,
        num_workers=workers,
        drop_last=False,
    )


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

    def make_ds(part: list[Sample], train_mode: bool) -> JointCropDataset:
        return JointCropDataset(
            [(r.path, r.label) for r in part],
            input_size=config.input_size,
            train=train_mode and config.augment,
            seed=config.seed,
            cache=config.cache_images,
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


@dataclass
class _FitState:
    best_epoch: int
    epochs_run: int
    stopped_early: bool
    history: list[EpochStats]
    checkpoint: Path


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


def _plain(obj: Any) -> Any:
    """Config values as str/int/float/bool/None/list/dict (weights_only-safe)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return str(obj)


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
