"""The review key map in Settings (issue 7 item 6): change a key, conflicts refused,
reset to defaults, kept across a restart of the window, applied to Review at once."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QKeySequence

from app.keymap import ACTIONS, SETTINGS_GROUP, KeyConflictError, KeyMap
from tests.app._seed import INSPECTOR, ensure_users, seed_station

pytestmark = pytest.mark.gui

REVIEW_TAB, SETTINGS_TAB = 1, 5


@pytest.fixture
def station(qtbot, main_window, log_in, tmp_path):
    """An inspector logged in on a seeded station; returns (shell, review, settings)."""

    def open_station(seed: bool = True):
        s = main_window()
        if seed:
            seed_station(s.db, tmp_path / "files")
        else:
            ensure_users(s.db)
        s.shell.start()
        log_in(s, *INSPECTOR)
        return s, s.window.screens[REVIEW_TAB], s.window.screens[SETTINGS_TAB]

    return open_station


def _open_review(qtbot, s, review) -> None:
    s.window.tabs.setCurrentIndex(REVIEW_TAB)
    s.window.activateWindow()
    qtbot.waitActive(s.window)
    review.table.setFocus()
    qtbot.waitUntil(lambda: review.current_item is not None, timeout=10_000)


def _press_new_key(qtbot, settings_screen, action: str, key, modifier=None) -> None:
    edit = settings_screen.keymap_editor.edits[action]
    edit.setFocus()
    with qtbot.waitSignal(edit.editingFinished, timeout=5_000):
        qtbot.keyClick(edit, key, modifier or Qt.KeyboardModifier.NoModifier)


def _shortcuts(review, attr: str) -> list[str]:
    return [s.toString() for s in getattr(review.panel, attr).shortcuts()]


def test_gui_keymap_new_key_gives_the_verdict_old_key_does_not(qtbot, station):
    s, review, settings = station()
    s.window.tabs.setCurrentIndex(SETTINGS_TAB)
    editor = settings.keymap_editor
    assert editor.keys_text("false_call") == "F"
    _press_new_key(qtbot, settings, "false_call", Qt.Key.Key_G)
    assert editor.keys_text("false_call") == "G  (changed)"
    assert "“False call (not a defect)” is now G" in editor.message.text()
    # Applied to the Review screen at once: its action and its button.
    assert _shortcuts(review, "false_call_action") == ["G"]
    assert review.panel.false_call_button.text() == "False call (G)"

    _open_review(qtbot, s, review)
    first = review.current_item
    qtbot.keyClick(review.table, Qt.Key.Key_F)  # the old key does nothing now
    qtbot.wait(300)
    assert review.current_item.joint_id == first.joint_id
    assert s.db.review.current_verdict(first.joint_id) is None
    with qtbot.waitSignal(review._controller.verdict_saved, timeout=10_000):
        qtbot.keyClick(review.table, Qt.Key.Key_G)
    assert s.db.review.current_verdict(first.joint_id).verdict == "false_call"
    assert review.current_item.joint_id != first.joint_id


def test_gui_keymap_conflicting_key_is_refused_naming_the_other_action(qtbot, station):
    s, review, settings = station(seed=False)
    editor = settings.keymap_editor
    s.window.tabs.setCurrentIndex(SETTINGS_TAB)
    _press_new_key(qtbot, settings, "false_call", Qt.Key.Key_D)
    text = editor.message.text()
    assert text.startswith("⚠ Not changed: D is already the key of")
    assert "“Defect confirmed (then pick the code)”" in text
    assert editor.keys_text("false_call") == "F"
    assert _shortcuts(review, "false_call_action") == ["F"]
    # A key of the window (Log out) is refused too, and so is a digit of the picker.
    _press_new_key(
        qtbot,
        settings,
        "skip",
        Qt.Key.Key_L,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert "Log out / hand over" in editor.message.text()
    with pytest.raises(KeyConflictError, match="Defect code 3"):
        settings.keymap_editor._keymap.set_key("skip", "3")
    assert _shortcuts(review, "skip_action") == ["S"]
    qs = QSettings()
    qs.beginGroup(SETTINGS_GROUP)
    assert qs.childKeys() == []


def test_gui_keymap_reset_restores_defaults(qtbot, station):
    s, review, settings = station(seed=False)
    editor = settings.keymap_editor
    s.window.tabs.setCurrentIndex(SETTINGS_TAB)
    _press_new_key(qtbot, settings, "undo", Qt.Key.Key_U)
    _press_new_key(qtbot, settings, "overlay", Qt.Key.Key_O)
    assert _shortcuts(review, "undo_action") == ["U"]
    assert review.panel.undo_button.text() == "Undo (U)"
    editor.reset_button.click()
    assert "back to its default" in editor.message.text()
    for action in ACTIONS:
        assert settings.keymap_editor._keymap.keys(action.name) == action.defaults
    assert _shortcuts(review, "undo_action") == ["Ctrl+Z"]
    assert _shortcuts(review, "overlay_action") == ["Space"]
    assert _shortcuts(review, "zoom_in_action") == ["+", "=", "Shift++"]
    assert review.panel.undo_button.text() == "Undo (Ctrl+Z)"
    assert editor.keys_text("undo") == "Ctrl+Z"
    qs = QSettings()
    qs.beginGroup(SETTINGS_GROUP)
    assert qs.childKeys() == []


def test_gui_keymap_survives_a_restart_of_the_window(qtbot, station, main_window):
    s, _review, settings = station(seed=False)
    s.window.tabs.setCurrentIndex(SETTINGS_TAB)
    _press_new_key(qtbot, settings, "skip", Qt.Key.Key_K)
    _press_new_key(qtbot, settings, "next", Qt.Key.Key_N)
    s.shell.shutdown()
    s.station.close()

    again = main_window()  # a new station and window on the same data folder
    review = again.window.screens[REVIEW_TAB]
    editor = again.window.screens[SETTINGS_TAB].keymap_editor
    assert _shortcuts(review, "skip_action") == ["K"]
    assert _shortcuts(review, "next_action") == ["N"]
    assert _shortcuts(review, "false_call_action") == ["F"]
    assert editor.keys_text("skip") == "K  (changed)"
    assert review.panel.skip_button.text() == "Skip / escalate (K)"
    assert KeyMap(load=True).keys("skip") == ("K",)


def test_keymap_stored_conflict_is_ignored_on_load(qapp):
    qs = QSettings()
    qs.beginGroup(SETTINGS_GROUP)
    qs.setValue("skip", "F")  # edited by hand into a clash with the false call
    qs.setValue("undo", "Ctrl+U")
    qs.endGroup()
    keymap = KeyMap()
    assert keymap.keys("skip") == ("S",)
    assert keymap.keys("undo") == ("Ctrl+U",)
    with pytest.raises(KeyConflictError, match="single key"):
        keymap.set_key("skip", QKeySequence("Ctrl+K, Ctrl+S"))
