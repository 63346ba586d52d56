"""The Rework tab end to end: a technician records outcomes and completes a board;
other roles get the database's refusal shown clearly."""

from __future__ import annotations

import pytest

from app.models.rework_model import COL_BOARD, ReworkModel
from tests.app._seed import INSPECTOR, TECHNICIAN, seed_station

pytestmark = pytest.mark.gui

REVIEW_TAB, REWORK_TAB = 1, 2


@pytest.fixture
def rework(qtbot, main_window, log_in, tmp_path):
    """Seed (model calls plus one confirmed defect per board), log in, open Rework."""

    def open_rework(user=TECHNICIAN):
        s = main_window()
        seeded = seed_station(s.db, tmp_path / "files", confirmed_per_board=1)
        s.shell.start()
        log_in(s, *user)
        s.window.tabs.setCurrentIndex(REWORK_TAB)
        screen = s.window.screens[REWORK_TAB]
        qtbot.waitUntil(lambda: screen.model.rowCount() == seeded.n_rework)
        qtbot.waitUntil(lambda: screen.current_item is not None)
        qtbot.waitUntil(lambda: screen.joint_view.has_overlay, timeout=10_000)
        return s, screen, seeded

    return open_rework


def test_gui_rework_technician_repairs_refutes_and_completes_board(qtbot, rework):
    s, screen, seeded = rework()
    assert seeded.n_rework == 6
    model: ReworkModel = screen.model
    # Grouped by board: the serial is written on the first row of each board only.
    serials = [model.index(r, COL_BOARD).data() for r in range(model.rowCount())]
    assert [x for x in serials if x] == ["SN-02401", "SN-02402"]
    assert "Inspector's note" in screen.inspector_note_label.text()
    qtbot.waitUntil(lambda: screen.board_view.loaded_path.endswith("SN-02401.png"))
    assert screen.board_view.marker_count() == 3

    board_id = screen.current_item.board_id
    first = screen.current_item
    screen.note_edit.setText("reflowed")
    with qtbot.waitSignal(screen._controller.outcome_saved, timeout=10_000):
        screen.outcome_buttons["repaired"].click()
    qtbot.waitUntil(lambda: model.rowCount() == 5)
    done = {i.id: i for i in s.db.rework.items(board_id=board_id)}
    assert done[first.id].status == "repaired"
    assert done[first.id].note == "reflowed"
    assert done[first.id].technician_name == TECHNICIAN[0]
    assert "Repaired" in screen.status_label.text()

    # Completing a board with open items is refused, and says so.
    qtbot.waitUntil(lambda: not screen._controller.is_busy)
    with qtbot.waitSignal(screen._controller.action_failed, timeout=10_000):
        screen.complete_button.click()
    assert "open rework item" in screen.status_label.text()
    assert screen.status_label.text().startswith("⚠")

    qtbot.waitUntil(lambda: screen.current_item is not None)
    qtbot.waitUntil(lambda: not screen._controller.is_busy)
    second = screen.current_item
    assert second.board_id == board_id
    with qtbot.waitSignal(screen._controller.outcome_saved, timeout=10_000):
        screen.outcome_buttons["not_a_defect"].click()
    qtbot.waitUntil(lambda: model.rowCount() == 4)
    statuses = {i.id: i.status for i in s.db.rework.items(board_id=board_id)}
    assert statuses[second.id] == "not_a_defect"

    while any(i.board_id == board_id for i in model._items):
        qtbot.waitUntil(lambda: not screen._controller.is_busy)
        row = next(
            r for r in range(model.rowCount()) if model.item(r).board_id == board_id
        )
        screen.table.selectRow(row)
        n = model.rowCount()
        with qtbot.waitSignal(screen._controller.outcome_saved, timeout=10_000):
            screen.outcome_buttons["scrapped"].click()
        qtbot.waitUntil(lambda n=n: model.rowCount() == n - 1)
    # Show every item (done ones too) to pick the finished board again.
    screen.open_only_check.setChecked(False)
    qtbot.waitUntil(lambda: model.rowCount() == 6)
    screen.table.selectRow(0)
    assert screen.current_item.board_id == board_id
    qtbot.waitUntil(lambda: not screen._controller.is_busy)
    with qtbot.waitSignal(screen._controller.board_completed, timeout=10_000):
        screen.complete_button.click()
    assert s.db.inspections.get_board(board_id).reinspection_requested_at is not None
    assert "re-inspection" in screen.status_label.text()


def test_gui_rework_inspector_is_refused_clearly(qtbot, rework):
    s, screen, _seeded = rework(user=INSPECTOR)
    assert screen.role_hint.isVisible()
    item = screen.current_item
    with qtbot.waitSignal(screen._controller.action_failed, timeout=10_000):
        screen.outcome_buttons["repaired"].click()
    text = screen.status_label.text()
    assert "Not allowed for your role (inspector)" in text
    assert s.station.presenter.last_error.kind == "PermissionDeniedError"
    statuses = {i.id: i.status for i in s.db.rework.items()}
    assert statuses[item.id] == "open"


def test_gui_review_tab_is_not_for_technicians(qtbot, rework):
    s, _screen, _seeded = rework()
    review = s.window.screens[REVIEW_TAB]
    assert review.stack.currentIndex() == review.PAGE_NOT_ALLOWED


def test_gui_rework_model_passes_modeltester(qtmodeltester, main_window, tmp_path):
    s = main_window()
    seed_station(s.db, tmp_path / "files", confirmed_per_board=1)
    model = ReworkModel()
    model.set_items(s.db.rework.items())
    qtmodeltester.check(model)
    assert model.rowCount() == 6
