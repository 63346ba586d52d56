"""`soldernet calibrate`: re-fit temperature and thresholds of a trained model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.cli import EXIT_FAILURE, EXIT_OK, main
from inference.classifier import DefectClassifier
from tests.inference.test_training import make_toy_dataset

TINY = ["--input-size", "32", "-b", "8", "--device", "cpu", "--no-progress"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _crops(data: Path) -> list[np.ndarray]:
    from inference.training.datasets import load_crop

    return [load_crop(p) for p in sorted((data / "images").glob("*.png"))]


def test_calibrate_refits_the_operating_point_and_keeps_decisions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    data = make_toy_dataset(tmp_path / "data", n=40)
    model = tmp_path / "model"
    rc = main(
        [
            "train", "--data", str(data), "--arch", "mobilenet_v3_small",
            "--epochs", "2", "--lp-epochs", "0", "--out", str(model), *TINY,
        ]
    )  # fmt: skip
    assert rc == EXIT_OK
    capsys.readouterr()
    card_before = json.loads((model / "model.json").read_text("utf-8"))
    out = tmp_path / "recal"
    rc = main(
        [
            "calibrate", "--model", str(model), "--split", "all", "--e-max", "0.05",
            "--out", str(out), "--json", str(tmp_path / "cal.json"),
        ]
    )  # fmt: skip
    assert rc == EXIT_OK
    text = capsys.readouterr().out
    assert "before" in text
    assert "after" in text
    result = json.loads((tmp_path / "cal.json").read_text("utf-8"))
    assert result["n"] == 40
    card = json.loads((out / "model.json").read_text("utf-8"))
    after = result["after"]
    assert card["temperature"] == pytest.approx(after["temperature"])
    assert (card["t_lo"], card["t_hi"]) == (after["t_lo"], after["t_hi"])
    assert after["t_lo"] <= 0.5 <= after["t_hi"]
    assert after["auto_escape"] <= 0.05 + 1e-12
    # Fitted on the same data, the new temperature's NLL is no worse than the old one.
    from inference.calibration import binary_nll
    from inference.evaluation_predict import predict_samples

    clf_old = DefectClassifier.from_folder(model, device="cpu")
    rows = [(p, 0) for p in sorted((data / "images").glob("*.png"))]
    _, logits, _, _ = predict_samples(clf_old, rows)
    labels = np.array([int(r["label"]) for r in _manifest(data)])
    assert (
        binary_nll(logits, labels, after["temperature"])
        <= binary_nll(logits, labels, card_before["temperature"]) + 1e-9
    )
    # The weights are the same: decisions at p = 0.5 do not move.
    clf_new = DefectClassifier.from_folder(out, device="cpu")
    crops = _crops(data)
    np.testing.assert_allclose(clf_new.logits(crops), clf_old.logits(crops), atol=1e-5)
    assert card["recalibrations"][0]["before"]["temperature"] == pytest.approx(
        card_before["temperature"]
    )
    # The original folder is untouched when --out is given.
    assert json.loads((model / "model.json").read_text("utf-8")) == card_before


def _manifest(data: Path) -> list[dict[str, str]]:
    import csv

    with (data / "manifest.csv").open(encoding="utf-8") as fh:
        return sorted(csv.DictReader(fh), key=lambda r: r["path"])


def test_calibrate_errors_are_messages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    rc = main(["calibrate", "--model", str(tmp_path / "nope")])
    assert rc == EXIT_FAILURE
    assert "nope" in capsys.readouterr().err
    data = make_toy_dataset(tmp_path / "data", n=20)
    model = tmp_path / "model"
    main(
        [
            "train", "--data", str(data), "--arch", "mobilenet_v3_small", "--epochs",
            "1", "--lp-epochs", "0", "--out", str(model), *TINY,
        ]
    )  # fmt: skip
    one = make_toy_dataset(tmp_path / "one", n=6, one_class=1)
    capsys.readouterr()
    rc = main(
        ["calibrate", "--model", str(model), "--data", str(one), "--split", "all"]
    )
    assert rc == EXIT_FAILURE
    assert "one class" in capsys.readouterr().err
