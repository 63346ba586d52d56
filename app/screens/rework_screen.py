"""Rework tab: the technician's repair list (product.md §3).

Grouped by board then defect code; for the selected item: the board map with the
joint highlighted, the crop with its explanation, the inspector's note, and the
outcomes repaired / scrapped / not a defect; then "board complete -> re-inspection".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, Qt, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.controllers.rework_controller import ReworkDetail
from app.models.rework_model import STATUS_WORDS, ReworkModel, defect_text
from app.screens.review_screen import explanation_sentence
from app.widgets.board_view import BoardMarker, BoardView
from app.widgets.error_presenter import describe
from app.widgets.joint_view import JointView
from db import ReworkStatus
from db.errors import write_may_succeed_later

if TYPE_CHECKING:
    from app.controllers.rework_controller import ReworkController
    from app.widgets.error_presenter import ErrorPresenter

OUTCOMES = (
    ("Repaired", ReworkStatus.REPAIRED, "repairedButton"),
    ("Scrapped", ReworkStatus.SCRAPPED, "scrappedButton"),
    ("Not a defect", ReworkStatus.NOT_A_DEFECT, "notADefectButton"),
)


class ReworkScreen(QWidget):
    """Repair list, board map, crop and explanation, outcomes, board completion."""

    TITLE = "Rework"

    def __init__(
        self,
        controller: ReworkController,
        presenter: ErrorPresenter,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._controller = controller
        self._presenter = presenter
        self._session: Any = None
        self._current: Any = None
        self._select_after_load: int | None = None

        heading = QLabel("Rework", self)
        heading.setProperty("role", "heading")
        self.count_label = QLabel("", self)
        self.count_label.setObjectName("reworkCount")
        self.count_label.setProperty("role", "badge")
        self.open_only_check = QCheckBox("Open items only", self)
        self.open_only_check.setObjectName("openOnly")
        self.open_only_check.setChecked(True)
        self.open_only_check.toggled.connect(self._on_open_only_check_toggled)
        self.refresh_button = QPushButton("Refresh", self)
        self.refresh_button.clicked.connect(self._on_refresh_button_clicked)
        top = QHBoxLayout()
        top.addWidget(heading)
        top.addWidget(self.count_label)
        top.addStretch(1)
        top.addWidget(self.open_only_check)
        top.addWidget(self.refresh_button)

        self.model = ReworkModel(self)
        self.table = QTableView(self)
        self.table.setObjectName("reworkTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.table.horizontalHeader().setStretchLastSection(True)

        self.title_label = QLabel("", self)
        self.title_label.setObjectName("reworkTitle")
        self.title_label.setProperty("role", "subheading")
        self.explanation_label = QLabel("", self)
        self.explanation_label.setWordWrap(True)
        self.inspector_note_label = QLabel("", self)
        self.inspector_note_label.setObjectName("inspectorNote")
        self.inspector_note_label.setWordWrap(True)
        self.joint_view = JointView(self)
        self.board_view = BoardView(controller.runner, self)
        self.board_view.setObjectName("reworkBoardView")
        self.note_edit = QLineEdit(self)
        self.note_edit.setObjectName("technicianNote")
        self.note_edit.setPlaceholderText("What you did (optional)")
        self.outcome_buttons: dict[ReworkStatus, QPushButton] = {}
        actions = QHBoxLayout()
        for text, status, name in OUTCOMES:
            button = QPushButton(text, self)
            button.setObjectName(name)
            button.setProperty("status", status.value)
            button.clicked.connect(self._on_outcome_button_clicked)
            actions.addWidget(button)
            self.outcome_buttons[status] = button
        self.complete_button = QPushButton("Board complete → re-inspection", self)
        self.complete_button.setObjectName("completeBoardButton")
        self.complete_button.setProperty("role", "primary")
        self.complete_button.clicked.connect(self._on_complete_button_clicked)
        self.status_label = QLabel("", self)
        self.status_label.setObjectName("reworkStatus")
        self.status_label.setWordWrap(True)
        self.status_label.hide()
        self.role_hint = QLabel(
            "Outcomes are recorded by technicians, supervisors and administrators.",
            self,
        )
        self.role_hint.setProperty("role", "muted")
        self.role_hint.setWordWrap(True)

        images = QSplitter(Qt.Orientation.Horizontal, self)
        images.addWidget(self.board_view)
        images.addWidget(self.joint_view)
        images.setSizes([370, 330])
        detail = QWidget(self)
        d = QVBoxLayout(detail)
        d.setContentsMargins(6, 0, 0, 0)
        d.addWidget(self.title_label)
        d.addWidget(images, 1)
        d.addWidget(self.explanation_label)
        d.addWidget(self.inspector_note_label)
        d.addWidget(self.note_edit)
        d.addLayout(actions)
        d.addWidget(self.complete_button)
        d.addWidget(self.status_label)
        d.addWidget(self.role_hint)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(detail)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([560, 700])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(top)
        layout.addWidget(self.splitter, 1)

        c = controller
        c.items_loaded.connect(self._on_controller_items_loaded)
        c.detail_loaded.connect(self._on_controller_detail_loaded)
        c.outcome_saved.connect(self._on_controller_outcome_saved)
        c.board_completed.connect(self._on_controller_board_completed)
        c.action_failed.connect(self._on_controller_action_failed)
        c.failed.connect(self._presenter.show_in_status)
        c.busy_changed.connect(self._on_controller_busy_changed)
        self.board_view.failed.connect(self._presenter.show_in_status)
        self.table.selectionModel().currentRowChanged.connect(
            self._on_table_current_row_changed
        )
        self._show_item(None)

    # -- session and list ------------------------------------------------------------
    def set_session(self, session: Any) -> None:
        """Load the list for whoever logged in."""
        self._session = session
        self._controller.set_session(session)
        self.role_hint.setVisible(
            session is not None and not self._controller.may_act(session.role)
        )
        self.show_status("")
        if session is None:
            self.model.set_items([])
            self._show_item(None)
            return
        self.refresh()

    def refresh(self) -> None:
        """Reload the list."""
        if self._session is not None:
            self._controller.load(open_only=self.open_only_check.isChecked())

    @property
    def current_item(self) -> Any:
        return self._current

    def show_status(self, text: str, *, error: bool = False) -> None:
        """A line under the actions; errors in the error colour with a ⚠ sign."""
        self.status_label.setProperty("role", "error" if error else "muted")
        self.status_label.style().unpolish(self.status_label)
        self.status_label.style().polish(self.status_label)
        self.status_label.setText(f"⚠ {text}" if error and text else text)
        self.status_label.setVisible(bool(text))

    def _show_item(self, item: Any) -> None:
        self._current = item
        is_open = item is not None and str(item.status) == ReworkStatus.OPEN.value
        for button in self.outcome_buttons.values():
            button.setEnabled(is_open and not self._controller.is_busy)
        self.note_edit.setEnabled(is_open)
        self.complete_button.setEnabled(
            item is not None and not self._controller.is_busy
        )
        if item is None:
            self.title_label.setText(
                "No open rework items." if self.model.rowCount() == 0 else ""
            )
            self.explanation_label.clear()
            self.inspector_note_label.clear()
            self.joint_view.clear()
            self.board_view.clear()
            return
        status = STATUS_WORDS.get(str(item.status), str(item.status))
        self.title_label.setText(
            f"{item.refdes}.{item.pin} · board {item.board_serial} · "
            f"{defect_text(item)} · P(defect) {item.p:.2f} · {status}"
        )
        self.explanation_label.setText(explanation_sentence(item.explanation))
        note = item.inspector_note or "none"
        self.inspector_note_label.setText(f"<b>Inspector's note:</b> {note}")
        markers = [
            BoardMarker(i.joint_id, i.bbox.x, i.bbox.y, i.bbox.w, i.bbox.h, i.region)
            for i in self.model.items_of_board(item.board_id)
        ]
        self.board_view.show_board(item.board_image_path, markers, item.joint_id)
        self.joint_view.clear("Loading…")
        self._controller.fetch_detail(item)

    def _select_row(self, row: int) -> None:
        if 0 <= row < self.model.rowCount():
            self.table.selectRow(row)
        else:
            self._show_item(None)

    # -- slots -----------------------------------------------------------------------
    @Slot(object)
    def _on_controller_items_loaded(self, items: object) -> None:
        rows: list[Any] = list(items)  # type: ignore[call-overload]
        keep = self._select_after_load
        if keep is None and self._current is not None:
            keep = self._current.id
        self._select_after_load = None
        self._current = None
        self.model.set_items(rows)
        n_open = sum(1 for i in rows if str(i.status) == ReworkStatus.OPEN.value)
        boards = len({i.board_id for i in rows})
        self.count_label.setText(f"{n_open} open on {boards} board(s)")
        row = self.model.row_of(keep) if keep is not None else -1
        self._select_row(row if row >= 0 else 0)

    @Slot(object)
    def _on_controller_detail_loaded(self, detail: object) -> None:
        assert isinstance(detail, ReworkDetail)
        if self._current is None or detail.item.id != self._current.id:
            return
        self.joint_view.set_images(detail.crop, detail.overlay)
        if detail.problem:
            self.joint_view.show_message(detail.problem)

    @Slot(object)
    def _on_controller_outcome_saved(self, item: object) -> None:
        status = STATUS_WORDS.get(str(item.status), "")  # type: ignore[attr-defined]
        self.show_status(
            f"{item.refdes}.{item.pin} on {item.board_serial}: {status}."  # type: ignore[attr-defined]
        )
        self.note_edit.clear()
        # Select the next item of the list once it reloads.
        row = self.model.row_of(item.id)  # type: ignore[attr-defined]
        nxt = self.model.item(row + 1)
        if self.open_only_check.isChecked():
            self._select_after_load = nxt.id if nxt is not None else None
        else:
            self._select_after_load = item.id  # type: ignore[attr-defined]
        self.refresh()

    @Slot(object)
    def _on_controller_board_completed(self, board: object) -> None:
        self.show_status(
            f"Board {board.serial} is complete and waits for re-inspection."  # type: ignore[attr-defined]
        )
        self.refresh()

    @Slot(object)
    def _on_controller_action_failed(self, error: object) -> None:
        self._presenter.show_in_status(error)
        text = describe(error)  # type: ignore[arg-type]
        if getattr(error, "kind", "") == "PermissionDeniedError":
            role = self._session.role if self._session is not None else "?"
            text = f"Not allowed for your role ({role}): {text}"
        elif write_may_succeed_later(str(getattr(error, "kind", ""))):
            # Read-only, full, unreachable or locked: say plainly nothing was recorded.
            text = (
                f"Not recorded: {text} The item is unchanged; press the button again "
                "once the database is writable."
            )
        self.show_status(text, error=True)

    @Slot(bool)
    def _on_controller_busy_changed(self, busy: bool) -> None:
        self._show_item_buttons(busy)

    def _show_item_buttons(self, busy: bool) -> None:
        item = self._current
        is_open = item is not None and str(item.status) == ReworkStatus.OPEN.value
        for button in self.outcome_buttons.values():
            button.setEnabled(is_open and not busy)
        self.complete_button.setEnabled(item is not None and not busy)

    @Slot(QModelIndex, QModelIndex)
    def _on_table_current_row_changed(
        self, current: QModelIndex, previous: QModelIndex
    ) -> None:
        item = self.model.item(current.row()) if current.isValid() else None
        if item is not None:
            self._show_item(item)

    @Slot()
    def _on_outcome_button_clicked(self) -> None:
        button = self.sender()
        if self._current is None or not isinstance(button, QPushButton):
            return
        self.show_status("")
        self._controller.record_outcome(
            self._current.id, str(button.property("status")), self.note_edit.text()
        )

    @Slot()
    def _on_complete_button_clicked(self) -> None:
        if self._current is not None:
            self.show_status("")
            self._controller.complete_board(self._current.board_id)

    @Slot(bool)
    def _on_open_only_check_toggled(self, _checked: bool) -> None:
        self.refresh()

    @Slot()
    def _on_refresh_button_clicked(self) -> None:
        self.refresh()
