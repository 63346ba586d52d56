"""Start-up part of bench/bench_gui.py: time a fresh station from launch to first joint.

`bench_startup` runs `CHILD` in fresh interpreters: it builds the real station and shell
on a seeded review database and reports when the login dialog is usable, when the main
window has painted after the login button, and whether torch was imported.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _gui_probes import loadavg

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import os, sys, time
T0 = float(sys.argv[1])
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, sys.argv[4])
t_imp = time.time()
from PySide6.QtCore import QSettings, QTimer, QEventLoop
from PySide6.QtWidgets import QApplication
from app.bootstrap import build_shell, build_station
from app.gui_main import configure_application
from app.settings import Settings
from app.theme import apply_theme
from app.widgets.login_dialog import LoginDialog
from pathlib import Path
marks = {"python_started": t_imp - T0, "imported": time.time() - T0}
marks["torch_imported_at_start"] = "torch" in sys.modules
app = QApplication(sys.argv[:1])
configure_application(app)
root = Path(sys.argv[2])
QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(root))
settings = Settings(data_dir=root, db_url=sys.argv[3], model_dir=root / "no-model")
station = build_station(settings)
apply_theme(app, "light")
shell = build_shell(station)
marks["built"] = time.time() - T0
shell.start()
dialog, window = shell.login_dialog, shell.main_window
loop = QEventLoop()
def until(pred):
    t = QTimer(); t.setInterval(1); t.timeout.connect(lambda: pred() and loop.quit())
    t.start()
    if not pred():
        loop.exec()
    t.stop()
until(lambda: dialog.isVisible()
      and dialog.stack.currentIndex() == LoginDialog.PAGE_LOGIN
      and dialog.stack.isEnabled())
# usable: a zero-timer posted now runs (the loop turns, the dialog is painted)
answered = []
QTimer.singleShot(0, lambda: answered.append(time.time()))
until(lambda: bool(answered))
marks["login_usable"] = answered[0] - T0
dialog.name_edit.setText(sys.argv[5]); dialog.pin_edit.setText(sys.argv[6])
t_click = time.time()
dialog.login_button.click()
until(window.isVisible)
answered.clear()
QTimer.singleShot(0, lambda: answered.append(time.time()))
until(lambda: bool(answered))
marks["main_visible"] = answered[0] - T0
marks["click_to_main"] = answered[0] - t_click
screen = window.review_screen
until(lambda: screen.current_item is not None and screen.joint_view.has_overlay)
marks["first_joint_shown"] = time.time() - T0
marks["torch_imported_after_login"] = "torch" in sys.modules
shell.shutdown(); station.close()
import json; print("MARKS " + json.dumps(marks), flush=True)
"""


def bench_startup(db_path: str, args: argparse.Namespace) -> dict:
    from tests.app._seed import INSPECTOR

    root = Path(db_path).parent
    runs: list[dict] = []
    print(f"[startup] {args.startup_runs} runs on {db_path}, load {loadavg()}")
    load_before = loadavg()
    for _ in range(args.startup_runs):
        t0 = time.time()
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                CHILD,
                repr(t0),
                str(root),
                db_path,
                str(ROOT),
                *INSPECTOR,
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        line = next(
            (x for x in proc.stdout.splitlines() if x.startswith("MARKS ")), None
        )
        if line is None:
            print(proc.stdout[-2000:], proc.stderr[-4000:])
            msg = "start-up child failed"
            raise RuntimeError(msg)
        runs.append(json.loads(line[6:]))
    out: dict[str, Any] = {"runs": runs, "load_before": load_before}
    for key in (
        "python_started",
        "imported",
        "built",
        "login_usable",
        "click_to_main",
        "main_visible",
        "first_joint_shown",
    ):
        out[key + "_median"] = statistics.median(r[key] for r in runs)
    out["torch_imported_at_start"] = any(r["torch_imported_at_start"] for r in runs)
    out["torch_imported_after_login"] = any(
        r["torch_imported_after_login"] for r in runs
    )
    # torch's own import time, for scale (a fresh interpreter).
    t = subprocess.run(
        [
            sys.executable,
            "-c",
            "import time;t=time.time();import torch;print(time.time()-t)",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out["torch_import_s"] = float(t.stdout.strip() or "nan")
    out["load_after"] = loadavg()
    return out
