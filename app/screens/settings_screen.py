"""Settings tab: database location, model, thresholds, theme, and users (admins)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.models.users_model import UsersTableModel
from app.theme import THEMES
from app.widgets.add_user_dialog import AddUserDialog
from app.widgets.error_presenter import describe
from app.widgets.keymap_editor import KeyMapEditor

if TYPE_CHECKING:
    from app.controllers.settings_controller import SettingsController
    from app.controllers.users_controller import UsersController
    from app.settings import Settings
    from app.workers.errors import ErrorInfo

ADMIN_ROLE = "admin"
CONTENT_MAX_WIDTH = 980


def _threshold_spin(parent: QWidget) -> QDoubleSpinBox:
    spin = QDoubleSpinBox(parent)
    spin.setRange(0.0, 1.0)
    spin.setDecimals(2)
    spin.setSingleStep(0.01)
    return spin


def _note(parent: QWidget) -> QLabel:
    label = QLabel("", parent)
    label.setProperty("role", "muted")
    label.setWordWrap(True)
    return label


class SettingsScreen(QWidget):
    """Station settings (engineers and admins), theme (everyone), users (admins)."""

    TITLE = "Settings"

    def __init__(
        self,
        settings: SettingsController,
        users: UsersController,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._settings = settings
        self._users = users
        self._session: Any = None

        self._station_save_pending = False
        self._vigilance_save_pending = False
        content = QWidget(self)
        content.setMaximumWidth(CONTENT_MAX_WIDTH)
        column = QVBoxLayout(content)
        column.setContentsMargins(16, 16, 16, 16)
        column.setSpacing(14)
        heading = QLabel("Settings", content)
        heading.setProperty("role", "heading")
        column.addWidget(heading)
        column.addWidget(self._build_appearance(content))
        column.addWidget(self._build_keys(content))
        column.addWidget(self._build_station(content))
        column.addWidget(self._build_vigilance(content))
        column.addWidget(self._build_users(content))
        column.addStretch(1)

        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        holder = QWidget(self)
        holder_row = QHBoxLayout(holder)
        holder_row.setContentsMargins(0, 0, 0, 0)
        holder_row.addWidget(content, 1)
        holder_row.addStretch(0)
        scroll.setWidget(holder)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)

        settings.settings_saved.connect(self._on_settings_saved)
        settings.theme_changed.connect(self._on_settings_theme_changed)
        settings.failed.connect(self._on_settings_failed)
        users.users_listed.connect(self._on_users_listed)
        users.user_created.connect(self._on_users_user_created)
        users.failed.connect(self._on_users_failed)
        self._show_settings(settings.settings)

    # -- building ------------------------------------------------------------------
    def _build_appearance(self, parent: QWidget) -> QGroupBox:
        box = QGroupBox("Appearance", parent)
        form = QFormLayout(box)
        self.theme_combo = QComboBox(box)
        self.theme_combo.setObjectName("themeCombo")
        for name in THEMES:
            self.theme_combo.addItem(name.capitalize(), name)
        self.theme_combo.currentIndexChanged.connect(self._on_theme_combo_index_changed)
        form.addRow("Theme", self.theme_combo)
        return box

    def _build_keys(self, parent: QWidget) -> QGroupBox:
        box = QGroupBox("Review keys", parent)
        self.keys_box = box
        layout = QVBoxLayout(box)
        about = _note(box)
        about.setText(
            "The keyboard map of the Review screen, kept for this station. Click a "
            "row's key field and press the new key; it applies at once."
        )
        self.keymap_editor = KeyMapEditor(self._settings.keymap, box)
        self.keymap_editor.setObjectName("keymapEditor")
        layout.addWidget(about)
        layout.addWidget(self.keymap_editor)
        return box

    def _build_station(self, parent: QWidget) -> QGroupBox:
        box = QGroupBox("Station", parent)
        self.station_box = box
        form = QFormLayout(box)
        self.db_edit = QLineEdit(box)
        self.db_edit.setObjectName("databaseEdit")
        self.db_edit.setPlaceholderText(
            "file path, or postgresql+psycopg://user@host/db"
        )
        db_browse = QPushButton("Browse…", box)
        db_browse.clicked.connect(self._on_db_browse_clicked)
        db_row = QHBoxLayout()
        db_row.addWidget(self.db_edit, 1)
        db_row.addWidget(db_browse)
        self.model_edit = QLineEdit(box)
        self.model_edit.setObjectName("modelEdit")
        model_browse = QPushButton("Browse…", box)
        model_browse.clicked.connect(self._on_model_browse_clicked)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model_edit, 1)
        model_row.addWidget(model_browse)
        self.t_lo_spin = _threshold_spin(box)
        self.t_lo_spin.setObjectName("tLoSpin")
        self.t_hi_spin = _threshold_spin(box)
        self.t_hi_spin.setObjectName("tHiSpin")
        self.save_button = QPushButton("Save station settings", box)
        self.save_button.setObjectName("saveSettingsButton")
        self.save_button.setProperty("role", "primary")
        self.save_button.clicked.connect(self._on_save_button_clicked)
        self.station_note = _note(box)
        self.station_note.setObjectName("stationNote")
        form.addRow("Database", db_row)
        form.addRow("Model folder", model_row)
        form.addRow("Review from (t_lo)", self.t_lo_spin)
        form.addRow("Defect from (t_hi)", self.t_hi_spin)
        form.addRow("", self.save_button)
        form.addRow("", self.station_note)
        return box

    def _build_vigilance(self, parent: QWidget) -> QGroupBox:
        box = QGroupBox("Vigilance checks", parent)
        self.vigilance_box = box
        form = QFormLayout(box)
        about = _note(box)
        about.setText(
            "Seeds known-defect and known-good joints from a library into the review "
            "queue to measure each inspector's hit and false-alarm rates. Inspectors "
            "learn a joint was a test only after their verdict; seeds never reach "
            "rework or the production report."
        )
        self.vigilance_check = QCheckBox("Seed known joints into the queue", box)
        self.vigilance_check.setObjectName("vigilanceCheck")
        self.vigilance_rate_spin = QDoubleSpinBox(box)
        self.vigilance_rate_spin.setObjectName("vigilanceRateSpin")
        self.vigilance_rate_spin.setRange(0.0, 100.0)
        self.vigilance_rate_spin.setDecimals(1)
        self.vigilance_rate_spin.setSingleStep(0.5)
        self.vigilance_rate_spin.setSuffix(" % of queued joints")
        self.vigilance_defect_spin = QDoubleSpinBox(box)
        self.vigilance_defect_spin.setObjectName("vigilanceDefectSpin")
        self.vigilance_defect_spin.setRange(0.0, 100.0)
        self.vigilance_defect_spin.setDecimals(0)
        self.vigilance_defect_spin.setSingleStep(5.0)
        self.vigilance_defect_spin.setSuffix(" % known defects")
        self.vigilance_library_edit = QLineEdit(box)
        self.vigilance_library_edit.setObjectName("vigilanceLibraryEdit")
        self.vigilance_library_edit.setPlaceholderText(
            "folder with manifest.csv (soldernet synth joints / export-verified)"
        )
        browse = QPushButton("Browse…", box)
        browse.clicked.connect(self._on_vigilance_browse_clicked)
        lib_row = QHBoxLayout()
        lib_row.addWidget(self.vigilance_library_edit, 1)
        lib_row.addWidget(browse)
        self.vigilance_save_button = QPushButton("Save vigilance settings", box)
        self.vigilance_save_button.setObjectName("saveVigilanceButton")
        self.vigilance_save_button.clicked.connect(self._on_vigilance_save_clicked)
        self.vigilance_note = _note(box)
        self.vigilance_note.setObjectName("vigilanceNote")
        form.addRow(about)
        form.addRow("", self.vigilance_check)
        form.addRow("Seed rate", self.vigilance_rate_spin)
        form.addRow("Known defects", self.vigilance_defect_spin)
        form.addRow("Seed library", lib_row)
        form.addRow("", self.vigilance_save_button)
        form.addRow("", self.vigilance_note)
        return box

    def _build_users(self, parent: QWidget) -> QGroupBox:
        box = QGroupBox("Users", parent)
        self.users_box = box
        layout = QVBoxLayout(box)
        self.users_model = UsersTableModel(parent=self)
        self.users_table = QTableView(box)
        self.users_table.setObjectName("usersTable")
        self.users_table.setModel(self.users_model)
        self.users_table.verticalHeader().hide()
        self.users_table.setSelectionBehavior(
            QAbstractItemView.SelectionBehavior.SelectRows
        )
        self.users_table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.Stretch
        )
        self.users_table.setMinimumHeight(160)
        self.add_user_button = QPushButton("Add user…", box)
        self.add_user_button.setObjectName("addUserButton")
        self.add_user_button.clicked.connect(self._on_add_user_button_clicked)
        self.users_note = _note(box)
        row = QHBoxLayout()
        row.addWidget(self.users_note, 1)
        row.addWidget(self.add_user_button)
        layout.addWidget(self.users_table)
        layout.addLayout(row)
        return box

    # -- session -------------------------------------------------------------------
    def set_session(self, session: Any) -> None:
        """Enable what the user's role may change; admins get the user list."""
        self._session = session
        role = session.role if session is not None else ""
        self.station_box.setEnabled(self._settings.may_edit_station(role))
        self.vigilance_box.setEnabled(self._settings.may_edit_station(role))
        if session is not None and not self._settings.may_edit_station(role):
            self.station_note.setText("Engineers and administrators change these.")
        is_admin = role == ADMIN_ROLE
        self.users_box.setVisible(is_admin)
        self.users_model.set_users([])
        if is_admin:
            self._users.refresh()

    def _show_settings(self, s: Settings) -> None:
        self.db_edit.setText(s.database)
        self.model_edit.setText(str(s.model_dir))
        self.t_lo_spin.setValue(s.thresholds.t_lo)
        self.t_hi_spin.setValue(s.thresholds.t_hi)
        self._select_theme(s.theme)
        self.vigilance_check.setChecked(s.vigilance.enabled)
        self.vigilance_rate_spin.setValue(s.vigilance.rate * 100.0)
        self.vigilance_defect_spin.setValue(s.vigilance.defect_fraction * 100.0)
        self.vigilance_library_edit.setText(s.vigilance.library)

    def _select_theme(self, name: str) -> None:
        index = self.theme_combo.findData(name)
        if index >= 0 and index != self.theme_combo.currentIndex():
            self.theme_combo.blockSignals(True)
            self.theme_combo.setCurrentIndex(index)
            self.theme_combo.blockSignals(False)

    # -- slots ---------------------------------------------------------------------
    @Slot(int)
    def _on_theme_combo_index_changed(self, index: int) -> None:
        self._settings.set_theme(str(self.theme_combo.itemData(index)))

    @Slot()
    def _on_db_browse_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Database file",
            self.db_edit.text(),
            "SQLite database (*.db *.sqlite);;All files (*)",
            options=QFileDialog.Option.DontConfirmOverwrite,
        )
        if path:
            self.db_edit.setText(path)

    @Slot()
    def _on_model_browse_clicked(self) -> None:
        path = QFileDialog.getExistingDirectory(
            self, "Model folder", self.model_edit.text()
        )
        if path:
            self.model_edit.setText(path)

    @Slot()
    def _on_save_button_clicked(self) -> None:
        self._station_save_pending = True
        self._settings.save_station(
            database=self.db_edit.text(),
            model_dir=self.model_edit.text(),
            t_lo=self.t_lo_spin.value(),
            t_hi=self.t_hi_spin.value(),
        )

    @Slot()
    def _on_vigilance_browse_clicked(self) -> None:
        path = QFileDialog.getExistingDirectory(
            self, "Seed library folder", self.vigilance_library_edit.text()
        )
        if path:
            self.vigilance_library_edit.setText(path)

    @Slot()
    def _on_vigilance_save_clicked(self) -> None:
        self._vigilance_save_pending = True
        self._settings.save_vigilance(
            enabled=self.vigilance_check.isChecked(),
            rate=self.vigilance_rate_spin.value() / 100.0,
            defect_fraction=self.vigilance_defect_spin.value() / 100.0,
            library=self.vigilance_library_edit.text(),
        )

    @Slot(object)
    def _on_settings_saved(self, settings: object) -> None:
        if self._vigilance_save_pending:
            self._vigilance_save_pending = False
            self.vigilance_note.setText(
                "Saved. Seeding follows these settings from the next start."
            )
            return
        if not self._station_save_pending:
            return
        self._station_save_pending = False
        text = "Saved."
        if self._settings.needs_restart():
            text += " The new database or model is used from the next start."
        self.station_note.setText(text)

    @Slot(str)
    def _on_settings_theme_changed(self, name: str) -> None:
        self._select_theme(name)

    @Slot(object)
    def _on_settings_failed(self, error: ErrorInfo) -> None:
        if self._vigilance_save_pending:
            self._vigilance_save_pending = False
            self.vigilance_note.setText(f"Not saved: {describe(error)}")
            return
        self._station_save_pending = False
        self.station_note.setText(f"Not saved: {describe(error)}")

    @Slot()
    def _on_add_user_button_clicked(self) -> None:
        if self._session is None:
            return
        request = AddUserDialog.ask(self, self._users.roles())
        if request is not None:
            self.users_note.setText(f"Adding {request.name}…")
            self._users.create_user(request, actor=self._session.user)

    @Slot(object)
    def _on_users_listed(self, users: object) -> None:
        self.users_model.set_users(list(users))  # type: ignore[call-overload]

    @Slot(object)
    def _on_users_user_created(self, user: object) -> None:
        self.users_note.setText(f"Added {getattr(user, 'name', '')}.")

    @Slot(object)
    def _on_users_failed(self, error: ErrorInfo) -> None:
        self.users_note.setText(describe(error))
