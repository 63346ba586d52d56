"""The PDF report and the report charts: pure functions of the DTO (no DB, no Qt),
plus `soldernet report --out x.pdf` end to end."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.commands import report as report_command
from app.reports import write_report
from app.reports.charts import CHART_NAMES, chart_pngs
from app.reports.pdf import describe_period, format_value, write_pdf
from db import InspectorRow, JointRecord, Role, ShiftReport, open_database
from inference.types import BBox

T0 = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _report(**changes) -> ShiftReport:
    values = {
        "period_start": T0,
        "period_end": T1,
        "shift_id": 3,
        "boards_inspected": 4,
        "joints_inspected": 15,
        "calls": 9,
        "reviewed": 7,
        "confirmed_defects": 4,
        "false_calls": 3,
        "process_indicators": 1,
        "skipped": 1,
        "pending_calls": 2,
        "false_call_ppm": 200000.0,
        "false_call_ratio": 1 / 3,
        "model_escapes": 1,
        "operator_escapes": 1,
        "model_escape_ppm": 66666.7,
        "operator_escape_ppm": 66666.7,
        "dpmo": 266666.7,
        "fpy": 0.25,
        "review_seconds_total": 30.0,
        "review_seconds_per_call": 30 / 7,
        "calls_per_board": 2.25,
        "operator_model_agreement": None,
        "pareto_by_code": [("bridge", 2), ("cold_joint", 1), ("uncoded", 1)],
        "pareto_by_refdes": [("R1", 2), ("Q1", 1), ("R2", 1)],
        "per_inspector": [
            InspectorRow("alice", 3, 1, 2, 0, 0, 19.0, 19 / 3, 2 / 3),
            InspectorRow("bob", 2, 0, 0, 1, 1, 3.0, 1.5, None),
        ],
        "generated_at": T1,
        "generated_by": "sue",
    }
    values.update(changes)
    return ShiftReport(**values)


def _page_count(pdf: bytes) -> int:
    """Pages of a PDF by its page objects (`/Type /Page`, not `/Pages`)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def test_pdf_is_valid_with_title_charts_and_inspector_pages(tmp_path: Path):
    path = write_pdf(_report(), tmp_path / "shift.pdf", station="Line 2")
    data = path.read_bytes()
    assert data.startswith(b"%PDF")
    assert data.rstrip().endswith(b"%%EOF")
    assert _page_count(data) == 3
    assert not list(tmp_path.glob(".*.tmp"))  # no temp file left behind


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_pdf_text_has_the_figures_and_page_numbers(tmp_path: Path):
    path = write_pdf(_report(), tmp_path / "shift.pdf", station="Line 2")
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for needle in (
        "Shift #3, 2026-11-28 06:00 UTC to 2026-11-28 14:00 UTC",
        "Line 2",
        "200,000",  # false-call PPM
        "25.0%",  # FPY
        "0.5 min",  # review time
        "page 1 of 3",
        "page 3 of 3",
        "alice",
        "66.7%",  # alice's agreement
    ):
        assert needle in text, needle


def test_pdf_of_an_empty_period_still_renders(tmp_path: Path):
    empty = _report(
        calls=0,
        confirmed_defects=0,
        false_calls=0,
        pareto_by_code=[],
        pareto_by_refdes=[],
        per_inspector=[],
        fpy=None,
    )
    data = write_report(empty, tmp_path / "empty.pdf").read_bytes()
    assert data.startswith(b"%PDF")
    assert _page_count(data) >= 2


def test_many_inspectors_continue_on_more_pages(tmp_path: Path):
    rows = [InspectorRow(f"u{i}", 1, 1, 0, 0, 0, 1.0, 1.0, 1.0) for i in range(45)]
    data = write_pdf(_report(per_inspector=rows), tmp_path / "r.pdf").read_bytes()
    assert _page_count(data) == 4


def test_chart_pngs_are_png_bytes():
    pngs = chart_pngs(_report(), dpi=50)
    assert set(pngs) == set(CHART_NAMES)
    for data in pngs.values():
        assert data.startswith(PNG_MAGIC)
        assert len(data) > 1000


def test_pareto_keeps_ten_bars_and_sums_the_rest():
    from app.reports.charts import _top

    items = [(f"R{i}", 20 - i) for i in range(14)]
    top = _top(items, 10)
    assert len(top) == 10
    assert top[0] == ("R0", 20)
    assert top[-1] == ("other (5)", sum(20 - i for i in range(9, 14)))


def test_format_and_period_texts():
    assert format_value(None, "pct") == "n/a"
    assert format_value(1234567.4, "ppm") == "1,234,567"
    assert format_value(0.25, "pct") == "25.0%"
    assert format_value(90, "minutes") == "1.5 min"
    assert describe_period(_report(shift_id=None)).startswith("2026-11-28 06:00 UTC")


def test_cli_report_writes_a_pdf(
    db_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    with open_database(db_path) as db:
        admin = db.users.create_user("admin", Role.ADMIN, "123456", actor=None)
        db.users.create_user("sue", Role.SUPERVISOR, "2468", actor=admin)
        db.inspections.record_inspection(
            serial="B1",
            product="P1",
            image_path="/b.png",
            image_sha256="0" * 64,
            model_version="m",
            t_lo=0.2,
            t_hi=0.8,
            joints=[
                JointRecord(BBox(0, 0, 5, 5), p, refdes=f"R{i}")
                for i, p in enumerate([0.9, 0.5, 0.1])
            ],
        )
    parser = argparse.ArgumentParser(prog="soldernet")
    report_command.add_parser(parser.add_subparsers(dest="command"))
    out = tmp_path / "x.pdf"
    today = datetime.now(UTC).date().isoformat()
    monkeypatch.setenv("SOLDERNET_PIN", "2468")
    argv = ["report", "--db", str(db_path), "--out", str(out), "--from", today]
    args = parser.parse_args([*argv, "--user", "sue"])
    assert args.handler(args) == 0, capsys.readouterr().err
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    assert _page_count(data) >= 2
    with open_database(db_path) as db:
        (entry,) = db.audit.entries(action="report_exported")
    assert entry.details["format"] == "pdf"
