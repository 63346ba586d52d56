"""Vigilance in the GUI and CLI: the reveal after the verdict, the supervisor's panel,
the settings, and `soldernet vigilance`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from PySide6.QtCore import Qt

from app.cli import main as cli_main
from app.controllers.settings_controller import SettingsController
from app.controllers.users_controller import UsersController
from app.controllers.vigilance_controller import VigilanceController
from app.settings import Settings, SettingsError, Vigilance, load_settings
from app.widgets.vigilance_panel import VigilancePanel
from app.workers.task import TaskRunner
from db import DefectCode, JointRecord, Region, Role, open_database
from tests.app._seed import ADMIN, INSPECTOR, seed_station

pytestmark = pytest.mark.gui

REVIEW_TAB = 1


def add_seed(db: Any, item: Any, *, is_defect: bool, p: float = 0.79) -> int:
    """Seed a joint into `item`'s inspection with its crop (as the seeder would)."""
    return db.vigilance.add_seed(
        item.inspection_id,
        JointRecord(
            bbox=item.bbox,
            p=p,
            refdes="C99",
            pin="1",
            joint_type=item.joint_type,
            package=item.package,
            crop_path=item.crop_path,
            region=Region.POSSIBLE_DEFECT,
        ),
        is_defect=is_defect,
        defect_code=DefectCode.BRIDGE if is_defect else None,
        source="test",
    )


def test_gui_reveal_only_after_the_verdict(qtbot, main_window, log_in, tmp_path):
    s = main_window()
    seed_station(s.db, tmp_path / "files")
    real = s.db.review.queue()[0]
    seed_id = add_seed(s.db, real, is_defect=True, p=0.7999)
    s.shell.start()
    log_in(s, *INSPECTOR)
    s.window.tabs.setCurrentIndex(REVIEW_TAB)
    screen = s.window.screens[REVIEW_TAB]
    controller = screen._controller
    revealed: list[Any] = []
    controller.vigilance_revealed.connect(revealed.append)
    qtbot.waitUntil(lambda: screen.current_item is not None, timeout=10_000)
    screen._select_row(screen.model.row_of(seed_id))
    qtbot.waitUntil(lambda: screen.current_item.joint_id == seed_id, timeout=10_000)
    # Nothing on screen tells the seed apart before the verdict.
    assert "igilance" not in screen.panel.status_label.text()
    assert revealed == []
    screen.table.setFocus()
    with qtbot.waitSignals(
        [controller.verdict_saved, controller.vigilance_revealed],
        order="strict",
        timeout=10_000,
    ):
        qtbot.keyClick(screen.table, Qt.Key.Key_F)  # a false call: a miss
    assert revealed[0].outcome == "miss"
    text = screen.panel.status_label.text()
    assert "Vigilance check" in text
    assert "known defect" in text
    assert "miss" in text
    assert screen.panel.status_label.isVisible()
    assert all(i.joint_id != seed_id for i in s.db.rework.items())
    # A real joint's verdict reveals nothing.
    revealed.clear()
    current = screen.current_item
    assert current.joint_id != seed_id
    with qtbot.waitSignal(controller.verdict_saved, timeout=10_000):
        qtbot.keyClick(screen.table, Qt.Key.Key_F)
    qtbot.wait(50)
    assert revealed == []
    assert "Vigilance" not in screen.panel.status_label.text()


@pytest.fixture
def scored_db(tmp_path: Path):
    """A station with seeds and verdicts of two inspectors."""
    with open_database(tmp_path / "st.db") as db:
        seeded = seed_station(db, tmp_path / "files")
        admin = seeded.users["admin"]
        ivan = seeded.users["inspector"]
        ines = db.users.create_user(
            "Ines Inspector", Role.INSPECTOR, "2222", actor=admin
        )
        sam = db.users.create_user(
            "Sam Supervisor", Role.SUPERVISOR, "5678", actor=admin
        )
        real = db.review.queue()[0]
        plan = [
            (ivan, True, "confirmed_defect"),
            (ivan, True, "confirmed_defect"),
            (ivan, True, "false_call"),
            (ivan, False, "false_call"),
            (ivan, False, "confirmed_defect"),
            (ines, True, "confirmed_defect"),
            (ines, False, "false_call"),
            (ines, False, "false_call"),
        ]
        for user, is_defect, verdict in plan:
            jid = add_seed(db, real, is_defect=is_defect)
            db.review.record_verdict(
                jid,
                user=user,
                verdict=verdict,
                defect_code="bridge" if verdict == "confirmed_defect" else None,
            )
        add_seed(db, real, is_defect=False)  # still waiting
        yield SimpleNamespace(db=db, admin=admin, inspector=ivan, supervisor=sam)


