"""The Review tab end to end: a real SQLite file seeded with boards, joints, crops and
explanations; the inspector works the queue from the keyboard."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt

from app.controllers.review_controller import QueuePage
from app.models.review_queue_model import ReviewQueueModel
from app.widgets.defect_code_picker import DIGIT_CODES
from db import DatabaseLockedError, ReviewFilter
from tests.app._seed import INSPECTOR, seed_station

pytestmark = pytest.mark.gui

REVIEW_TAB = 1


class _Proxy:
    """Wraps the review service: records the thread of each call, can make one fail."""

    def __init__(self, target, calls: list[tuple[str, bool]], fail: set[str]) -> None:
        self._target, self._calls, self.fail = target, calls, fail

    def __getattr__(self, name):
        attr = getattr(self._target, name)
        if not callable(attr):
            return attr

        def wrapper(*args, **kwargs):
            on_gui = threading.current_thread() is threading.main_thread()
            self._calls.append((name, on_gui))
            if name in self.fail:
                msg = "the database inspection.db is locked by another program"
                raise DatabaseLockedError(msg)
            return attr(*args, **kwargs)

        return wrapper


@pytest.fixture
def review(qtbot, main_window, log_in, tmp_path):
    """Seed, log in as the inspector, open the Review tab; wait for the first joint."""

    def open_review(**seed_kwargs):
        s = main_window()
        seeded = seed_station(s.db, tmp_path / "files", **seed_kwargs)
        calls: list[tuple[str, bool]] = []
        proxy = _Proxy(s.db.review, calls, set())
        s.db.review = proxy
        s.shell.start()
        log_in(s, *INSPECTOR)
        s.window.tabs.setCurrentIndex(REVIEW_TAB)
        screen = s.window.screens[REVIEW_TAB]
        s.window.activateWindow()
        qtbot.waitActive(s.window)
        screen.table.setFocus()
        qtbot.waitUntil(lambda: screen.current_item is not None, timeout=10_000)
        qtbot.waitUntil(lambda: screen.joint_view.has_overlay, timeout=10_000)
        return s, screen, seeded, proxy, calls

    return open_review


def _key(qtbot, screen, key, modifier=Qt.KeyboardModifier.NoModifier):
    qtbot.keyClick(screen.table, key, modifier)


def test_gui_review_queue_false_call_advances_and_counts(qtbot, review):
    s, screen, seeded, _proxy, calls = review()
    assert screen.model.rowCount() == seeded.n_review == 8
    first = screen.current_item
    assert first.p == max(screen.model.item(r).p for r in range(8))
    assert "drops P(defect) from" in screen.explanation_label.text()
    assert f"{first.p:.2f}" in screen.confidence_label.text()
    qtbot.waitUntil(lambda: screen.reference_caption.text().startswith(first.package))
    qtbot.waitUntil(lambda: screen.board_view.loaded_path == first.board_image_path)
    assert screen.board_view.marker_count() == 4  # the board's queued joints
    second = screen.model.item(1)
    qtbot.waitUntil(
        lambda: screen._controller.cached_detail(second.joint_id) is not None
    )

    with qtbot.waitSignal(screen._controller.verdict_saved, timeout=10_000):
        _key(qtbot, screen, Qt.Key.Key_F)
    # Advanced at once to the prefetched next joint.
    assert screen.current_item.joint_id == second.joint_id
    assert screen.joint_view.has_overlay
    assert screen.model.rowCount() == 7
    verdict = s.db.review.current_verdict(first.joint_id)
    assert verdict.verdict == "false_call"
    assert verdict.seconds_spent is not None
    assert verdict.seconds_spent >= 0
    qtbot.waitUntil(lambda: screen.queue_counter.text() == "Left in queue: 7")
    qtbot.waitUntil(lambda: screen.shift_counter.text() == "Reviewed this shift: 1")
    qtbot.waitUntil(lambda: screen.board_counter.text() == "Left on this board: 3")
    # Every review-service call of the screen ran on the pool (the test's own
    # `current_verdict` check above is the only GUI-thread call).
    assert [name for name, on_gui in calls if on_gui] == ["current_verdict"]


def test_gui_review_defect_code_undo_and_skip(qtbot, review):
    s, screen, _seeded, _proxy, _calls = review()
    first = screen.current_item
    _key(qtbot, screen, Qt.Key.Key_D)
    assert screen.panel.picking_code
    with qtbot.waitSignal(screen._controller.verdict_saved, timeout=10_000) as saved:
        _key(qtbot, screen, Qt.Key.Key_2)
    assert saved.args[0].defect_code == DIGIT_CODES[1]
    assert saved.args[0].ipc_class == 2
    assert not screen.panel.picking_code
    assert screen.current_item.joint_id != first.joint_id
    assert s.db.review.current_verdict(first.joint_id).verdict == "confirmed_defect"
    assert any(i.joint_id == first.joint_id for i in s.db.rework.items(status="open"))

    with qtbot.waitSignal(screen._controller.verdict_undone, timeout=10_000):
        _key(qtbot, screen, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert screen.current_item.joint_id == first.joint_id
    assert screen.model.rowCount() == 8
    assert s.db.review.current_verdict(first.joint_id) is None
    actions = [e.action for e in s.db.audit.entries()]
    assert "verdict_undone" in actions
    qtbot.waitUntil(lambda: screen.shift_counter.text() == "Reviewed this shift: 0")

    with qtbot.waitSignal(screen._controller.verdict_saved, timeout=10_000):
        _key(qtbot, screen, Qt.Key.Key_S)
    assert s.db.review.current_verdict(first.joint_id).verdict == "skipped"
    assert screen.model.row_of(first.joint_id) == -1
    qtbot.waitUntil(lambda: screen.queue_counter.text() == "Left in queue: 7")


def test_gui_review_view_keys_zoom_overlay_and_arrows(qtbot, review):
    _s, screen, _seeded, _proxy, _calls = review()
    assert screen.joint_view.overlay_visible
    _key(qtbot, screen, Qt.Key.Key_Space)
    assert not screen.joint_view.overlay_visible
    _key(qtbot, screen, Qt.Key.Key_Space)
    assert screen.joint_view.overlay_visible
    fit = screen.joint_view.scale_factor()
    _key(qtbot, screen, Qt.Key.Key_Plus)
    assert screen.joint_view.scale_factor() > fit
    _key(qtbot, screen, Qt.Key.Key_0)
    assert screen.joint_view.scale_factor() == pytest.approx(fit)
    first = screen.current_item
    _key(qtbot, screen, Qt.Key.Key_Right)
    assert screen.current_item.joint_id == screen.model.item(1).joint_id
    _key(qtbot, screen, Qt.Key.Key_Left)
    assert screen.current_item.joint_id == first.joint_id


def test_gui_review_failed_save_keeps_joint_and_shows_error(qtbot, review):
    s, screen, _seeded, proxy, _calls = review()
    first = screen.current_item
    proxy.fail.add("record_verdict")
    with qtbot.waitSignal(screen._controller.verdict_failed, timeout=10_000):
        _key(qtbot, screen, Qt.Key.Key_F)
    assert screen.current_item.joint_id == first.joint_id
    assert screen.model.rowCount() == 8
    assert screen.panel.status_label.isVisible()
    assert "Not saved" in screen.panel.status_label.text()
    assert "locked" in screen.panel.status_label.text()
    assert s.station.presenter.last_error.kind == "DatabaseLockedError"
    assert "locked" in s.window.statusBar().currentMessage()
    assert s.db.review.current_verdict(first.joint_id) is None

    proxy.fail.clear()  # the database is back: the same key saves it
    with qtbot.waitSignal(screen._controller.verdict_saved, timeout=10_000):
        _key(qtbot, screen, Qt.Key.Key_F)
    assert s.db.review.current_verdict(first.joint_id).verdict == "false_call"


def test_gui_review_lazy_fetch_loads_pages(qtbot, review):
    _s, screen, _seeded, _proxy, calls = review(
        boards=1, review_per_board=250, rework_per_board=0, good_per_board=1
    )
    model = screen.model
    assert model.rowCount() == 100
    assert model.total == 250
    assert model.canFetchMore()
    screen.table.scrollToBottom()
    qtbot.waitUntil(lambda: model.rowCount() == 200, timeout=10_000)
    screen.table.scrollToBottom()
    qtbot.waitUntil(lambda: model.rowCount() == 250, timeout=10_000)
    assert not model.canFetchMore()
    assert len({model.item(r).joint_id for r in range(250)}) == 250
    pages = [c for c in calls if c[0] == "queue"]
    assert len(pages) >= 3


def test_gui_review_queue_model_passes_modeltester(
    qtmodeltester, main_window, tmp_path
):
    s = main_window()
    seed_station(s.db, tmp_path / "files", boards=2, review_per_board=5)
    items = s.db.review.queue(ReviewFilter(), limit=6)
    model = ReviewQueueModel(page_size=6)
    model.reset(1)
    model.add_page(1, 0, items, 10)
    assert model.canFetchMore()
    assert not model.add_page(0, 6, items, 10)  # stale generation ignored
    page = QueuePage(1, 6, s.db.review.queue(ReviewFilter(), offset=6, limit=6), 10)
    model.add_page(page.generation, page.offset, page.items, page.total)
    qtmodeltester.check(model)
    assert model.rowCount() == 10
    model.remove_joint(items[0].joint_id)
    model.insert_item(0, items[0])
    qtmodeltester.check(model)
