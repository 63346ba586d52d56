"""`WorkerSignals`: the signals every worker and one-off task emits."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class WorkerSignals(QObject):
    """Signals of one background job: created on the GUI thread, emitted by a worker.

    Receivers must be `@Slot` bound methods of QObjects (never lambdas or partials)
    so the connection is queued onto the receiver's thread.
    """

    # The job began running on its worker thread.
    started = Signal()
    # Progress: (done, total) steps.
    progress = Signal(int, int)
    # The job's return value (a DTO or frozen dataclass, never a QWidget or QPixmap).
    result = Signal(object)
    # The job raised: an `ErrorInfo`.
    failed = Signal(object)
    # The job stopped at a cancel point (emitted instead of `result`).
    cancelled = Signal()
    # Always emitted last, whatever happened.
    finished = Signal()
