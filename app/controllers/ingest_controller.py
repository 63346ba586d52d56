"""`IngestController`: queue board images on the `InferenceWorker` and relay its news.

Owns the worker's dedicated `QThread` (started on the first job), one `CancelToken`
per job (cancelled directly from the GUI thread: a queued signal would wait behind
the busy job), the watched folder and the overall progress. Files that are not
images or cannot be read are refused with a message naming them; the rest of the
batch goes on (product.md §8).
"""

from __future__ import annotations

import itertools
import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from app.inspection_runner import IMAGE_SUFFIXES, serial_from_path
from app.workers.cancel import CancelToken
from app.workers.inference_worker import InferenceWorker, InspectOptions, RunnerConfig

if TYPE_CHECKING:
    from collections.abc import Iterable

    from app.workers.inference_worker import RunnerFactory

log = logging.getLogger(__name__)

SHUTDOWN_WAIT_MS = 5000
WATCH_INTERVAL_MS = 2000


@dataclass(frozen=True)
class BoardJob:
    """One queued board, as the Inspect screen lists it."""

    job_id: str
    path: str
    serial: str
    recipe: str | None = None


class IngestController(QObject):
    """Queues board images on one `InferenceWorker` thread; cancel, watch, shutdown."""

    # Private: the worker's `inspect` slot (queued onto the worker thread).
    inspect_requested = Signal(str, str)
    # Internal: asks the worker to load the model now (queued to its thread).
    warm_up_requested = Signal()
    # A board was queued: `BoardJob`.
    job_queued = Signal(object)
    # (job_id, stage, done, total): progress of one board.
    job_progress = Signal(str, str, int, int)
    # (job_id, BoardResult): a board is inspected (done or skipped).
    job_result = Signal(str, object)
    # (job_id, ErrorInfo): a board could not be inspected.
    job_failed = Signal(str, object)
    # (job_id): a board was cancelled.
    job_cancelled = Signal(str)
    # (job_id): the board's job ended (always last).
    job_finished = Signal(str)
    # (path, message): a file was refused before queueing (not an image, unreadable).
    file_rejected = Signal(str, str)
    # (finished, total) boards queued since the station started.
    overall_progress = Signal(int, int)
    # A board's joints are in the database (`BoardResult`): the review queue grew.
    board_inspected = Signal(object)
    # The watched folder changed (empty string: none).
    watch_changed = Signal(str)

    def __init__(
        self,
        database: Any,
        config: RunnerConfig,
        parent: QObject | None = None,
        *,
        runner_factory: RunnerFactory | None = None,
        watch_interval_ms: int = WATCH_INTERVAL_MS,
    ) -> None:
        super().__init__(parent)
        self._config = config
        self._thread = QThread(self)
        self._thread.setObjectName("inferenceThread")
        self._worker: InferenceWorker | None = InferenceWorker(
            database, config, runner_factory
        )
        self._worker.moveToThread(self._thread)
        self._thread.finished.connect(self._worker.deleteLater)
        self.inspect_requested.connect(self._worker.inspect)
        self.warm_up_requested.connect(self._worker.warm_up)
        self._worker.progress.connect(self._on_worker_progress)
        self._worker.result.connect(self._on_worker_result)
        self._worker.failed.connect(self._on_worker_failed)
        self._worker.cancelled.connect(self._on_worker_cancelled)
        self._worker.finished.connect(self._on_worker_finished)
        self._tokens: dict[str, CancelToken] = {}
        self._ids = itertools.count(1)
        self._done = 0
        self._total = 0
        self._user: Any = None
        self._shut_down = False
        self._watch_dir: Path | None = None
        self._seen: set[Path] = set()
        self._sizes: dict[Path, int] = {}
        self._watch_options = InspectOptions()
        self._watch_timer = QTimer(self)
        self._watch_timer.setInterval(watch_interval_ms)
        self._watch_timer.timeout.connect(self._on_watch_timer_timeout)

    # -- state -----------------------------------------------------------------------
    @property
    def config(self) -> RunnerConfig:
        """How the worker loads the model."""
        return self._config

    @property
    def worker_thread(self) -> QThread:
        """The worker's thread (tests check it is joined at shutdown)."""
        return self._thread

    @property
    def pending(self) -> list[str]:
        """Job ids queued or running."""
        return list(self._tokens)

    @property
    def busy(self) -> bool:
        """A board is queued or running."""
        return bool(self._tokens)

    @property
    def watch_dir(self) -> Path | None:
        """The watched folder (None: none)."""
        return self._watch_dir

    @property
    def model_available(self) -> bool:
        """The configured model folder holds a model card."""
        return (Path(self._config.model_dir) / "model.json").is_file()

    def warm_up(self) -> None:
        """Import torch and load the model on the inference thread now.

        Importing torch holds the interpreter lock for up to ~0.7 s (measured in
        docs/gui-performance.md), freezing the GUI; at start-up, while the login
        dialog waits for a PIN, nobody notices, and the first board does not pay
        for the model load either. A model that fails to load is reported by the
        first board, as before.
        """
        if self.model_available and self._worker is not None:
            if not self._thread.isRunning():
                self._thread.start()
            self.warm_up_requested.emit()

    def set_user(self, user: Any) -> None:
        """Who ingests the boards from now on (a `UserDTO` or None)."""
        self._user = user

    def set_config(self, config: RunnerConfig) -> None:
        """Load the model with `config` at the next job (tests, model change)."""
        self._config = config
        if self._worker is not None:
            self._worker.set_config(config)

    # -- queueing --------------------------------------------------------------------
    def expand(self, paths: Iterable[str | Path]) -> list[Path]:
        """Image files of `paths` (folders give their images); refusals signalled."""
        out: list[Path] = []
        for item in paths:
            p = Path(item)
            if p.is_dir():
                out.extend(
                    sorted(
                        f
                        for f in p.iterdir()
                        if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES
                    )
                )
                continue
            problem = self._problem(p)
            if problem:
                log.warning("%s", problem)
                self.file_rejected.emit(str(p), problem)
            else:
                out.append(p)
        return out

    @staticmethod
    def _problem(p: Path) -> str:
        if not p.exists():
            return f"{p}: no such file"
        if not p.is_file():
            return f"{p}: not a file"
        if p.suffix.lower() not in IMAGE_SUFFIXES:
            kinds = ", ".join(sorted(IMAGE_SUFFIXES))
            return f"{p.name}: not a board image (expected {kinds})"
        if not os.access(p, os.R_OK):
            return f"{p}: cannot be read (permission denied)"
        if p.stat().st_size == 0:
            return f"{p}: the file is empty"
        return ""

    def add_paths(
        self, paths: Iterable[str | Path], options: InspectOptions | None = None
    ) -> list[BoardJob]:
        """Queue the images of `paths` (files or folders); returns the jobs queued.

        A serial in `options` is used only when exactly one board is queued; else
        each board's serial comes from its file name.
        """
        files = self.expand(paths)
        opts = options or InspectOptions()
        if opts.serial and len(files) != 1:
            opts = replace(opts, serial=None)
        return [self._queue(f, opts) for f in files]

    def _queue(self, path: Path, options: InspectOptions) -> BoardJob:
        if self._shut_down:
            msg = "the ingest controller is shut down"
            raise RuntimeError(msg)
        assert self._worker is not None
        job_id = f"job-{next(self._ids)}"
        token = CancelToken()
        self._tokens[job_id] = token
        opts = replace(options, user=self._user)
        self._worker.add_job(job_id, opts, token)
        job = BoardJob(
            job_id=job_id,
            path=str(path),
            serial=opts.serial or serial_from_path(path),
            recipe=opts.recipe,
        )
        self._total += 1
        self.job_queued.emit(job)
        self.overall_progress.emit(self._done, self._total)
        if not self._thread.isRunning():
            self._thread.start()
        self.inspect_requested.emit(job_id, str(path))
        return job

    # -- cancel ----------------------------------------------------------------------
    def cancel(self, job_id: str) -> bool:
        """Ask job `job_id` to stop at its next cancel point; False if not pending."""
        token = self._tokens.get(job_id)
        if token is None:
            return False
        token.cancel()
        return True

    def cancel_all(self) -> None:
        """Cancel every queued and running board."""
        for token in self._tokens.values():
            token.cancel()

    # -- watched folder --------------------------------------------------------------
    def watch(self, folder: str | Path | None, options: InspectOptions | None = None):
        """Inspect new image files appearing in `folder` (None: stop watching).

        Files already there are not queued; each new file is queued once, after
        its size stayed the same for one poll (it is completely written).
        """
        self._watch_timer.stop()
        self._watch_options = options or InspectOptions()
        self._sizes.clear()
        if folder is None:
            self._watch_dir = None
            self.watch_changed.emit("")
            return
        self._watch_dir = Path(folder)
        self._seen = set(self._images_in(self._watch_dir))
        self._watch_timer.start()
        self.watch_changed.emit(str(self._watch_dir))

    @staticmethod
    def _images_in(folder: Path) -> list[Path]:
        try:
            return [
                f
                for f in folder.iterdir()
                if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file()
            ]
        except OSError:
            return []

    @Slot()
    def _on_watch_timer_timeout(self) -> None:
        self.poll_watch_dir()

    def poll_watch_dir(self) -> list[BoardJob]:
        """Queue the new files of the watched folder that are completely written."""
        if self._watch_dir is None or self._shut_down:
            return []
        ready: list[Path] = []
        for f in sorted(self._images_in(self._watch_dir)):
            if f in self._seen:
                continue
            try:
                size = f.stat().st_size
            except OSError:
                continue
            if size > 0 and self._sizes.get(f) == size:
                self._seen.add(f)
                self._sizes.pop(f, None)
                ready.append(f)
            else:
                self._sizes[f] = size
        opts = replace(self._watch_options, serial=None)
        return [self._queue(f, opts) for f in ready]

    # -- shutdown --------------------------------------------------------------------
    def shutdown(self) -> bool:
        """Cancel all jobs, stop the thread and wait for it; True when it joined."""
        if self._shut_down:
            return True
        self._shut_down = True
        self._watch_timer.stop()
        self.cancel_all()
        if not self._thread.isRunning():
            self._worker = None  # never started: Python owns it, no parent
            return True
        self._thread.quit()
        joined = self._thread.wait(SHUTDOWN_WAIT_MS)
        if not joined:
            log.warning("the inference thread did not stop within 5 s")
        self._worker = None
        return bool(joined)

    # -- worker news (GUI thread) ----------------------------------------------------
    @Slot(str, str, int, int)
    def _on_worker_progress(self, job_id: str, stage: str, done: int, total: int):
        self.job_progress.emit(job_id, stage, done, total)

    @Slot(str, object)
    def _on_worker_result(self, job_id: str, board: object) -> None:
        self.job_result.emit(job_id, board)
        if getattr(board, "status", "") == "done":
            self.board_inspected.emit(board)

    @Slot(str, object)
    def _on_worker_failed(self, job_id: str, error: object) -> None:
        self.job_failed.emit(job_id, error)

    @Slot(str)
    def _on_worker_cancelled(self, job_id: str) -> None:
        self.job_cancelled.emit(job_id)

    @Slot(str)
    def _on_worker_finished(self, job_id: str) -> None:
        if self._tokens.pop(job_id, None) is not None:
            self._done += 1
        self.job_finished.emit(job_id)
        self.overall_progress.emit(self._done, self._total)
