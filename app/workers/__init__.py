"""Reusable worker infrastructure: signals, one-off tasks, cancellation, error payloads.

See style.md §2.3: one-off work runs as a `FunctionTask` on a `QThreadPool`; errors are
caught at the thread boundary and arrive on `failed` as an `ErrorInfo`; `finished`
always arrives last.
"""

from __future__ import annotations

from app.workers.cancel import CancelToken, OperationCancelledError
from app.workers.errors import ErrorInfo
from app.workers.signals import WorkerSignals
from app.workers.task import FunctionTask, TaskRunner

__all__ = [
    "CancelToken",
    "ErrorInfo",
    "FunctionTask",
    "OperationCancelledError",
    "TaskRunner",
    "WorkerSignals",
]
