"""The `soldernet` parser: every subcommand of product.md §7, cheap to build."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from app.cli import COMMANDS, EXIT_USAGE, build_parser, main

PRODUCT_SUBCOMMANDS = {
    "gui",
    "synth",
    "train",
    "evaluate",
    "compare",
    "explain",
    "xai-eval",
    "soxai",
    "inspect",
    "report",
    "export-verified",
    "db",
}


def test_every_product_subcommand_is_registered() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    # product.md §7's commands, plus the field loop's (models, drift, vigilance).
    assert PRODUCT_SUBCOMMANDS <= set(sub.choices)
    assert set(COMMANDS) == set(sub.choices)


def test_help_lists_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for name in PRODUCT_SUBCOMMANDS:
        assert name in out


def test_building_the_parser_imports_neither_qt_nor_torch() -> None:
    """Headless commands and `--help` must start fast: heavy imports happen in run()."""
    code = (
        "import sys, json; from app.cli import build_parser; build_parser(); "
        "print(json.dumps([m for m in ('PySide6', 'torch', 'cv2', 'sqlalchemy') "
        "if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == []


def test_unknown_subcommand_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == EXIT_USAGE
    assert "invalid choice" in capsys.readouterr().err
