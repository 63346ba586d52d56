"""`ReviewController`: the review queue, joint details (prefetched) and verdicts.

Every database call and every file read runs on the task pool; results come back as
DTOs (and QImages built on the worker, turned into QPixmaps by the widgets).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from app.controllers.review_pending import (
    OUTBOX_RETRY_MS,
    PendingVerdictsMixin,
    default_outbox,
)
from app.qt_convert import load_qimage
from db import ReviewFilter
from db.errors import write_may_succeed_later

if TYPE_CHECKING:
    from PySide6.QtGui import QImage

    from app.review_outbox import ReviewOutbox
    from app.workers.task import TaskRunner

log = logging.getLogger(__name__)

PAGE_SIZE = 100
# The product filter lists the products of the first this-many queued joints.
PRODUCT_SCAN_LIMIT = 5000
# Joint details kept in memory (current, next, a few recent).
DETAIL_CACHE = 8


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue: `generation` tells stale pages (old filter) apart."""

    generation: int
    offset: int
    items: list[Any]
    total: int


@dataclass(frozen=True)
class JointDetail:
    """What the review view draws for one joint (images decoded on the worker)."""

    item: Any  # ReviewItem
    crop: QImage | None
    overlay: QImage | None
    reference: Any  # ReviewItem | None
    reference_crop: QImage | None
    board_joints: list[Any]  # ReviewItem of the board still in the queue
    problem: str = ""  # why an image is missing, for the user


@dataclass(frozen=True)
class ReviewCounters:
    """The three counters of the review screen."""

    left_on_board: int
    left_in_queue: int
    reviewed_this_shift: int


@dataclass(frozen=True)
class VerdictRequest:
    """A verdict the inspector gave (the controller adds user and shift)."""

    joint_id: int
    verdict: str
    defect_code: str | None = None
    ipc_condition: str | None = None
    ipc_class: int | None = None
    note: str = ""
    seconds_spent: float | None = None


@dataclass(frozen=True)
class UndoResult:
    """An undone verdict and the joint that returns to the queue."""

    verdict: Any  # VerdictDTO (the `undone` row)
    item: Any  # ReviewItem


# ---------------------------------------------------------------- worker functions


def _load_page(
    db: Any, filters: ReviewFilter, generation: int, offset: int, limit: int
) -> QueuePage:
    items = db.review.queue(filters, offset=offset, limit=limit)
    total = db.review.queue_count(filters)
    return QueuePage(generation, offset, items, total)


def _image_or_none(path: str, problems: list[str]) -> QImage | None:
    if not path:
        return None
    try:
        return load_qimage(path)
    except OSError as exc:
        problems.append(str(exc))
        return None


def _load_detail(db: Any, item: Any) -> JointDetail:
    problems: list[str] = []
    crop = _image_or_none(item.crop_path, problems)
    overlay = (
        _image_or_none(item.explanation.overlay_path, problems)
        if item.explanation is not None
        else None
    )
    reference = db.review.reference_joint(item.joint_id)
    reference_crop = (
        _image_or_none(reference.crop_path, problems) if reference is not None else None
    )
    board_joints = db.review.queue(
        ReviewFilter(board_id=item.board_id, include_skipped=True)
    )
    return JointDetail(
        item,
        crop,
        overlay,
        reference,
        reference_crop,
        board_joints,
        "; ".join(problems),
    )


def _counters(
    db: Any, filters: ReviewFilter, board_id: int | None, user_id: int, shift_id: int
) -> ReviewCounters:
    on_board = (
        db.review.queue_count(ReviewFilter(board_id=board_id))
        if board_id is not None
        else 0
    )
    return ReviewCounters(
        left_on_board=on_board,
        left_in_queue=db.review.queue_count(filters),
        reviewed_this_shift=db.review.count_verdicts(
            user_id=user_id, shift_id=shift_id
        ),
    )


@dataclass(frozen=True)
class _Saved:
    """A saved verdict and, for a vigilance seed, what it was (after the verdict)."""

    verdict: Any  # VerdictDTO
    reveal: Any  # db.services.vigilance.SeedReveal | None


