"""The Model tab: card and plots of the model folder, the threshold what-if against
hand-computed rates, promote / rollback (audited) and the inspector's disabled
buttons. Real SQLite file; every database call runs on the pool."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QImage

from app.screens.model_screen import ModelScreen
from db import JointRecord
from inference.types import BBox

pytestmark = pytest.mark.gui

ENGINEER, ENGINEER_PIN = "Erin Engineer", "9753"
SHA = "ab" * 32


def _model_folder(root: Path) -> Path:
    folder = root / "model-1.2.0"
    folder.mkdir()
    card = {
        "architecture": "efficientnet_lite0",
        "version": "1.2.0",
        "weights_sha256": SHA,
        "thresholds": {"t_lo": 0.15, "t_hi": 0.85},
        "temperature": 1.3,
        "input_size": 64,
        "data": {"train": 1200, "val": 300, "test": 300},
        "metrics": {"accuracy": 0.97, "escape": 0.01, "overkill": 0.02},
    }
    (folder / "model.json").write_text(json.dumps(card))
    for name, colour in (("reliability.png", "#0072B2"), ("trust_matrix.png", "red")):
        image = QImage(120, 80, QImage.Format.Format_RGB32)
        image.fill(QColor(colour))
        assert image.save(str(folder / name))
    return folder


def _seed_verdicts(db, inspector) -> None:
    """p 0.3 defect, 0.4 good, 0.5 good, 0.6 defect, 0.7 good (all reviewed)."""
    db.inspections.record_inspection(
        serial="B1",
        product="P1",
        image_path="/img/B1.png",
        image_sha256=hashlib.sha256(b"B1").hexdigest(),
        model_version="1.2.0",
        t_lo=0.2,
        t_hi=0.8,
        joints=[
            JointRecord(BBox(10 * i, 0, 8, 8), p, refdes=f"R{i + 1}")
            for i, p in enumerate([0.3, 0.4, 0.5, 0.6, 0.7])
        ],
    )
    defects = {0.3, 0.6}
    for item in db.review.queue():
        p = round(item.p, 2)
        if p in defects:
            db.review.record_verdict(
                item.joint_id,
                user=inspector,
                verdict="confirmed_defect",
                defect_code="bridge",
            )
        else:
            db.review.record_verdict(
                item.joint_id, user=inspector, verdict="false_call"
            )


@pytest.fixture
def model_shell(qtbot, main_window, admin_user, station_settings, tmp_path):
    """A station whose default model folder holds a card and two plots, five past
    verdicts and two registered versions."""
    folder = _model_folder(tmp_path)
    s = main_window(dataclasses.replace(station_settings, model_dir=folder))
    s.db.users.create_user(ENGINEER, "engineer", ENGINEER_PIN, actor=admin_user)
    ivan = s.db.users.create_user("Ivan", "inspector", "1357", actor=admin_user)
    _seed_verdicts(s.db, ivan)
    for version in ("1.1.0", "1.2.0"):
        s.db.models_registry.register(
            version,
            str(tmp_path / "nowhere" / version),
            version[0] * 64,
            {},
            actor=admin_user,
        )
    s.shell.start()
    return s


def _open(qtbot, s, log_in, name, pin) -> ModelScreen:
    log_in(s, name, pin)
    screen: ModelScreen = s.window.screens[4]
    s.window.tabs.setCurrentWidget(screen)
    qtbot.waitUntil(lambda: screen.info is not None, timeout=10_000)
    qtbot.waitUntil(lambda: screen.versions_table.rowCount() == 2, timeout=10_000)
    qtbot.waitUntil(lambda: len(screen._p) == 5, timeout=10_000)
    return screen


def test_gui_model_card_and_plots(qtbot, model_shell, log_in):
    screen = _open(qtbot, model_shell, log_in, ENGINEER, ENGINEER_PIN)
    # No version is active (the registered ones are not promoted): the configured one.
    assert model_shell.window.model_label.text() == "Model: 1.2.0 (configured)"
    labels = {k: v.text() for k, v in screen.card_labels.items()}
    assert labels["architecture"] == "efficientnet_lite0"
    assert labels["version"] == "1.2.0"
    assert labels["sha256"] == f"{SHA[:16]}…"
    assert labels["thresholds"] == "t_lo 0.15, t_hi 0.85"
    assert "accuracy: 0.97" in labels["metrics"]
    assert "train: 1200" in labels["data"]
    assert [screen.plot_combo.itemText(i) for i in range(2)] == [
        "reliability.png",
        "trust_matrix.png",
    ]
    assert screen.plot_view.image.width() == 120
    assert screen.thresholds == (0.15, 0.85)  # the sliders start at the card's


def test_gui_whatif_sliders_give_hand_computed_rates(qtbot, model_shell, log_in):
    screen = _open(qtbot, model_shell, log_in, ENGINEER, ENGINEER_PIN)
    shown = lambda key: screen.projection[key].text()  # noqa: E731
    # t_lo 0.15, t_hi 0.85: every verdict joint is in the review band.
    assert shown("review_rate") == "100.0%  (5 of 5)"
    assert shown("auto_escape") == "0.0%  (0 of 5)"
    assert shown("auto_overkill") == "0.0%  (0 of 5)"
    screen.t_lo_slider.setValue(45)  # passes 0.3 (a defect: escape) and 0.4 (good)
    screen.t_hi_slider.setValue(65)  # sends 0.7 (good: overkill) to rework
    assert screen.thresholds == (0.45, 0.65)
    assert shown("review_rate") == "40.0%  (2 of 5)"
    assert shown("auto_escape") == "20.0%  (1 of 5)"
    assert shown("auto_overkill") == "20.0%  (1 of 5)"
    assert shown("auto_pass_rate") == "40.0%  (2 of 5)"
    assert shown("auto_defect_rate") == "20.0%  (1 of 5)"
    assert screen.t_lo_label.text() == "0.45"
    screen.t_lo_slider.setValue(70)  # t_lo stops at 0.5, t_hi at 0.5
    screen.t_hi_slider.setValue(20)
    assert screen.thresholds == (0.5, 0.5)
    assert shown("review_rate") == "0.0%  (0 of 5)"
    screen.reset_button.click()
    assert screen.thresholds == (0.15, 0.85)
    assert shown("review_rate") == "100.0%  (5 of 5)"


def test_gui_engineer_promotes_and_rolls_back_with_audit(qtbot, model_shell, log_in):
    s = model_shell
    screen = _open(qtbot, s, log_in, ENGINEER, ENGINEER_PIN)
    models = s.station.models
    assert screen.rollback_button.isEnabled()
    engineer = s.station.session.session.user

    def select(version: str) -> None:
        row = next(
            r
            for r in range(screen.versions_table.rowCount())
            if screen.versions_table.item(r, 0).text() == version
        )
        screen.versions_table.clearSelection()
        screen.versions_table.selectRow(row)
        qtbot.waitUntil(lambda: not models.busy, timeout=10_000)

    for version in ("1.1.0", "1.2.0"):
        select(version)
        if version == "1.2.0":
            # 1.1.0 is active: promotion needs the side-by-side evidence first.
            assert not screen.promote_button.isEnabled()
            assert "No side-by-side comparison" in screen.comparison.caption.text()
            s.db.models_registry.record_comparison(
                "1.2.0",
                against="1.1.0",
                summary={
                    "n": 40,
                    "data": {"folders": ["test-set"], "split": "all"},
                    "figures": {
                        "accuracy": {"old": 0.9, "new": 0.95, "better": True},
                        "escape": {"old": 0.02, "new": 0.04, "better": False},
                    },
                    "changed_calls": {"fixed": 3, "broken": 1},
                },
                actor=engineer,
            )
            select(version)
            qtbot.waitUntil(lambda: screen.comparison.has_evidence, timeout=10_000)
            table = screen.comparison.table
            assert table.rowCount() == 2
            assert [table.item(0, c).text() for c in range(4)] == [
                "Accuracy",
                "90.00 %",
                "95.00 %",
                "better",
            ]
            assert table.item(1, 3).text() == "worse"
            assert "3 calls fixed, 1 broken" in screen.comparison.caption.text()
        assert screen.promote_button.isEnabled()
        with qtbot.waitSignal(models.version_changed, timeout=10_000) as blocker:
            screen.promote_button.click()
        assert blocker.args[0].version == version
    with qtbot.waitSignal(models.version_changed, timeout=10_000) as blocker:
        screen.rollback_button.click()
    assert blocker.args[0].version == "1.1.0"
    assert s.db.models_registry.active().version == "1.1.0"
    promoted = s.db.audit.entries(action="model_promoted")
    assert [e.details["version"] for e in promoted] == ["1.2.0", "1.1.0"]
    assert {e.user_id for e in promoted} == {engineer.id}
    (rolled,) = s.db.audit.entries(action="model_rolled_back")
    assert (rolled.user_id, rolled.details["to"]) == (engineer.id, "1.1.0")
    qtbot.waitUntil(lambda: "1.1.0" in screen.note_label.text(), timeout=5_000)


def test_gui_inspector_cannot_promote(qtbot, model_shell, log_in):
    s = model_shell
    screen = _open(qtbot, s, log_in, "Ivan", "1357")
    screen.versions_table.selectRow(0)
    assert not screen.promote_button.isEnabled()
    assert not screen.rollback_button.isEnabled()
    assert "Engineers" in screen.permission_label.text()
    assert screen.projection["review_rate"].text() == "100.0%  (5 of 5)"
    assert not s.db.audit.entries(action="model_promoted")


def test_gui_soxai_tab_shows_the_map_and_group_makeup(qtbot, model_shell, log_in):
    screen = _open(qtbot, model_shell, log_in, ENGINEER, ENGINEER_PIN)
    panel = screen.soxai_panel
    assert "No SOXAI map for this model yet" in panel.caption.text()
    assert "soldernet soxai --model" in panel.caption.text()
    folder = Path(screen.info.folder) / "soxai"
    folder.mkdir()
    image = QImage(90, 60, QImage.Format.Format_RGB32)
    image.fill(QColor("#009E73"))
    assert image.save(str(folder / "soxai_map.png"))
    groups = [
        {
            "cluster": 0,
            "size": 12,
            "label_counts": {"0": 2, "1": 10},
            "over_represented": ["bridge"],
            "under_represented": [""],
        },
        {
            "cluster": 1,
            "size": 30,
            "label_counts": {"0": 30},
            "over_represented": [""],
            "under_represented": ["bridge"],
        },
    ]
    (folder / "soxai.json").write_text(json.dumps({"n_embedded": 42, "groups": groups}))
    qtbot.waitUntil(lambda: not model_shell.station.models.busy, timeout=10_000)
    screen.refresh_button.click()
    qtbot.waitUntil(lambda: panel.table.rowCount() == 2, timeout=10_000)
    assert panel.caption.text().startswith("42 explained joints grouped")
    rows = [[panel.table.item(r, c).text() for c in range(5)] for r in range(2)]
    assert rows == [
        ["0", "12", "10", "bridge", "(good)"],
        ["1", "30", "0", "(good)", "bridge"],
    ]
    assert [
        panel.image_combo.itemText(i) for i in range(panel.image_combo.count())
    ] == ["Map (explanation thumbnails)"]
    assert panel.image_view.image.width() == 90
    (folder / "soxai.json").write_text("{broken")
    qtbot.waitUntil(lambda: not model_shell.station.models.busy, timeout=10_000)
    screen.refresh_button.click()
    qtbot.waitUntil(lambda: "unreadable" in panel.caption.text(), timeout=10_000)
    assert panel.table.isHidden()
