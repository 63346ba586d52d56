"""Timing probes of the GUI benchmark (bench/bench_gui.py): event-loop ticks with a
stack sampler, paint stamps, waits that keep the event loop turning, summaries."""

from __future__ import annotations

import cProfile
import gc
import os
import pstats
import statistics
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QEventLoop, QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.widgets.login_dialog import LoginDialog

WINDOW_SIZE = (1280, 800)
TICK_MS = 5
STALL_MS = 50.0
SAMPLE_AFTER_MS = 30.0


def loadavg() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of `values`."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(q / 100 * len(s) + 0.5) - 1))
    return s[k]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": pct(values, 50),
        "p95": pct(values, 95),
        "p99": pct(values, 99),
        "max": max(values) if values else float("nan"),
        "mean": statistics.fmean(values) if values else float("nan"),
    }


def wait_until(
    app: QApplication, predicate: Callable[[], bool], timeout: float = 60
) -> None:
    """Run the event loop (blocking in it, no busy spin) until `predicate()`."""
    deadline = time.monotonic() + timeout
    loop = QEventLoop()
    poll = QTimer()
    poll.setInterval(5)
    poll.timeout.connect(lambda: predicate() and loop.quit())
    while not predicate():
        if time.monotonic() > deadline:
            msg = "timed out waiting for the GUI"
            raise TimeoutError(msg)
        poll.start()
        QTimer.singleShot(200, loop.quit)
        loop.exec()
        poll.stop()
    app.processEvents()


def run_for(seconds: float) -> None:
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def log_in(app: QApplication, shell: Any, name: str, pin: str) -> None:
    dialog, window = shell.login_dialog, shell.main_window
    wait_until(app, lambda: dialog.stack.currentIndex() == LoginDialog.PAGE_LOGIN)
    wait_until(app, dialog.stack.isEnabled)
    dialog.name_edit.setText(name)
    dialog.pin_edit.setText(pin)
    dialog.login_button.click()
    wait_until(app, window.isVisible)
    window.resize(*WINDOW_SIZE)
    window.activateWindow()


class TickRecorder(QObject):
    """A 5 ms precise timer on the GUI thread; records the gaps between timeouts.

    A sampler thread grabs the GUI thread's Python stack when no tick came for
    `SAMPLE_AFTER_MS`: the innermost frames say what blocked the loop.
    """

    def __init__(self) -> None:
        super().__init__()
        self.gaps: list[float] = []
        self.big: list[tuple[float, float, str]] = []  # (at s, gap ms, stage)
        self.stage = ""
        self.collections: list[tuple[float, int, float, int, str]] = []
        self._gc_started = 0.0
        self._t0 = 0.0
        self._last = 0.0
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._on_timeout)
        self.samples: Counter[str] = Counter()
        self._sampling = False
        self._main_id = threading.main_thread().ident

    def start(self) -> None:
        self.gaps, self.big, self.collections = [], [], []
        self.samples = Counter()
        self._t0 = self._last = time.perf_counter()
        self._timer.start()
        self._sampling = True
        gc.callbacks.append(self._on_gc)
        threading.Thread(target=self._sample, daemon=True).start()

    def stop(self) -> list[float]:
        self._timer.stop()
        self._sampling = False
        gc.callbacks.remove(self._on_gc)
        return self.gaps

    def _on_timeout(self) -> None:
        now = time.perf_counter()
        gap = (now - self._last) * 1000
        self.gaps.append(gap)
        if gap > STALL_MS:
            self.big.append(
                (round(self._last - self._t0, 2), round(gap, 1), self.stage)
            )
        self._last = now

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        # Which thread collects, how long: (at s, generation, ms, objects collected).
        now = time.perf_counter()
        if phase == "start":
            self._gc_started = now
        else:
            self.collections.append(
                (
                    round(self._gc_started - self._t0, 2),
                    info["generation"],
                    round((now - self._gc_started) * 1000, 1),
                    info["collected"],
                    threading.current_thread().name,
                )
            )

    def _sample(self) -> None:
        while self._sampling:
            time.sleep(0.005)
            if (time.perf_counter() - self._last) * 1000 < SAMPLE_AFTER_MS:
                continue
            frame = sys._current_frames().get(self._main_id)
            if frame is None:
                continue
            stack = traceback.extract_stack(frame)
            ours = [
                f"{Path(f.filename).name}:{f.lineno} {f.name}"
                for f in stack
                if "/site-packages/" not in f.filename
            ][-3:]
            self.samples[" <- ".join(reversed(ours))] += 1


def top_functions(profile: cProfile.Profile, n: int) -> list[str]:
    stats = pstats.Stats(profile)
    rows = []
    for (file, line, name), (_cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append((ct, tt, nc, f"{Path(file).name}:{line} {name}"))
    rows.sort(reverse=True)
    return [
        f"{ct * 1000:9.1f} ms cum {tt * 1000:8.1f} ms own {nc:7d} calls  {where}"
        for ct, tt, nc, where in rows[:n]
    ]


class PaintProbe(QObject):
    """Handles the joint view viewport's paint events itself, then stamps the time."""

    def __init__(self, viewport: Any, view: Any) -> None:
        super().__init__()
        self.viewport, self.view = viewport, view
        self.painted_at = 0.0
        self.paint_started = 0.0
        self.on_paint: Callable[[], None] = lambda: None

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.viewport and event.type() == QEvent.Type.Paint:
            self.paint_started = time.perf_counter()
            self.view.viewportEvent(event)  # paint now, then stamp
            self.painted_at = time.perf_counter()
            self.on_paint()
            return True
        return False


def fmt(s: dict, keys: tuple[str, ...] = ("p50", "p95", "p99", "max")) -> str:
    return ", ".join(f"{k} {s[k]:.1f}" for k in keys) + f" ms (n={s['n']})"
