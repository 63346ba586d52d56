"""Inspect screen + `IngestController` + `InferenceWorker` on its own thread.

A tiny real model folder (`tests/pipeline_fixtures.py`), real demo boards and a real
SQLite file in tmp_path; explanations limited to one per board (fast knobs).
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from PySide6.QtCore import QMimeData, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDropEvent

import app.bootstrap as bootstrap
import app.first_start as first_start
from app.controllers.ingest_controller import IngestController
from app.inspection_runner import InspectionRunner
from app.screens.inspect_screen import (
    COL_DEFECT,
    COL_ERROR,
    COL_JOINTS,
    COL_NON_DEFECT,
    COL_POSSIBLE,
    COL_STATUS,
    ImageFileDialog,
    InspectScreen,
)
from app.widgets.error_presenter import ErrorPresenter
from app.workers.inference_worker import (
    BOARD_FAILED,
    MODEL_LOAD_FAILED,
    RunnerConfig,
    build_runner,
)
from db import Database, InspectionStatus, open_database
from tests.pipeline_fixtures import copy_demo_boards, make_model_folder

pytestmark = pytest.mark.gui

torch.set_num_threads(1)

TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_model_folder(tmp_path_factory.mktemp("model") / "m")


@pytest.fixture
def boards(tmp_path: Path) -> list[Path]:
    return copy_demo_boards(tmp_path / "demo", n=2)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with open_database(tmp_path / "inspection.db") as database:
        yield database


def _config(model_dir: Path, tmp_path: Path, **kw: Any) -> RunnerConfig:
    base = RunnerConfig(
        model_dir=str(model_dir),
        artefact_dir=str(tmp_path / "artefacts"),
        device="cpu",
        max_explanations=1,
        fast_explain=True,
    )
    return dataclasses.replace(base, **kw)


@pytest.fixture
def make_ingest(qtbot, db, model_dir, tmp_path):
    """`make_ingest(runner_factory=None, **config)`: a controller, shut down after."""
    made: list[IngestController] = []

    def factory(runner_factory: Any = None, **kw: Any) -> IngestController:
        folder = kw.pop("model_dir", model_dir)
        c = IngestController(
            db, _config(folder, tmp_path, **kw), runner_factory=runner_factory
        )
        made.append(c)
        return c

    yield factory
    for c in made:
        assert c.shutdown()


class Recorder:
    """Collects the controller's per-job signals (GUI thread)."""

    def __init__(self, c: IngestController) -> None:
        self.progress: list[tuple[str, str, int, int]] = []
        self.results: dict[str, Any] = {}
        self.failed: dict[str, list[Any]] = {}
        self.cancelled: list[str] = []
        self.finished: list[str] = []
        c.job_progress.connect(self.on_progress)
        c.job_result.connect(self.on_result)
        c.job_failed.connect(self.on_failed)
        c.job_cancelled.connect(self.cancelled.append)
        c.job_finished.connect(self.finished.append)

    def on_progress(self, job_id: str, stage: str, done: int, total: int) -> None:
        self.progress.append((job_id, stage, done, total))

    def on_result(self, job_id: str, board: Any) -> None:
        self.results[job_id] = board

    def on_failed(self, job_id: str, error: Any) -> None:
        self.failed.setdefault(job_id, []).append(error)


class GatedRunner:
    """The real runner, holding its first progress until the job is cancelled.

    Makes "cancel after the first progress" deterministic: the worker waits (up to
    10 s) at its first progress report until the GUI thread cancels the token.
    """

    def __init__(self, runner: Any) -> None:
        self.runner = runner
        self.user = None

    def inspect(self, path: Path, **kw: Any) -> Any:
        report, token = kw["on_progress"], kw["cancel"]
        first = [True]

        def on_progress(stage: str, done: int, total: int) -> None:
            report(stage, done, total)
            if first[0]:
                first[0] = False
                token.wait(10)

        kw["on_progress"] = on_progress
        return self.runner.inspect(path, **kw)


def gated_factory(database: Any, config: RunnerConfig) -> GatedRunner:
    return GatedRunner(build_runner(database, config))


# -- the whole station ---------------------------------------------------------------


