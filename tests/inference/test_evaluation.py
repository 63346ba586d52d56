"""Evaluation: every metric present and equal to inference.metrics and .trust."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from inference import metrics, trust
from inference.calibration import apply_temperature
from inference.evaluation import (
    evaluate_model,
    evaluate_predictions,
    jsonable,
    measure_latency,
    measure_throughput,
)
from inference.training.train_classifier import load_dataset_rows, split_rows, train
from tests.inference.test_training import make_toy_dataset, tiny_config

Z = [0, 0, 0, 1, 1, 1, 1]
P = [0.15, 0.35, 0.85, 0.92, 0.55, 0.25, 0.97]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("eval")
    data = make_toy_dataset(root / "data", n=40)
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train(tiny_config(data, root / "model", lp_epochs=0))
    finally:
        torch.set_num_threads(previous)
    return root / "model", data


def test_worked_example_of_the_spec():
    r = evaluate_predictions(Z, P, t_lo=0.2, t_hi=0.8, prevalence=None, ece_bins=10)
    assert r["accuracy"] == pytest.approx(5 / 7)
    assert r["overkill"] == pytest.approx(1 / 7)
    assert r["escape"] == pytest.approx(1 / 7)
    assert r["ece"] == pytest.approx(0.337143, abs=1e-6)
    assert r["brier"] == pytest.approx(0.2342571, abs=1e-7)
    tr = r["trust"]
    assert tr["net_trust_score"] == pytest.approx(0.62)
    assert tr["net_trust_score_class_balanced"] == pytest.approx(0.61125)
    assert tr["spectrum"]["0"] == pytest.approx(0.55)
    assert tr["spectrum"]["1"] == pytest.approx(0.6725)
    np.testing.assert_allclose(
        tr["matrix"], [[0.75, 0.15], [0.25, 0.8133333]], atol=1e-6
    )
    assert tr["counts"] == [[2, 1], [1, 3]]
    reg = r["regions"]
    assert reg["review_rate"] == pytest.approx(3 / 7)
    assert reg["auto_pass_rate"] == pytest.approx(1 / 7)
    assert reg["auto_defect_rate"] == pytest.approx(3 / 7)
    assert reg["auto_escape"] == pytest.approx(0.0)
    assert reg["auto_overkill"] == pytest.approx(1 / 7)
    assert reg["counts"]["possible_defect"] == {
        "n": 3,
        "defective": 2,
        "non_defective": 1,
    }
    assert r["production"] is None
    assert r["question_answer_trust"] == pytest.approx(
        [0.85, 0.65, 0.15, 0.92, 0.55, 0.25, 0.97]
    )


def test_prevalence_rates_follow_metrics():
    r = evaluate_predictions(Z, P, t_lo=0.2, t_hi=0.8, prevalence=0.01)
    ref = metrics.rates_at_prevalence(Z, P, 0.01, t_lo=0.2, t_hi=0.8)
    assert r["production"]["escape"] == pytest.approx(ref.escape)
    assert r["production"]["overkill_ppm"] == pytest.approx(ref.overkill_ppm)
    assert r["production"]["review_rate"] == pytest.approx(ref.review_rate)


def test_one_class_predictions_and_plots(tmp_path):
    r = evaluate_predictions([0, 0, 0], [0.1, 0.6, 0.2])
    assert np.isnan(r["auroc"])
    assert np.isnan(r["trust"]["spectrum"]["1"])
    assert r["production"] is None
    json.dumps(jsonable(r), allow_nan=False)
    from inference.evaluation import save_plots

    written = save_plots(
        r, tmp_path, y=np.array([0, 0, 0]), p=np.array([0.1, 0.6, 0.2])
    )
    assert len(written) == 4


def test_empty_predictions_are_refused():
    from inference.errors import DataError

    with pytest.raises(DataError, match="empty"):
        evaluate_predictions([], [])


def test_evaluate_model_reports_everything_and_agrees_with_metrics(trained, tmp_path):
    model_dir, data = trained
    r = evaluate_model(
        model_dir,
        data,
        device="cpu",
        backend="torch",  # compared below with eager predictions to 1e-6
        latency_warmup=2,
        latency_runs=5,
        throughput_batch=4,
        plots_dir=tmp_path / "plots",
        include_predictions=True,
    )
    for key in (
        "accuracy", "overkill", "escape", "sensitivity", "specificity", "precision",
        "f1", "auroc", "ece", "brier", "reliability", "trust", "regions",
        "production", "latency", "throughput", "model", "data", "plots",
        "question_answer_trust", "tp", "tn", "fp", "fn", "n", "by_defect_type",
    ):  # fmt: skip
        assert key in r, key
    for key in (
        "net_trust_score", "spectrum", "matrix", "counts", "densities",
        "conditional_densities",
    ):  # fmt: skip
        assert key in r["trust"], key
    for key in ("auto_defect_rate", "review_rate", "auto_pass_rate", "auto_escape"):
        assert key in r["regions"], key
    assert set(r["trust"]["conditional_densities"]) == {
        "z0_y0",
        "z0_y1",
        "z1_y0",
        "z1_y1",
    }
    assert r["n"] == 40
    assert r["by_defect_type"]["blob"]["n"] == 20
    assert r["by_defect_type"]["none"]["label"] == 0
    assert r["latency"]["runs"] == 5
    assert r["latency"]["batch_size"] == 1
    assert r["latency"]["mean_ms"] > 0
    assert r["throughput"]["images_per_s"] > 0

    # Same numbers as the metric modules on the same predictions.
    y = np.array([e["label"] for e in r["predictions"]])
    p = np.array([e["p"] for e in r["predictions"]])
    tm = metrics.threshold_metrics(y, p)
    assert r["accuracy"] == tm.accuracy
    assert r["overkill"] == tm.overkill
    assert r["escape"] == tm.escape
    assert (r["tp"], r["tn"], r["fp"], r["fn"]) == (tm.tp, tm.tn, tm.fp, tm.fn)
    assert r["auroc"] == pytest.approx(tm.auroc, nan_ok=True)
    assert r["ece"] == metrics.expected_calibration_error(y, p)
    assert r["brier"] == metrics.brier_score(y, p)
    q = trust.question_answer_trust(y, p)
    assert r["trust"]["net_trust_score"] == trust.net_trust_score(y, q)
    tmat, counts = trust.trust_matrix(y, p)
    np.testing.assert_array_equal(r["trust"]["counts"], counts)
    np.testing.assert_allclose(r["trust"]["matrix"], tmat, equal_nan=True)
    rm = metrics.region_metrics(y, p, r["model"]["t_lo"], r["model"]["t_hi"])
    assert r["regions"]["review_rate"] == rm.review_rate

    # The probabilities are the classifier's calibrated ones.
    from inference.classifier import DefectClassifier

    clf = DefectClassifier.from_folder(model_dir, device="cpu")
    paths = [Path(e["path"]) for e in r["predictions"]]
    from inference.training.datasets import load_crop

    direct = clf.predict_proba([load_crop(path) for path in paths])
    np.testing.assert_allclose(direct, p, atol=1e-6)
    np.testing.assert_allclose(
        apply_temperature(clf.logits([load_crop(paths[0])]), clf.temperature),
        p[:1],
        atol=1e-6,  # batch of 1 vs batch of 40: float summation order differs
    )

    # Strict JSON and the plots.
    json.dumps(jsonable(r), allow_nan=False)
    assert set(r["plots"]) == {
        "trust_matrix",
        "trust_densities",
        "reliability",
        "confidence_hist",
    }
    for path in r["plots"].values():
        assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_split_and_skipped_images(trained, tmp_path):
    model_dir, data = trained
    rows = load_dataset_rows([data])
    n_test = len(split_rows(rows, seed=0)["test"])
    r = evaluate_model(model_dir, data, split="test", latency=False, device="cpu")
    assert r["n"] == n_test
    assert r["latency"] is None

    # One unreadable image: named, skipped, the rest evaluated.
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(data, copy)
    (copy / "images" / "0005.png").write_bytes(b"broken")
    r = evaluate_model(model_dir, copy, latency=False, device="cpu")
    assert r["n"] == 39
    assert len(r["skipped"]) == 1
    assert "0005.png" in r["skipped"][0]["path"]


def test_latency_protocol_and_throughput():
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
        torch.nn.Linear(4, 1),
    )  # fmt: skip
    lat = measure_latency(model, input_size=32, warmup=1, runs=3, threads=1)
    assert lat["runs"] == 3
    assert lat["warmup"] == 1
    assert lat["threads"] == 1
    assert lat["median_ms"] > 0
    thr = measure_throughput(model, batch_size=4, input_size=32, runs=2)
    assert thr["batch_size"] == 4
    assert thr["images_per_s"] > 0


def test_auto_backend_is_onnx_on_cpu_and_agrees_with_torch(trained):
    model_dir, data = trained
    auto = evaluate_model(model_dir, data, latency=False, device="cpu")
    eager = evaluate_model(
        model_dir, data, latency=False, device="cpu", backend="torch"
    )
    assert auto["model"]["backend"] == "onnx"
    assert auto["model"]["backend_requested"] == "auto"
    check = auto["model"]["backend_check"]
    assert check["agree"] is True
    assert check["max_abs_prob_diff"] <= 1e-3
    assert eager["model"]["backend"] == "torch"
    assert eager["model"]["backend_check"] is None
    assert auto["accuracy"] == eager["accuracy"]
    assert auto["auroc"] == pytest.approx(eager["auroc"], abs=1e-3)


def test_unknown_backend_is_refused():
    from inference.device import resolve_backend
    from inference.errors import InferenceError

    with pytest.raises(InferenceError, match="tensorrt"):
        resolve_backend("tensorrt")
    assert resolve_backend("torch") == "torch"
    assert resolve_backend("auto", "cpu") == "onnx"
