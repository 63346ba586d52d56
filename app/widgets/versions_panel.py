"""The Model screen's Versions tab: registered versions, promote, roll back.

Promotion needs evidence: the selected candidate's recorded side-by-side comparison
against the active version (`VersionComparison`), unless no version is active yet.
The panel only shows and asks; the screen's controller does the database work.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.widgets.version_comparison import VersionComparison

VERSION_COLUMNS = (
    "Version",
    "Status",
    "From",
    "Test accuracy",
    "Registered",
    "Promoted",
    "SHA-256",
)
STATUS_COLUMN = 1


class VersionsPanel(QWidget):
    """The versions table, the promotion evidence and the two actions."""

    # The user asked to promote this version.
    promote_requested = Signal(str)
    # The user asked to roll back to the previous version.
    rollback_requested = Signal()
    # The selected version changed (None: nothing selected).
    selection_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._allowed = False
        self._logged_in = False
        table = QTableWidget(0, len(VERSION_COLUMNS), self)
        table.setObjectName("modelVersions")
        table.setHorizontalHeaderLabels(list(VERSION_COLUMNS))
        table.verticalHeader().hide()
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        table.itemSelectionChanged.connect(self._on_table_selection_changed)
        self.table = table
        self.comparison = VersionComparison(self)
        self.promote_button = QPushButton("Promote selected", self)
        self.promote_button.setObjectName("modelPromote")
        self.promote_button.clicked.connect(self._on_promote_button_clicked)
        self.rollback_button = QPushButton("Roll back", self)
        self.rollback_button.setObjectName("modelRollback")
        self.rollback_button.clicked.connect(self.rollback_requested)
        self.permission_label = QLabel("", self)
        self.permission_label.setProperty("role", "muted")
        buttons = QHBoxLayout()
        buttons.addWidget(self.promote_button)
        buttons.addWidget(self.rollback_button)
        buttons.addWidget(self.permission_label, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.comparison, 2)
        self._update_buttons()

    # -- state ---------------------------------------------------------------------
    def selected_version(self) -> str | None:
        """The selected row's version, or None."""
        rows = self.table.selectionModel().selectedRows()
        item = self.table.item(rows[0].row(), 0) if rows else None
        return item.text() if item is not None else None

    def set_allowed(self, allowed: bool, *, logged_in: bool) -> None:
        """Whether the user may promote and roll back (engineers and admins)."""
        self._allowed = allowed
        self._logged_in = logged_in
        self._update_buttons()

    def set_versions(self, versions: list[Any]) -> None:
        """Show the registered versions (newest first), keeping the selection."""
        keep = self.selected_version()
        table = self.table
        table.blockSignals(True)
        table.setRowCount(0)
        for v in versions:
            row = table.rowCount()
            table.insertRow(row)
            card = dict(v.card or {})
            accuracy = (card.get("test") or {}).get("accuracy")
            cells = (
                v.version,
                str(getattr(v.status, "value", v.status)),
                str(card.get("parent_version") or "–"),
                "–" if accuracy is None else f"{100 * accuracy:.1f} %",
                v.registered_at.astimezone().strftime("%Y-%m-%d %H:%M"),
                v.promoted_at.astimezone().strftime("%Y-%m-%d %H:%M")
                if v.promoted_at
                else "–",
                v.sha256[:12],
            )
            for col, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                if col == len(cells) - 1:
                    cell.setToolTip(v.sha256)
                table.setItem(row, col, cell)
        table.blockSignals(False)
        rows = [r for r in range(table.rowCount()) if table.item(r, 0).text() == keep]
        if rows:
            table.selectRow(rows[0])  # asks for the evidence again (status may change)
        else:
            self._on_table_selection_changed()

    def show_comparison(
        self, version: str, active: str | None, details: dict[str, Any] | None
    ) -> None:
        """Show the evidence for `version` unless the selection moved on meanwhile."""
        if version != self.selected_version():
            return
        self.comparison.show_comparison(version, active, details)
        self._update_buttons()

    def _no_active_version(self) -> bool:
        table = self.table
        return all(
            table.item(r, STATUS_COLUMN) is None
            or table.item(r, STATUS_COLUMN).text() != "active"
            for r in range(table.rowCount())
        )

    def _update_buttons(self) -> None:
        selected = self.selected_version() is not None
        evidence = self.comparison.has_evidence or self._no_active_version()
        self.promote_button.setEnabled(self._allowed and selected and evidence)
        self.rollback_button.setEnabled(self._allowed and self.table.rowCount() > 0)
        self.permission_label.setText(
            ""
            if self._allowed or not self._logged_in
            else "Engineers and administrators promote and roll back models."
        )

    # -- slots ---------------------------------------------------------------------
    @Slot()
    def _on_table_selection_changed(self) -> None:
        self.comparison.has_evidence = False
        self.selection_changed.emit(self.selected_version())
        self._update_buttons()

    @Slot()
    def _on_promote_button_clicked(self) -> None:
        version = self.selected_version()
        if version is not None:
            self.promote_requested.emit(version)