def test_gui_first_start_and_added_board_fill_the_review_queue(
    qtbot, main_window, station_settings, model_dir, admin_user, log_in, boards,
    monkeypatch, tmp_path,
):  # fmt: skip
    settings = dataclasses.replace(station_settings, model_dir=model_dir)
    monkeypatch.setattr(first_start, "demo_boards", lambda: [boards[0]])
    monkeypatch.setattr(
        bootstrap,
        "runner_config",
        lambda s: _config(s.model_dir, tmp_path, device="cpu"),
    )
    # The event loop keeps turning while the worker inspects.
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()

    s = main_window(settings)  # first start: the demo board is queued at once
    ingest = s.station.ingest
    screen = s.window.inspect_screen
    rec = Recorder(ingest)
    first_id = ingest.pending[0]
    s.shell.start()
    log_in(s)
    refreshes: list[int] = []
    original_refresh = s.window.review_screen.refresh

    def counting_refresh() -> None:
        refreshes.append(1)
        original_refresh()

    monkeypatch.setattr(s.window.review_screen, "refresh", counting_refresh)
    qtbot.waitUntil(lambda: first_id in rec.finished, timeout=TIMEOUT_MS)

    # Add the second board through the (replaced) file dialog.
    monkeypatch.setattr(
        ImageFileDialog, "ask", classmethod(lambda cls, parent: [str(boards[1])])
    )
    with qtbot.waitSignal(ingest.job_result, timeout=TIMEOUT_MS) as blocker:
        screen.add_button.click()
    timer.stop()
    second_id, board = blocker.args

    assert rec.results[first_id].status == "done"
    assert board.status == "done"
    assert {p[0] for p in rec.progress} == {first_id, second_id}
    assert "classify" in {p[1] for p in rec.progress}
    assert screen.cell_text(second_id, COL_STATUS) == "done"
    assert screen.cell_text(second_id, COL_JOINTS) == str(board.n_joints)
    assert screen.cell_text(second_id, COL_DEFECT) == str(board.regions["defect"])
    assert screen.cell_text(second_id, COL_POSSIBLE) == str(
        board.regions["possible_defect"]
    )
    assert screen.cell_text(second_id, COL_NON_DEFECT) == str(
        board.regions["non_defect"]
    )
    assert screen.progress_bar(second_id).value() == 100
    assert all(v > 0 for v in board.regions.values())
    insp = s.db.inspections.get_inspection(board.inspection_id)
    assert insp.status is InspectionStatus.DONE
    assert (
        insp.n_joints
        == board.n_joints
        == len(s.db.inspections.joint_ids(board.inspection_id))
    )
    # The review queue was refreshed and shows the new possibly defective joints.
    assert refreshes
    qtbot.waitUntil(lambda: s.window.review_screen.model.rowCount() > 0)
    assert screen.overall_bar.value() == screen.overall_bar.maximum() == 2
    assert screen.overall_label.text() == "2 boards finished (2 done)"
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert len(ticks) > 10
    assert max(gaps) < 0.5, f"event loop blocked for {max(gaps):.2f} s"


# -- worker behaviour ----------------------------------------------------------------


def test_gui_corrupt_image_fails_naming_the_file_and_the_next_is_inspected(
    qtbot, make_ingest, boards, db, tmp_path
):
    ingest = make_ingest(explain=False)
    screen = InspectScreen(ingest, ErrorPresenter())
    qtbot.addWidget(screen)
    rec = Recorder(ingest)
    folder = boards[0].parent
    bad = folder / "broken_board.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg at all")
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")

    jobs = screen.add_paths([str(notes), str(bad), str(boards[0])])
    assert [Path(j.path).name for j in jobs] == ["broken_board.jpg", boards[0].name]
    assert "notes.txt" in screen.message_label.text()
    qtbot.waitUntil(lambda: len(rec.finished) == 2, timeout=TIMEOUT_MS)

    bad_id, good_id = (j.job_id for j in jobs)
    (error,) = rec.failed[bad_id]
    assert error.kind == BOARD_FAILED
    assert "broken_board.jpg" in error.message
    assert "broken_board.jpg" in screen.cell_text(bad_id, COL_ERROR)
    assert screen.cell_text(bad_id, COL_STATUS) == "failed"
    assert bad_id not in rec.results
    assert rec.results[good_id].status == "done"
    assert rec.results[good_id].n_joints > 0
    assert screen.cell_text(good_id, COL_STATUS) == "done"


