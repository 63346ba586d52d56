"""Inspect tab: add board images, pick the recipe and serial, follow and cancel jobs.

Images come from a file dialog, drag and drop (files or folders) or a watched
folder; every board is queued on the `IngestController`, whose one worker thread
inspects them in order. Each board gets a row with its own progress bar and, when
it ends, its joints per confidence region or the error naming the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.inspection_runner import IMAGE_SUFFIXES
from app.theme import REGION_COLOURS
from app.workers.inference_worker import BOARD_FAILED, MODEL_LOAD_FAILED, InspectOptions
from inference.pipeline import STAGES
from inference.types import Region

if TYPE_CHECKING:
    from app.controllers.ingest_controller import BoardJob, IngestController
    from app.widgets.error_presenter import ErrorPresenter
    from app.workers.errors import ErrorInfo

COLUMNS = (
    "File",
    "Serial",
    "Status",
    "Progress",
    "Joints",
    "Defect",
    "Possible",
    "Non-defect",
    "Seconds",
    "Error",
)
(
    COL_FILE,
    COL_SERIAL,
    COL_STATUS,
    COL_PROGRESS,
    COL_JOINTS,
    COL_DEFECT,
    COL_POSSIBLE,
    COL_NON_DEFECT,
    COL_SECONDS,
    COL_ERROR,
) = range(len(COLUMNS))
REGION_COLUMNS = {
    COL_DEFECT: Region.DEFECT,
    COL_POSSIBLE: Region.POSSIBLE_DEFECT,
    COL_NON_DEFECT: Region.NON_DEFECT,
}
# Progress per board: the pipeline's stages, then persist and explain.
STAGE_ORDER = (*STAGES, "persist", "explain")
STAGE_LABELS = {
    "load": "Loading",
    "detect": "Finding joints",
    "crop": "Cropping",
    "classify": "Classifying",
    "persist": "Saving",
    "explain": "Explaining",
}
MAX_MESSAGES = 4
RECIPE_AUTO = "auto"
RECIPE_CHOOSE = "choose"
NAME_FILTER = "Board images ({})".format(
    " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES))
)


def stage_percent(stage: str, done: int, total: int) -> int:
    """Overall percent of one board from its current stage and step."""
    try:
        index = STAGE_ORDER.index(stage)
    except ValueError:
        return 0
    frac = done / total if total > 0 else 1.0
    return round(100 * (index + min(max(frac, 0.0), 1.0)) / len(STAGE_ORDER))


class ImageFileDialog:
    """The file dialogs of the screen behind classmethods that tests replace."""

    @classmethod
    def ask(cls, parent: QWidget | None) -> list[str]:
        """Board images to add (empty: the user cancelled)."""
        files, _ = QFileDialog.getOpenFileNames(
            parent, "Add board images", "", f"{NAME_FILTER};;All files (*)"
        )
        return list(files)

    @classmethod
    def ask_folder(cls, parent: QWidget | None) -> str:
        """A folder to watch for new board images (empty: cancelled)."""
        return QFileDialog.getExistingDirectory(parent, "Watch a folder for boards")

    @classmethod
    def ask_recipe(cls, parent: QWidget | None) -> str:
        """A board recipe JSON (empty: cancelled)."""
        path, _ = QFileDialog.getOpenFileName(
            parent, "Choose a board recipe", "", "Recipes (*.json)"
        )
        return path


class InspectScreen(QWidget):
    """Ingest board images and follow their inspection; drop files or folders here."""

    TITLE = "Inspect"

    def __init__(
        self,
        controller: IngestController | None = None,
        presenter: ErrorPresenter | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._controller = controller
        self._presenter = presenter
        self._rows: dict[str, int] = {}
        self._messages: list[str] = []
        self._tally = {"done": 0, "skipped": 0, "failed": 0, "cancelled": 0}
        self._bars: dict[str, QProgressBar] = {}
        self.setAcceptDrops(True)
        self._build()
        if controller is not None:
            self._connect(controller)
            if not controller.model_available:
                self.set_notice(
                    "No model is installed in "
                    f"{controller.config.model_dir}: boards cannot be inspected."
                )
        else:
            self.set_notice("Board inspection is not available on this station.")
        self._update_buttons()

    # -- assembly --------------------------------------------------------------------
    def _build(self) -> None:
        heading = QLabel("Inspect boards", self)
        heading.setProperty("role", "heading")
        hint = QLabel(
            "Add board images, drop files or folders here, or watch a folder. "
            "Each joint is sorted into defect, possible defect or no defect.",
            self,
        )
        hint.setProperty("role", "muted")
        hint.setWordWrap(True)

        self.add_button = QPushButton("Add images…", self)
        self.add_button.setObjectName("addImagesButton")
        self.add_button.setProperty("role", "primary")
        self.add_button.clicked.connect(self._on_add_button_clicked)
        self.watch_button = QPushButton("Watch folder…", self)
        self.watch_button.setObjectName("watchButton")
        self.watch_button.clicked.connect(self._on_watch_button_clicked)

        self.recipe_combo = QComboBox(self)
        self.recipe_combo.setObjectName("recipeCombo")
        self.recipe_combo.addItem("Recipe: auto (next to the image)", RECIPE_AUTO)
        self.recipe_combo.addItem("Choose recipe file…", RECIPE_CHOOSE)
        self.recipe_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.recipe_combo.setMinimumContentsLength(22)
        self.recipe_combo.activated.connect(self._on_recipe_combo_activated)
        self.serial_edit = QLineEdit(self)
        self.serial_edit.setObjectName("serialEdit")
        self.serial_edit.setPlaceholderText("Serial: from the file name")
        self.serial_edit.setToolTip(
            "Board serial for a single image; with several images each serial "
            "comes from its file name"
        )
        self.serial_edit.setClearButtonEnabled(True)
        self.product_edit = QLineEdit(self)
        self.product_edit.setObjectName("productEdit")
        self.product_edit.setPlaceholderText("Product: from the recipe")
        self.product_edit.setClearButtonEnabled(True)

        top = QHBoxLayout()
        top.addWidget(self.add_button)
        top.addWidget(self.watch_button)
        top.addSpacing(12)
        top.addWidget(self.recipe_combo, 2)
        top.addWidget(self.serial_edit, 1)
        top.addWidget(self.product_edit, 1)

        self.notice_label = QLabel(self)
        self.notice_label.setObjectName("inspectNotice")
        self.notice_label.setProperty("role", "error")
        self.notice_label.setWordWrap(True)
        self.notice_label.hide()
        self.message_label = QLabel(self)
        self.message_label.setObjectName("inspectMessage")
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.watch_label = QLabel(self)
        self.watch_label.setProperty("role", "muted")
        self.watch_label.hide()

        self.overall_label = QLabel("No boards queued", self)
        self.overall_label.setObjectName("overallLabel")
        self.overall_bar = QProgressBar(self)
        self.overall_bar.setObjectName("overallProgress")
        self.overall_bar.setRange(0, 1)
        self.overall_bar.setValue(0)
        self.overall_bar.setFormat("%v / %m boards")
        self.overall_bar.setSizePolicy(
            QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed
        )
        self.cancel_button = QPushButton("Cancel selected", self)
        self.cancel_button.setObjectName("cancelSelectedButton")
        self.cancel_button.clicked.connect(self._on_cancel_button_clicked)
        self.cancel_all_button = QPushButton("Cancel all", self)
        self.cancel_all_button.setObjectName("cancelAllButton")
        self.cancel_all_button.clicked.connect(self._on_cancel_all_button_clicked)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.overall_label)
        progress_row.addWidget(self.overall_bar, 1)
        progress_row.addWidget(self.cancel_button)
        progress_row.addWidget(self.cancel_all_button)

        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("boardsTable")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.itemSelectionChanged.connect(self._on_table_selection_changed)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_PROGRESS, QHeaderView.ResizeMode.Fixed)
        header.setSectionResizeMode(COL_ERROR, QHeaderView.ResizeMode.Stretch)
        self.table.setColumnWidth(COL_PROGRESS, 160)
        for col, region in REGION_COLUMNS.items():
            # A swatch of the region colour (the same in both themes) by its name.
            swatch = QPixmap(10, 10)
            swatch.fill(QColor(REGION_COLOURS[region]))
            item = QTableWidgetItem(QIcon(swatch), COLUMNS[col])
            self.table.setHorizontalHeaderItem(col, item)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(8)
        layout.addWidget(heading)
        layout.addWidget(hint)
        layout.addLayout(top)
        layout.addWidget(self.notice_label)
        layout.addWidget(self.watch_label)
        layout.addLayout(progress_row)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.message_label)

    def _connect(self, c: IngestController) -> None:
        c.job_queued.connect(self._on_ingest_job_queued)
        c.job_progress.connect(self._on_ingest_job_progress)
        c.job_result.connect(self._on_ingest_job_result)
        c.job_failed.connect(self._on_ingest_job_failed)
        c.job_cancelled.connect(self._on_ingest_job_cancelled)
        c.job_finished.connect(self._on_ingest_job_finished)
        c.file_rejected.connect(self._on_ingest_file_rejected)
        c.overall_progress.connect(self._on_ingest_overall_progress)
        c.watch_changed.connect(self._on_ingest_watch_changed)

    # -- public ----------------------------------------------------------------------
    def set_session(self, session: Any) -> None:
        """Boards added from now on are recorded as ingested by this user."""
        if self._controller is not None:
            self._controller.set_user(getattr(session, "user", None))

    def set_notice(self, text: str) -> None:
        """A standing notice above the table (model missing...); empty hides it."""
        self.notice_label.setText(text)
        self.notice_label.setVisible(bool(text))

    def options(self) -> InspectOptions:
        """The recipe, serial and product chosen on the screen."""
        recipe = self.recipe_combo.currentData()
        return InspectOptions(
            recipe=None if recipe in (RECIPE_AUTO, RECIPE_CHOOSE) else str(recipe),
            serial=self.serial_edit.text().strip() or None,
            product=self.product_edit.text().strip() or None,
        )

    def add_paths(self, paths: list[str]) -> list[BoardJob]:
        """Queue files and folders (dialog, drop); refused files get a message."""
        if self._controller is None or not paths:
            return []
        self._messages.clear()
        self.message_label.clear()
        jobs = self._controller.add_paths(paths, self.options())
        if jobs and len(jobs) == 1:
            self.serial_edit.clear()
        return jobs

    def row_of(self, job_id: str) -> int:
        """The table row of a job (-1: unknown)."""
        return self._rows.get(job_id, -1)

    def cell_text(self, job_id: str, column: int) -> str:
        """The text of one cell of a job's row (tests, screenshots)."""
        item = self.table.item(self.row_of(job_id), column)
        return item.text() if item is not None else ""

    def progress_bar(self, job_id: str) -> QProgressBar | None:
        """A job's progress bar."""
        return self._bars.get(job_id)

    # -- drag and drop ---------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and self._controller is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.add_paths(paths)
        else:
            event.ignore()

    # -- rows ------------------------------------------------------------------------
    def _set(self, job_id: str, column: int, text: str) -> None:
        row = self.row_of(job_id)
        if row < 0:
            return
        item = QTableWidgetItem(text)
        if column not in (COL_FILE, COL_SERIAL, COL_STATUS, COL_ERROR):
            item.setTextAlignment(
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
            )
        self.table.setItem(row, column, item)

    def _end_bar(self, job_id: str, value: int | None, text: str) -> None:
        bar = self._bars.get(job_id)
        if bar is None:
            return
        if value is not None:
            bar.setValue(value)
        bar.setFormat(text)

    def _update_buttons(self) -> None:
        has = self._controller is not None
        busy = has and self._controller.busy  # type: ignore[union-attr]
        for w in (self.add_button, self.watch_button, self.recipe_combo):
            w.setEnabled(has)
        self.cancel_all_button.setEnabled(bool(busy))
        selected = self._selected_job_ids()
        pending = set(self._controller.pending) if has else set()  # type: ignore[union-attr]
        self.cancel_button.setEnabled(any(j in pending for j in selected))

    def _selected_job_ids(self) -> list[str]:
        rows = {i.row() for i in self.table.selectionModel().selectedRows()}
        return [j for j, r in self._rows.items() if r in rows]

    def _count(self, status: str) -> None:
        self._tally[status] = self._tally.get(status, 0) + 1

    def _show_message(self, text: str) -> None:
        # The latest few problems, newest last: one batch may refuse several files.
        self._messages = [*self._messages[-(MAX_MESSAGES - 1) :], text]
        self.message_label.setText("\n".join(self._messages))

    # -- slots -----------------------------------------------------------------------
    @Slot()
    def _on_add_button_clicked(self) -> None:
        self.add_paths(ImageFileDialog.ask(self))

    @Slot()
    def _on_watch_button_clicked(self) -> None:
        if self._controller is None:
            return
        if self._controller.watch_dir is not None:
            self._controller.watch(None)
            return
        folder = ImageFileDialog.ask_folder(self)
        if folder:
            self._controller.watch(folder, self.options())

    @Slot(int)
    def _on_recipe_combo_activated(self, index: int) -> None:
        if self.recipe_combo.itemData(index) != RECIPE_CHOOSE:
            return
        path = ImageFileDialog.ask_recipe(self)
        if not path:
            self.recipe_combo.setCurrentIndex(0)
            return
        self.choose_recipe(path)

    def choose_recipe(self, path: str) -> None:
        """Use the recipe file `path` for the boards added from now on."""
        found = self.recipe_combo.findData(path)
        if found < 0:
            self.recipe_combo.insertItem(1, f"Recipe: {Path(path).name}", path)
            self.recipe_combo.setItemData(1, path, Qt.ItemDataRole.ToolTipRole)
            found = 1
        self.recipe_combo.setCurrentIndex(found)

    @Slot()
    def _on_cancel_button_clicked(self) -> None:
        if self._controller is None:
            return
        for job_id in self._selected_job_ids():
            if self._controller.cancel(job_id):
                self._set(job_id, COL_STATUS, "cancelling…")

    @Slot()
    def _on_cancel_all_button_clicked(self) -> None:
        if self._controller is None:
            return
        for job_id in self._controller.pending:
            self._set(job_id, COL_STATUS, "cancelling…")
        self._controller.cancel_all()

    @Slot()
    def _on_table_selection_changed(self) -> None:
        self._update_buttons()

    @Slot(object)
    def _on_ingest_job_queued(self, job: BoardJob) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        self._rows[job.job_id] = row
        self._set(job.job_id, COL_FILE, Path(job.path).name)
        file_item = self.table.item(row, COL_FILE)
        if file_item is not None:
            file_item.setToolTip(job.path)
        self._set(job.job_id, COL_SERIAL, job.serial)
        self._set(job.job_id, COL_STATUS, "queued")
        bar = QProgressBar(self.table)
        bar.setRange(0, 100)
        bar.setValue(0)
        bar.setFormat("queued")
        self._bars[job.job_id] = bar
        self.table.setCellWidget(row, COL_PROGRESS, bar)
        self._update_buttons()

    @Slot(str, str, int, int)
    def _on_ingest_job_progress(
        self, job_id: str, stage: str, done: int, total: int
    ) -> None:
        bar = self._bars.get(job_id)
        if bar is None:
            return
        bar.setValue(stage_percent(stage, done, total))
        label = STAGE_LABELS.get(stage, stage)
        bar.setFormat(f"{label} {done}/{total}" if total > 1 else label)
        if self.cell_text(job_id, COL_STATUS) == "queued":
            self._set(job_id, COL_STATUS, "running")

    @Slot(str, object)
    def _on_ingest_job_result(self, job_id: str, board: Any) -> None:
        self._count(board.status)
        self._set(job_id, COL_STATUS, board.status)
        self._set(job_id, COL_SERIAL, board.serial)
        self._set(job_id, COL_JOINTS, str(board.n_joints))
        for col, region in REGION_COLUMNS.items():
            self._set(job_id, col, str(board.regions.get(region.value, 0)))
        self._set(job_id, COL_SECONDS, f"{board.seconds:.1f}")
        self._end_bar(job_id, 100, "done" if board.status == "done" else "skipped")
        if board.status == "skipped":
            self._set(
                job_id,
                COL_ERROR,
                f"already inspected with this model (inspection {board.inspection_id})",
            )

    @Slot(str, object)
    def _on_ingest_job_failed(self, job_id: str, error: ErrorInfo) -> None:
        self._count("failed")
        self._set(job_id, COL_STATUS, "failed")
        self._set(job_id, COL_ERROR, error.message)
        item = self.table.item(self.row_of(job_id), COL_ERROR)
        if item is not None:
            item.setToolTip(error.message)
        self._end_bar(job_id, None, "failed")
        self._show_message(f"⚠ {error.message}")
        if error.kind == MODEL_LOAD_FAILED:
            self.set_notice(error.message)
        elif error.kind != BOARD_FAILED and self._presenter is not None:
            # An unexpected exception: also logged with its traceback by the worker.
            self._presenter.show_in_status(error)

    @Slot(str)
    def _on_ingest_job_cancelled(self, job_id: str) -> None:
        self._count("cancelled")
        self._set(job_id, COL_STATUS, "cancelled")
        self._end_bar(job_id, None, "cancelled")

    @Slot(str)
    def _on_ingest_job_finished(self, job_id: str) -> None:
        self._update_buttons()

    @Slot(str, str)
    def _on_ingest_file_rejected(self, path: str, message: str) -> None:
        self._show_message(f"⚠ {message}")

    @Slot(int, int)
    def _on_ingest_overall_progress(self, done: int, total: int) -> None:
        self.overall_bar.setRange(0, max(total, 1))
        self.overall_bar.setValue(done)
        if total == 0:
            text = "No boards queued"
        elif done >= total:
            text = f"{total} board{'s' if total != 1 else ''} finished"
        else:
            text = f"Inspecting board {done + 1} of {total}"
        tally = ", ".join(f"{n} {k}" for k, n in self._tally.items() if n)
        self.overall_label.setText(f"{text} ({tally})" if tally else text)
        self._update_buttons()

    @Slot(str)
    def _on_ingest_watch_changed(self, folder: str) -> None:
        self.watch_button.setText("Stop watching" if folder else "Watch folder…")
        self.watch_label.setText(f"Watching {folder} for new board images")
        self.watch_label.setVisible(bool(folder))
