"""`soldernet inspect`: boards, JSON summary, bad files, missing model, --watch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from app.cli import build_parser, main
from db import open_database
from tests.pipeline_fixtures import DEMO_BOARDS, demo_recipe, make_model_folder

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_model_folder(tmp_path_factory.mktemp("model") / "m")


def test_parser_has_the_inspect_options() -> None:
    args = build_parser().parse_args(
        [
            "inspect",
            "a.jpg",
            "--model",
            "m",
            "--force",
            "--no-explain",
            "--serial",
            "SN1",
            "--product",
            "P",
            "--user",
            "ada",
            "--watch",
            "dir",
            "--json",
            "o",
        ]
    )
    assert (args.model, args.force, args.explain, args.serial) == (
        "m",
        True,
        False,
        "SN1",
    )
    assert (args.product, args.user, args.watch, args.json) == ("P", "ada", "dir", "o")


def test_one_board_json_has_per_region_counts(
    model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    board = DEMO_BOARDS[0]
    out = tmp_path / "out.json"
    db_file = tmp_path / "i.db"
    code = main(
        [
            "inspect",
            str(board),
            "--recipe",
            str(demo_recipe(board)),
            "--db",
            str(db_file),
            "--json",
            str(out),
            "--model",
            str(model_dir),
            "--max-explanations",
            "1",
            "--artefacts",
            str(tmp_path / "art"),
        ]
    )
    text = capsys.readouterr().out
    assert code == 0, text
    data = json.loads(out.read_text())
    [b] = data["boards"]
    assert b["status"] == "done"
    assert b["serial"] == board.stem
    assert set(b["regions"]) == {"defect", "possible_defect", "non_defect"}
    assert sum(b["regions"].values()) == b["n_joints"] > 100
    assert b["n_explained"] == 1
    assert data["summary"]["regions"] == b["regions"]
    assert data["summary"]["done"] == 1
    assert data["summary"]["failed"] == 0
    assert "joints" in text
    assert "possible_defect" in text
    with open_database(db_file) as db:
        [insp] = db.inspections.list_inspections()
        assert insp.n_joints == b["n_joints"]
        assert insp.model_version == "test-1"
    # again: skipped (exit 0); --force redoes it
    assert (
        main(
            [
                "inspect",
                str(board),
                "--recipe",
                str(demo_recipe(board)),
                "--db",
                str(db_file),
                "--model",
                str(model_dir),
                "--no-explain",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    assert json.loads(out.read_text())["boards"][0]["status"] == "skipped"
    assert (
        main(
            [
                "inspect",
                str(board),
                "--recipe",
                str(demo_recipe(board)),
                "--db",
                str(db_file),
                "--model",
                str(model_dir),
                "--no-explain",
                "--force",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    assert json.loads(out.read_text())["boards"][0]["status"] == "done"


def test_bad_file_fails_alone_and_exit_is_1(
    model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    board = DEMO_BOARDS[1]
    out = tmp_path / "o.json"
    code = main(
        [
            "inspect",
            str(bad),
            str(board),
            "--recipe",
            str(demo_recipe(board)),
            "--db",
            str(tmp_path / "i.db"),
            "--model",
            str(model_dir),
            "--no-explain",
            "--json",
            str(out),
        ]
    )
    assert code == 1
    assert "bad.jpg" in capsys.readouterr().err
    data = json.loads(out.read_text())
    assert [b["status"] for b in data["boards"]] == ["failed", "done"]


def test_missing_model_and_missing_recipe_are_clear(
    model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lonely = tmp_path / "lonely.jpg"
    shutil.copy(DEMO_BOARDS[0], lonely)
    db = str(tmp_path / "i.db")
    assert main(["inspect", str(lonely), "--db", db]) == 1  # no default model
    assert "model" in capsys.readouterr().err
    assert (
        main(["inspect", str(lonely), "--db", db, "--model", str(tmp_path / "nope")])
        == 1
    )
    assert "nope" in capsys.readouterr().err
    assert main(["inspect", str(lonely), "--db", db, "--model", str(model_dir)]) == 1
    assert "--detector FOLDER" in capsys.readouterr().err


def test_watch_once_claims_every_file_once(model_dir: Path, tmp_path: Path) -> None:
    watch = tmp_path / "watch"
    (watch / "recipes").mkdir(parents=True)
    for b in DEMO_BOARDS[:2]:
        shutil.copy(b, watch / b.name)
        shutil.copy(demo_recipe(b), watch / "recipes" / f"{b.stem}.json")
    db_file = tmp_path / "w.db"
    out = tmp_path / "w.json"
    common = [
        "--db",
        str(db_file),
        "--model",
        str(model_dir),
        "--no-explain",
        "--settle",
        "0",
        "--once",
        "--json",
        str(out),
    ]
    assert main(["inspect", "--watch", str(watch), "--station", "A", *common]) == 0
    data = json.loads(out.read_text())
    assert [b["status"] for b in data["boards"]] == ["done", "done"]
    # a second station finds nothing left to claim
    assert main(["inspect", "--watch", str(watch), "--station", "B", *common]) == 0
    assert json.loads(out.read_text())["boards"] == []
    from db.services.claims import ClaimService

    with open_database(db_file) as db:
        claims = ClaimService(db.sessions, db.read_sessions).list_claims()
    assert [(Path(c.path).name, c.status, c.station_id) for c in claims] == [
        (DEMO_BOARDS[0].name, "done", "A"),
        (DEMO_BOARDS[1].name, "done", "A"),
    ]
