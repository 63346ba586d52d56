"""Run Python's cyclic garbage collector on the GUI thread only.

Automatic collection runs in whichever thread happens to allocate; when that is a
worker thread (the database or inference thread) it may destroy Qt objects that live
on the GUI thread, which aborts the process. As in pyqtgraph's `GarbageCollector`,
automatic collection is switched off and a GUI-thread timer collects each generation
when its threshold is passed.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

DEFAULT_INTERVAL_MS = 1000


class GuiThreadGarbageCollector(QObject):
    """Disable automatic GC and collect from a timer on the thread that owns this."""

    def __init__(
        self, interval_ms: int = DEFAULT_INTERVAL_MS, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.collections = 0
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)

    def start(self) -> None:
        """Switch automatic collection off and start the timer."""
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        """Stop the timer, collect once and switch automatic collection back on."""
        self._timer.stop()
        gc.collect()
        gc.enable()

    def check(self) -> None:
        """Collect the generations whose allocation counts passed their threshold."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        for generation in (2, 1, 0):
            if counts[generation] > thresholds[generation]:
                gc.collect(generation)
                self.collections += 1
                break
