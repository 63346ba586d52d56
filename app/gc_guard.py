"""Run Python's cyclic garbage collector on the GUI thread only, in small steps.

Automatic collection runs in whichever thread happens to allocate; when that is a
worker thread (the database or inference thread) it may destroy Qt objects that live
on the GUI thread, which aborts the process. As in pyqtgraph's `GarbageCollector`,
automatic collection is switched off and a GUI-thread timer collects instead.

Two things keep those collections short (measured in docs/gui-performance.md: a
full pass over the ~500,000 objects of torch and a loaded model took 0.67 s):

* the timer runs often (every 100 ms), so the young generation stays small;
* after each full collection the survivors are frozen (`gc.freeze`): the model,
  torch's modules and the Qt wrappers live as long as the process, and later full
  passes only look at objects made since.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

DEFAULT_INTERVAL_MS = 100


class GuiThreadGarbageCollector(QObject):
    """Disable automatic GC and collect from a timer on the thread that owns this."""

    def __init__(
        self, interval_ms: int = DEFAULT_INTERVAL_MS, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.collections = 0
        self.full_collections = 0
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)

    def start(self) -> None:
        """Collect and freeze what start-up made, switch automatic GC off, start."""
        gc.collect()
        gc.freeze()
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        """Stop the timer, unfreeze, collect once and switch automatic GC back on."""
        self._timer.stop()
        gc.unfreeze()
        gc.collect()
        gc.enable()

    def check(self) -> None:
        """Collect the oldest generation whose allocation count passed its threshold."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        for generation in (2, 1, 0):
            if counts[generation] > thresholds[generation]:
                gc.collect(generation)
                self.collections += 1
                if generation == 2:
                    self.full_collections += 1
                    gc.freeze()  # survivors of a full pass are long-lived
                break
