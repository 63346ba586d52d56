"""Training data: read dataset folders, split them, check classes, build loaders.

Re-exported by ``inference.training.train_classifier``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torch.utils.data import DataLoader

from inference.errors import DataError

if TYPE_CHECKING:
    from inference.datasets import Sample
    from inference.training.datasets import JointCropDataset

__all__ = ["UNGROUPED_NAMES", "load_dataset_rows", "load_split", "split_rows"]

logger = logging.getLogger(__name__)


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


#: Group names that record no capture ("unknown" holds every ulger-smd defect).
UNGROUPED_NAMES = ("", "unknown")


def split_rows(rows: Sequence[Sample], seed: int = 0) -> dict[str, list[Sample]]:
    """Group-aware, class-stratified 60/20/20 split (``inference.datasets``).

    A group named in ``UNGROUPED_NAMES`` (after the dataset prefix; any case) is not a
    real capture: its rows are split one by one instead of landing in one part as a
    block, which would leave a class out of training. Those rows lose the leak
    protection of the group split; a warning says how many.

    Args:
        rows: manifest rows.
        seed: split seed.

    Returns:
        ``{"train": [...], "val": [...], "test": [...]}``.
    """
    from inference.datasets import split_groups

    ungrouped = {
        r.group for r in rows if r.group.rsplit("/", 1)[-1].lower() in UNGROUPED_NAMES
    }
    if ungrouped:
        n = sum(r.group in ungrouped for r in rows)
        logger.warning(
            "%d rows in group(s) %s carry no capture id; they are split row by row",
            n,
            ", ".join(sorted(ungrouped)),
        )
    return split_groups(rows, seed=seed, singleton_groups=ungrouped).parts()


def load_split(
    folders: Sequence[str | Path], split: str = "all", seed: int = 0
) -> list[Sample]:
    """The rows of one part of the group-aware split of ``folders`` (or all rows).

    Args:
        folders: dataset folders, each with a ``manifest.csv``.
        split: ``"all"``, ``"train"``, ``"val"`` or ``"test"``.
        seed: split seed (the training run's, to get its held-out parts).

    Raises:
        DataError: unknown split, invalid or empty manifests.
    """
    rows = load_dataset_rows(folders)
    if split == "all":
        return rows
    parts = split_rows(rows, seed=seed)
    if split not in parts:
        msg = f"unknown split {split!r}; use all, train, val or test"
        raise DataError(msg)
    return parts[split]


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


def _loader(ds: JointCropDataset, batch_size: int, indices: Any, workers: int) -> Any:
    return DataLoader(
        ds,
        batch_size=batch_size,
        sampler=indices,
        num_workers=workers,
        drop_last=False,
    )
