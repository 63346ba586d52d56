"""`MainWindow`: the shell only. Tabs, menus, status bar and UI state; no logic.

Everything the window shows comes from controllers handed in by `bootstrap`; the window
never touches the database.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QSettings, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox, QTabWidget, QWidget

from app import __version__
from app.screens.inspect_screen import InspectScreen
from app.screens.model_screen import ModelScreen
from app.screens.reports_screen import ReportsScreen
from app.screens.review_screen import ReviewScreen
from app.screens.rework_screen import ReworkScreen
from app.screens.settings_screen import SettingsScreen
from app.theme import THEMES
from app.widgets.error_presenter import database_state_word

if TYPE_CHECKING:
    from app.controllers.ingest_controller import IngestController
    from app.controllers.model_controller import ModelController
    from app.controllers.report_controller import ReportController
    from app.controllers.review_controller import ReviewController
    from app.controllers.rework_controller import ReworkController
    from app.controllers.session_controller import UserSession
    from app.controllers.settings_controller import SettingsController
    from app.controllers.users_controller import UsersController
    from app.controllers.vigilance_controller import VigilanceController
    from app.widgets.error_presenter import ErrorPresenter

STATE_GROUP = "main_window"
STATE_VERSION = 1
DEFAULT_SIZE = (1280, 800)


def display_database(database: str) -> str:
    """The database for the status bar: a URL without its password, or a file name."""
    if "://" in database:
        return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", database)
    return database.replace("\\", "/").rsplit("/", 1)[-1]


def describe_shift(shift: Any) -> str:
    """`Shift #12 since 07:54`."""
    started = getattr(shift, "started_at", None)
    if started is None:
        return f"Shift #{shift.id}"
    local = started.astimezone() if started.tzinfo else started
    return f"Shift #{shift.id} since {local:%H:%M}"


class MainWindow(QMainWindow):
    """The station's main window: six tabs (product.md §3) and a status bar."""

    # The user chose Log out / Hand over.
    logout_requested = Signal()
    # The user closed the window while logged in (the shell closes the shift first).
    close_requested = Signal()

    def __init__(
        self,
        *,
        settings: SettingsController,
        users: UsersController,
        reports: ReportController,
        presenter: ErrorPresenter,
        models: ModelController | None = None,
        review: ReviewController,
        rework: ReworkController,
        ingest: IngestController | None = None,
        vigilance: VigilanceController | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setWindowTitle("SolderNet Review")
        self._settings = settings
        self._may_close = False
        self._session: UserSession | None = None

        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("mainTabs")
        self.tabs.setDocumentMode(True)
        self.inspect_screen = InspectScreen(ingest, presenter, self)
        self.review_screen = ReviewScreen(
            review, presenter, self, keymap=settings.keymap
        )
        self._review_stale = False
        self.screens: list[Any] = [
            self.inspect_screen,
            self.review_screen,
            ReworkScreen(rework, presenter, self),
            ReportsScreen(reports, self, vigilance),
            ModelScreen(settings.startup_settings, models, self),
            SettingsScreen(settings, users, self),
        ]
        for screen in self.screens:
            screen.setObjectName(f"{screen.TITLE.lower()}Screen")
            self.tabs.addTab(screen, screen.TITLE)
        self.setCentralWidget(self.tabs)

        self._build_menus()
        self._build_status_bar()
        review.outbox_changed.connect(self._on_review_outbox_changed)
        if models is not None:
            models.info_ready.connect(self._on_models_info_ready)
        presenter.attach(self.statusBar(), self)
        settings.theme_changed.connect(self._on_settings_theme_changed)
        if ingest is not None:
            ingest.board_inspected.connect(self._on_ingest_board_inspected)
        self.tabs.currentChanged.connect(self._on_tabs_current_changed)
        self.resize(*DEFAULT_SIZE)
        self.restore_ui_state()

    # -- assembly ------------------------------------------------------------------
    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.user_label = QLabel(self)
        self.role_label = QLabel(self)
        self.shift_label = QLabel(self)
        self.database_label = QLabel(self)
        self.model_label = QLabel(self)
        for name, label in (
            ("statusUser", self.user_label),
            ("statusRole", self.role_label),
            ("statusShift", self.shift_label),
            ("statusDatabase", self.database_label),
            ("statusModel", self.model_label),
        ):
            label.setObjectName(name)
            bar.addPermanentWidget(label)
        s = self._settings.startup_settings
        demo = " (demo)" if s.demo else ""
        shown = display_database(s.database)
        self._database_text = f"Database: {shown}{demo}"
        self.database_label.setText(self._database_text)
        self.database_label.setToolTip(shown if "://" in s.database else s.database)
        installed = s.model_dir.is_dir() and any(s.model_dir.iterdir())
        self.model_label.setText(
            f"Model: {s.model_dir.name}" if installed else "Model: none installed"
        )
        self.model_label.setToolTip(str(s.model_dir))
        self._show_session(None)

    def _build_menus(self) -> None:
        session_menu = self.menuBar().addMenu("&Session")
        self.logout_action = QAction("&Log out / hand over", self)
        self.logout_action.setObjectName("logoutAction")
        self.logout_action.setShortcut(QKeySequence("Ctrl+Shift+L"))
        self.logout_action.setStatusTip(
            "Close your shift and return to the login screen"
        )
        self.logout_action.triggered.connect(self._on_logout_action_triggered)
        session_menu.addAction(self.logout_action)
        session_menu.addSeparator()
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        session_menu.addAction(quit_action)

        view_menu = self.menuBar().addMenu("&View")
        self.theme_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        group.setExclusive(True)
        for name in THEMES:
            action = QAction(f"{name.capitalize()} theme", self, checkable=True)
            action.setData(name)
            group.addAction(action)
            view_menu.addAction(action)
            self.theme_actions[name] = action
        group.triggered.connect(self._on_theme_group_triggered)
        self._check_theme(self._settings.settings.theme)

        help_menu = self.menuBar().addMenu("&Help")
        about = QAction("&About SolderNet Review", self)
        about.triggered.connect(self._on_about_action_triggered)
        help_menu.addAction(about)

    # -- session -------------------------------------------------------------------
    def set_session(self, session: UserSession | None) -> None:
        """Show who is logged in; every screen refreshes for the user's role."""
        self._session = session
        self._show_session(session)
        for screen in self.screens:
            screen.set_session(session)

    @Slot(object)
    def _on_models_info_ready(self, info: Any) -> None:
        """Name the version that inspects (the registry's active one once known)."""
        version = info.card.get("version") if info.card else None
        if version:
            where = "active" if info.source == "active" else "configured"
            self.model_label.setText(f"Model: {version} ({where})")
            self.model_label.setToolTip(str(info.folder))

    def _show_session(self, session: UserSession | None) -> None:
        if session is None:
            self.user_label.setText("Not logged in")
            self.role_label.clear()
            self.shift_label.clear()
            self.logout_action.setEnabled(False)
            return
        self.user_label.setText(f"User: {session.user.name}")
        self.role_label.setText(f"Role: {session.role.capitalize()}")
        self.shift_label.setText(describe_shift(session.shift))
        self.logout_action.setEnabled(True)

    def set_busy(self, busy: bool) -> None:
        """Block session actions while a session call runs."""
        self.logout_action.setEnabled(not busy and self._session is not None)

    # -- UI state (QSettings, not the TOML settings) -----------------------------------
    def save_ui_state(self) -> None:
        """Remember geometry, dock/toolbar state and the current tab."""
        qs = QSettings()
        qs.beginGroup(STATE_GROUP)
        qs.setValue("geometry", self.saveGeometry())
        qs.setValue("state", self.saveState(STATE_VERSION))
        qs.setValue("tab", self.tabs.currentIndex())
        qs.endGroup()
        qs.sync()

    def restore_ui_state(self) -> None:
        """Restore what `save_ui_state` stored, if anything."""
        qs = QSettings()
        qs.beginGroup(STATE_GROUP)
        geometry = qs.value("geometry")
        state = qs.value("state")
        tab = qs.value("tab", 0)
        qs.endGroup()
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state, STATE_VERSION)
        try:
            self.tabs.setCurrentIndex(int(tab))  # type: ignore[call-overload]
        except (TypeError, ValueError):
            self.tabs.setCurrentIndex(0)

    def allow_close(self) -> None:
        """Let the next close go through (the shift is closed, or we shut down)."""
        self._may_close = True

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_ui_state()
        if self._may_close or self._session is None:
            event.accept()
            return
        event.ignore()
        self.close_requested.emit()

    # -- slots ---------------------------------------------------------------------
    @Slot(object)
    def _on_review_outbox_changed(self, state: Any) -> None:
        """`Database: inspection.db — read-only — 2 verdicts waiting`."""
        parts = [self._database_text]
        word = database_state_word(state.problem_kind)
        if word:
            parts.append(word)
        if state.waiting:
            noun = "verdict" if state.waiting == 1 else "verdicts"
            parts.append(f"{state.waiting} {noun} waiting")
        self.database_label.setText(" — ".join(parts))
        self.database_label.setProperty("role", "error" if len(parts) > 1 else "")
        self.database_label.style().unpolish(self.database_label)
        self.database_label.style().polish(self.database_label)

    @Slot()
    def _on_logout_action_triggered(self) -> None:
        self.save_ui_state()
        self.logout_requested.emit()

    @Slot(QAction)
    def _on_theme_group_triggered(self, action: QAction) -> None:
        self._settings.set_theme(str(action.data()))

    @Slot(str)
    def _on_settings_theme_changed(self, name: str) -> None:
        self._check_theme(name)

    @Slot(object)
    def _on_ingest_board_inspected(self, _board: object) -> None:
        # New joints are in the queue. Do not pull the joint from under an inspector
        # who is reviewing one: refresh when they next open the Review tab.
        review = self.review_screen
        if self.tabs.currentWidget() is review and review.current_item is not None:
            self._review_stale = True
        else:
            review.refresh()

    @Slot(int)
    def _on_tabs_current_changed(self, _index: int) -> None:
        if self._review_stale and self.tabs.currentWidget() is self.review_screen:
            self._review_stale = False
            self.review_screen.refresh()

    def _check_theme(self, name: str) -> None:
        action = self.theme_actions.get(name)
        if action is not None:
            action.setChecked(True)

    @Slot()
    def _on_about_action_triggered(self) -> None:
        QMessageBox.about(
            self,
            "About SolderNet Review",
            f"<b>SolderNet Review {__version__}</b><br>Explainable solder-joint "
            "inspection and operator review (after Gunraj et al., AAAI 2023).",
        )
