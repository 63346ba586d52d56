"""Review tab: the inspector's queue of possibly defective joints (product.md §3).

The verdict is saved before the view moves on: the screen advances when the save's
result arrives, and the next joint's detail is prefetched so it draws at once. A
failed save keeps the joint on screen and shows the error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QElapsedTimer, QModelIndex, Qt, Slot
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.controllers.review_controller import (
    PAGE_SIZE,
    JointDetail,
    ReviewCounters,
    UndoResult,
    VerdictRequest,
)
from app.models.review_queue_model import (
    COL_PACKAGE,
    COL_PRODUCT,
    COL_REGION,
    ReviewQueueModel,
)
from app.theme import REGION_COLOURS, REGION_LABELS, REGION_TEXT_COLOURS
from app.widgets.board_view import BoardMarker, BoardView
from app.widgets.defect_code_picker import code_label
from app.widgets.empty_state import EmptyStateWidget, centred
from app.widgets.error_presenter import describe
from app.widgets.joint_view import JointView
from app.widgets.outbox_banner import (
    OutboxBanner,
    kept_message,
    rejected_message,
    undone_message,
)
from app.widgets.review_filter_bar import ReviewFilterBar
from app.widgets.verdict_panel import VerdictPanel
from db import VerdictKind

if TYPE_CHECKING:
    from app.controllers.review_controller import ReviewController
    from app.keymap import KeyMap
    from app.widgets.error_presenter import ErrorPresenter

REVIEW_ROLES = frozenset({"inspector", "supervisor", "engineer", "admin"})
REFERENCE_SIZE = 150
SIDE_MIN_WIDTH, SIDE_MAX_WIDTH = 280, 460
VERDICT_WORDS = {
    VerdictKind.CONFIRMED_DEFECT: "Defect confirmed",
    VerdictKind.FALSE_CALL: "False call",
    VerdictKind.SKIPPED: "Skipped (escalated)",
}


def explanation_sentence(explanation: Any) -> str:
    """ "Removing the outlined region drops P(defect) from 0.93 to 0.12"."""
    if explanation is None:
        return "No explanation was computed for this joint."
    before, after, n = explanation.p_before, explanation.p_after, explanation.n_factors
    if n <= 0:
        return (
            f"No compact region changes the decision (P(defect) {before:.2f}); the "
            "evidence is spread over the image."
        )
    what = "the outlined region" if n == 1 else f"the {n} outlined regions"
    verb = "drops" if after < before else "raises"
    return f"Removing {what} {verb} P(defect) from {before:.2f} to {after:.2f}."


def _joint_title(item: Any) -> str:
    pin = f".{item.pin}" if item.pin else ""
    package = f" · {item.package}" if item.package else ""
    return f"{item.refdes or 'joint'}{pin}{package} · board {item.board_serial}"


class ReviewScreen(QWidget):
    """Queue, joint view with overlay, board overview, reference joint, verdicts."""

    TITLE = "Review"
    PAGE_NOT_ALLOWED, PAGE_REVIEW = range(2)

    def __init__(
        self,
        controller: ReviewController,
        presenter: ErrorPresenter,
        parent: QWidget | None = None,
        *,
        keymap: KeyMap | None = None,
    ) -> None:
        super().__init__(parent)
        self._controller = controller
        self._presenter = presenter
        self._session: Any = None
        self._current: Any = None
        self._decided: set[int] = set()
        self._timer = QElapsedTimer()
        self._products_loaded = False

        self.model = ReviewQueueModel(PAGE_SIZE, self)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(
            centred(
                EmptyStateWidget(
                    "The review queue is for inspectors",
                    "Inspectors, supervisors, engineers and administrators give "
                    "verdicts here. Technicians find confirmed defects on the "
                    "Rework tab.",
                    arrives="Open the Rework tab",
                    parent=self,
                ),
                self,
            )
        )
        self.stack.addWidget(self._build_review_page())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.stack)
        self.panel.install_shortcuts(self)
        if keymap is not None:  # the station's keys (Settings), kept current
            keymap.bind(self.panel)
        self._connect()
        self._show_item(None)

    # -- assembly --------------------------------------------------------------------
    def _build_counters(self) -> QHBoxLayout:
        # A row of their own: next to the filters they would force a wide window.
        self.board_counter = self._counter("counterBoard")
        self.queue_counter = self._counter("counterQueue")
        self.shift_counter = self._counter("counterShift")
        row = QHBoxLayout()
        for label in (self.board_counter, self.queue_counter, self.shift_counter):
            row.addWidget(label)
        row.addStretch(1)
        return row

    def _counter(self, name: str) -> QLabel:
        label = QLabel("", self)
        label.setObjectName(name)
        label.setProperty("role", "badge")
        return label

    def _build_review_page(self) -> QWidget:
        page = QWidget(self)
        self.table = QTableView(page)
        self.table.setObjectName("reviewQueue")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.setTabKeyNavigation(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # Size columns by the rows on screen, not by up to 1000 loaded rows on every
        # removed row (~12 ms per verdict, docs/gui-performance.md).
        header.setResizeContentsPrecision(0)
        header.setStretchLastSection(True)
        # Product and package are in the joint title; every queued joint is in the
        # possible-defect region (its chip is above the joint view).
        for hidden in (COL_PRODUCT, COL_PACKAGE, COL_REGION):
            self.table.setColumnHidden(hidden, True)

        self.title_label = QLabel("", page)
        self.title_label.setObjectName("jointTitle")
        self.title_label.setProperty("role", "subheading")
        self.region_chip = QLabel("", page)
        self.region_chip.setObjectName("regionChip")
        self.confidence_label = QLabel("", page)
        self.confidence_label.setObjectName("confidenceLabel")
        self.explanation_label = QLabel("", page)
        self.explanation_label.setObjectName("explanationLabel")
        self.explanation_label.setWordWrap(True)
        self.joint_view = JointView(page, overlay_key="Space")
        chips = QHBoxLayout()
        chips.addWidget(self.region_chip)
        chips.addWidget(self.confidence_label, 1)
        centre = QWidget(page)
        centre_layout = QVBoxLayout(centre)
        centre_layout.setContentsMargins(4, 0, 4, 0)
        centre_layout.addWidget(self.title_label)
        centre_layout.addLayout(chips)
        centre_layout.addWidget(self.explanation_label)
        centre_layout.addWidget(self.joint_view, 1)

        self.board_view = BoardView(self._controller.runner, page)
        self.board_view.setObjectName("reviewBoardView")
        self.reference_image = QLabel(page)
        self.reference_image.setObjectName("referenceImage")
        self.reference_image.setFixedSize(REFERENCE_SIZE, REFERENCE_SIZE)
        self.reference_image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.reference_image.setFrameShape(QFrame.Shape.StyledPanel)
        self.reference_caption = QLabel("", page)
        self.reference_caption.setObjectName("referenceCaption")
        self.reference_caption.setWordWrap(True)
        self.reference_caption.setProperty("role", "muted")
        ref_row = QHBoxLayout()
        ref_row.addWidget(self.reference_image)
        ref_row.addWidget(self.reference_caption, 1)
        self.panel = VerdictPanel(page)
        self.panel.setObjectName("verdictPanel")
        side = QWidget(page)
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(4, 0, 0, 0)
        board_title = QLabel("Board", side)
        board_title.setProperty("role", "subheading")
        side_layout.addWidget(board_title)
        side_layout.addWidget(self.board_view, 1)
        ref_title = QLabel("Reference (accepted joint, same package)", side)
        ref_title.setProperty("role", "subheading")
        side_layout.addWidget(ref_title)
        side_layout.addLayout(ref_row)
        side_layout.addWidget(self.panel)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, page)
        self.splitter.setObjectName("reviewSplitter")
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(centre)
        # The side column scrolls on small screens instead of forcing the window's
        # minimum size up (the offscreen test screen is 800x600).
        side_scroll = QScrollArea(page)
        side_scroll.setWidget(side)
        side_scroll.setWidgetResizable(True)
        side_scroll.setFrameShape(QFrame.Shape.NoFrame)
        side_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        side_scroll.setMinimumWidth(SIDE_MIN_WIDTH)
        side_scroll.setMaximumWidth(SIDE_MAX_WIDTH)
        self.splitter.addWidget(side_scroll)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 0)
        self.splitter.setSizes([290, 560, 410])

        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        self.filter_bar = ReviewFilterBar(page)
        layout.addWidget(self.filter_bar)
        layout.addLayout(self._build_counters())
        self.outbox_banner = OutboxBanner(page)
        layout.addWidget(self.outbox_banner)
        layout.addWidget(self.splitter, 1)
        return page

    def _connect(self) -> None:
        c = self._controller
        c.page_loaded.connect(self._on_controller_page_loaded)
        c.detail_loaded.connect(self._on_controller_detail_loaded)
        c.counters_changed.connect(self._on_controller_counters_changed)
        c.verdict_saved.connect(self._on_controller_verdict_saved)
        c.vigilance_revealed.connect(self._on_controller_vigilance_revealed)
        c.verdict_failed.connect(self._on_controller_verdict_failed)
        c.verdict_undone.connect(self._on_controller_verdict_undone)
        c.products_loaded.connect(self.filter_bar.set_products)
        c.saving_changed.connect(self._on_controller_saving_changed)
        c.failed.connect(self._presenter.show_in_status)
        c.verdict_kept.connect(self._on_controller_verdict_kept)
        c.pending_rejected.connect(self._on_controller_pending_rejected)
        c.pending_undone.connect(self._on_controller_pending_undone)
        c.outbox_changed.connect(self.outbox_banner.set_state)
        self.outbox_banner.retry_requested.connect(c.retry_pending)
        self.model.fetch_requested.connect(self._on_model_fetch_requested)
        self.table.selectionModel().currentRowChanged.connect(
            self._on_table_current_row_changed
        )
        self.board_view.joint_clicked.connect(self._on_board_view_joint_clicked)
        self.board_view.failed.connect(self._presenter.show_in_status)
        p = self.panel
        p.verdict_chosen.connect(self._on_panel_verdict_chosen)
        p.undo_requested.connect(self._on_panel_undo_requested)
        p.overlay_toggle_requested.connect(self._on_panel_overlay_toggle_requested)
        p.zoom_requested.connect(self._on_panel_zoom_requested)
        p.step_requested.connect(self._on_panel_step_requested)
        self.filter_bar.filters_changed.connect(self._on_filter_bar_filters_changed)
        self.filter_bar.submitted.connect(self._on_filter_bar_submitted)

    # -- session and queue -----------------------------------------------------------
    def set_session(self, session: Any) -> None:
        """Show the queue for a reviewer (or the not-allowed page)."""
        self._session = session
        allowed = session is not None and session.role in REVIEW_ROLES
        self._controller.set_session(session if allowed else None)
        self._decided.clear()
        self._products_loaded = False
        self.stack.setCurrentIndex(
            self.PAGE_REVIEW if allowed or session is None else self.PAGE_NOT_ALLOWED
        )
        if allowed:
            self.refresh()
        else:
            self.model.reset(-1)
            self._show_item(None)

    def refresh(self) -> None:
        """Reload the queue from its first page with the current filter."""
        if self._controller.session is None:
            return
        generation = self._controller.set_filters(self.filter_bar.filters())
        self._current = None
        self.model.reset(generation)
        self.model.request_first_page()
        self._controller.fetch_counters(None)
        if not self._products_loaded:
            self._products_loaded = True
            self._controller.fetch_products()

    @property
    def current_item(self) -> Any:
        """The ReviewItem on screen (None when the queue is empty)."""
        return self._current

    def _select_row(self, row: int) -> None:
        if 0 <= row < self.model.rowCount():
            self.table.selectRow(row)
            self.table.scrollTo(self.model.index(row, 0))
        else:
            self.table.clearSelection()
            self.table.setCurrentIndex(QModelIndex())
            self._show_item(None)

    def _show_item(self, item: Any) -> None:
        self._current = item
        self.panel.set_joint_available(item is not None)
        if item is None:
            empty = self.model.generation >= 0 and self.model.rowCount() == 0
            self.title_label.setText(
                "The queue is empty: no joint waits for a verdict."
                if empty
                else "No joint selected"
            )
            self.region_chip.hide()
            self.confidence_label.clear()
            self.explanation_label.clear()
            self.joint_view.clear()
            self.board_view.clear()
            self.reference_image.clear()
            self.reference_caption.clear()
            return
        self._timer.start()
        self.title_label.setText(_joint_title(item))
        colour = REGION_COLOURS.get(item.region, "#888888")
        text_colour = REGION_TEXT_COLOURS.get(item.region, "#000000")
        self.region_chip.setStyleSheet(
            f"background: {colour}; color: {text_colour}; border-radius: 8px; "
            "padding: 2px 8px; font-weight: bold;"
        )
        self.region_chip.setText(REGION_LABELS.get(item.region, str(item.region)))
        self.region_chip.show()
        self.confidence_label.setText(
            f"P(defect) <b>{item.p:.2f}</b> &nbsp; (thresholds {item.t_lo:.2f} / "
            f"{item.t_hi:.2f}, model {item.model_version})"
        )
        self.explanation_label.setText(explanation_sentence(item.explanation))
        detail = self._controller.cached_detail(item.joint_id)
        if detail is not None:
            self._draw_detail(detail)
        else:
            self.joint_view.clear("Loading…")
            self._controller.fetch_detail(item)
        row = self.model.row_of(item.joint_id)
        self._controller.prefetch(self.model.item(row + 1))
        if row + 1 >= self.model.rowCount() and self.model.canFetchMore():
            self.model.fetchMore()
        self._controller.fetch_counters(item.board_id)

    def _draw_detail(self, detail: JointDetail) -> None:
        item = detail.item
        self.joint_view.set_images(detail.crop, detail.overlay)
        if detail.problem:
            self.joint_view.show_message(detail.problem)
        markers = [
            BoardMarker(j.joint_id, j.bbox.x, j.bbox.y, j.bbox.w, j.bbox.h, j.region)
            for j in detail.board_joints
            if j.joint_id not in self._decided or j.joint_id == item.joint_id
        ]
        if all(m.joint_id != item.joint_id for m in markers):
            b = item.bbox
            markers.append(BoardMarker(item.joint_id, b.x, b.y, b.w, b.h, item.region))
        self.board_view.show_board(item.board_image_path, markers, item.joint_id)
        ref = detail.reference
        if ref is not None and detail.reference_crop is not None:
            pixmap = QPixmap.fromImage(detail.reference_crop).scaled(
                REFERENCE_SIZE,
                REFERENCE_SIZE,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
            self.reference_image.setPixmap(pixmap)
            self.reference_caption.setText(
                f"{ref.package or ref.joint_type} joint {ref.refdes}.{ref.pin} on "
                f"board {ref.board_serial}, P(defect) {ref.p:.2f}"
            )
        else:
            self.reference_image.clear()
            self.reference_image.setText("none")
            self.reference_caption.setText(
                "No accepted joint of this package and type yet."
            )

    def _step(self, delta: int) -> None:
        row = self.table.currentIndex().row()
        target = row + delta
        if target >= self.model.rowCount() and self.model.canFetchMore():
            self.model.fetchMore()
            return
        if 0 <= target < self.model.rowCount():
            self._select_row(target)

    # -- controller slots ------------------------------------------------------------
    @Slot(int, int)
    def _on_model_fetch_requested(self, offset: int, limit: int) -> None:
        self._controller.fetch_page(offset, limit)

    @Slot(object)
    def _on_controller_page_loaded(self, page: object) -> None:
        used = self.model.add_page(
            page.generation,  # type: ignore[attr-defined]
            page.offset,  # type: ignore[attr-defined]
            page.items,  # type: ignore[attr-defined]
            page.total,  # type: ignore[attr-defined]
        )
        if not used:
            return
        self.queue_counter.setText(f"Left in queue: {self.model.total}")
        if self._current is None:
            self._select_row(0)

    @Slot(object)
    def _on_controller_detail_loaded(self, detail: object) -> None:
        assert isinstance(detail, JointDetail)
        if self._current is not None and detail.item.joint_id == self._current.joint_id:
            self._draw_detail(detail)

    @Slot(object)
    def _on_controller_counters_changed(self, counters: object) -> None:
        assert isinstance(counters, ReviewCounters)
        if self._current is not None:
            self.board_counter.setText(f"Left on this board: {counters.left_on_board}")
        else:
            self.board_counter.setText("Left on this board: –")
        self.queue_counter.setText(f"Left in queue: {counters.left_in_queue}")
        self.shift_counter.setText(
            f"Reviewed this shift: {counters.reviewed_this_shift}"
        )

    @Slot(object)
    def _on_controller_verdict_saved(self, verdict: object) -> None:
        joint_id = verdict.joint_id  # type: ignore[attr-defined]
        kind = VerdictKind(verdict.verdict)  # type: ignore[attr-defined]
        code = code_label(verdict.defect_code)  # type: ignore[attr-defined]
        removed = self.model.item(self.model.row_of(joint_id))
        what = _joint_title(removed).split(" · ")[0] if removed else f"joint {joint_id}"
        suffix = f": {code}" if code else ""
        self.panel.show_status(
            f"Saved {VERDICT_WORDS.get(kind, kind)}{suffix} ({what})"
        )
        self.panel.clear_entry()
        self._decided.add(joint_id)
        row = self.model.remove_joint(joint_id)
        if self._current is not None and self._current.joint_id == joint_id:
            self._current = None
            if self.model.rowCount() == 0 and self.model.canFetchMore():
                self.model.fetchMore()  # the next page selects its first row
                self._show_item(None)
            else:
                self._select_row(min(max(row, 0), self.model.rowCount() - 1))
        self._controller.fetch_counters(
            self._current.board_id if self._current is not None else None
        )

    @Slot(object)
    def _on_controller_vigilance_revealed(self, reveal: object) -> None:
        # Shown only after the verdict was saved (the controller asks afterwards).
        self.panel.show_status(reveal.message)  # type: ignore[attr-defined]

    @Slot(int, object)
    def _on_controller_verdict_failed(self, joint_id: int, error: object) -> None:
        self._presenter.show_in_status(error)
        if self._controller.pending_for(joint_id) is not None:
            return  # kept in the outbox: `verdict_kept` says so
        text = describe(error)  # type: ignore[arg-type]
        self.panel.show_status(f"Not saved, the joint stays here: {text}", error=True)

    @Slot(object, object)
    def _on_controller_verdict_kept(self, entry: object, error: object) -> None:
        # Not saved, not lost: the joint stays on screen (no advance).
        waiting = len(self._controller.pending())
        text = kept_message(entry, error, waiting, VERDICT_WORDS)
        self.panel.show_status(text, error=True)

    @Slot(object, object)
    def _on_controller_pending_rejected(self, entry: object, error: object) -> None:
        self._presenter.show_in_status(error)
        self.panel.show_status(rejected_message(entry.label, error), error=True)  # type: ignore[attr-defined]
        self._controller.fetch_counters(
            self._current.board_id if self._current is not None else None
        )

    @Slot(object)
    def _on_controller_pending_undone(self, entry: object) -> None:
        row = self.model.row_of(entry.joint_id) if entry is not None else -1  # type: ignore[attr-defined]
        if row >= 0:
            self._select_row(row)
        self.panel.show_status(undone_message(entry, VERDICT_WORDS))

    @Slot(object)
    def _on_controller_verdict_undone(self, result: object) -> None:
        if not isinstance(result, UndoResult):
            self.panel.show_status("Nothing to undo.")
            return
        item = result.item
        self._decided.discard(item.joint_id)
        row = self.table.currentIndex().row()
        row = self.model.insert_item(max(row, 0), item)
        self._select_row(row)
        self.panel.show_status(f"Undone: {_joint_title(item)} is back in the queue.")

    @Slot(bool)
    def _on_controller_saving_changed(self, saving: bool) -> None:
        self.panel.set_saving(saving)

    # -- widget slots ----------------------------------------------------------------
    @Slot(QModelIndex, QModelIndex)
    def _on_table_current_row_changed(
        self, current: QModelIndex, previous: QModelIndex
    ) -> None:
        item = self.model.item(current.row()) if current.isValid() else None
        if item is None:
            return
        if self._current is None or item.joint_id != self._current.joint_id:
            self._show_item(item)

    @Slot(int)
    def _on_board_view_joint_clicked(self, joint_id: int) -> None:
        row = self.model.row_of(joint_id)
        if row >= 0:
            self._select_row(row)

    @Slot(str, str)
    def _on_panel_verdict_chosen(self, verdict: str, code: str) -> None:
        item = self._current
        if item is None:
            return
        request = VerdictRequest(
            joint_id=item.joint_id,
            verdict=verdict,
            defect_code=code or None,
            ipc_condition=self.panel.ipc_condition(),
            ipc_class=self.panel.ipc_class(),
            note=self.panel.note(),
            seconds_spent=round(self._timer.elapsed() / 1000.0, 2)
            if self._timer.isValid()
            else None,
        )
        self._controller.submit_verdict(
            request, label=_joint_title(item).split(" · ")[0]
        )

    @Slot()
    def _on_panel_undo_requested(self) -> None:
        self._controller.undo_last()

    @Slot()
    def _on_panel_overlay_toggle_requested(self) -> None:
        self.joint_view.toggle_overlay()

    @Slot(str)
    def _on_panel_zoom_requested(self, how: str) -> None:
        {"in": self.joint_view.zoom_in, "out": self.joint_view.zoom_out}.get(
            how, self.joint_view.fit
        )()

    @Slot(int)
    def _on_panel_step_requested(self, delta: int) -> None:
        self._step(delta)

    @Slot()
    def _on_filter_bar_filters_changed(self) -> None:
        self.refresh()

    @Slot()
    def _on_filter_bar_submitted(self) -> None:
        self.refresh()
        self.table.setFocus()