def test_panel_shows_scores_loaded_off_the_gui_thread(qtbot, scored_db):
    controller = VigilanceController(scored_db.db, TaskRunner())
    panel = VigilancePanel(controller)
    qtbot.addWidget(panel)
    panel.resize(900, 320)
    with qtbot.waitSignal(controller.scores_ready, timeout=10_000):
        panel.load(scored_db.supervisor)
    table = panel.table
    assert table.rowCount() == 3  # two inspectors and the total
    cells = [
        [table.item(r, c).text() for c in range(table.columnCount())]
        for r in range(table.rowCount())
    ]
    ines, ivan, total = cells
    assert ines[:7] == ["Ines Inspector", "3", "1", "0", "0", "2", "0"]
    assert ivan[:7] == ["Ivan Inspector", "5", "2", "1", "1", "1", "0"]
    assert ivan[7:9] == ["67%", "50%"]
    assert total[0] == "All inspectors"
    assert total[1] == "8"
    assert "1 seed(s) still wait" in panel.status.text()
    shot = os.environ.get("SOLDERNET_VIGILANCE_SHOT")
    if shot:  # docs/screenshots/vigilance-panel.png is made this way
        panel.show()
        qtbot.waitExposed(panel)
        panel.grab().save(shot)


def test_panel_refuses_an_inspector(qtbot, scored_db):
    controller = VigilanceController(scored_db.db, TaskRunner())
    panel = VigilancePanel(controller)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(controller.failed, timeout=10_000):
        controller.load(scored_db.inspector)
    assert "may not see vigilance scores" in panel.status.text()
    assert panel.table.rowCount() == 0
    assert not VigilanceController.may_view("inspector")
    assert VigilanceController.may_view("supervisor")


def test_settings_round_trip_and_backward_compatible(tmp_path: Path):
    data = tmp_path / "home"
    data.mkdir()
    (data / "settings.toml").write_text('theme = "dark"\n', encoding="utf-8")
    old = load_settings(data)
    assert old.vigilance == Vigilance()
    assert old.vigilance.active_library is None
    lib = tmp_path / "lib"
    lib.mkdir()
    controller = SettingsController(old)
    failed: list[Any] = []
    controller.failed.connect(failed.append)
    controller.save_vigilance(enabled=True, rate=0.1, defect_fraction=0.7, library="")
    assert failed
    assert "seed library" in failed[0].message
    controller.save_vigilance(
        enabled=True, rate=0.1, defect_fraction=0.7, library=str(lib)
    )
    back = load_settings(data)
    assert back.vigilance == Vigilance(True, 0.1, 0.7, str(lib))
    assert back.theme == "dark"
    from app.bootstrap import runner_config

    cfg = runner_config(back)
    assert cfg.vigilance_library == str(lib)
    assert (cfg.vigilance_rate, cfg.vigilance_defect_fraction) == (0.1, 0.7)
    (data / "settings.toml").write_text("vigilance_rate = 3\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"settings\.toml"):
        load_settings(data)


def test_settings_screen_vigilance_for_engineers_only(qtbot, tmp_path: Path):
    from app.screens.settings_screen import SettingsScreen

    data = tmp_path / "home"
    data.mkdir()
    controller = SettingsController(Settings(data_dir=data))
    with open_database(tmp_path / "s.db") as db:
        screen = SettingsScreen(controller, UsersController(db, TaskRunner()))
        qtbot.addWidget(screen)
        screen.set_session(SimpleNamespace(role="inspector", user=None))
        assert not screen.vigilance_box.isEnabled()
        screen.set_session(SimpleNamespace(role="engineer", user=None))
        assert screen.vigilance_box.isEnabled()
        screen.vigilance_check.setChecked(True)
        screen.vigilance_rate_spin.setValue(2.5)
        screen.vigilance_defect_spin.setValue(40)
        screen.vigilance_library_edit.setText(str(tmp_path))
        screen.vigilance_save_button.click()
        assert "Saved" in screen.vigilance_note.text()
        v = load_settings(data).vigilance
        assert v == Vigilance(True, 0.025, 0.4, str(tmp_path))


def test_cli_vigilance_table_json_and_refusal(scored_db, tmp_path, capsys, monkeypatch):
    path = str(scored_db.db.path)
    out = tmp_path / "v.json"
    monkeypatch.setenv("SOLDERNET_PIN", "5678")
    code = cli_main(
        ["vigilance", "--db", path, "--user", "Sam Supervisor", "--json", str(out)]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "Ivan Inspector" in text
    assert "67%" in text
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["total"]["seeds"] == 8
    assert data["seeds_waiting"] == 1
    monkeypatch.setenv("SOLDERNET_PIN", INSPECTOR[1])
    assert cli_main(["vigilance", "--db", path, "--user", INSPECTOR[0]]) == 1
    assert "refused" in capsys.readouterr().err
    assert ADMIN[0]  # the admin exists too (seed_station)
