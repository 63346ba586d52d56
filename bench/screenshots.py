"""Save screenshots of the real GUI (offscreen) to docs/screenshots/.

    .venv/bin/python bench/screenshots.py [--out docs/screenshots]

Builds a station on a temporary database exactly as `soldernet gui` does, seeds it
with synthetic boards (joints in all three regions, crops, explanation overlays, a
few confirmed defects; `tests/app/_seed.py`) so Review and Rework show a populated
queue, logs in through the login dialog, and grabs the login dialog plus every tab in
the light and dark themes as `<name>-<theme>.png`. Nothing outside a temporary folder
is touched.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QWidget

from app.bootstrap import build_shell, build_station
from app.gui_main import configure_application
from app.settings import DEFAULT_MODEL_DIR, Settings
from app.theme import THEMES, apply_theme
from app.widgets.login_dialog import LoginDialog
from tests.app._seed import seed_station

log = logging.getLogger("screenshots")

ADMIN, PIN = "Ada Admin", "2468"
WINDOW_SIZE = (1280, 800)
COLLEAGUES = (
    ("Ivan Inspector", "inspector"),
    ("Tess Technician", "technician"),
    ("Sam Supervisor", "supervisor"),
    ("Erin Engineer", "engineer"),
)
ALL_USERS = 1 + len(COLLEAGUES)


def wait_until(
    app: QApplication, predicate: Callable[[], bool], timeout: float = 15
) -> None:
    """Run the event loop until `predicate()` holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            msg = "timed out waiting for the GUI"
            raise TimeoutError(msg)
        app.processEvents()
        time.sleep(0.01)
    app.processEvents()


