"""`soldernet detector train|evaluate`; `soldernet inspect --detector` (no recipe)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from app.cli import EXIT_USAGE, build_parser, main
from inference.synth.boards import BoardConfig, render_board
from tests.pipeline_fixtures import make_model_folder

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_detector(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A detector trained for 2 steps (via the CLI) and a recipe-less board PNG.

    The card's score threshold is set to the 5th best score on the board, so the
    untrained model yields a handful of joints.
    """
    from inference.learned_detector import CARD_FILE, LearnedDetector

    root = tmp_path_factory.mktemp("detector")
    folder = root / "det"
    code = main(
        [
            "detector",
            "train",
            "--out",
            str(folder),
            "--steps",
            "2",
            "--batch",
            "1",
            "--boards",
            "1",
            "--size",
            "600x450",
            "--tile",
            "128",
            "--width",
            "8",
            "--threads",
            "1",
        ]
    )
    assert code == 0
    sample = render_board(11, BoardConfig(width=360, height=260, style="color"))
    board = root / "boards" / "nofile_recipe.png"
    board.parent.mkdir()
    cv2.imwrite(str(board), sample.image)
    rgb = cv2.cvtColor(sample.image, cv2.COLOR_BGR2RGB)
    _, scores, _ = LearnedDetector.from_folder(folder, score_threshold=0.0).predict(rgb)
    card = json.loads((folder / CARD_FILE).read_text())
    card["score_threshold"] = float(np.sort(scores)[::-1][min(4, len(scores) - 1)])
    (folder / CARD_FILE).write_text(json.dumps(card))
    return folder, board


def test_parser_has_the_detector_actions() -> None:
    args = build_parser().parse_args(
        ["detector", "train", "--out", "d", "--steps", "7", "--size", "800x600"]
    )
    assert (args.action, args.out, args.steps, args.size) == (
        "train",
        "d",
        7,
        (800, 600),
    )
    args = build_parser().parse_args(["detector", "evaluate", "d", "--n", "3"])
    assert (args.action, args.folder, args.n, args.seed) == ("evaluate", "d", 3, 77)
    args = build_parser().parse_args(["inspect", "a.png", "--detector", "d"])
    assert args.detector == "d"


def test_detector_without_action_or_with_bad_size_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["detector"]) == EXIT_USAGE
    assert "train or evaluate" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["detector", "evaluate", "d", "--size", "big"])
    assert exc.value.code == EXIT_USAGE


def test_evaluate_writes_recall_and_precision(
    tiny_detector: tuple[Path, Path], tmp_path: Path
) -> None:
    folder, _ = tiny_detector
    out = tmp_path / "eval.json"
    code = main(
        [
            "detector",
            "evaluate",
            str(folder),
            "--n",
            "1",
            "--size",
            "640x480",
            "--json",
            str(out),
            "--threads",
            "1",
        ]
    )
    assert code == 0
    data = json.loads(out.read_text())
    assert data["boards"] == 1
    assert data["joints"] > 0
    assert 0.0 <= data["recall"] <= 1.0
    assert 0.0 <= data["precision"] <= 1.0
    assert set(data["per_type"]) == {"smd", "tht"}


def test_evaluate_refuses_a_missing_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["detector", "evaluate", str(tmp_path / "none")]) == 1
    assert "not a detector folder" in capsys.readouterr().err


def test_inspect_without_recipe_uses_the_detector(
    tiny_detector: tuple[Path, Path], tmp_path: Path
) -> None:
    from db import open_database
    from inference.image_io import load_image
    from inference.learned_detector import LearnedDetector

    folder, board = tiny_detector
    model = make_model_folder(tmp_path / "model")
    out = tmp_path / "out.json"
    db_file = tmp_path / "i.db"
    code = main(
        [
            "inspect",
            str(board),
            "--detector",
            str(folder),
            "--db",
            str(db_file),
            "--model",
            str(model),
            "--no-explain",
            "--json",
            str(out),
            "--artefacts",
            str(tmp_path / "art"),
            "--threads",
            "1",
        ]
    )
    assert code == 0
    data = json.loads(out.read_text())
    expected = LearnedDetector.from_folder(folder).detect(load_image(board).rgb)
    assert data["summary"]["done"] == 1
    assert data["summary"]["joints"] == len(expected.joints) > 0
    with open_database(db_file) as db:
        insp = db.inspections.list_inspections()[0]
        assert insp.n_joints == len(expected.joints)


def test_inspect_with_a_bad_detector_folder_fails_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = make_model_folder(tmp_path / "model")
    code = main(
        [
            "inspect",
            str(tmp_path / "x.png"),
            "--detector",
            str(tmp_path),
            "--db",
            str(tmp_path / "i.db"),
            "--model",
            str(model),
            "--no-explain",
        ]
    )
    assert code == 1
    assert "not a detector folder" in capsys.readouterr().err
