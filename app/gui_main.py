"""`soldernet gui`: QApplication, bootstrap the station, run the event loop."""

from __future__ import annotations

import logging
import sys
import traceback
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QSettings
from PySide6.QtWidgets import QApplication

from app.bootstrap import StartupError, build_shell, build_station, resolve_settings
from app.cli import EXIT_FAILURE
from app.gc_guard import GuiThreadGarbageCollector
from app.theme import apply_theme
from app.widgets.error_presenter import ErrorDialog

if TYPE_CHECKING:
    import argparse
    from types import TracebackType

log = logging.getLogger(__name__)

ORGANIZATION = "SolderNet"
APPLICATION = "SolderNet Review"


def configure_application(app: QCoreApplication) -> None:
    """Names used by QSettings (UI state is kept in an INI file per user)."""
    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APPLICATION)
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    if isinstance(app, QApplication):
        app.setApplicationDisplayName(APPLICATION)


class ExceptHook:
    """`sys.excepthook` for the GUI: log every unhandled error, show one dialog.

    Only the first unhandled error opens a dialog, so a failing paint or timer slot
    cannot flood the operator with boxes; later ones are logged.
    """

    def __init__(self) -> None:
        self.shown = False
        self._previous = sys.excepthook

    def install(self) -> None:
        """Become `sys.excepthook`."""
        self._previous = sys.excepthook
        sys.excepthook = self

    def uninstall(self) -> None:
        """Put the previous hook back."""
        if sys.excepthook is self:
            sys.excepthook = self._previous

    def __call__(
        self,
        exc_type: type[BaseException],
        exc: BaseException,
        tb: TracebackType | None,
    ) -> None:
        log.critical("unhandled error", exc_info=(exc_type, exc, tb))
        if self.shown or QApplication.instance() is None:
            return
        self.shown = True
        details = "".join(traceback.format_exception(exc_type, exc, tb))
        ErrorDialog.show_error(
            None,
            "SolderNet Review: unexpected error",
            f"Something went wrong ({exc_type.__name__}: {exc}). Your saved work is "
            "safe; please tell your supervisor. Details are in the log.",
            details,
        )


def run_gui(args: argparse.Namespace) -> int:
    """Start the desktop station; returns the process exit code."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(sys.argv[:1])
    configure_application(app)
    hook = ExceptHook()
    hook.install()
    collector = GuiThreadGarbageCollector(parent=app)
    collector.start()
    try:
        try:
            settings = resolve_settings(args)
            station = build_station(settings)
        except StartupError as exc:
            log.error("cannot start: %s", exc)
            ErrorDialog.show_error(None, "SolderNet Review cannot start", str(exc))
            return EXIT_FAILURE
        apply_theme(app, settings.theme)
        shell = build_shell(station)
        shell.quit_requested.connect(app.quit)
        shell.start()
        if station.ingest is not None:
            station.ingest.warm_up()  # torch + model load while the login waits
        try:
            return int(app.exec())
        finally:
            shell.shutdown()
            station.close()
    finally:
        collector.stop()
        hook.uninstall()