def _record(db: Any, session: Any, request: VerdictRequest) -> _Saved:
    verdict = _give(db, session, request)
    # The truth of a seeded joint is asked for only now, after the verdict is
    # committed: nothing about it reaches the screen before.
    reveal = None
    vigilance = getattr(db, "vigilance", None)
    if vigilance is not None:
        try:
            reveal = vigilance.reveal(request.joint_id)
        except Exception:
            log.warning(
                "vigilance reveal of joint %d failed", request.joint_id, exc_info=True
            )
    return _Saved(verdict, reveal)


def _give(db: Any, session: Any, request: VerdictRequest) -> Any:
    return db.review.record_verdict(
        request.joint_id,
        user=session.user,
        verdict=request.verdict,
        defect_code=request.defect_code,
        ipc_condition=request.ipc_condition,
        ipc_class=request.ipc_class,
        note=request.note,
        seconds_spent=request.seconds_spent,
        shift_id=session.shift.id,
    )


def _record_pending(db: Any, user: Any, shift_id: int | None, request: Any) -> Any:
    """A verdict from the outbox: by the user who gave it, in the shift it was given."""
    return _record(
        db, SimpleNamespace(user=user, shift=SimpleNamespace(id=shift_id)), request
    )


def _undo(db: Any, session: Any) -> UndoResult | None:
    row = db.review.undo_last(session.user)
    if row is None:
        return None
    return UndoResult(row, db.review.item(row.joint_id))


def _products(db: Any) -> list[str]:
    items = db.review.queue(None, limit=PRODUCT_SCAN_LIMIT)
    return sorted({i.product for i in items})


# ---------------------------------------------------------------------- controller