def settle(app: QApplication, seconds: float = 0.15) -> None:
    """Let layouts and style changes finish."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def save(widget: QWidget, path: Path) -> None:
    """Grab `widget` to a PNG file."""
    if not widget.grab().save(str(path)):
        msg = f"could not write {path}"
        raise OSError(msg)
    log.info("wrote %s", path)


def add_colleagues(db: object) -> None:
    """A few more users so the Settings user list looks like a real station."""
    users = db.users  # type: ignore[attr-defined]
    admin = users.authenticate(ADMIN, PIN)
    for name, role in COLLEAGUES:
        users.create_user(name, role, "1357", actor=admin)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    configure_application(app)
    with tempfile.TemporaryDirectory(prefix="soldernet-shots-") as tmp:
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tmp)
        settings = Settings(data_dir=Path(tmp), db_url=str(Path(tmp) / "inspection.db"))
        station = build_station(settings)
        shell = build_shell(station)
        dialog, window = shell.login_dialog, shell.main_window
        try:
            for theme in THEMES:
                apply_theme(app, theme)
                shell.start()
                wait_until(
                    app, lambda: dialog.stack.currentIndex() != dialog.PAGE_CHECKING
                )
                if dialog.stack.currentIndex() == LoginDialog.PAGE_CREATE_ADMIN:
                    dialog.admin_name_edit.setText(ADMIN)
                    settle(app)
                    save(dialog, out / f"first-run-{theme}.png")
                    dialog.admin_pin_edit.setText(PIN)
                    dialog.admin_repeat_edit.setText(PIN)
                    dialog.create_admin_button.click()
                    wait_until(
                        app,
                        lambda: dialog.stack.currentIndex() == LoginDialog.PAGE_LOGIN,
                    )
                    add_colleagues(station.database)
                    seed_station(
                        station.database,
                        Path(tmp) / "seed",
                        boards=3,
                        review_per_board=9,
                        rework_per_board=3,
                        good_per_board=6,
                        confirmed_per_board=1,
                    )
                dialog.name_edit.setText(ADMIN)
                dialog.pin_edit.setText(PIN)
                settle(app)
                save(dialog, out / f"login-{theme}.png")
                dialog.login_button.click()
                wait_until(app, window.isVisible)
                window.resize(*WINDOW_SIZE)
                station.settings_controller.set_theme(theme)
                for index, screen in enumerate(window.screens):
                    window.tabs.setCurrentIndex(index)
                    if screen.TITLE == "Reports":
                        wait_until(app, lambda s=screen: s.model.rowCount() > 0)
                    if screen.TITLE in ("Review", "Rework"):
                        wait_until(
                            app,
                            lambda s=screen: (
                                s.current_item is not None
                                and s.joint_view.has_overlay
                                and bool(s.board_view.loaded_path)
                            ),
                        )
                    if screen.TITLE == "Settings":
                        wait_until(
                            app, lambda s=screen: s.users_model.rowCount() == ALL_USERS
                        )
                    settle(app)
                    save(window, out / f"{screen.TITLE.lower()}-{theme}.png")
                    if screen.TITLE == "Review":
                        # `D`: the defect-code picker (digits 1-9 pick a code).
                        screen.panel.defect_action.trigger()
                        settle(app)
                        save(window, out / f"review-codes-{theme}.png")
                        screen.panel.cancel_action.trigger()
                window.logout_action.trigger()
                wait_until(app, dialog.isVisible)
        finally:
            shell.shutdown()
            station.close()
    shoot_reports_and_model(app, out)
    shoot_inspect(app, out)
    return 0


# --- Reports and Model screens (issue 7) -------------------------------------------
# Kept apart from `main`'s tab loop: its own station, seeded inside a supervisor's open
# shift (so the current-shift dashboard has figures) and a model folder with a card,
# evaluation plots and two registered versions.

SUPERVISOR, SUPERVISOR_PIN = "Sam Supervisor", "1357"
REPORT_CODES = ("bridge", "insufficient_solder", "cold_joint", "solder_ball", "bridge")


FIELD_LOOP = Path("build/field-loop")  # written by bench/field_loop.py
SHIPPED_VERSION = "synth-efflite0-128-v2"


def _register_real_versions(db: object, admin: object) -> str | None:
    """The shipped model as the active version; the field loop's fine-tuned model and
    its recorded comparison as a candidate when `bench/field_loop.py` has run.

    Returns the candidate's version (None without the field-loop output).
    """
    import json

    from app.fieldloop.versions import ensure_baseline, register_folder

    active = ensure_baseline(db, DEFAULT_MODEL_DIR)
    tuned = FIELD_LOOP / "ft"
    result = FIELD_LOOP / "comparison" / "comparison.json"
    if active is None or not (tuned / "model.json").is_file() or not result.is_file():
        return None
    candidate = register_folder(db, tuned, actor=admin)
    r = json.loads(result.read_text())
    db.models_registry.record_comparison(  # type: ignore[attr-defined]
        candidate.version,
        against=active.version,
        summary={
            "data": r["data"],
            "n": r["n"],
            "figures": {
                f["key"]: {"old": f["old"], "new": f["new"], "better": f["better"]}
                for f in r["figures"]
            },
            "changed_calls": r["changed_calls"],
        },
        actor=admin,
    )
    return candidate.version


def _seed_report_period(db: object, inspectors: list[object]) -> None:
    """Eight boards with joints in all regions, verdicts, and rework outcomes."""
    import hashlib
    import random

    from db import JointRecord
    from inference.types import BBox

    rng = random.Random(11)
    for b in range(8):
        serial = f"PCB-{2400 + b}"
        joints = []
        for i in range(40):
            p = rng.random() ** 4 if rng.random() < 0.9 else rng.random()
            joints.append(
                JointRecord(BBox(12 * i, 40, 10, 10), p, refdes=f"R{i % 14 + 1}")
            )
        db.inspections.record_inspection(  # type: ignore[attr-defined]
            serial=serial,
            product="CTRL-A",
            image_path=f"/img/{serial}.png",
            image_sha256=hashlib.sha256(serial.encode()).hexdigest(),
            model_version=SHIPPED_VERSION,
            t_lo=0.2,
            t_hi=0.8,
            joints=joints,
        )
    review = db.review  # type: ignore[attr-defined]
    for n, item in enumerate(review.queue(limit=500)):
        who = inspectors[n % len(inspectors)]
        seconds = rng.uniform(3, 14)
        if rng.random() < item.p * 0.8:
            review.record_verdict(
                item.joint_id,
                user=who,
                verdict="confirmed_defect",
                defect_code=REPORT_CODES[n % len(REPORT_CODES)],
                seconds_spent=seconds,
            )
        else:
            review.record_verdict(
                item.joint_id, user=who, verdict="false_call", seconds_spent=seconds
            )


def shoot_reports_and_model(app: QApplication, out: Path) -> None:
    """Save `reports-dashboard-<theme>.png` and `model-{whatif,plots,versions}-<theme>`
    from a station seeded for these two screens."""
    from db import open_database

    with tempfile.TemporaryDirectory(prefix="soldernet-shots-rm-") as tmp:
        root = Path(tmp)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tmp)
        settings = Settings(
            data_dir=root,
            db_url=str(root / "inspection.db"),
            model_dir=DEFAULT_MODEL_DIR,
        )
        db = open_database(settings.database)
        try:
            admin = db.users.create_user(ADMIN, "admin", PIN, actor=None)
            db.users.create_user(SUPERVISOR, "supervisor", SUPERVISOR_PIN, actor=admin)
            inspectors = [
                db.users.create_user(name, "inspector", "1357", actor=admin)
                for name in ("Ivan Inspector", "Ines Inspector")
            ]
            candidate = _register_real_versions(db, admin)
        finally:
            db.close()
        station = build_station(settings)
        shell = build_shell(station)
        dialog, window = shell.login_dialog, shell.main_window
        try:
            shell.start()
            wait_until(
                app, lambda: dialog.stack.currentIndex() == LoginDialog.PAGE_LOGIN
            )
            dialog.name_edit.setText(SUPERVISOR)
            dialog.pin_edit.setText(SUPERVISOR_PIN)
            dialog.login_button.click()
            wait_until(app, window.isVisible)
            window.resize(*WINDOW_SIZE)
            _seed_report_period(station.database, inspectors)
            reports, model = window.screens[3], window.screens[4]
            for theme in THEMES:
                station.settings_controller.set_theme(theme)
                window.tabs.setCurrentWidget(reports)
                reports.refresh()
                wait_until(app, lambda: not station.reports.busy)
                wait_until(app, lambda: not reports.charts["calls"].image.isNull())
                settle(app, 0.3)
                save(window, out / f"reports-dashboard-{theme}.png")
                window.tabs.setCurrentWidget(model)
                model.set_session(station.session.session)
                rows = 2 if candidate else 1
                wait_until(app, lambda n=rows: model.versions_table.rowCount() == n)
                wait_until(app, lambda: len(model._p) > 0)
                wait_until(app, lambda: not station.models.busy)
                model.t_lo_slider.setValue(30)
                model.t_hi_slider.setValue(70)
                for name, index in (("whatif", 0), ("plots", 1), ("versions", 3)):
                    model.tabs.setCurrentIndex(index)
                    if name == "versions" and candidate:
                        model.versions_table.selectRow(0)  # newest: the candidate
                        wait_until(app, lambda: model.comparison.has_evidence)
                    settle(app, 0.3)
                    save(window, out / f"model-{name}-{theme}.png")
                model.t_lo_slider.setValue(20)
                model.t_hi_slider.setValue(80)
        finally:
            shell.shutdown()
            station.close()


# --- Inspect screen (issue 7, item 1) ----------------------------------------------
# Its own station: a tiny real model folder (tests/pipeline_fixtures.py), so the first
# start inspects the four demo boards on the inference thread; a broken file shows a
# failed row. Overwrites `inspect-<theme>.png` from `main`'s tab loop (no model there).


def shoot_inspect(app: QApplication, out: Path) -> None:
    """Save `inspect-<theme>.png`: the demo boards inspected at first start."""
    from dataclasses import replace

    import torch

    from app.bootstrap import runner_config
    from app.controllers.ingest_controller import IngestController
    from db import open_database
    from tests.pipeline_fixtures import make_model_folder

    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    with tempfile.TemporaryDirectory(prefix="soldernet-shots-inspect-") as tmp:
        root = Path(tmp)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tmp)
        folder = make_model_folder(root / "models" / "default", version="demo-1.0")
        settings = Settings(
            data_dir=root, db_url=str(root / "inspection.db"), model_dir=folder
        )
        db = open_database(settings.database)
        try:
            db.users.create_user(ADMIN, "admin", PIN, actor=None)
        finally:
            db.close()
        station = build_station(settings)
        # A few explanations per board keep the shot quick (the station explains all).
        assert station.ingest is not None
        station.ingest.shutdown()
        station.ingest = IngestController(
            station.database,
            replace(runner_config(settings), device="cpu", max_explanations=2),
        )
        ingest = station.ingest
        shell = build_shell(station)  # first start: the demo boards are queued
        dialog, window = shell.login_dialog, shell.main_window
        try:
            shell.start()
            wait_until(
                app, lambda: dialog.stack.currentIndex() == LoginDialog.PAGE_LOGIN
            )
            dialog.name_edit.setText(ADMIN)
            dialog.pin_edit.setText(PIN)
            dialog.login_button.click()
            wait_until(app, window.isVisible)
            window.resize(*WINDOW_SIZE)
            screen = window.inspect_screen
            window.tabs.setCurrentWidget(screen)
            wait_until(app, lambda: not ingest.busy, timeout=300)
            broken = root / "incoming" / "board_0104.jpg"
            broken.parent.mkdir()
            broken.write_bytes(b"\xff\xd8\xff\xe0 truncated upload")
            screen.add_paths([str(broken)])
            wait_until(app, lambda: not ingest.busy, timeout=60)
            for theme in THEMES:
                station.settings_controller.set_theme(theme)
                settle(app, 0.3)
                save(window, out / f"inspect-{theme}.png")
        finally:
            shell.shutdown()
            station.close()


if __name__ == "__main__":
    sys.exit(main())