def test_gui_cancel_after_first_progress_finishes_without_result(
    qtbot, make_ingest, boards, db
):
    ingest = make_ingest(runner_factory=gated_factory)
    rec = Recorder(ingest)
    with qtbot.waitSignal(ingest.job_progress, timeout=TIMEOUT_MS) as first:
        (job,) = ingest.add_paths([boards[0]])
    assert first.args[0] == job.job_id
    assert ingest.cancel(job.job_id)
    with qtbot.waitSignal(
        ingest.job_finished,
        timeout=TIMEOUT_MS,
        check_params_cb=lambda job_id: job_id == job.job_id,
    ):
        pass
    assert rec.cancelled == [job.job_id]
    assert rec.results == {}
    assert rec.failed == {}
    assert not ingest.busy
    (insp,) = db.inspections.list_inspections()
    assert insp.status is InspectionStatus.CANCELLED
    assert insp.n_joints == 0


def test_gui_runner_exception_is_one_message_and_worker_serves_next_job(
    qtbot, make_ingest, boards, monkeypatch
):
    real_inspect = InspectionRunner.inspect
    calls: list[str] = []

    def flaky_inspect(self: Any, path: Any, **kw: Any) -> Any:
        calls.append(Path(path).name)
        if len(calls) == 1:
            raise RuntimeError("boom in the runner")
        return real_inspect(self, path, **kw)

    monkeypatch.setattr(InspectionRunner, "inspect", flaky_inspect)
    ingest = make_ingest(explain=False)
    presenter = ErrorPresenter()
    shown: list[Any] = []
    monkeypatch.setattr(presenter, "show_in_status", shown.append)
    screen = InspectScreen(ingest, presenter)
    qtbot.addWidget(screen)
    rec = Recorder(ingest)

    first, second = screen.add_paths([str(boards[0]), str(boards[1])])
    qtbot.waitUntil(lambda: len(rec.finished) == 2, timeout=TIMEOUT_MS)

    (error,) = rec.failed[first.job_id]
    assert error.kind == "RuntimeError"
    assert boards[0].name in error.message
    assert "boom in the runner" in error.message
    assert "Traceback" in error.traceback
    assert shown == [error]  # one message, through the error presenter
    assert "boom in the runner" in screen.message_label.text()
    assert rec.finished == [first.job_id, second.job_id]
    assert rec.results[second.job_id].status == "done"
    assert screen.cell_text(second.job_id, COL_STATUS) == "done"


def test_gui_model_folder_that_fails_to_load_gives_a_clear_message(
    qtbot, make_ingest, boards, tmp_path
):
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "model.json").write_text("{ not json")
    ingest = make_ingest(model_dir=str(broken))
    screen = InspectScreen(ingest, ErrorPresenter())
    qtbot.addWidget(screen)
    rec = Recorder(ingest)

    jobs = screen.add_paths([str(b) for b in boards])
    qtbot.waitUntil(lambda: len(rec.finished) == 2, timeout=TIMEOUT_MS)

    for job in jobs:
        (error,) = rec.failed[job.job_id]
        assert error.kind == MODEL_LOAD_FAILED
        assert str(broken) in error.message
        assert screen.cell_text(job.job_id, COL_STATUS) == "failed"
    assert str(broken) in screen.notice_label.text()
    assert not screen.notice_label.isHidden()
    assert rec.results == {}
    assert ingest.worker_thread.isRunning()  # still there for the next job


def test_gui_shutdown_cancels_the_running_board_and_joins_the_thread(
    qtbot, make_ingest, boards
):
    ingest = make_ingest(runner_factory=gated_factory)
    with qtbot.waitSignal(ingest.job_progress, timeout=TIMEOUT_MS):
        ingest.add_paths(boards)  # two boards: one running, one queued
    thread = ingest.worker_thread
    assert thread.isRunning()
    t0 = time.perf_counter()
    assert ingest.shutdown()
    assert time.perf_counter() - t0 < 5
    assert thread.isFinished()
    assert not thread.isRunning()


# -- first start, watched folder -----------------------------------------------------


