"""One training epoch and one evaluation pass of the one-logit classifier.

Label-smoothed BCE-with-logits, mixup drawn from generators seeded by
``(seed, epoch)``, the AdamW optimizer, the cosine learning-rate schedule, the head
lookup of the linear probe and the validation statistics. Re-exported by
``inference.training.train_classifier``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from inference.training.results import TrainingError

__all__ = ["evaluate", "head_parameters", "train_one_epoch"]


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


def _val_stats(logits: np.ndarray, labels: np.ndarray) -> tuple[float, float, float]:
    from inference.metrics import threshold_metrics

    lg = torch.as_tensor(logits)
    y = torch.as_tensor(labels, dtype=torch.float64)
    loss = float(nn.functional.binary_cross_entropy_with_logits(lg, y).item())
    p = torch.sigmoid(lg).numpy()
    m = threshold_metrics(labels, p)
    return loss, float(m.accuracy), float(m.auroc)
