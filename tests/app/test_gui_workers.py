"""FunctionTask, TaskRunner, CancelToken: errors reach `failed`; `finished` comes."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QObject, QThreadPool, Slot

from app.workers import CancelToken, ErrorInfo, FunctionTask, TaskRunner

pytestmark = pytest.mark.gui


class RecorderProbe(QObject):
    """Records what a task emitted, through @Slot bound methods (queued, GUI thread)."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []
        self.results: list[object] = []
        self.errors: list[ErrorInfo] = []
        self.progress: list[tuple[int, int]] = []
        self.threads: set[int] = set()

    def attach(self, task: FunctionTask) -> None:
        task.signals.started.connect(self._on_task_started)
        task.signals.progress.connect(self._on_task_progress)
        task.signals.result.connect(self._on_task_result)
        task.signals.failed.connect(self._on_task_failed)
        task.signals.cancelled.connect(self._on_task_cancelled)
        task.signals.finished.connect(self._on_task_finished)

    def _note(self, name: str) -> None:
        self.events.append(name)
        self.threads.add(threading.get_ident())

    @Slot()
    def _on_task_started(self) -> None:
        self._note("started")

    @Slot(int, int)
    def _on_task_progress(self, done: int, total: int) -> None:
        self._note("progress")
        self.progress.append((done, total))

    @Slot(object)
    def _on_task_result(self, value: object) -> None:
        self._note("result")
        self.results.append(value)

    @Slot(object)
    def _on_task_failed(self, error: object) -> None:
        self._note("failed")
        assert isinstance(error, ErrorInfo)
        self.errors.append(error)

    @Slot()
    def _on_task_cancelled(self) -> None:
        self._note("cancelled")

    @Slot()
    def _on_task_finished(self) -> None:
        self._note("finished")


@pytest.fixture
def runner(qtbot):
    pool = QThreadPool()
    pool.setMaxThreadCount(2)
    task_runner = TaskRunner(pool)
    yield task_runner
    task_runner.wait_for_done(5000)


def _boom(x: int) -> int:
    msg = f"cannot handle {x}"
    raise ValueError(msg)


def test_gui_task_result_arrives_on_gui_thread(qtbot, runner):
    probe = RecorderProbe()
    task = runner.submit(pow, 2, 10)
    probe.attach(task)
    with qtbot.waitSignal(task.signals.finished, timeout=5000):
        runner.start(task)
    assert probe.events == ["started", "result", "finished"]
    assert probe.results == [1024]
    assert probe.threads == {threading.get_ident()}
    qtbot.waitUntil(lambda: runner.active_count == 0, timeout=2000)


def test_gui_task_that_raises_reaches_failed_then_finished(qtbot, runner):
    probe = RecorderProbe()
    task = runner.submit(_boom, 7)
    probe.attach(task)
    with qtbot.waitSignal(task.signals.finished, timeout=5000):
        runner.start(task)
    assert probe.events == ["started", "failed", "finished"]
    (error,) = probe.errors
    assert error.kind == "ValueError"
    assert error.message == "cannot handle 7"
    assert "_boom" in error.traceback
    assert probe.results == []


def test_gui_cancel_token_stops_cooperative_task(qtbot, runner):
    probe = RecorderProbe()
    steps_run: list[int] = []

    def slow_job(n: int, *, on_progress, cancel: CancelToken) -> str:
        for i in range(n):
            steps_run.append(i)
            on_progress(i + 1, n)  # a cancel point
            cancel.wait(0.02)
        return "completed"

    task = runner.submit(slow_job, 500)
    probe.attach(task)
    runner.start(task)
    qtbot.waitUntil(lambda: bool(probe.progress), timeout=5000)
    task.cancel()
    qtbot.waitUntil(lambda: "finished" in probe.events, timeout=5000)
    assert "cancelled" in probe.events
    assert "result" not in probe.events
    assert "failed" not in probe.events
    assert probe.events[-1] == "finished"
    assert len(steps_run) < 500


def test_gui_cancel_token_is_plain_python():
    token = CancelToken()
    assert not token.is_cancelled
    token.raise_if_cancelled()
    token.cancel()
    assert token.is_cancelled
    with pytest.raises(Exception, match="cancelled"):
        token.raise_if_cancelled()


def test_gui_error_info_from_exception():
    try:
        _boom(3)
    except ValueError as exc:
        info = ErrorInfo.from_exception(exc)
    assert info.kind == "ValueError"
    assert info.message == "cannot handle 3"
    assert "Traceback" in info.traceback
