"""Removal-aware training augmentation: regions filled, labels following the mask."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from inference.training.datasets import JointCropDataset
from inference.training.removal_aug import (
    RemovalAugmentConfig,
    removal_augment,
    superpixels,
)

SIZE = 64


def _image(seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    base = np.kron(rng.uniform(0.1, 0.9, (3, 8, 8)), np.ones((1, 8, 8)))
    return torch.from_numpy(base.astype(np.float32))


def _defect() -> np.ndarray:
    d = np.zeros((SIZE, SIZE), bool)
    d[20:28, 30:40] = True
    return d


def test_superpixels_are_a_relabelled_partition() -> None:
    seg = superpixels(_image())
    assert seg.shape == (SIZE, SIZE)
    assert seg.min() == 0
    assert set(np.unique(seg)) == set(range(int(seg.max()) + 1))


def test_targeted_removal_clears_the_defect_and_relabels_it_good() -> None:
    img, defect = _image(), _defect()
    cfg = RemovalAugmentConfig(p=1.0, p_target=1.0)
    for seed in range(6):
        out, label = removal_augment(
            img, 1, defect, superpixels(img), np.random.default_rng(seed), cfg
        )
        changed = (out != img).any(dim=0).numpy()
        assert label == 0
        # every defect pixel that differs from its fill is gone; the change stays
        # within a few px / superpixels of the defect
        assert changed[defect].mean() > 0.9
        assert changed.mean() < 0.5


def test_random_removal_keeps_labels_and_leaves_the_rest_untouched() -> None:
    img, defect = _image(1), _defect()
    cfg = RemovalAugmentConfig(p=1.0, p_target=0.0, min_area=0.05, max_area=0.1)
    labels_seen = []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        out, label = removal_augment(img, 1, defect, superpixels(img), rng, cfg)
        changed = (out != img).any(dim=0).numpy()
        assert 0 < changed.mean() <= 0.1 + 0.05  # a superpixel may overshoot
        labels_seen.append(label)
        # a good joint is never relabelled
        _, good_label = removal_augment(
            img, 0, np.zeros_like(defect), superpixels(img), rng, cfg
        )
        assert good_label == 0
    # small random regions rarely cover 90 % of an 80-px defect: most keep label 1
    assert labels_seen.count(1) >= 15


def test_removal_is_reproducible_and_off_at_p_zero() -> None:
    img, defect, seg = _image(2), _defect(), superpixels(_image(2))
    a = removal_augment(img, 1, defect, seg, np.random.default_rng(5))
    b = removal_augment(img, 1, defect, seg, np.random.default_rng(5))
    assert torch.equal(a[0], b[0])
    assert a[1] == b[1]
    off = removal_augment(
        img, 1, defect, seg, np.random.default_rng(5), RemovalAugmentConfig(p=0.0)
    )
    assert off[0] is img
    assert off[1] == 1


def _write_sample(folder: Path, i: int, with_defect: bool) -> tuple[Path, Path]:
    rng = np.random.default_rng(i)
    pixels = (np.kron(rng.uniform(0, 255, (8, 8, 3)), np.ones((8, 8, 1)))).astype(
        np.uint8
    )
    img, mask = folder / f"{i}.png", folder / f"{i}_mask.png"
    Image.fromarray(pixels).save(img)
    m = np.zeros((SIZE, SIZE), np.uint8)
    if with_defect:
        m[10:30, 10:30] = 255
    Image.fromarray(m).save(mask)
    return img, mask


def test_dataset_relabels_only_samples_with_masks(tmp_path: Path) -> None:
    samples, masks = [], []
    for i in range(8):
        img, mask = _write_sample(tmp_path, i, with_defect=True)
        samples.append((img, 1))
        masks.append(mask if i < 4 else None)  # the last four have no mask file
    cfg = RemovalAugmentConfig(p=1.0, p_target=1.0)
    ds = JointCropDataset(
        samples, input_size=SIZE, train=True, masks=masks, removal=cfg
    )
    plain = JointCropDataset(samples, input_size=SIZE, train=True)
    labels = [float(ds[i][1]) for i in range(8)]
    assert labels == [0.0] * 4 + [1.0] * 4
    for i in range(4, 8):  # untouched: identical to the dataset without removal
        assert torch.equal(ds[i][0], plain[i][0])
    assert not torch.equal(ds[0][0], plain[0][0])
    # validation datasets (train=False) never fill
    val = JointCropDataset(samples, input_size=SIZE, masks=masks, removal=cfg)
    assert [float(val[i][1]) for i in range(8)] == [1.0] * 8


def test_mask_list_must_match_the_samples(tmp_path: Path) -> None:
    from inference.errors import DataError

    img, mask = _write_sample(tmp_path, 0, with_defect=False)
    with pytest.raises(DataError, match="1 mask entries for 2 samples"):
        JointCropDataset([(img, 0), (img, 0)], masks=[mask])


def _toy_with_masks(root: Path, n: int = 48, size: int = 32) -> Path:
    """Separable toy set (bright blob = defect) whose manifest names blob masks."""
    import csv

    import cv2

    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        label = i % 2
        img = rng.normal(40, 8, (size, size, 3)).clip(0, 255).astype(np.uint8)
        mask = np.zeros((size, size), np.uint8)
        if label:
            c = (int(rng.integers(8, size - 8)), int(rng.integers(8, size - 8)))
            cv2.circle(img, c, size // 8, (235, 235, 220), -1)
            cv2.circle(mask, c, size // 8, 255, -1)
        Image.fromarray(img).save(root / f"images/{i}.png")
        Image.fromarray(mask).save(root / f"masks/{i}.png")
        rows.append([f"images/{i}.png", label, "blob" if label else "none", f"g{i}"])
        rows[-1].append(f"masks/{i}.png")
    with open(root / "manifest.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "label", "defect_type", "group", "mask"])
        w.writerows(rows)
    return root


@pytest.mark.usefixtures("one_torch_thread")
def test_training_with_removal_records_it_and_checks_the_range(tmp_path: Path) -> None:
    import json

    from inference.training.config import TrainConfig
    from inference.training.results import TrainingError
    from inference.training.train_classifier import train

    data = _toy_with_masks(tmp_path / "toy")
    base = {
        "data": [str(data)],
        "arch": "mobilenet_v3_small",
        "epochs": 1,
        "lp_epochs": 0,
        "batch_size": 8,
        "input_size": 32,
        "progress": False,
        "device": "cpu",
        "patience": 0,
        "precise_bn_batches": 2,
    }
    with pytest.raises(TrainingError, match=r"--removal-p must be in \[0, 1\]"):
        train(TrainConfig(out=str(tmp_path / "bad"), removal_p=1.5, **base))
    train(TrainConfig(out=str(tmp_path / "m"), removal_p=0.5, **base))
    card = json.loads((tmp_path / "m" / "model.json").read_text())
    assert card["training"]["removal_p"] == 0.5
