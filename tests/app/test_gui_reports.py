"""The Reports dashboard: KPI tiles against hand-computed figures, charts, exports
in a worker (CSV, XLSX, PDF) and the refusal for inspectors. Real SQLite file."""

from __future__ import annotations

import csv
import hashlib
import threading
from pathlib import Path

import openpyxl
import pytest

from app.screens.reports_screen import ExportDialog, ReportsScreen
from db import JointRecord
from inference.types import BBox

pytestmark = pytest.mark.gui

SUPERVISOR, SUPERVISOR_PIN = "Sue Supervisor", "8642"


def _seed(db, inspector) -> None:
    """Two boards (t_lo 0.2, t_hi 0.8) and three verdicts by the inspector.

    B1: 0.9 (defect region, open rework), 0.6 confirmed bridge 30 s,
        0.4 false call 12 s, 0.1 nothing
    B2: 0.5 false call 18 s, 0.05 nothing
    -> boards 2, joints 6, calls 4, confirmed 1, false calls 2,
       false-call PPM 2/6e-6 = 333,333, FPY 1/2, review 60 s = 1.0 min,
       agreement 2/3 (0.5 was a model "defect" called false).
    """
    for serial, ps in (("B1", [0.9, 0.6, 0.4, 0.1]), ("B2", [0.5, 0.05])):
        db.inspections.record_inspection(
            serial=serial,
            product="P1",
            image_path=f"/img/{serial}.png",
            image_sha256=hashlib.sha256(serial.encode()).hexdigest(),
            model_version="m-1",
            t_lo=0.2,
            t_hi=0.8,
            joints=[
                JointRecord(BBox(10 * i, 0, 8, 8), p, refdes=f"R{i + 1}")
                for i, p in enumerate(ps)
            ],
        )
    by_p = {round(item.p, 2): item.joint_id for item in db.review.queue()}
    db.review.record_verdict(
        by_p[0.6],
        user=inspector,
        verdict="confirmed_defect",
        defect_code="bridge",
        seconds_spent=30,
    )
    db.review.record_verdict(
        by_p[0.4], user=inspector, verdict="false_call", seconds_spent=12
    )
    db.review.record_verdict(
        by_p[0.5], user=inspector, verdict="false_call", seconds_spent=18
    )


@pytest.fixture
def supervisor_dashboard(qtbot, main_window, admin_user, log_in):
    """A supervisor logged in, the seeded period shown on the Reports tab."""
    s = main_window()
    s.db.users.create_user(SUPERVISOR, "supervisor", SUPERVISOR_PIN, actor=admin_user)
    ivan = s.db.users.create_user("Ivan", "inspector", "1357", actor=admin_user)
    s.shell.start()
    log_in(s, SUPERVISOR, SUPERVISOR_PIN)
    screen: ReportsScreen = s.window.screens[3]
    s.window.tabs.setCurrentWidget(screen)
    assert screen.stack.currentIndex() == screen.PAGE_FIGURES
    qtbot.waitUntil(lambda: screen.report is not None, timeout=10_000)
    _seed(s.db, ivan)  # inside the supervisor's open shift
    qtbot.waitUntil(lambda: not s.station.reports.busy, timeout=10_000)
    with qtbot.waitSignal(s.station.reports.view_ready, timeout=10_000):
        screen.refresh_button.click()
    qtbot.waitUntil(lambda: not s.station.reports.busy, timeout=10_000)
    return s, screen


def test_gui_supervisor_sees_hand_computed_kpis_and_charts(supervisor_dashboard):
    _s, screen = supervisor_dashboard
    shown = {key: tile.value_label.text() for key, tile in screen.tiles.items()}
    assert shown == {
        "boards": "2",
        "joints": "6",
        "calls": "4",
        "confirmed": "1",
        "false_calls": "2",
        "false_call_ppm": "333,333",
        "fpy": "50.0%",
        "review_minutes": "1.0",
        "agreement": "66.7%",
    }
    for view in screen.charts.values():
        assert not view.image.isNull()
        assert view.image.width() > 200
    assert screen.model.rowCount() > 20
    assert all(b.isEnabled() for b in screen.export_buttons.values())


