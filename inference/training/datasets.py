"""Torch Dataset over labelled joint crops, with the paper's training augmentations.

Every image goes through the shared evaluation preprocessing first (resize to the
model's input size, divide by 255, float RGB; ``inference.preprocessing``), so training
and inference see the same pixels. Training adds, each with probability ``p`` (0.5) and
drawn from a generator seeded by ``(seed, epoch, index)`` so that any epoch of any run
is reproducible on its own (which is what makes resuming exact):

- rotation by a random angle of magnitude 0-45 degrees (random sign),
- horizontal flip, vertical flip,
- translation by up to +/-10 % of the side in x and y,
- brightness and contrast factors in [0.8, 1.2].

Rotation and translation are one bilinear affine warp with zero fill.

Optionally (``removal``), before those, a region is filled the way the explainer
removes regions, and the label follows the defect mask
(``inference.training.removal_aug``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch.utils.data import Dataset
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as tvf

from inference.errors import DataError
from inference.training.removal_aug import (
    RemovalAugmentConfig,
    removal_augment,
    superpixels,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "AugmentConfig",
    "JointCropDataset",
    "augment",
    "balanced_weights",
    "load_crop",
    "pos_weight_of",
    "preprocess_crop",
    "rows_to_samples",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AugmentConfig:
    """Training augmentations of the SolderNet paper (each applied with probability p).

    Attributes:
        p: probability of each augmentation.
        max_rotation_deg: largest rotation magnitude (degrees).
        hflip: allow horizontal flips.
        vflip: allow vertical flips.
        max_translate: largest shift as a fraction of the image side.
        brightness: brightness factor range half-width (0.2 -> [0.8, 1.2]).
        contrast: contrast factor range half-width (0.2 -> [0.8, 1.2]).
    """

    p: float = 0.5
    max_rotation_deg: float = 45.0
    hflip: bool = True
    vflip: bool = True
    max_translate: float = 0.1
    brightness: float = 0.2
    contrast: float = 0.2


def _sample_seed(seed: int, epoch: int, index: int) -> int:
    # A fixed, platform-independent mix of the three integers (no Python hash()).
    return (seed * 1_000_003 + epoch * 10_007 + index * 7_919 + 0x5EED) % (2**63 - 1)


def augment(
    image: torch.Tensor, generator: torch.Generator, cfg: AugmentConfig | None = None
) -> torch.Tensor:
    """Apply the paper's random augmentations to one preprocessed image.

    Args:
        image: float tensor ``3xHxW`` in [0, 1].
        generator: the random source (seeded by the caller).
        cfg: augmentation settings; defaults to the paper's.

    Returns:
        The augmented image, same shape, clamped to [0, 1].
    """
    cfg = cfg or AugmentConfig()
    # Draw every random number up front, in a fixed order, so each draw is stable.
    u = torch.rand(12, generator=generator).tolist()
    out = image
    angle = 0.0
    if u[0] < cfg.p:
        angle = u[1] * cfg.max_rotation_deg * (1.0 if u[2] < 0.5 else -1.0)
    tx = ty = 0
    if u[3] < cfg.p:
        h, w = image.shape[-2:]
        tx = round((2.0 * u[4] - 1.0) * cfg.max_translate * w)
        ty = round((2.0 * u[5] - 1.0) * cfg.max_translate * h)
    if angle != 0.0 or tx != 0 or ty != 0:
        out = tvf.affine(
            out,
            angle=angle,
            translate=[tx, ty],
            scale=1.0,
            shear=[0.0, 0.0],
            interpolation=InterpolationMode.BILINEAR,
            fill=0.0,
        )
    if cfg.hflip and u[6] < cfg.p:
        out = tvf.horizontal_flip(out)
    if cfg.vflip and u[7] < cfg.p:
        out = tvf.vertical_flip(out)
    if u[8] < cfg.p:
        out = tvf.adjust_brightness(out, 1.0 + (2.0 * u[9] - 1.0) * cfg.brightness)
    if u[10] < cfg.p:
        out = tvf.adjust_contrast(out, 1.0 + (2.0 * u[11] - 1.0) * cfg.contrast)
    return out.clamp_(0.0, 1.0)


def load_crop(path: str | Path) -> np.ndarray:
    """Read an image file as ``HxWx3`` uint8 RGB (``inference.image_io.load_image``).

    Grayscale, palette, alpha, 16-bit and CMYK images are converted, not refused;
    truncated files and decompression bombs are refused.

    Args:
        path: the image file.

    Returns:
        The RGB pixels.

    Raises:
        ImageDecodeError: the file is missing, empty or cannot be decoded (the message
            names the file).
    """
    from inference.image_io import load_image

    return load_image(Path(path)).rgb


def preprocess_crop(image: np.ndarray, input_size: int = 256) -> torch.Tensor:
    """Shared evaluation preprocessing of one crop: resize, /255, float ``3xHxW``.

    Uses ``inference.preprocessing.EvalPreset`` so that training and inference agree.

    Args:
        image: ``HxWx3`` uint8 RGB.
        input_size: side of the square model input.

    Returns:
        Float tensor ``3 x input_size x input_size`` in [0, 1].
    """
    out: torch.Tensor = _preset(input_size)(image)
    return out


_PRESETS: dict[int, Any] = {}


def _preset(input_size: int) -> Any:
    preset = _PRESETS.get(input_size)
    if preset is None:
        from inference.preprocessing import EvalPreset

        preset = EvalPreset(size=int(input_size))
        _PRESETS[input_size] = preset
    return preset


def rows_to_samples(
    rows: Iterable[Any], root: str | Path | None = None
) -> list[tuple[Path, int]]:
    """Turn manifest rows into ``(image path, label)`` pairs.

    Args:
        rows: manifest rows: objects with ``path`` and ``label`` attributes (the rows of
            ``inference.datasets``), mappings with those keys, or ``(path, label)``
            pairs.
        root: folder that relative paths are relative to.

    Returns:
        The samples, in the given order.
    """
    samples: list[tuple[Path, int]] = []
    for row in rows:
        if isinstance(row, tuple):
            path, label = row[0], row[1]
        elif isinstance(row, dict):
            path, label = row["path"], row["label"]
        else:
            path = getattr(row, "abs_path", None) or row.path
            label = row.label
        p = Path(path)
        if root is not None and not p.is_absolute():
            p = Path(root) / p
        samples.append((p, int(label)))
    return samples


class JointCropDataset(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """Labelled joint crops as ``(image 3xHxW float, label float scalar)`` pairs.

    Args:
        samples: ``(path, label)`` pairs, label 1 = defective, 0 = non-defective.
        input_size: side of the square model input (256 for the paper).
        train: apply the random augmentations (else only the shared preprocessing).
        seed: seed of the augmentations.
        augment_cfg: augmentation settings; defaults to the paper's.
        cache: keep the decoded uint8 images in memory after the first read (the
            preprocessing runs on every access, so cached and fresh reads agree).
        masks: per sample, its defect-mask file or None (the manifest's ``mask``).
        removal: removal-augmentation settings (training only; samples without a
            mask are never filled); None = off.

    Raises:
        DataError: ``samples`` is empty or holds a label other than 0/1.
    """

    def __init__(
        self,
        samples: Sequence[tuple[str | Path, int]],
        *,
        input_size: int = 256,
        train: bool = False,
        seed: int = 0,
        augment_cfg: AugmentConfig | None = None,
        cache: bool = True,
        masks: Sequence[str | Path | None] | None = None,
        removal: RemovalAugmentConfig | None = None,
    ) -> None:
        if len(samples) == 0:
            msg = "the dataset is empty: no labelled images to use"
            raise DataError(msg)
        self.paths = [Path(p) for p, _ in samples]
        labels = [int(y) for _, y in samples]
        bad = sorted({y for y in labels if y not in (0, 1)})
        if bad:
            msg = f"labels must be 0 or 1, found {bad}"
            raise DataError(msg)
        self.labels = labels
        self.input_size = int(input_size)
        self.train = train
        self.seed = int(seed)
        self.epoch = 0
        self.augment_cfg = augment_cfg or AugmentConfig()
        self.cache = cache
        self._cache: dict[int, np.ndarray] = {}
        if masks is not None and len(masks) != len(samples):
            msg = f"{len(masks)} mask entries for {len(samples)} samples"
            raise DataError(msg)
        self.masks = [Path(m) if m else None for m in (masks or [None] * len(samples))]
        self.removal = removal
        self._removal_cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.paths)

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose augmentation draws ``__getitem__`` returns."""
        self.epoch = int(epoch)

    def preload(self, progress: bool = False) -> None:
        """Decode every image now, so an unreadable file fails before training starts.

        Args:
            progress: show a tqdm bar.

        Raises:
            ImageDecodeError: an image cannot be read (the message names the file).
        """
        indices: Iterable[int] = range(len(self))
        if progress:
            from tqdm.auto import tqdm

            indices = tqdm(indices, desc="reading images", leave=False)
        for i in indices:
            self._base(i)

    def _base(self, index: int) -> np.ndarray:
        cached = self._cache.get(index)
        if cached is not None:
            return cached
        raw = load_crop(self.paths[index])
        if self.cache:
            self._cache[index] = raw
        return raw

    def image(self, index: int) -> torch.Tensor:
        """The preprocessed, non-augmented image ``index`` (float ``3xHxW``)."""
        return preprocess_crop(self._base(index), self.input_size)

    def _removal_inputs(
        self, index: int, img: torch.Tensor
    ) -> tuple[np.ndarray, np.ndarray]:
        """The defect mask at input size and the image's superpixels (cached)."""
        cached = self._removal_cache.get(index)
        if cached is not None:
            return cached
        import cv2

        path = self.masks[index]
        assert path is not None
        raw = load_crop(path)[..., 0] > 0
        size = (self.input_size, self.input_size)
        defect = cv2.resize(raw.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
        seg = superpixels(img, self.removal.n_segments if self.removal else 64)
        out = (defect > 0, seg.astype(np.int16))
        if self.cache:
            self._removal_cache[index] = out
        return out

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        img = self.image(index)
        label = self.labels[index]
        if self.train:
            seed = _sample_seed(self.seed, self.epoch, index)
            if self.removal is not None and self.masks[index] is not None:
                defect, seg = self._removal_inputs(index, img)
                rng = np.random.default_rng(seed + 1)
                img, label = removal_augment(img, label, defect, seg, rng, self.removal)
            img = augment(img, torch.Generator().manual_seed(seed), self.augment_cfg)
        return img, torch.tensor(float(label))

    def class_counts(self) -> tuple[int, int]:
        """Number of non-defective and defective samples."""
        n_pos = sum(self.labels)
        return len(self.labels) - n_pos, n_pos


def balanced_weights(labels: Sequence[int]) -> torch.Tensor:
    """Per-sample weights giving both classes equal total weight (for a sampler).

    Args:
        labels: 0/1 labels.

    Returns:
        Float64 tensor of weights, one per sample.
    """
    y = torch.as_tensor(list(labels), dtype=torch.int64)
    counts = torch.bincount(y, minlength=2).to(torch.float64)
    w = 1.0 / counts.clamp(min=1.0)
    return w[y]


def pos_weight_of(labels: Sequence[int]) -> float:
    """``n_negative / n_positive``, the BCE ``pos_weight`` that balances the classes."""
    n_pos = sum(int(v) for v in labels)
    n_neg = len(labels) - n_pos
    return float(n_neg) / float(max(n_pos, 1)) if n_pos else 1.0
