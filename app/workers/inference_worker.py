"""`InferenceWorker`: the one long-lived worker that inspects boards (style.md §2.3).

It lives on a dedicated `QThread` owned by `IngestController`. Jobs arrive through
that thread's event loop on the `@Slot(str, str)` `inspect(job_id, path)`, so they
run one at a time in the order they were asked for and the model needs no locks.
The options of a job (recipe, serial, ...) and its `CancelToken` are handed over
beforehand with `add_job`, which only touches a dict under a lock.

The `InspectionRunner` (classifier + explainer) is built lazily, on this thread, by
the first job. When the model folder cannot be loaded every job fails with one
message naming the folder, and the next job tries again (the user may have fixed
it in the meantime); the application keeps running.

Signals carry the job id and frozen dataclasses only (`BoardResult`, `ErrorInfo`);
the runner persists the inspection itself, on this thread, with its own sessions.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from app.workers.cancel import CancelToken
from app.workers.errors import ErrorInfo
from inference.errors import Cancelled

log = logging.getLogger(__name__)

__all__ = [
    "BOARD_FAILED",
    "MODEL_LOAD_FAILED",
    "InferenceWorker",
    "InspectOptions",
    "RunnerConfig",
]

# `ErrorInfo.kind` of a board the runner reported as failed (bad image, no recipe):
# its message is written for the operator and names the file.
BOARD_FAILED = "BoardFailed"
# `ErrorInfo.kind` when the model folder cannot be loaded (names the folder).
MODEL_LOAD_FAILED = "ModelLoadError"


@dataclass(frozen=True)
class RunnerConfig:
    """How the worker builds its `InspectionRunner` (once, on its thread)."""

    model_dir: str
    artefact_dir: str
    device: str = "cpu"
    explain: bool = True
    fast_explain: bool = True
    max_explanations: int | None = None
    batch_size: int = 64
    cache_dir: str | None = None
    # Classifier backend: "torch", "onnx", or "auto" (onnx unless the model runs on
    # a GPU); the station asks for "auto" (bootstrap.runner_config).
    backend: str = "torch"
    # Vigilance seeding (app/vigilance.py): a seed library folder turns it on.
    vigilance_library: str | None = None
    vigilance_rate: float = 0.05
    vigilance_defect_fraction: float = 0.5


@dataclass(frozen=True)
class InspectOptions:
    """Options of one board job (None: the runner's default)."""

    recipe: str | None = None
    serial: str | None = None
    product: str | None = None
    side: str = "top"
    force: bool = False
    explain: bool = True
    user: Any = None


RunnerFactory = Callable[[Any, RunnerConfig], Any]


def build_runner(database: Any, config: RunnerConfig) -> Any:
    """The default factory: `InspectionRunner.from_model_folder` (loads the model)."""
    from app.fieldloop.versions import choose_model, ensure_baseline
    from app.inspection_runner import InspectionRunner

    # The registry's active version inspects; on a fresh registry the configured
    # folder, once it loaded, becomes the baseline version (so that a later
    # promotion can be rolled back to it).
    choice = choose_model(database, config.model_dir)
    runner = InspectionRunner.from_model_folder(
        database,
        choice.folder,
        artefact_dir=config.artefact_dir,
        explain=config.explain,
        fast_explain=config.fast_explain,
        cache_dir=config.cache_dir,
        device=config.device,
        batch_size=config.batch_size,
        backend=_backend(config),
        max_explanations=config.max_explanations,
        vigilance=vigilance_seeder(config),
    )
    if choice.version is None:
        ensure_baseline(database, choice.folder)
    return runner


def _backend(config: RunnerConfig) -> str:
    """Resolve "auto": onnxruntime on CPU (measured ~4x faster), torch on a GPU."""
    from inference.device import resolve_backend

    return resolve_backend(config.backend, config.device)


def vigilance_seeder(config: RunnerConfig) -> Any:
    """The `VigilanceSeeder` of a config, or None when vigilance is off."""
    if not config.vigilance_library or config.vigilance_rate <= 0:
        return None
    from pathlib import Path

    from app.vigilance import VigilanceConfig, VigilanceSeeder

    return VigilanceSeeder(
        VigilanceConfig(
            library=Path(config.vigilance_library),
            rate=config.vigilance_rate,
            defect_fraction=config.vigilance_defect_fraction,
            cache_dir=Path(config.artefact_dir) / "vigilance",
        )
    )


class InferenceWorker(QObject):
    """Inspects one board per `inspect` call, on the thread it was moved to."""

    # (job_id, stage, done, total): a pipeline stage advanced.
    progress = Signal(str, str, int, int)
    # (job_id, BoardResult): the board was inspected (status done or skipped).
    result = Signal(str, object)
    # (job_id, ErrorInfo): the board could not be inspected (message names the file).
    failed = Signal(str, object)
    # (job_id): the job stopped at a cancel point (instead of result/failed).
    cancelled = Signal(str)
    # (job_id): always emitted last, whatever happened.
    finished = Signal(str)

    def __init__(
        self,
        database: Any,
        config: RunnerConfig,
        runner_factory: RunnerFactory | None = None,
    ) -> None:
        super().__init__()
        self._db = database
        self._config = config
        self._factory = runner_factory or build_runner
        self._runner: Any = None
        self._lock = threading.Lock()
        self._jobs: dict[str, tuple[InspectOptions, CancelToken]] = {}

    # -- any thread ------------------------------------------------------------------
    def add_job(self, job_id: str, options: InspectOptions, token: CancelToken) -> None:
        """Hand over a job's options and cancel token before `inspect` is queued."""
        with self._lock:
            self._jobs[job_id] = (options, token)

    def set_config(self, config: RunnerConfig) -> None:
        """Use `config` for the next model load (drops a loaded runner)."""
        with self._lock:
            self._config = config
            self._runner = None

    def _take(self, job_id: str) -> tuple[InspectOptions, CancelToken, RunnerConfig]:
        with self._lock:
            options, token = self._jobs.pop(job_id, (InspectOptions(), CancelToken()))
            return options, token, self._config

    # -- worker thread ---------------------------------------------------------------
    def _ensure_runner(self, config: RunnerConfig) -> Any:
        with self._lock:
            runner = self._runner
        if runner is not None and not self._active_version_changed(runner):
            return runner
        try:
            runner = self._factory(self._db, config)
        except Exception as exc:
            log.warning("cannot load model %s", config.model_dir, exc_info=True)
            msg = f"Cannot load the model folder {config.model_dir}: {exc}"
            raise _ModelLoadFailed(msg) from exc
        with self._lock:
            if self._config == config:
                self._runner = runner
        return runner

    def _active_version_changed(self, runner: Any) -> bool:
        """True when another model version was promoted (or rolled back to) since
        `runner` was built: the next board must use the newly active one."""
        loaded = getattr(runner, "model_version", None)
        try:
            active = self._db.models_registry.active()
        except Exception:
            log.warning("cannot read the active model version", exc_info=True)
            return False
        if active is None or loaded is None or active.version == loaded:
            return False
        if not Path(active.path).is_dir():
            return False  # choose_model would fall back to the configured folder
        log.info("model version %s is now active (was %s)", active.version, loaded)
        return True

    @Slot()
    def warm_up(self) -> None:
        """Load the model now (on this thread), so the first board does not wait."""
        with self._lock:
            config = self._config
        try:
            runner = self._ensure_runner(config)
        except _ModelLoadFailed as exc:
            log.warning("warm-up: %s (the first board will report it)", exc)
            return
        if runner.explainer is not None:
            from inference.explain.errors import ExplainError

            try:  # ONNX export and folded copy now, not on the first explanation
                runner.explainer.prepare()
            except ExplainError as exc:
                log.warning("warm-up: explainer: %s", exc)

    @Slot(str, str)
    def inspect(self, job_id: str, path: str) -> None:
        """Inspect the board image `path` as job `job_id` (runs on this thread)."""
        options, token, config = self._take(job_id)
        try:
            token.raise_if_cancelled()
            runner = self._ensure_runner(config)
            token.raise_if_cancelled()
            runner.user = options.user
            reporter = _ProgressReporter(self, job_id)
            board = runner.inspect(
                Path(path),
                recipe=options.recipe,
                serial=options.serial,
                product=options.product,
                side=options.side,
                force=options.force,
                explain=options.explain,
                on_progress=reporter,
                cancel=token,
            )
        except Cancelled:
            log.info("job %s (%s) cancelled", job_id, path)
            self.cancelled.emit(job_id)
        except _ModelLoadFailed as exc:
            self.failed.emit(job_id, ErrorInfo(MODEL_LOAD_FAILED, str(exc)))
        except Exception as exc:
            log.exception("inspecting %s failed", path)
            info = ErrorInfo.from_exception(exc)
            message = f"{Path(path).name}: {info.kind}: {info.message}"
            self.failed.emit(job_id, ErrorInfo(info.kind, message, info.traceback))
        else:
            if board.status == "failed":
                self.failed.emit(job_id, ErrorInfo(BOARD_FAILED, board.error))
            elif board.status == "cancelled":
                self.cancelled.emit(job_id)
            else:
                self.result.emit(job_id, board)
        finally:
            self.finished.emit(job_id)


class _ModelLoadFailed(Exception):
    """The model folder could not be loaded (the message names it)."""


class _ProgressReporter:
    """Qt-free `on_progress(stage, done, total)` for the runner: emits `progress`.

    Called on the worker thread; emitting a signal from there is thread-safe and
    the GUI receives it queued.
    """

    def __init__(self, worker: InferenceWorker, job_id: str) -> None:
        self._worker = worker
        self._job_id = job_id

    def __call__(self, stage: str, done: int, total: int) -> None:
        self._worker.progress.emit(self._job_id, str(stage), int(done), int(total))
