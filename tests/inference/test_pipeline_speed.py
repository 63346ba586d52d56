"""The faster classify path (issue 6 "Must show"): same numbers as before, faster.

Real shipped model (EfficientNet-Lite0 at 128 px), real demo board, no mocks:

- batched preprocessing = the model card's preset applied crop by crop, bit for bit;
- data-parallel onnxruntime runs (single-threaded session, 2 workers, 4 images a
  run) score every joint within 1e-4 of the earlier path (per-crop preset + the
  eager model) and put it in the same region;
- the explainer's search forwards share the classifier's session (one session per
  process) and give the temperature-scaled logits of the explained model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from inference.classifier import DefectClassifier
from inference.crops import crop_joints
from inference.detector import RecipeDetector
from inference.image_io import load_image
from inference.model_card import load_model
from inference.pipeline import inspect_board
from inference.preprocessing import preprocess_batch
from inference.training.datasets import preprocess_crop
from inference.types import region_of
from tests.pipeline_fixtures import DEMO_BOARDS, demo_recipe

torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "resources" / "models" / "default"


@pytest.fixture(scope="module")
def shipped() -> object:
    return load_model(SHIPPED)


@pytest.fixture(scope="module")
def board_crops() -> tuple[Path, Path, np.ndarray]:
    board = DEMO_BOARDS[0]
    recipe = demo_recipe(board)
    rgb = load_image(board).rgb
    joints = RecipeDetector.from_file(recipe).detect(rgb).joints
    crops, _ = crop_joints(rgb, joints, size=256)
    return board, recipe, crops


def _classifier(loaded: object, **kwargs: object) -> DefectClassifier:
    card = loaded.card  # type: ignore[attr-defined]
    return DefectClassifier(
        loaded.model,  # type: ignore[attr-defined]
        input_size=card.input_size,
        temperature=card.temperature,
        t_lo=card.t_lo,
        t_hi=card.t_hi,
        **kwargs,  # type: ignore[arg-type]
    )


def test_batched_preprocessing_is_the_preset_bit_for_bit(
    board_crops: tuple[Path, Path, np.ndarray],
) -> None:
    crops = board_crops[2][:40]
    rng = np.random.default_rng(0)
    odd = rng.integers(0, 256, (5, 97, 133, 3), dtype=np.uint8)
    same = rng.integers(0, 256, (3, 128, 128, 3), dtype=np.uint8)
    for batch in (crops, odd, same, crops[::3]):  # also a non-contiguous view
        want = torch.stack([preprocess_crop(c, 128) for c in batch])
        got = preprocess_batch(batch, 128, chunk=16)
        assert got.is_contiguous()
        assert torch.equal(got, want)


def test_data_parallel_onnx_scores_every_joint_like_the_earlier_path(
    shipped: object, board_crops: tuple[Path, Path, np.ndarray]
) -> None:
    board, recipe, crops = board_crops
    ref = _classifier(shipped, backend="torch")
    # The earlier path: the preset crop by crop, the eager model.
    x = torch.stack([preprocess_crop(c, ref.input_size) for c in crops])
    with torch.inference_mode():
        lg = ref.model(x).reshape(-1).double().numpy()
    p_before = 0.5 * (1.0 + np.tanh(0.5 * lg / ref.temperature))
    clf = _classifier(shipped, backend="onnx", threads=2, cpu_chunk=4)
    assert clf._parallel
    got = inspect_board(
        board, detector=RecipeDetector.from_file(recipe), classifier=clf
    )
    assert len(got.p) == len(crops) > 64  # several batches: preprocessing overlaps
    assert np.max(np.abs(got.p - p_before)) < 1e-4
    for p_new, p_old, region in zip(got.p, p_before, got.regions, strict=True):
        assert (
            region == region_of(float(p_old), clf.t_lo, clf.t_hi)
            or min(abs(p_old - t) for t in (clf.t_lo, clf.t_hi)) < 1e-4
        ), (p_new, p_old)
    # Any split of the runs gives the same logits (1, 2, 5, 9 images; one worker).
    single = _classifier(shipped, backend="onnx", threads=1)
    assert not single._parallel
    pre = preprocess_batch(crops[:9], clf.input_size).numpy()
    whole = single.onnx_logits(pre)
    for n in (1, 2, 5, 9):
        assert np.allclose(clf.onnx_logits(pre[:n]), whole[:n], atol=1e-5)


def test_explainer_search_forwards_share_the_classifier_session(
    shipped: object,
) -> None:
    from inference.explain.fast_model import make_onnx_forward
    from inference.explain.runner import Explainer, config_from_overrides, wrap_model

    card = shipped.card  # type: ignore[attr-defined]
    clf = _classifier(shipped, backend="onnx", threads=2)
    em = wrap_model(
        shipped.model,  # type: ignore[attr-defined]
        card.preset,
        model_id="test",
        temperature=card.temperature,
    )
    ex = Explainer(
        em, config_from_overrides([], fast=True), backend="auto", classifier=clf
    )
    assert ex.prepare() == "onnx"
    fwd = ex._forward
    assert fwd is not None
    assert fwd.shared
    assert fwd._clf is clf
    xs = torch.rand(6, 3, card.input_size, card.input_size)
    with torch.inference_mode():
        want = em.model(xs).reshape(-1)
    assert torch.allclose(fwd(xs), want, atol=1e-4)
    # A classifier of another temperature is not shared: the model is exported.
    other = _classifier(shipped, backend="onnx", threads=1)
    other.temperature = card.temperature * 2.0
    own = make_onnx_forward(em.model, card.input_size, classifier=other)
    assert not own.shared
    assert torch.allclose(own(xs), want, atol=1e-4)
