"""`inspect_board` and the explanation queue (issue 6)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from inference.detector import DetectionResult, JointDetector, RecipeDetector
from inference.errors import Cancelled, ImageDecodeError
from inference.pipeline import STAGES, BoardInspection, inspect_board, queue_order
from inference.preprocessing import EvalPreset
from inference.types import BBox, JointBox, Region, region_of
from tests.pipeline_fixtures import DEMO_BOARDS, T_HI, T_LO, demo_recipe

torch.set_num_threads(1)


class Token:
    """The app's CancelToken shape (inference may not import app)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def is_cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled("cancelled")


class FixedDetector:
    """A fake detector with fixed boxes (the `JointDetector` protocol)."""

    def __init__(self, n: int = 5) -> None:
        self.boxes = tuple(
            JointBox(BBox(4 + 10 * i, 20, 8, 8), refdes=f"R{i}", pin="1")
            for i in range(n)
        )

    def detect(self, image_rgb: np.ndarray) -> DetectionResult:
        h, w = image_rgb.shape[:2]
        return DetectionResult(self.boxes, (w, h), "fixed")


class MeanClassifier:
    """P(defect) = mean brightness of the crop (no torch needed)."""

    t_lo, t_hi, batch_size = T_LO, T_HI, 2

    def __init__(self) -> None:
        self.calls = 0

    def predict_proba(self, crops: np.ndarray) -> np.ndarray:
        self.calls += 1
        return np.asarray(crops, np.float64).mean(axis=(1, 2, 3)) / 255.0


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory):
    from inference.classifier import DefectClassifier
    from tests.pipeline_fixtures import make_model_folder

    folder = make_model_folder(tmp_path_factory.mktemp("model") / "m")
    return DefectClassifier.from_folder(folder, device="cpu", batch_size=32)


def _toy_image() -> np.ndarray:
    img = np.zeros((64, 64, 3), np.uint8)
    for i in range(5):
        img[20:28, 4 + 10 * i : 12 + 10 * i] = 50 * i
    return img


def test_fake_detector_fits_the_protocol_and_pixels_are_accepted() -> None:
    det = FixedDetector()
    assert isinstance(det, JointDetector)
    clf = MeanClassifier()
    board = inspect_board(_toy_image(), detector=det, classifier=clf, crop_size=32)
    assert isinstance(board, BoardInspection)
    assert board.image_path is None
    assert board.image_sha256 == ""
    assert board.crops.shape == (5, 32, 32, 3)
    assert clf.calls == 3  # batches of 2
    assert board.regions == tuple(region_of(p, T_LO, T_HI) for p in board.p)
    assert sum(board.counts().values()) == 5
    assert set(board.timings) >= {*STAGES, "total"}


def test_demo_board_end_to_end(classifier) -> None:
    path = DEMO_BOARDS[0]
    det = RecipeDetector.from_file(demo_recipe(path))
    seen: list[tuple[str, int, int]] = []
    board = inspect_board(
        path,
        detector=det,
        classifier=classifier,
        on_progress=lambda s, d, t: seen.append((s, d, t)),
    )
    n = len(det.recipe.joints) - len(board.detection.outside)
    assert len(board.joints) == n > 100
    assert board.image_path == path
    assert len(board.image_sha256) == 64
    assert board.image_size == (2000, 1500)
    assert board.p.shape == (n,)
    assert ((board.p >= 0) & (board.p <= 1)).all()
    assert board.crops.shape == (n, 256, 256, 3)
    assert board.crops.dtype == np.uint8
    assert (board.t_lo, board.t_hi) == (T_LO, T_HI)
    counts = board.counts()
    assert sum(counts.values()) == n
    assert all(counts[r.value] > 0 for r in Region)  # the toy head spreads them
    assert [s for s, _, _ in seen[:3]] == ["load", "detect", "crop"]
    assert seen[-1] == ("classify", n, n)
    order = board.queue_order()
    assert len(order) == counts["possible_defect"]
    ps = [board.p[i] for i in order]
    assert ps == sorted(ps, reverse=True)
    assert all(board.regions[i] is Region.POSSIBLE_DEFECT for i in order)


def test_cancel_after_first_progress_raises_cancelled() -> None:
    token = Token()
    calls: list[str] = []

    def progress(stage: str, done: int, total: int) -> None:
        calls.append(stage)
        token.cancel()

    with pytest.raises(Cancelled):
        inspect_board(
            _toy_image(),
            detector=FixedDetector(),
            classifier=MeanClassifier(),
            on_progress=progress,
            cancel=token,
        )
    assert calls == ["load"]


def test_cancel_between_classifier_batches() -> None:
    token = Token()
    clf = MeanClassifier()

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "classify":
            token.cancel()

    with pytest.raises(Cancelled):
        inspect_board(
            _toy_image(),
            detector=FixedDetector(),
            classifier=clf,
            on_progress=progress,
            cancel=token,
        )
    assert clf.calls == 1


@pytest.mark.parametrize("content", [b"", b"\xff\xd8\xff\xe0 not really a jpeg"])
def test_bad_image_names_the_file(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(content)
    with pytest.raises(ImageDecodeError, match=r"broken\.jpg"):
        inspect_board(bad, detector=FixedDetector(), classifier=MeanClassifier())


def test_queue_order_is_possible_defects_by_descending_p() -> None:
    p = [0.5, 0.9, 0.6, 0.2, 0.6]
    regions = [region_of(v, T_LO, T_HI) for v in p]
    assert queue_order(p, regions) == [2, 4, 0]


def test_explain_queue_in_order_with_files(classifier, tmp_path: Path) -> None:
    from inference.explain.runner import Explainer, config_from_overrides, wrap_model
    from inference.explain_queue import explain_joints

    em = wrap_model(classifier.model, EvalPreset(size=64), model_id="toy")
    explainer = Explainer(em, config_from_overrides([], fast=True))
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 255, (4, 64, 64, 3), dtype=np.uint8)
    got: list[int] = []
    out = explain_joints(
        explainer,
        crops,
        [2, 0, 3],
        tmp_path / "x",
        on_explained=lambda e: got.append(e.index),
        limit=2,
    )
    assert got == [2, 0] == [e.index for e in out]
    for e in out:
        assert e.overlay_path.is_file()
        assert e.overlay_path.suffix == ".png"
        with np.load(e.heatmap_path) as z:
            hm = z["heatmap"]
        assert hm.dtype == np.float32
        assert 0 <= hm.min()
        assert hm.max() <= 1
        with np.load(e.mask_path) as z:
            assert set(np.unique(z["mask"])) <= {0, 1}
        assert e.explainer_version.startswith("cfi/")
        assert 0 <= e.result.p_before <= 1


def test_explain_queue_stops_on_cancel(classifier, tmp_path: Path) -> None:
    from inference.explain.runner import Explainer, config_from_overrides, wrap_model
    from inference.explain_queue import explain_joints

    em = wrap_model(classifier.model, EvalPreset(size=64), model_id="toy")
    explainer = Explainer(em, config_from_overrides([], fast=True))
    crops = np.full((3, 64, 64, 3), 128, np.uint8)
    token = Token()
    got: list[int] = []

    def on_explained(e) -> None:
        got.append(e.index)
        token.cancel()

    with pytest.raises(Cancelled):
        explain_joints(
            explainer,
            crops,
            [0, 1, 2],
            tmp_path,
            on_explained=on_explained,
            cancel=token,
        )
    assert got == [0]
