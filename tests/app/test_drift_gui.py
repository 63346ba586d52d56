"""The drift alarm on the Reports tab: banner, charts, window picker (offscreen)."""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from app.screens.reports_screen import ReportsScreen
from app.widgets.drift_panel import alarm_text
from db import JointRecord
from db.models import Inspection
from inference.types import BBox

pytestmark = pytest.mark.gui

ENGINEER, ENGINEER_PIN = "Erin Engineer", "9753"


def _board(
    db: Any, serial: str, ps: list[float], when: datetime, image: str = ""
) -> list[int]:
    dto = db.inspections.record_inspection(
        serial=serial,
        product="P1",
        image_path=image or f"/img/{serial}.png",
        image_sha256=hashlib.sha256(serial.encode()).hexdigest(),
        model_version="m-1",
        t_lo=0.2,
        t_hi=0.8,
        joints=[
            JointRecord(BBox(10 * i, 0, 8, 8), p, refdes=f"R{i + 1}")
            for i, p in enumerate(ps)
        ],
    )
    with db.sessions.begin() as s:
        s.execute(
            update(Inspection).where(Inspection.id == dto.id).values(finished_at=when)
        )
    return db.inspections.joint_ids(dto.id)


def seed_drift(
    db: Any, actor: Any, inspector: Any, now: datetime, image: str = ""
) -> None:
    """Two weeks of a line whose review-band rate jumps in the newest shift.

    Reference: 10 boards 5 days back, 40 joints each, 4 in the review band
    (rate 0.10); then 3 such boards per 8 h for 12 shifts; the newest shift: 5
    boards with 18 of 40 in the band (0.45). Inspectors call 3 of 4 in-band joints
    false (the fourth confirmed). `image`: a real board image for every board.
    """
    normal = [0.05] * 18 + [0.1] * 18 + [0.45] * 4
    start = now - timedelta(days=5)
    ref_ids: list[list[int]] = []
    for i in range(10):
        ref_ids.append(
            _board(db, f"REF{i}", normal, start + timedelta(minutes=i), image)
        )
    db.drift.set_reference(
        "m-1",
        start - timedelta(minutes=1),
        start + timedelta(minutes=30),
        actor=actor,
        note="accepted after the line trial",
    )
    boards = list(ref_ids)
    for k in range(12, 0, -1):
        for i in range(3):
            when = now - timedelta(hours=8 * k) + timedelta(minutes=i)
            boards.append(_board(db, f"N{k}-{i}", normal, when, image))
    jump = [0.05] * 11 + [0.1] * 11 + [0.45] * 18
    for i in range(5):
        boards.append(_board(db, f"J{i}", jump, now - timedelta(minutes=5 - i), image))
    for ids in boards:
        band = ids[-4:]
        for j in band[:3]:
            db.review.record_verdict(j, user=inspector, verdict="false_call")
        db.review.record_verdict(band[3], user=inspector, verdict="confirmed_defect")


@pytest.fixture
def drift_dashboard(qtbot, main_window, admin_user, log_in):
    s = main_window()
    s.db.users.create_user(ENGINEER, "engineer", ENGINEER_PIN, actor=admin_user)
    ivan = s.db.users.create_user("Ivan", "inspector", "1357", actor=admin_user)
    seed_drift(s.db, admin_user, ivan, datetime.now(UTC))
    s.shell.start()
    with qtbot.waitSignal(s.station.reports.drift_ready, timeout=15_000):
        log_in(s, ENGINEER, ENGINEER_PIN)
    screen: ReportsScreen = s.window.screens[3]
    s.window.tabs.setCurrentWidget(screen)
    qtbot.waitUntil(lambda: not s.station.reports.busy, timeout=15_000)
    return s, screen


def test_gui_banner_names_the_chart_and_the_shift(qtbot, drift_dashboard):
    _s, screen = drift_dashboard
    banner = screen.drift_banner
    assert banner.isVisible()
    text = banner.label.text()
    assert text.startswith("Drift alarm (m-1): ")
    # p-bar 0.1, every reference board alike (phi 1), n 200, n_ref 400:
    # UCL = 0.1 + 3 sqrt(0.09 (1/200 + 1/400)) = 0.178.
    assert "review-band rate 45.0% above UCL 17.8%" in text
    assert "confidence PSI" in text
    assert "in shift 20" in text
    assert "check the camera, lighting and focus" in text
    report = screen.drift_panel.report
    assert report.alarming
    assert alarm_text(report) == text
    # The window before the jump is in control.
    assert report.windows[-2].alarms == []
    assert not screen.drift_panel.chart.image.isNull()
    assert "(set by Ada Admin, 400 joints)" in screen.drift_panel.summary.text()
    assert screen.drift_panel.alarms.text().startswith("ALARM in ")
    # The banner's button opens the Drift tab.
    assert screen.detail_tabs.currentWidget() is not screen.drift_panel
    banner.button.click()
    assert screen.detail_tabs.currentWidget() is screen.drift_panel


def test_gui_drift_runs_off_the_gui_thread_and_switches_windows(
    qtbot, drift_dashboard, monkeypatch
):
    import app.controllers.report_controller as rc

    s, screen = drift_dashboard
    threads: list[bool] = []
    original = rc._drift_view

    def spy(*args: Any) -> Any:
        threads.append(threading.current_thread() is threading.main_thread())
        return original(*args)

    monkeypatch.setattr(rc, "_drift_view", spy)
    with qtbot.waitSignal(s.station.reports.drift_ready, timeout=15_000) as blocker:
        screen.drift_panel.window_combo.setCurrentIndex(1)
    assert threads == [False]
    view = blocker.args[0]
    assert view.report.window_kind == "boards"
    # 51 boards in windows of 50: the newest window is still filling.
    assert [w.label for w in view.report.windows] == ["boards 1–50", "boards 51–51"]
    assert screen.drift_panel.report is view.report


def test_gui_no_banner_without_an_alarm(qtbot, main_window, admin_user, log_in):
    s = main_window()
    s.db.users.create_user(ENGINEER, "engineer", ENGINEER_PIN, actor=admin_user)
    s.shell.start()
    with qtbot.waitSignal(s.station.reports.drift_ready, timeout=15_000) as blocker:
        log_in(s, ENGINEER, ENGINEER_PIN)
    screen: ReportsScreen = s.window.screens[3]
    assert blocker.args[0].report.model_version is None
    assert not screen.drift_banner.isVisible()
    assert "nothing to chart" in screen.drift_panel.summary.text()
