"""The shipped model answers removals the way its explanations assume.

Real shipped model, real synthetic joints rendered here (a seed the model never saw),
no mocks. Removing the true defect must turn most defect decisions into good ones, and
removing a random tenth of a good joint must leave most good decisions alone; the first
shipped model (trained without ``--removal-p``) did neither: 2 of 39 and 13 of 16
(constant fill) on the documentation's synthetic set.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from inference.classifier import DefectClassifier
from inference.datasets import read_manifest
from inference.explain.removal_response import FILLS, removal_response
from inference.synth import generate_joint_dataset
from inference.training.datasets import load_crop, preprocess_crop

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SHIPPED = Path(__file__).resolve().parents[2] / "resources" / "models" / "default"


def test_removing_the_defect_flips_and_removing_elsewhere_does_not(
    tmp_path: Path,
) -> None:
    clf = DefectClassifier.from_folder(SHIPPED)
    size = int(clf.input_size)
    generate_joint_dataset(tmp_path, 80, seed=4242, size=size)
    rows = read_manifest(tmp_path)
    crops = [
        (
            preprocess_crop(load_crop(r.path), size).unsqueeze(0),
            r.label,
            load_crop(r.mask)[..., 0] > 0 if r.mask is not None else None,
        )
        for r in rows
    ]
    res = removal_response(clf.model, crops)
    for fill in FILLS:
        assert res.defect[fill][1] >= 15, res.to_dict()
        assert res.good[fill][1] >= 15, res.to_dict()
        assert res.rate("defect", fill) >= 0.6, (fill, res.to_dict())
        assert res.rate("good", fill) <= 0.25, (fill, res.to_dict())