def test_gui_exports_run_in_a_worker_and_write_valid_files(
    qtbot, supervisor_dashboard, tmp_path: Path, monkeypatch
):
    import app.reports
    import app.reports.pdf

    s, screen = supervisor_dashboard
    threads: list[bool] = []

    def on_gui_thread(fn):
        def wrapper(*args, **kwargs):
            threads.append(threading.current_thread() is threading.main_thread())
            return fn(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(
        app.reports, "write_report", on_gui_thread(app.reports.write_report)
    )
    monkeypatch.setattr(
        app.reports.pdf, "write_pdf", on_gui_thread(app.reports.pdf.write_pdf)
    )
    out = tmp_path / "exports"
    out.mkdir()
    for suffix in (".csv", ".xlsx", ".pdf"):
        target = out / f"shift{suffix}"
        monkeypatch.setattr(
            ExportDialog, "ask", classmethod(lambda cls, *a, t=target: t)
        )
        qtbot.waitUntil(screen.export_buttons[suffix].isEnabled, timeout=10_000)
        with qtbot.waitSignal(s.station.reports.exported, timeout=15_000) as blocker:
            screen.export_buttons[suffix].click()
        assert blocker.args == [str(target)]
        assert screen.note_label.text() == f"Saved {target}"

    rows = list(csv.DictReader((out / "shift.csv").read_text().splitlines()))
    summary = {r["metric"]: r["value"] for r in rows if r["section"] == "summary"}
    assert (summary["joints_inspected"], summary["false_calls"]) == ("6", "2")
    wb = openpyxl.load_workbook(out / "shift.xlsx")
    assert wb.sheetnames[:3] == ["Summary", "Pareto by code", "Pareto by refdes"]
    pdf = (out / "shift.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    assert threads == [False, False, False]
    exported = s.db.audit.entries(action="report_exported")
    assert {e.details["format"] for e in exported} == {"csv", "xlsx", "pdf"}


def test_gui_cancelled_save_dialog_exports_nothing(
    qtbot, supervisor_dashboard, monkeypatch
):
    s, screen = supervisor_dashboard
    monkeypatch.setattr(ExportDialog, "ask", classmethod(lambda cls, *a: None))
    screen.export_buttons[".pdf"].click()
    qtbot.wait(50)
    assert s.station.runner.active_count == 0
    assert not s.db.audit.entries(action="report_exported")


def test_gui_date_range_and_shift_picker(qtbot, supervisor_dashboard):
    s, screen = supervisor_dashboard
    screen.mode_combo.setCurrentIndex(screen.MODE_RANGE)
    qtbot.waitUntil(lambda: not s.station.reports.busy, timeout=10_000)
    assert screen.from_edit.isVisible()
    assert not screen.shift_combo.isVisible()
    with qtbot.waitSignal(s.station.reports.view_ready, timeout=10_000):
        screen.refresh_button.click()
    assert screen.report.shift_id is None
    assert screen.tiles["joints"].value_label.text() == "6"
    screen.mode_combo.setCurrentIndex(screen.MODE_SHIFT)
    qtbot.waitUntil(lambda: screen.shift_combo.count() >= 1, timeout=10_000)
    assert screen.shift_combo.currentData() == s.station.session.session.shift.id


def test_gui_inspector_is_told_reports_need_a_supervisor(
    qtbot, main_window, admin_user, log_in
):
    s = main_window()
    s.db.users.create_user("Ivan", "inspector", "1357", actor=admin_user)
    s.shell.start()
    log_in(s, "Ivan", "1357")
    screen = s.window.screens[3]
    assert screen.stack.currentIndex() == screen.PAGE_NOT_ALLOWED
    assert screen.report is None
    qtbot.wait(50)
    assert not s.db.audit.entries(action="report_generated")
