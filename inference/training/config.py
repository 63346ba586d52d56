"""Training settings and their command-line arguments (no torch import: cheap).

``soldernet train`` builds its parser from `add_train_arguments` without loading torch;
``inference.training.train_classifier`` runs the training.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field

__all__ = ["BALANCE_CHOICES", "TrainConfig", "add_train_arguments"]

BALANCE_CHOICES = ("pos_weight", "sampler", "none")


@dataclass
class TrainConfig:
    """Everything one training run needs (mirrors the command-line arguments).

    Attributes:
        data: dataset folders (manifest format); their rows are pooled.
        out: model folder to write (the checkpoint goes there too).
        arch: architecture name for ``inference.architectures.build_model``.
        epochs: full fine-tune epochs.
        lp_epochs: linear-probe epochs before the fine-tune (0 = none).
        batch_size: samples per step.
        lr: peak learning rate of the fine-tune (cosine decay).
        lp_lr: peak learning rate of the linear probe (cosine decay).
        weight_decay: AdamW weight decay.
        label_smoothing: epsilon of binary label smoothing (targets eps/2, 1 - eps/2).
        mixup_alpha: Beta(alpha, alpha) parameter of mixup (0 = off).
        balance: ``"pos_weight"``, ``"sampler"`` or ``"none"``.
        patience: stop after this many fine-tune epochs without a better validation
            loss (0 = never).
        input_size: square input side (the paper: 256).
        seed: seed of the initialisation, the shuffling, the augmentations and mixup.
        split_seed: seed of the group-aware train/val/test split.
        augment: use the paper's augmentations.
        removal_p: probability of the removal augmentation for samples with a
            defect mask (0 = off; ``inference.training.removal_aug``).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        workers: DataLoader worker processes.
        threads: torch CPU threads (None = leave as is).
        pretrained: state_dict / safetensors file to start the backbone from.
        from_model: model folder to fine-tune (its architecture and weights).
        resume: checkpoint to resume (``True``-ish string ``"auto"`` = ``out``'s).
        e_max: target auto-escape rate for ``t_lo`` on validation.
        o_max: target auto-overkill rate for ``t_hi`` on validation.
        progress: show tqdm progress bars.
        cache_images: keep decoded images in memory.
        max_train_batches: stop each epoch after this many batches (smoke tests).
        precise_bn_batches: re-estimate the BatchNorm running statistics from this
            many training batches (0 = off): after every fine-tune epoch (PreciseBN,
            as in pycls: short runs from scratch otherwise validate with statistics
            that lag far behind the weights; Attend-NeXt's channel-softmax gates
            make this drastic) and, for a random-init backbone, before every
            linear-probe epoch (AdaBN). With pretrained weights (``pretrained``,
            ``from_model``) the statistics are instead re-expressed once before
            training without changing the network's function (folded BatchNorm of
            converted TFLite weights).
        deterministic: ``torch.use_deterministic_algorithms`` while training
            (bit-exact on CPU; about 25 % slower there for Attend-NeXt).
        version: model version written to the card.
        parent_version: the version ``from_model`` had (written to the card).
    """

    data: list[str] = field(default_factory=list)
    out: str = "model"
    arch: str = "attend_next_s"
    epochs: int = 10
    lp_epochs: int = 1
    batch_size: int = 128
    lr: float = 1e-3
    lp_lr: float = 1e-3
    weight_decay: float = 1e-4
    label_smoothing: float = 0.1
    mixup_alpha: float = 0.2
    balance: str = "pos_weight"
    patience: int = 5
    input_size: int = 256
    seed: int = 0
    split_seed: int = 0
    augment: bool = True
    removal_p: float = 0.0
    device: str = "auto"
    workers: int = 0
    threads: int | None = None
    pretrained: str | None = None
    from_model: str | None = None
    resume: str | None = None
    e_max: float = 0.0
    o_max: float = 0.01
    progress: bool = True
    cache_images: bool = True
    max_train_batches: int | None = None
    precise_bn_batches: int = 20
    deterministic: bool = True
    version: str = "1"
    parent_version: str | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> TrainConfig:
        """Build a config from parsed arguments (unknown attributes are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in vars(args).items() if k in names}
        for optional in ("input_size", "version"):  # None: the default applies
            if kwargs.get(optional) is None:
                kwargs.pop(optional, None)
        return cls(**kwargs)


