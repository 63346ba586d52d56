"""Composition root: settings, database (migrated), task pool, controllers, windows.

Only this module creates concrete objects and wires them; everything else receives
what it needs through its constructor. Startup work (migrations) happens here, before
any window appears; failures become a `StartupError` with a message for the user.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QThreadPool

from app.controllers.ingest_controller import IngestController
from app.controllers.model_controller import ModelController
from app.controllers.report_controller import ReportController
from app.controllers.review_controller import ReviewController, VerdictRequest
from app.controllers.rework_controller import ReworkController
from app.controllers.session_controller import SessionController
from app.controllers.settings_controller import SettingsController
from app.controllers.shell_controller import ShellController
from app.controllers.users_controller import UsersController
from app.controllers.vigilance_controller import VigilanceController
from app.first_start import run_first_start
from app.main_window import MainWindow
from app.review_outbox import OUTBOX_FILE_NAME, ReviewOutbox
from app.settings import Settings, SettingsError, load_settings
from app.widgets.error_presenter import ErrorPresenter
from app.widgets.login_dialog import LoginDialog
from app.workers.inference_worker import RunnerConfig
from app.workers.task import TaskRunner
from db import open_database
from db.errors import DbError

if TYPE_CHECKING:
    import argparse

log = logging.getLogger(__name__)

DEMO_DB_NAME = "demo.db"
SHUTDOWN_WAIT_MS = 5000


class StartupError(Exception):
    """The station cannot start; the message says why, for the user."""


def resolve_settings(args: argparse.Namespace | None = None) -> Settings:
    """Load the site settings and apply `--db` / `--demo` from the command line."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        raise StartupError(str(exc)) from exc
    db_arg = getattr(args, "db", None)
    if db_arg:
        settings = replace(settings, db_url=str(db_arg))
    if getattr(args, "demo", False):
        demo_db = settings.data_dir / DEMO_DB_NAME
        settings = replace(settings, demo=True, db_url=str(demo_db))
    return settings


def open_station_database(settings: Settings) -> Any:
    """Open (and migrate, after a backup) the database or raise StartupError."""
    target = settings.database
    if "://" not in target:
        try:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            msg = f"Cannot create the data folder {settings.data_dir}: {exc.strerror}"
            raise StartupError(msg) from exc
    try:
        database = open_database(target, migrate=True)
        # Inspections left 'running' by a dead process on this host (crash, kill).
        interrupted = database.inspections.mark_interrupted()
        if interrupted:
            log.warning("%d interrupted inspection(s) marked failed", interrupted)
    except DbError as exc:
        raise StartupError(str(exc)) from exc
    except OSError as exc:
        msg = f"Cannot open the database {target}: {exc}"
        raise StartupError(msg) from exc
    return database


@dataclass
class Station:
    """Everything the running GUI is made of, owned by the composition root."""

    settings: Settings
    database: Any
    runner: TaskRunner
    presenter: ErrorPresenter
    session: SessionController
    users: UsersController
    reports: ReportController
    settings_controller: SettingsController
    pool: QThreadPool
    review: ReviewController
    rework: ReworkController
    closed: bool = field(default=False)
    models: ModelController | None = None
    ingest: IngestController | None = None
    vigilance: VigilanceController | None = None

    def close(self) -> None:
        """Stop background tasks and close the database (idempotent)."""
        if self.closed:
            return
        self.closed = True
        if self.ingest is not None and not self.ingest.shutdown():
            log.warning("the inference thread was still running at shutdown")
        if not self.runner.wait_for_done(SHUTDOWN_WAIT_MS):
            log.warning("background tasks still running at shutdown")
        self.database.close()


def build_station(settings: Settings, database: Any | None = None) -> Station:
    """Open the database (unless given) and build the controllers (no windows)."""
    db = database if database is not None else open_station_database(settings)
    # One database thread: calls run in the order they were asked for (logout before
    # the next login), and SQLite never sees two writers from this station.
    pool = QThreadPool()
    pool.setMaxThreadCount(1)
    runner = TaskRunner(pool)
    return Station(
        settings=settings,
        database=db,
        runner=runner,
        presenter=ErrorPresenter(),
        session=SessionController(db, runner),
        users=UsersController(db, runner),
        reports=ReportController(db, runner),
        settings_controller=SettingsController(settings),
        pool=pool,
        models=ModelController(db, runner, settings.model_dir),
        review=ReviewController(
            db,
            runner,
            # Verdicts the database could not take wait here (station data folder).
            outbox=ReviewOutbox(settings.data_dir / OUTBOX_FILE_NAME, VerdictRequest),
        ),
        rework=ReworkController(db, runner),
        ingest=IngestController(db, runner_config(settings)),
        vigilance=VigilanceController(db, runner),
    )


def runner_config(settings: Settings) -> RunnerConfig:
    """How the inference worker loads the configured model (on its own thread)."""
    return RunnerConfig(
        model_dir=str(settings.model_dir),
        artefact_dir=str(settings.artefact_dir),
        device=settings.device,
        backend="auto",  # onnxruntime on CPU: ~4x the crops per second
        vigilance_library=settings.vigilance.active_library,
        vigilance_rate=settings.vigilance.rate,
        vigilance_defect_fraction=settings.vigilance.defect_fraction,
    )


def build_shell(station: Station) -> ShellController:
    """Create the login dialog and the main window and wire them to the controllers."""
    window = MainWindow(
        settings=station.settings_controller,
        users=station.users,
        reports=station.reports,
        presenter=station.presenter,
        models=station.models,
        review=station.review,
        rework=station.rework,
        ingest=station.ingest,
        vigilance=station.vigilance,
    )
    if station.ingest is not None:
        # First start: the demo boards fill the review queue (or: model missing).
        first = run_first_start(station.database, station.ingest)
        if first.message:
            window.inspect_screen.set_notice(first.message)
    dialog = LoginDialog()
    return ShellController(station.session, dialog, window, station.presenter)
