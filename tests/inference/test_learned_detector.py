"""Learned (recipe-free) detector: tiling, cross-tile merge, ids, folder round trip,
training step, matching, and the `JointDetector` protocol on a small board."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from inference.detector import JointDetector
from inference.detector_training import (
    TrainConfig,
    box_iou,
    match_detections,
    render_training_boards,
    sample_tile,
    train_detector,
)
from inference.errors import ModelLoadError
from inference.learned_detector import (
    CARD_FILE,
    WEIGHTS_FILE,
    DetectorCard,
    LearnedDetector,
    build_model,
    merge_tile_detections,
    save_detector,
    sort_reading_order,
    tile_grid,
)
from inference.types import JointType

torch.set_num_threads(1)

TINY = TrainConfig(
    steps=3,
    batch=1,
    boards=1,
    seed=5,
    board_size=(400, 300),
    tile=128,
    overlap=32,
    width=8,
)


def test_tile_grid_covers_the_image_edge_aligned() -> None:
    assert tile_grid(1000, 600, 512, 128) == [
        (0, 0),
        (384, 0),
        (488, 0),
        (0, 88),
        (384, 88),
        (488, 88),
    ]
    assert tile_grid(300, 200, 512, 128) == [(0, 0)]
    assert tile_grid(512, 512, 512, 128) == [(0, 0)]


def test_merge_drops_cut_boxes_and_suppresses_duplicates() -> None:
    # Image 200 x 100, tiles of 128 at x0 = 0 and 72.
    left = (
        (0, 0),
        np.array([[10, 10, 30, 30], [115, 20, 127, 40], [80, 50, 100, 70]], float),
        np.array([0.9, 0.8, 0.7]),
        np.array([1, 1, 2]),
    )
    # In the right tile, the joint cut by the left tile's edge is whole (x 110..135
    # in the image), and the 80..100 joint is seen again (8..28 in tile px).
    right = (
        (72, 0),
        np.array([[38, 20, 63, 40], [8, 50, 28, 71]], float),
        np.array([0.95, 0.6]),
        np.array([1, 2]),
    )
    boxes, scores, labels = merge_tile_detections([left, right], (200, 100), 128)
    order = np.argsort(boxes[:, 0])
    np.testing.assert_allclose(
        boxes[order], [[10, 10, 30, 30], [80, 50, 100, 70], [110, 20, 135, 40]]
    )
    np.testing.assert_allclose(scores[order], [0.9, 0.7, 0.95], rtol=1e-6)
    assert labels[order].tolist() == [1, 2, 1]


def test_merge_keeps_boxes_on_image_edges_and_handles_nothing() -> None:
    tile = (
        (0, 0),
        np.array([[0, 0, 20, 20], [110, 100, 128, 128]], float),
        np.array([0.9, 0.8]),
        np.array([1, 1]),
    )
    boxes, _, _ = merge_tile_detections([tile], (128, 128), 128)
    assert len(boxes) == 2
    boxes, scores, labels = merge_tile_detections([], (10, 10), 128)
    assert boxes.shape == (0, 4)
    assert len(scores) == len(labels) == 0


def test_reading_order_is_rows_then_columns() -> None:
    boxes = np.array(
        [[100, 52, 120, 72], [10, 50, 30, 70], [10, 0, 30, 20], [60, 3, 80, 23]],
        float,
    )
    assert sort_reading_order(boxes).tolist() == [2, 3, 1, 0]


def test_matching_is_one_to_one_by_score() -> None:
    truth = np.array([[0, 0, 10, 10], [20, 0, 30, 10]], float)
    pred = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], float)
    assert box_iou(pred[:1], truth).tolist() == [[1.0, 0.0]]
    m = match_detections(pred, np.array([0.5, 0.9, 0.8]), truth)
    assert m.tolist() == [-1, 0, -1]


def test_sample_tile_boxes_stay_on_the_joints() -> None:
    board = render_training_boards(1, 3, (600, 450))[0]
    rng = np.random.default_rng(0)
    cfg = replace(TINY, tile=160, scale_range=(1.0, 1.0), gray_fraction=0.0)
    n_boxes = 0
    for _ in range(8):
        tile, boxes, labels = sample_tile(board, rng, cfg)
        assert tile.shape == (160, 160, 3)
        assert tile.dtype == np.uint8
        assert len(boxes) == len(labels)
        assert (boxes >= 0).all()
        assert (boxes <= 160).all()
        n_boxes += len(boxes)
    assert n_boxes > 0


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model, card = train_detector(TINY, log_every=1000)
    assert card.training["steps"] == 3
    return save_detector(model, card, tmp_path_factory.mktemp("det") / "d")


def test_folder_round_trip_and_protocol(tiny: Path) -> None:
    det = LearnedDetector.from_folder(tiny, score_threshold=0.0)
    assert isinstance(det, JointDetector)
    board = render_training_boards(1, 9, (300, 220))[0][0]
    res = det.detect(board)
    assert res.method == "learned"
    assert res.registration is None
    assert res.image_size == (300, 220)
    assert len(res.joints) > 0
    assert [j.refdes for j in res.joints][:3] == ["J0001", "J0002", "J0003"]
    for j in res.joints:
        assert j.joint_type in (JointType.SMD, JointType.THT)
        assert 0.0 <= j.score <= 1.0
        assert 0 <= j.bbox.x < 300
        assert 0 <= j.bbox.y < 220
        assert j.bbox.w >= 1
        assert j.bbox.h >= 1
    # Gray input and a scale factor are accepted; results stay in image pixels.
    gray = board[:, :, 1].copy()
    half = LearnedDetector.from_folder(tiny, score_threshold=0.0, scale=0.5)
    for j in half.detect(gray).joints:
        assert j.bbox.x + j.bbox.w <= 301
        assert j.bbox.y + j.bbox.h <= 221
    # Same weights, same answer.
    again = LearnedDetector.from_folder(tiny, score_threshold=0.0).detect(board)
    assert again.joints == res.joints


def test_corrupt_or_mismatched_folders_are_refused(tiny: Path, tmp_path: Path) -> None:
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(tiny, bad)
    data = (bad / WEIGHTS_FILE).read_bytes()
    (bad / WEIGHTS_FILE).write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelLoadError, match="corrupt or truncated"):
        LearnedDetector.from_folder(bad)
    with pytest.raises(ModelLoadError, match="not a detector folder"):
        LearnedDetector.from_folder(tmp_path)
    other = tmp_path / "other"
    save_detector(
        build_model(DetectorCard(width=16, tile=128, overlap=32)),
        DetectorCard(width=16, tile=128, overlap=32),
        other,
    )
    card = (tiny / CARD_FILE).read_text()
    (other / CARD_FILE).write_text(card)
    with pytest.raises(ModelLoadError, match="do not fit the card"):
        LearnedDetector.from_folder(other)
    (other / CARD_FILE).write_text(card.replace('"tile": 128', '"tile": 10'))
    with pytest.raises(ModelLoadError, match="bad detector card"):
        LearnedDetector.from_folder(other)


def test_non_image_input_is_refused(tiny: Path) -> None:
    from inference.errors import DataError

    det = LearnedDetector.from_folder(tiny)
    with pytest.raises(DataError, match="uint8"):
        det.detect(np.zeros((10, 10, 3), np.float32))
