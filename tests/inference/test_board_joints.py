"""Joint crops cut from synthetic boards: labels, masks and framing as the pipeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.cli import main
from inference.datasets import read_manifest
from inference.synth.board_joints import board_joint_crops, generate_board_joint_dataset
from inference.synth.boards import BoardConfig, render_board

SMALL = BoardConfig(width=800, height=600, defect_rate=0.4, n_components=10)


def test_one_crop_per_joint_with_its_own_defect_mask() -> None:
    sample = render_board(5, SMALL)
    crops, masks = board_joint_crops(sample, size=96)
    assert crops.shape == (len(sample.joints), 96, 96, 3)
    assert crops.dtype == np.uint8
    assert masks.shape == (len(sample.joints), 96, 96)
    for truth, mask in zip(sample.joints, masks, strict=True):
        if truth.defect_id == 0:
            assert mask.sum() == 0
    defective = [m for t, m in zip(sample.joints, masks, strict=True) if t.defect_id]
    assert defective, "the board should carry defects at this rate"
    assert sum(int(m.any()) for m in defective) >= len(defective) // 2


def test_dataset_is_deterministic_and_grouped_by_board(tmp_path: Path) -> None:
    a = generate_board_joint_dataset(tmp_path / "a", 2, 3, config=SMALL, size=64)
    b = generate_board_joint_dataset(tmp_path / "b", 2, 3, config=SMALL, size=64)
    rows_a, rows_b = read_manifest(a), read_manifest(b)
    assert [(r.label, r.defect_type, r.group) for r in rows_a] == [
        (r.label, r.defect_type, r.group) for r in rows_b
    ]
    assert rows_a[0].path.read_bytes() == rows_b[0].path.read_bytes()
    assert {r.group for r in rows_a} == {"board-3-0", "board-3-1"}
    assert all((r.label == 0) == (r.defect_type == "none") for r in rows_a)


def test_cli_board_joints(tmp_path: Path, capsys) -> None:
    out = tmp_path / "bj"
    code = main(
        ["synth", "board-joints", "--out", str(out), "--n", "1", "--size", "64"]
    )
    assert code == 0
    assert capsys.readouterr().out.startswith("synth board-joints: wrote")
    assert len(read_manifest(out)) > 10