class ReviewController(PendingVerdictsMixin, QObject):
    """Serves the review screen: pages, details (prefetched), counters, verdicts."""

    # A page of the queue arrived: a QueuePage.
    page_loaded = Signal(object)
    # A joint's detail arrived: a JointDetail.
    detail_loaded = Signal(object)
    # The counters were recounted: a ReviewCounters.
    counters_changed = Signal(object)
    # A verdict was saved: the VerdictDTO.
    verdict_saved = Signal(object)
    # After a verdict on a vigilance seed (always after `verdict_saved`): a SeedReveal.
    vigilance_revealed = Signal(object)
    # Saving a verdict failed: (joint_id, ErrorInfo); nothing changed.
    verdict_failed = Signal(int, object)
    # An undo went through: an UndoResult (None: nothing to undo).
    verdict_undone = Signal(object)
    # The products present in the queue (for the filter).
    products_loaded = Signal(object)
    # Any other background failure: an ErrorInfo.
    failed = Signal(object)
    # A verdict save or undo is in flight (True) or done (False).
    saving_changed = Signal(bool)
    # A verdict the database could not take now was kept in the outbox:
    # (PendingVerdict, ErrorInfo, or None when it queued behind others).
    verdict_kept = Signal(object, object)
    # A waiting verdict was refused for good on retry (e.g. a verdict given
    # elsewhere meanwhile): (PendingVerdict, ErrorInfo); it left the outbox.
    pending_rejected = Signal(object, object)
    # Undo took back the last waiting verdict: the PendingVerdict (None: it is being
    # written right now, try again).
    pending_undone = Signal(object)
    # The database's state or the number of waiting verdicts changed: OutboxState.
    outbox_changed = Signal(object)

    def __init__(
        self,
        database: Any,
        runner: TaskRunner,
        parent: QObject | None = None,
        *,
        outbox: ReviewOutbox | None = None,
    ) -> None:
        super().__init__(parent)
        self._db = database
        self._runner = runner
        self._where = str(getattr(database, "where", "database"))
        self._outbox = (
            outbox if outbox is not None else default_outbox(database, VerdictRequest)
        )
        self._record_pending_fn = _record_pending
        self._problem: Any = None  # ErrorInfo of the last write the db refused
        self._flushing: tuple[Any, Any] | None = None  # (task signals, entry)
        self._kept_requests: dict[Any, tuple[Any, str]] = {}  # signals -> (req, label)
        self._retry_timer = QTimer(self)
        self._retry_timer.setInterval(OUTBOX_RETRY_MS)
        self._retry_timer.timeout.connect(self._on_retry_timer_timeout)
        self._session: Any = None
        self._filters = ReviewFilter()
        self._generation = 0
        self._details: dict[int, JointDetail] = {}
        self._detail_pending: set[int] = set()
        self._detail_tasks: dict[Any, int] = {}  # task signals -> joint id
        self._saving: dict[Any, int] = {}  # task signals -> joint id
        self._busy = False

    # -- state -----------------------------------------------------------------------
    @property
    def session(self) -> Any:
        """The logged-in `UserSession` (None when nobody is)."""
        return self._session

    @property
    def runner(self) -> TaskRunner:
        """The task runner (the board view loads its images on it)."""
        return self._runner

    @property
    def filters(self) -> ReviewFilter:
        """The current filter and sort."""
        return self._filters

    @property
    def generation(self) -> int:
        """Bumped by every filter change; pages of older generations are stale."""
        return self._generation

    @property
    def is_saving(self) -> bool:
        """A verdict or an undo is being written."""
        return self._busy

    def set_session(self, session: Any) -> None:
        """Who gives the verdicts; clears cached details.

        Verdicts this user left waiting (also from before a crash) are retried now.
        """
        self._session = session
        self._details.clear()
        self._detail_pending.clear()
        self._emit_outbox_state()
        if session is not None and self.pending():
            self.retry_pending()

    def set_filters(self, filters: ReviewFilter) -> int:
        """Use `filters` from now on; returns the new generation."""
        self._filters = filters
        self._generation += 1
        return self._generation

    def cached_detail(self, joint_id: int) -> JointDetail | None:
        """The detail of `joint_id` if it is already loaded (for an instant advance)."""
        return self._details.get(joint_id)

    def forget_detail(self, joint_id: int) -> None:
        """Drop a cached detail (its board's markers changed)."""
        self._details.pop(joint_id, None)

    # -- requests --------------------------------------------------------------------
    def _start(self, fn: Any, *args: Any, result: Any, failed: Any = None) -> Any:
        task = self._runner.submit(fn, self._db, *args)
        task.signals.result.connect(result)
        task.signals.failed.connect(failed or self._on_task_failed)
        self._runner.start(task)
        return task

    def fetch_page(self, offset: int, limit: int = PAGE_SIZE) -> None:
        """Load `limit` queue rows from `offset`; answers on `page_loaded`."""
        self._start(
            _load_page,
            self._filters,
            self._generation,
            offset,
            limit,
            result=self._on_page_result,
        )

    def fetch_detail(self, item: Any) -> None:
        """Load the images and reference of `item` unless cached or loading."""
        if item is None:
            return
        joint_id = item.joint_id
        if joint_id in self._details:
            self.detail_loaded.emit(self._details[joint_id])
            return
        if joint_id in self._detail_pending:
            return
        self._detail_pending.add(joint_id)
        task = self._start(_load_detail, item, result=self._on_detail_result)
        self._detail_tasks[task.signals] = joint_id
        task.signals.finished.connect(self._on_detail_finished)

    def prefetch(self, item: Any) -> None:
        """Load `item`'s detail in the background (the joint shown after a verdict)."""
        if item is not None and item.joint_id not in self._details:
            self.fetch_detail(item)

    def fetch_counters(self, board_id: int | None) -> None:
        """Recount; answers on `counters_changed`."""
        if self._session is None:
            return
        self._start(
            _counters,
            self._filters,
            board_id,
            self._session.user.id,
            self._session.shift.id,
            result=self._on_counters_result,
        )

    def fetch_products(self) -> None:
        """The product names in the queue; answers on `products_loaded`."""
        self._start(_products, result=self._on_products_result)

    def submit_verdict(self, request: VerdictRequest, label: str = "") -> bool:
        """Save a verdict; answers on `verdict_saved` or `verdict_failed`.

        While verdicts wait in the outbox a new one queues behind them (answers on
        `verdict_kept`, then `verdict_saved` once written), so they reach the database
        in the order given. A verdict the database cannot take now (read-only, full,
        unreachable, locked) is kept in the outbox too: `verdict_failed`, then
        `verdict_kept`. `label` names the joint in messages (e.g. `C12.1`).

        Returns False (and does nothing) while another save is in flight.
        """
        if self._session is None:
            return False
        if self.pending():
            self._keep(request, label, None)
            self.retry_pending()
            return True
        if self._busy:
            return False
        task = self._runner.submit(_record, self._db, self._session, request)
        self._saving[task.signals] = request.joint_id
        self._kept_requests[task.signals] = (request, label)
        task.signals.result.connect(self._on_verdict_result)
        task.signals.failed.connect(self._on_verdict_failed)
        task.signals.finished.connect(self._on_write_finished)
        self._set_busy(True)
        self._runner.start(task)
        return True

    def undo_last(self) -> bool:
        """Undo the user's last verdict; answers on `verdict_undone`.

        While verdicts wait in the outbox the last waiting one is taken back first
        (it never reached the database): answers on `pending_undone`.
        """
        if self._session is None:
            return False
        waiting = self.pending()
        if waiting:
            last = waiting[-1]
            if self._flushing is not None and self._flushing[1] is last:
                self.pending_undone.emit(None)  # being written this moment
                return False
            self._outbox.mark_undone(last)
            self.pending_undone.emit(last)
            self._emit_outbox_state()
            return True
        if self._busy:
            return False
        task = self._runner.submit(_undo, self._db, self._session)
        task.signals.result.connect(self._on_undo_result)
        task.signals.failed.connect(self._on_task_failed)
        task.signals.finished.connect(self._on_write_finished)
        self._set_busy(True)
        self._runner.start(task)
        return True

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.saving_changed.emit(busy)

    # -- task results (GUI thread) ---------------------------------------------------
    @Slot(object)
    def _on_page_result(self, page: object) -> None:
        self.page_loaded.emit(page)

    @Slot(object)
    def _on_detail_result(self, detail: object) -> None:
        assert isinstance(detail, JointDetail)
        joint_id = detail.item.joint_id
        self._detail_pending.discard(joint_id)
        self._details[joint_id] = detail
        while len(self._details) > DETAIL_CACHE:
            self._details.pop(next(iter(self._details)))
        self.detail_loaded.emit(detail)

    @Slot()
    def _on_detail_finished(self) -> None:
        joint_id = self._detail_tasks.pop(self.sender(), None)
        if joint_id is not None:
            self._detail_pending.discard(joint_id)

    @Slot(object)
    def _on_counters_result(self, counters: object) -> None:
        self.counters_changed.emit(counters)

    @Slot(object)
    def _on_products_result(self, products: object) -> None:
        self.products_loaded.emit(products)

    @Slot(object)
    def _on_verdict_result(self, saved: object) -> None:
        self._saving.pop(self.sender(), None)
        self._kept_requests.pop(self.sender(), None)
        self._set_busy(False)  # the write is over: the next verdict may start
        assert isinstance(saved, _Saved)
        self.verdict_saved.emit(saved.verdict)
        if saved.reveal is not None:
            self.vigilance_revealed.emit(saved.reveal)

    @Slot(object)
    def _on_verdict_failed(self, error: object) -> None:
        joint_id = self._saving.pop(self.sender(), -1)
        request, label = self._kept_requests.pop(self.sender(), (None, ""))
        self._set_busy(False)
        kind = str(getattr(error, "kind", ""))
        keep = (
            request is not None
            and self._session is not None
            and write_may_succeed_later(kind)
        )
        if keep:
            # Nothing given is lost: the outbox holds it until the database takes it.
            self._problem = error
            self._keep_after_failure(request, label, error)
        self.verdict_failed.emit(joint_id, error)
        if keep:
            entry = self.pending_for(joint_id)
            self.verdict_kept.emit(entry, error)
            self._emit_outbox_state()

    @Slot(object)
    def _on_undo_result(self, result: object) -> None:
        if isinstance(result, UndoResult):
            self._details.pop(result.item.joint_id, None)
        self._set_busy(False)
        self.verdict_undone.emit(result)

    @Slot()
    def _on_write_finished(self) -> None:
        self._set_busy(False)

    @Slot(object)
    def _on_task_failed(self, error: object) -> None:
        self.failed.emit(error)
