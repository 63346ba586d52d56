"""DefectClassifier: preprocessing, temperature, regions, ONNX Runtime vs eager."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from inference.classifier import DefectClassifier, compare_backends, export_onnx
from inference.errors import DataError, InferenceError
from inference.types import Region, region_of
from tests.inference.test_training import make_toy_dataset, tiny_config

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from inference.training.train_classifier import train

    root = tmp_path_factory.mktemp("clf")
    data = make_toy_dataset(root / "data", n=24)
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train(tiny_config(data, root / "model", lp_epochs=0))
    finally:
        torch.set_num_threads(previous)
    return root / "model"


def lively(
    model: torch.nn.Module, seed: int = 0
) -> tuple[torch.nn.Module, torch.Tensor]:
    """A random-init network whose logits differ from image to image, and its images.

    A fresh network in eval mode (unit running variances) can give a near-constant
    or a huge logit, which would make a backend comparison vacuous: BatchNorm
    statistics are estimated on the returned random images and the head is scaled to
    a logit spread of about 2.
    """
    from inference.training.train_classifier import recompute_bn_stats

    g = torch.Generator().manual_seed(seed)
    images = torch.rand(8, 3, 32, 32, generator=g)
    recompute_bn_stats(model, [(images, None)], torch.device("cpu"), 1)
    model.eval()
    with torch.no_grad():
        spread = float(model(images).std())
        last = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
        last.weight.mul_(2.0 / max(spread, 1e-12))
    return model, images


def _crops(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    shapes = [(20, 30), (48, 48), (64, 40), (33, 33)]
    return [
        rng.integers(0, 256, (*shapes[i % len(shapes)], 3), dtype=np.uint8)
        for i in range(n)
    ]


def test_probabilities_regions_and_temperature(model_dir):
    clf = DefectClassifier.from_folder(model_dir, device="cpu", batch_size=3)
    crops = _crops(7)
    lg = clf.logits(crops)
    p = clf.predict_proba(crops)
    assert lg.shape == p.shape == (7,)
    np.testing.assert_allclose(
        p, 1 / (1 + np.exp(-lg / clf.temperature)), rtol=1e-9, atol=1e-20
    )
    scores = clf.classify(crops)
    assert [s.p for s in scores] == pytest.approx(list(p))
    for s in scores:
        assert s.region == region_of(s.p, clf.t_lo, clf.t_hi)
        assert isinstance(s.region, Region)
    # Batching does not change the answer; a preprocessed tensor gives the same.
    one = DefectClassifier.from_folder(model_dir, device="cpu", batch_size=64)
    np.testing.assert_allclose(one.logits(crops), lg, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(
        clf.logits(clf.preprocess(crops)), lg, rtol=1e-6, atol=1e-6
    )
    assert clf.logits([]).shape == (0,)


def test_bad_inputs_are_refused(model_dir):
    clf = DefectClassifier.from_folder(model_dir, device="cpu")
    with pytest.raises(DataError, match="crop 1"):
        clf.predict_proba([_crops(1)[0], np.zeros((10, 10), np.float32)])
    with pytest.raises(DataError, match="tensor"):
        clf.predict_proba(torch.rand(2, 3, 7, 7))
    with pytest.raises(InferenceError, match="backend"):
        DefectClassifier(torch.nn.Linear(1, 1), backend="tensorrt")
    with pytest.raises(InferenceError, match="t_lo"):
        DefectClassifier(torch.nn.Linear(1, 1), t_lo=0.8, t_hi=0.2)


def test_onnx_backend_matches_torch(model_dir, tmp_path):
    eager = DefectClassifier.from_folder(model_dir, device="cpu")
    ort = DefectClassifier.from_folder(
        model_dir, device="cpu", backend="onnx", onnx_path=tmp_path / "m.onnx"
    )
    crops = _crops(6, seed=1)
    diff = np.max(np.abs(eager.predict_proba(crops) - ort.predict_proba(crops)))
    assert diff <= 1e-3
    assert ort.logits(crops).std() > 0  # not a degenerate constant model
    assert (tmp_path / "m.onnx").is_file()
    assert not (model_dir / "model.onnx").exists()

    report = compare_backends(eager, n=4, batch_size=2, runs=1, warmup=0)
    assert report["agree"]
    assert report["max_abs_prob_diff"] <= 1e-3
    assert report["torch"]["images_per_s"] > 0
    assert report["onnx"]["images_per_s"] > 0


def test_export_onnx_dynamic_batch_agrees_with_torch(tmp_path):
    import onnxruntime

    from inference.architectures import build_model

    torch.manual_seed(0)
    model, x = lively(build_model("attend_next_s"))
    path = export_onnx(model, tmp_path / "m.onnx", input_size=32)
    sess = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = sess.run(None, {"images": x.numpy()})[0]
    with torch.inference_mode():
        ref = model(x).numpy()
    assert out.shape == (8, 1)
    assert ref.std() > 0.1
    # Random-init features reach ~100 (logit terms of ~30 each): float32 ordering
    # differences of ~1e-4 relative show up as a few 1e-3 in the logit.
    np.testing.assert_allclose(out, ref, rtol=1e-3, atol=1e-2)
    clf = DefectClassifier(model, input_size=32, temperature=1.7)
    p_torch = clf.predict_proba(x)
    p_onnx = clf.with_backend("onnx").predict_proba(x)
    assert np.ptp(p_torch) > 0.1
    assert np.max(np.abs(p_torch - p_onnx)) <= 1e-3
    assert compare_backends(clf, n=6, batch_size=3, runs=1, warmup=0)["agree"]