def test_gui_first_start_without_model_says_so(qtbot, make_ingest, db, tmp_path):
    ingest = make_ingest(model_dir=str(tmp_path / "models" / "default"))
    result = first_start.run_first_start(db, ingest)
    assert result.jobs == ()
    assert str(tmp_path / "models" / "default") in result.message
    screen = InspectScreen(ingest, ErrorPresenter())
    qtbot.addWidget(screen)
    assert "No model is installed" in screen.notice_label.text()
    assert not ingest.worker_thread.isRunning()


def test_gui_first_start_queues_the_demo_boards_only_on_an_empty_database(
    qtbot, make_ingest, db, tmp_path
):
    ingest = make_ingest(model_dir=str(tmp_path / "nowhere"))
    (tmp_path / "nowhere").mkdir()
    (tmp_path / "nowhere" / "model.json").write_text("{}")
    rec = Recorder(ingest)
    result = first_start.run_first_start(db, ingest)
    assert [Path(j.path).name for j in result.jobs] == [
        p.name for p in first_start.demo_boards()
    ]
    assert len(result.jobs) == 4
    qtbot.waitUntil(lambda: len(rec.finished) == 4, timeout=TIMEOUT_MS)
    assert set(rec.failed) == {j.job_id for j in result.jobs}  # "{}" is no model
    # Not on a database that already holds inspections.
    db.inspections.start_inspection(
        serial="X1", product="p", image_path="/x.jpg", image_sha256="0" * 64,
        model_version="v", t_lo=0.1, t_hi=0.9,
    )  # fmt: skip
    assert first_start.run_first_start(db, ingest).jobs == ()


def test_gui_watched_folder_queues_each_new_file_once(qtbot, make_ingest, tmp_path):
    ingest = make_ingest(model_dir=str(tmp_path / "no-model"))
    folder = tmp_path / "incoming"
    folder.mkdir()
    (folder / "old.jpg").write_bytes(b"x")
    screen = InspectScreen(ingest, ErrorPresenter())
    qtbot.addWidget(screen)
    ingest.watch(folder)
    assert "incoming" in screen.watch_label.text()
    assert screen.watch_button.text() == "Stop watching"
    (folder / "new.jpg").write_bytes(b"y" * 10)
    (folder / "readme.txt").write_text("no")
    assert ingest.poll_watch_dir() == []  # seen once: maybe still being written
    jobs = ingest.poll_watch_dir()
    assert [Path(j.path).name for j in jobs] == ["new.jpg"]
    assert ingest.poll_watch_dir() == []
    ingest.watch(None)
    assert screen.watch_button.text() == "Watch folder…"


def test_gui_dropped_files_and_folders_are_queued_and_non_images_named(
    qtbot, make_ingest, boards, tmp_path
):
    ingest = make_ingest(model_dir=str(tmp_path / "no-model"))
    screen = InspectScreen(ingest, ErrorPresenter())
    qtbot.addWidget(screen)
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")
    mime = QMimeData()
    mime.setUrls(
        [QUrl.fromLocalFile(str(boards[0].parent)), QUrl.fromLocalFile(str(notes))]
    )
    event = QDropEvent(
        QPointF(5, 5),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    screen.dropEvent(event)
    assert event.isAccepted()
    assert screen.table.rowCount() == len(boards)
    assert "notes.txt" in screen.message_label.text()
    assert "not a board image" in screen.message_label.text()


def test_gui_warm_up_loads_the_model_once_before_the_first_board(
    qtbot, make_ingest, boards
):
    built: list[str] = []

    def counting_factory(database: Any, config: RunnerConfig) -> Any:
        built.append(threading.current_thread().name)
        return build_runner(database, config)

    ingest = make_ingest(runner_factory=counting_factory, explain=False)
    ingest.warm_up()
    qtbot.waitUntil(lambda: len(built) == 1, timeout=TIMEOUT_MS)
    assert built[0] != threading.main_thread().name  # loaded on the worker thread
    with qtbot.waitSignal(ingest.job_result, timeout=TIMEOUT_MS) as blocker:
        ingest.add_paths([boards[0]])
    assert blocker.args[1].status == "done"
    assert len(built) == 1  # the first board reused the warmed-up runner
