"""`soldernet train` -> `evaluate --json` -> `compare` end to end on a toy set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import EXIT_FAILURE, EXIT_OK, main
from tests.inference.test_training import make_toy_dataset

TINY = ["--input-size", "32", "-b", "8", "--device", "cpu", "--no-progress"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_train_evaluate_compare(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    data = make_toy_dataset(tmp_path / "data", n=30)
    model = tmp_path / "model"
    rc = main(
        [
            "train", "--data", str(data), "--arch", "attend_next_s", "--epochs", "1",
            "--lp-epochs", "0", "--out", str(model), "--json",
            str(tmp_path / "train.json"), *TINY,
        ]
    )  # fmt: skip
    assert rc == EXIT_OK
    summary = json.loads((tmp_path / "train.json").read_text("utf-8"))
    assert summary["epochs_run"] == 1
    assert "accuracy" in summary["val_metrics"]
    assert (model / "model.json").is_file()
    assert "model written to" in capsys.readouterr().out

    rc = main(
        [
            "evaluate", "--model", str(model), "--data", str(data), "--json",
            str(tmp_path / "eval.json"), "--latency-warmup", "1", "--latency-runs",
            "2", "--device", "cpu", "--plots", str(tmp_path / "plots"),
            "--no-progress",
        ]
    )  # fmt: skip
    assert rc == EXIT_OK
    ev = json.loads((tmp_path / "eval.json").read_text("utf-8"))
    for key in ("accuracy", "overkill", "escape", "auroc", "ece", "brier", "trust"):
        assert key in ev
    assert ev["n"] == 30
    assert ev["latency"]["runs"] == 2
    assert (tmp_path / "plots" / "trust_matrix.png").is_file()
    out = capsys.readouterr().out
    assert "NetTrustScore" in out
    assert "overkill" in out

    rc = main(
        [
            "compare", "--data", str(data), "--archs", "attend_next_s",
            "shufflenet_v2", "--epochs", "1", "--lp-epochs", "0", "--out",
            str(tmp_path / "cmp"), "--json", str(tmp_path / "cmp.json"),
            "--latency-warmup", "1", "--latency-runs", "2", "--table-size", "32",
            "--throughput-batch", "4", *TINY,
        ]
    )  # fmt: skip
    assert rc == EXIT_OK
    cmp = json.loads((tmp_path / "cmp.json").read_text("utf-8"))
    assert [r["arch"] for r in cmp["table1"]] == ["attend_next_s", "shufflenet_v2"]
    assert cmp["table1"][0]["params"] == 1_632_345
    for row in cmp["table2"]:
        assert row["accuracy"] + row["overkill"] + row["escape"] == pytest.approx(1.0)
        assert 0.0 <= row["net_trust_score"] <= 1.0
    md = (tmp_path / "cmp" / "comparison.md").read_text("utf-8")
    assert "Table 1" in md
    assert "Table 2" in md
    assert "Attend-NeXt-S" in md
    assert cmp["meta"]["epochs"] == 1

    # Already trained folders only (no --archs): nothing is trained again, and the
    # meta does not claim the default epochs for them.
    rc = main(
        [
            "compare", "--data", str(data), "--archs", "--models", str(model),
            "--out", str(tmp_path / "cmp2"), "--json", str(tmp_path / "cmp2.json"),
            "--latency-warmup", "1", "--latency-runs", "2", "--table-size", "32",
            "--throughput-batch", "4", *TINY,
        ]
    )  # fmt: skip
    assert rc == EXIT_OK
    cmp2 = json.loads((tmp_path / "cmp2.json").read_text("utf-8"))
    assert [r["model_dir"] for r in cmp2["table1"]] == [str(model)]
    assert "epochs" not in cmp2["meta"]
    assert not (tmp_path / "cmp2" / "attend_next_s").exists()


def test_cli_errors_are_messages_not_tracebacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    one = make_toy_dataset(tmp_path / "one", n=6, one_class=1)
    rc = main(["train", "--data", str(one), "--out", str(tmp_path / "m"), *TINY])
    assert rc == EXIT_FAILURE
    assert "only defective" in capsys.readouterr().err
    rc = main(["evaluate", "--model", str(tmp_path / "nope"), "--data", str(one)])
    assert rc == EXIT_FAILURE
    assert "nope" in capsys.readouterr().err