def add_train_arguments(
    p: argparse.ArgumentParser, d: TrainConfig | None = None
) -> None:
    """Add the training arguments to ``p`` (shared by the script and the CLI)."""
    d = d or TrainConfig()
    p.add_argument(
        "--data", nargs="+", required=True, help="dataset folders (manifest.csv)"
    )
    p.add_argument("--out", required=True, help="model folder to write")
    p.add_argument("--arch", default=d.arch, help="architecture")
    p.add_argument("--epochs", type=int, default=d.epochs, help="fine-tune epochs")
    p.add_argument(
        "--lp-epochs", type=int, default=d.lp_epochs, help="linear-probe epochs"
    )
    p.add_argument("-b", "--batch-size", type=int, default=d.batch_size)
    p.add_argument(
        "--lr", type=float, default=d.lr, help="fine-tune peak learning rate"
    )
    p.add_argument("--lp-lr", type=float, default=d.lp_lr, help="linear-probe peak lr")
    p.add_argument(
        "--wd",
        "--weight-decay",
        dest="weight_decay",
        type=float,
        default=d.weight_decay,
    )
    p.add_argument("--label-smoothing", type=float, default=d.label_smoothing)
    p.add_argument("--mixup-alpha", type=float, default=d.mixup_alpha, help="0 = off")
    p.add_argument(
        "--balance",
        choices=BALANCE_CHOICES,
        default=d.balance,
        help="class-imbalance handling",
    )
    p.add_argument(
        "--patience",
        type=int,
        default=d.patience,
        help="early-stopping patience in epochs (0 = off)",
    )
    p.add_argument(
        "--input-size",
        type=int,
        default=None,
        help=f"square input side (default {d.input_size}; with --from: the model's)",
    )
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--split-seed", type=int, default=d.split_seed)
    p.add_argument("--no-augment", dest="augment", action="store_false")
    p.add_argument(
        "--removal-p",
        type=float,
        default=d.removal_p,
        help="probability of filling a region the way the explainer removes one, "
        "the label following the defect mask (samples with masks only; 0 = off)",
    )
    p.add_argument("--device", default=d.device, help="auto, cpu or cuda")
    p.add_argument("-j", "--workers", type=int, default=d.workers)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--pretrained", default=None, help="backbone weights file")
    p.add_argument(
        "--from",
        dest="from_model",
        default=None,
        metavar="MODEL",
        help="fine-tune this model: a folder or a registered version (with --db)",
    )
    p.add_argument(
        "--resume",
        default=None,
        help="checkpoint to resume ('auto': OUT/checkpoint.pt)",
    )
    p.add_argument("--e-max", type=float, default=d.e_max, help="target auto-escape")
    p.add_argument("--o-max", type=float, default=d.o_max, help="target auto-overkill")
    p.add_argument("--no-progress", dest="progress", action="store_false")
    p.add_argument("--no-cache", dest="cache_images", action="store_false")
    p.add_argument(
        "--no-deterministic",
        dest="deterministic",
        action="store_false",
        help="allow non-deterministic kernels (faster; results not bit-exact)",
    )
    p.add_argument(
        "--precise-bn-batches",
        type=int,
        default=d.precise_bn_batches,
        help="re-estimate BatchNorm statistics from N batches per epoch (0 = off)",
    )
    p.add_argument(
        "--version-tag",
        dest="version",
        default=None,
        help=f"model version for the card (default {d.version!r}; with --from: "
        "PARENT-ftYYYYMMDDHHMM)",
    )
