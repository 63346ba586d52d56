"""A database that goes read-only mid-shift (product.md §8): a clear message, nothing
given so far lost.

The station runs on a real SQLite file. "Read-only" is made with `PRAGMA query_only=ON`
on every new pool connection (an SQLAlchemy `connect` listener, then `dispose()` so
no old connection survives): SQLite then refuses every write with the same
`SQLITE_READONLY` "attempt to write a readonly database" that a write-protected file,
folder or `?mode=ro` connection gives, and it works as root, where chmod stops nothing.
"""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from app.controllers.review_controller import VerdictRequest
from app.review_outbox import OUTBOX_FILE_NAME, ReviewOutbox
from db import open_database
from db.errors import (
    DatabaseFullError,
    DatabaseLocationError,
    DatabaseReadOnlyError,
    write_may_succeed_later,
)
from db.retry import translate
from tests.app._seed import INSPECTOR, TECHNICIAN, seed_station

pytestmark = pytest.mark.gui

REVIEW_TAB, REWORK_TAB = 1, 2
FAST_RETRY_MS = 200


def _query_only(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA query_only=ON")
    finally:
        cursor.close()


class ReadOnlySwitch:
    """Makes the station's database refuse writes, and take them again."""

    def __init__(self, db) -> None:
        self.db = db
        self.on = False

    def set(self, read_only: bool) -> None:
        engine = self.db.engine
        if read_only and not self.on:
            event.listen(engine, "connect", _query_only)
        elif not read_only and self.on:
            event.remove(engine, "connect", _query_only)
        self.on = read_only
        engine.dispose()  # every connection from now on is opened anew


@pytest.fixture
def review_ro(qtbot, main_window, log_in, tmp_path):
    """An inspector on the Review tab, the first joint drawn, a read-only switch."""

    switches: list[ReadOnlySwitch] = []

    def open_review():
        s = main_window()
        seeded = seed_station(s.db, tmp_path / "files")
        s.shell.start()
        log_in(s, *INSPECTOR)
        s.window.tabs.setCurrentIndex(REVIEW_TAB)
        screen = s.window.screens[REVIEW_TAB]
        s.window.activateWindow()
        qtbot.waitActive(s.window)
        screen.table.setFocus()
        qtbot.waitUntil(lambda: screen.current_item is not None, timeout=10_000)
        screen._controller._retry_timer.setInterval(FAST_RETRY_MS)
        switches.append(ReadOnlySwitch(s.db))
        return s, screen, seeded, switches[-1]

    yield open_review
    for switch in switches:  # writable again before the shift is closed
        switch.set(False)


def _key(qtbot, screen, key, modifier=Qt.KeyboardModifier.NoModifier):
    qtbot.keyClick(screen.table, key, modifier)


def _refdes(item) -> str:
    return f"{item.refdes}.{item.pin}" if item.pin else item.refdes


def _outbox_lines(s) -> list[dict]:
    path = s.db.path.parent / OUTBOX_FILE_NAME
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def _wait_idle(qtbot, controller) -> None:
    qtbot.waitUntil(
        lambda: controller._flushing is None and not controller.is_saving,
        timeout=10_000,
    )


def test_gui_readonly_db_keeps_verdicts_and_saves_them_in_order(qtbot, review_ro):
    s, screen, _seeded, switch = review_ro()
    controller = screen._controller
    first = screen.current_item
    switch.set(True)

    with qtbot.waitSignal(controller.verdict_kept, timeout=10_000):
        _key(qtbot, screen, Qt.Key.Key_F)
    # The joint stays on screen; one clear message names the database and the joint.
    assert screen.current_item.joint_id == first.joint_id
    assert screen.model.rowCount() == 8
    status = screen.panel.status_label.text()
    assert "Not saved" in status
    assert "read-only" in status
    assert str(s.db.path) in status
    assert f"Your verdict on {_refdes(first)} (False call) is kept" in status
    assert "will be saved when the database is writable again" in status
    assert screen.outbox_banner.isVisible()
    assert "1 verdict not saved yet" in screen.outbox_banner.label.text()
    assert s.window.database_label.text() == (
        "Database: inspection.db — read-only — 1 verdict waiting"
    )
    assert s.db.review.current_verdict(first.joint_id) is None
    lines = _outbox_lines(s)
    assert [line["op"] for line in lines] == ["add"]
    assert lines[0]["request"]["joint_id"] == first.joint_id
    assert lines[0]["request"]["verdict"] == "false_call"

    # The inspector moves on by hand and goes on working: verdicts queue in order.
    _key(qtbot, screen, Qt.Key.Key_Right)
    second = screen.current_item
    assert second.joint_id != first.joint_id
    _wait_idle(qtbot, controller)
    with qtbot.waitSignal(controller.verdict_kept, timeout=10_000):
        _key(qtbot, screen, Qt.Key.Key_S)
    assert screen.current_item.joint_id == second.joint_id
    assert "Kept, not saved yet" in screen.panel.status_label.text()
    qtbot.waitUntil(
        lambda: (
            s.window.database_label.text()
            == "Database: inspection.db — read-only — 2 verdicts waiting"
        ),
        timeout=10_000,
    )
    # Retry while still read-only changes nothing.
    _wait_idle(qtbot, controller)
    with qtbot.waitSignal(controller.outbox_changed, timeout=10_000):
        screen.outbox_banner.retry_button.click()
    assert len(controller.pending()) == 2
    assert s.db.review.current_verdict(second.joint_id) is None

    # Writable again: the automatic retry writes both, oldest first.
    switch.set(False)
    qtbot.waitUntil(lambda: not controller.pending(), timeout=10_000)
    _wait_idle(qtbot, controller)
    v1 = s.db.review.current_verdict(first.joint_id)
    v2 = s.db.review.current_verdict(second.joint_id)
    assert (v1.verdict, v2.verdict) == ("false_call", "skipped")
    assert v1.id < v2.id
    assert v1.user_name == INSPECTOR[0]
    assert v1.shift_id is not None
    assert not (s.db.path.parent / OUTBOX_FILE_NAME).exists()
    qtbot.waitUntil(lambda: not screen.outbox_banner.isVisible())
    assert s.window.database_label.text() == "Database: inspection.db"
    qtbot.waitUntil(lambda: screen.model.rowCount() == 6, timeout=10_000)
    assert screen.current_item.joint_id not in {first.joint_id, second.joint_id}


def test_gui_readonly_db_undo_takes_back_the_waiting_verdict(qtbot, review_ro):
    s, screen, _seeded, switch = review_ro()
    controller = screen._controller
    first = screen.current_item
    switch.set(True)
    with qtbot.waitSignal(controller.verdict_kept, timeout=10_000):
        _key(qtbot, screen, Qt.Key.Key_F)
    _wait_idle(qtbot, controller)
    with qtbot.waitSignal(controller.pending_undone, timeout=10_000) as undone:
        _key(qtbot, screen, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert undone.args[0].joint_id == first.joint_id
    assert not controller.pending()
    assert screen.current_item.joint_id == first.joint_id
    assert "waiting verdict on" in screen.panel.status_label.text()
    assert "had not been saved" in screen.panel.status_label.text()
    assert not (s.db.path.parent / OUTBOX_FILE_NAME).exists()
    assert not screen.outbox_banner.isVisible()
    switch.set(False)
    qtbot.wait(3 * FAST_RETRY_MS)
    assert s.db.review.current_verdict(first.joint_id) is None
    # And the next verdict takes the normal path again.
    with qtbot.waitSignal(controller.verdict_saved, timeout=10_000):
        _key(qtbot, screen, Qt.Key.Key_F)
    assert s.db.review.current_verdict(first.joint_id).verdict == "false_call"


def test_gui_readonly_db_conflict_from_another_station_is_reported(
    qtbot, review_ro, station_settings
):
    s, screen, seeded, switch = review_ro()
    controller = screen._controller
    first = screen.current_item
    switch.set(True)
    with qtbot.waitSignal(controller.verdict_kept, timeout=10_000):
        _key(qtbot, screen, Qt.Key.Key_F)
    # Meanwhile a supervisor on another station (its own connection) decides it.
    other = open_database(station_settings.database, migrate=False)
    try:
        other.review.record_verdict(
            first.joint_id, user=seeded.users["admin"], verdict="skipped"
        )
    finally:
        other.close()
    switch.set(False)
    with qtbot.waitSignal(controller.pending_rejected, timeout=10_000) as rejected:
        pass
    assert rejected.args[1].kind == "VerdictConflictError"
    text_shown = screen.panel.status_label.text()
    assert f"waiting verdict on {_refdes(first)} was not saved" in text_shown
    assert "already has a verdict" in text_shown
    # Reported, not overwritten; the outbox is empty and its file gone.
    assert s.db.review.current_verdict(first.joint_id).verdict == "skipped"
    assert not controller.pending()
    assert not (s.db.path.parent / OUTBOX_FILE_NAME).exists()
    qtbot.waitUntil(lambda: s.window.database_label.text() == "Database: inspection.db")


def test_gui_readonly_db_rework_outcome_refused_clearly(
    qtbot, main_window, log_in, tmp_path
):
    s = main_window()
    seed_station(s.db, tmp_path / "files", confirmed_per_board=1)
    s.shell.start()
    log_in(s, *TECHNICIAN)
    s.window.tabs.setCurrentIndex(REWORK_TAB)
    screen = s.window.screens[REWORK_TAB]
    qtbot.waitUntil(lambda: screen.current_item is not None, timeout=10_000)
    item = screen.current_item
    switch = ReadOnlySwitch(s.db)
    switch.set(True)
    try:
        with qtbot.waitSignal(screen._controller.action_failed, timeout=10_000):
            screen.outcome_buttons["repaired"].click()
    finally:
        switch.set(False)  # writable again before the shift is closed
    shown = screen.status_label.text()
    assert "Not recorded" in shown
    assert "read-only" in shown
    assert str(s.db.path) in shown
    assert "press the button again" in shown
    assert screen.current_item.id == item.id
    assert s.station.presenter.last_error.kind == "DatabaseReadOnlyError"
    assert s.db.rework.items(status="open")[0].status == "open"


def test_readonly_outbox_file_survives_a_crash(tmp_path):
    path = tmp_path / OUTBOX_FILE_NAME
    box = ReviewOutbox(path, VerdictRequest)
    args = {"database": "db", "user_id": 3, "user_name": "Ivan", "shift_id": 7}
    a = box.add(VerdictRequest(1, "false_call"), label="C1.1", **args)
    b = box.add(VerdictRequest(2, "skipped"), label="C2.1", **args)
    c = box.add(VerdictRequest(3, "false_call"), label="C3.1", **args)
    box.mark_saved(a)
    box.replace(b, VerdictRequest(2, "confirmed_defect", defect_code="bridge"))
    box.mark_undone(c)
    with path.open("a") as f:
        f.write('{"op": "add", "key": "torn')  # a power cut mid-line
    reborn = ReviewOutbox(path, VerdictRequest)  # the next start
    [left] = reborn.entries()
    assert left.label == "C2.1"
    assert left.request == VerdictRequest(2, "confirmed_defect", defect_code="bridge")
    assert (left.user_id, left.shift_id) == (3, 7)
    reborn.mark_saved(left)
    assert not path.exists()


def test_readonly_outbox_unwritable_file_keeps_verdicts_in_memory(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    box = ReviewOutbox(blocker / OUTBOX_FILE_NAME, VerdictRequest)
    box.add(
        VerdictRequest(1, "false_call"),
        database="db",
        user_id=1,
        user_name="I",
        shift_id=None,
        label="R1",
    )
    assert len(box) == 1
    assert "cannot be written" in box.file_problem
    assert "kept in memory only" in box.file_problem


def _driver_error(message: str) -> OperationalError:
    return OperationalError("INSERT ...", {}, Exception(message))


def test_readonly_driver_errors_are_classified(tmp_path):
    db = open_database(tmp_path / "x.db")
    try:
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA query_only=ON")
            with pytest.raises(OperationalError) as info:
                conn.execute(text("CREATE TABLE t (x INTEGER)"))
        error = translate(info.value, db.where)
    finally:
        db.close()
    assert isinstance(error, DatabaseReadOnlyError)
    assert f"{db.where}: the file is read-only" in str(error)
    pg = "postgresql+psycopg://u@h/db"
    ro = translate(
        _driver_error("cannot execute INSERT in a read-only transaction"), pg
    )
    assert isinstance(ro, DatabaseReadOnlyError)
    assert "the server refuses writes" in str(ro)
    full = translate(_driver_error("database or disk is full"), "/d/i.db")
    assert isinstance(full, DatabaseFullError)
    io = translate(_driver_error("disk I/O error"), "/d/i.db")
    assert isinstance(io, DatabaseLocationError)
    for e in (error, ro, full, io):
        assert write_may_succeed_later(e)
    assert not write_may_succeed_later("VerdictConflictError")
