"""`ReworkController`: the repair list, item details, outcomes and board completion.

Database calls and image decoding run on the task pool; the database enforces roles
(`PermissionDeniedError` arrives on the failure signals like any other error).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal, Slot

from app.qt_convert import load_qimage
from db import ReworkStatus

if TYPE_CHECKING:
    from PySide6.QtGui import QImage

    from app.workers.task import TaskRunner

# Roles the database lets record rework outcomes.
REWORK_ROLES = frozenset({"technician", "supervisor", "admin"})


@dataclass(frozen=True)
class ReworkDetail:
    """Images of one rework item (decoded on the worker)."""

    item: Any  # ReworkItemDTO
    crop: QImage | None
    overlay: QImage | None
    problem: str = ""


def _items(db: Any, open_only: bool) -> list[Any]:
    return db.rework.items(status=ReworkStatus.OPEN if open_only else None)


def _detail(db: Any, item: Any) -> ReworkDetail:
    problems: list[str] = []

    def image(path: str) -> QImage | None:
        if not path:
            return None
        try:
            return load_qimage(path)
        except OSError as exc:
            problems.append(str(exc))
            return None

    overlay = image(item.explanation.overlay_path) if item.explanation else None
    return ReworkDetail(item, image(item.crop_path), overlay, "; ".join(problems))


def _outcome(db: Any, user: Any, item_id: int, status: str, note: str) -> Any:
    return db.rework.record_outcome(item_id, user=user, status=status, note=note)


def _complete(db: Any, user: Any, board_id: int) -> Any:
    return db.rework.complete_board(board_id, user=user)


class ReworkController(QObject):
    """Serves the Rework tab."""

    # The list arrived: list[ReworkItemDTO] grouped by board then defect code.
    items_loaded = Signal(object)
    # An item's images arrived: a ReworkDetail.
    detail_loaded = Signal(object)
    # An outcome was recorded: the updated ReworkItemDTO.
    outcome_saved = Signal(object)
    # A board was sent to re-inspection: the BoardDTO.
    board_completed = Signal(object)
    # An outcome or a completion was refused or failed: an ErrorInfo.
    action_failed = Signal(object)
    # Loading failed: an ErrorInfo.
    failed = Signal(object)
    # A write is in flight (True) or done (False).
    busy_changed = Signal(bool)

    def __init__(
        self, database: Any, runner: TaskRunner, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._db = database
        self._runner = runner
        self._session: Any = None
        self._busy = False

    @property
    def runner(self) -> TaskRunner:
        """The task runner (the board view loads its images on it)."""
        return self._runner

    @property
    def session(self) -> Any:
        return self._session

    @property
    def is_busy(self) -> bool:
        return self._busy

    @staticmethod
    def may_act(role: str) -> bool:
        """Whether `role` may record outcomes (the database checks it again)."""
        return str(role) in REWORK_ROLES

    def set_session(self, session: Any) -> None:
        self._session = session

    def _start(self, fn: Any, *args: Any, result: Any, failed: Any) -> Any:
        task = self._runner.submit(fn, self._db, *args)
        task.signals.result.connect(result)
        task.signals.failed.connect(failed)
        return task

    def load(self, *, open_only: bool = True) -> None:
        """Fetch the list; answers on `items_loaded`."""
        task = self._start(
            _items, open_only, result=self._on_items_result, failed=self._on_load_failed
        )
        self._runner.start(task)

    def fetch_detail(self, item: Any) -> None:
        """Decode the item's crop and overlay; answers on `detail_loaded`."""
        task = self._start(
            _detail, item, result=self._on_detail_result, failed=self._on_load_failed
        )
        self._runner.start(task)

    def record_outcome(self, item_id: int, status: str, note: str = "") -> bool:
        """Repaired / scrapped / not_a_defect; answers on `outcome_saved`."""
        return self._write(_outcome, item_id, status, note, result=self._on_outcome)

    def complete_board(self, board_id: int) -> bool:
        """Send the board to re-inspection; answers on `board_completed`."""
        return self._write(_complete, board_id, result=self._on_completed)

    def _write(self, fn: Any, *args: Any, result: Any) -> bool:
        if self._session is None or self._busy:
            return False
        task = self._start(
            fn, self._session.user, *args, result=result, failed=self._on_action_failed
        )
        task.signals.finished.connect(self._on_write_finished)
        self._busy = True
        self.busy_changed.emit(True)
        self._runner.start(task)
        return True

    @Slot(object)
    def _on_items_result(self, items: object) -> None:
        self.items_loaded.emit(items)

    @Slot(object)
    def _on_detail_result(self, detail: object) -> None:
        self.detail_loaded.emit(detail)

    @Slot(object)
    def _on_outcome(self, item: object) -> None:
        self.outcome_saved.emit(item)

    @Slot(object)
    def _on_completed(self, board: object) -> None:
        self.board_completed.emit(board)

    @Slot(object)
    def _on_action_failed(self, error: object) -> None:
        self.action_failed.emit(error)

    @Slot(object)
    def _on_load_failed(self, error: object) -> None:
        self.failed.emit(error)

    @Slot()
    def _on_write_finished(self) -> None:
        self._busy = False
        self.busy_changed.emit(False)
