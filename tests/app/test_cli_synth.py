"""`soldernet synth joints|boards` end to end on tiny N, and its argument errors."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from app.commands import synth
from inference.datasets import read_manifest


def _run(argv: list[str]) -> int:
    # The synth parser alone: `app.cli.build_parser` imports every subcommand.
    parser = argparse.ArgumentParser(prog="soldernet")
    sub = parser.add_subparsers(dest="command")
    synth.add_parser(sub)
    args = parser.parse_args(["synth", *argv])
    return int(args.handler(args))


def test_synth_boards_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "boards"
    code = _run(
        [
            "boards",
            "--out",
            str(out),
            "--n",
            "2",
            "--seed",
            "4",
            "--size",
            "640x480",
            "--json",
            str(tmp_path / "s.json"),
        ]
    )
    assert code == 0
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("synth boards: wrote 2 boards")
    rows = read_manifest(out)
    assert len(rows) == 2
    assert sorted(p.name for p in (out / "recipes").iterdir()) == [
        "board_0000.json",
        "board_0001.json",
    ]
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["n"] == 2
    assert summary["n_joints"] > 0
    assert summary["size"] == [640, 480]


def test_synth_joints_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    pytest.importorskip("inference.synth", reason="joint renderer not present")
    from inference import synth as joint_synth

    if not hasattr(joint_synth, "generate_joint_dataset"):
        pytest.skip("joint renderer not present")
    out = tmp_path / "joints"
    code = _run(
        [
            "joints",
            "--out",
            str(out),
            "--n",
            "4",
            "--seed",
            "1",
            "--size",
            "64",
            "--json",
            str(tmp_path / "j.json"),
        ]
    )
    assert code == 0
    assert capsys.readouterr().out.startswith("synth joints: wrote 4 crops")
    assert len(read_manifest(out)) == 4
    assert json.loads((tmp_path / "j.json").read_text())["n"] == 4


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["joints", "--n", "0"], "--n must be a positive number"),
        (["joints", "--n", "-3"], "--n must be a positive number"),
        (["joints", "--n", "2", "--style", "nope"], "unknown style 'nope'"),
        (["joints", "--n", "2", "--size", "big"], "--size for joints"),
        (["boards", "--n", "1", "--style", "nope"], "unknown board style 'nope'"),
        (["boards", "--n", "1", "--size", "10x10"], "--size must be between"),
        (["boards", "--n", "1", "--defect-rate", "1.5"], "--defect-rate"),
    ],
)
def test_synth_bad_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture, argv: list[str], needle: str
) -> None:
    if argv[0] == "joints" and "--style" in argv:
        pytest.importorskip(
            "inference.synth.styles", reason="joint renderer not present"
        )
    code = _run([*argv, "--out", str(tmp_path / "o")])
    assert code == 2
    err = capsys.readouterr().err
    assert needle in err
    assert "Traceback" not in err


def test_synth_wired_into_main_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from app.cli import main

    code = main(
        [
            "synth",
            "boards",
            "--out",
            str(tmp_path / "b"),
            "--n",
            "1",
            "--size",
            "small",
            "--format",
            "png",
        ]
    )
    assert code == 0
    assert (tmp_path / "b" / "boards" / "board_0000.png").is_file()
    assert "synth boards: wrote 1 boards" in capsys.readouterr().out
