"""The review controller's outbox half: verdicts the database could not take yet.

`ReviewController` mixes this in. A verdict refused with an error after which the same
write may succeed later (`db.errors.write_may_succeed_later`: read-only, full disk,
server gone, locked too long) is kept in a `ReviewOutbox` (memory plus a JSON-lines
file) and retried, oldest first, every `OUTBOX_RETRY_MS` and on request (the Retry
button), each through the normal `ReviewService.record_verdict`: a verdict given
elsewhere meanwhile is reported (`pending_rejected`), never overwritten. The database
work runs on the task pool like every other write.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Slot

from app.review_outbox import OUTBOX_FILE_NAME, OutboxState, ReviewOutbox
from app.settings import default_data_dir
from db.errors import write_may_succeed_later

if TYPE_CHECKING:
    from collections.abc import Callable

# How often verdicts waiting in the outbox are retried on their own (ms).
OUTBOX_RETRY_MS = 5000


def default_outbox(database: Any, make_request: Callable[..., Any]) -> ReviewOutbox:
    """The outbox file in the station's data folder.

    That is the SQLite file's folder in a default station (the data folder holds
    `inspection.db`); for a server database, the user's data folder.
    """
    path = getattr(database, "path", None)
    folder = path.parent if isinstance(path, Path) else default_data_dir()
    return ReviewOutbox(folder / OUTBOX_FILE_NAME, make_request)


class PendingVerdictsMixin:
    """Outbox handling for `ReviewController` (which owns the signals and state).

    Expects on `self`: `_db`, `_runner`, `_session`, `_where`, `_outbox`, `_problem`,
    `_flushing`, `_retry_timer`, `_record_pending_fn` and the signals `verdict_saved`,
    `vigilance_revealed`, `verdict_kept`, `pending_rejected`, `outbox_changed`.
    """

    _db: Any
    _runner: Any
    _session: Any
    _where: str
    _outbox: ReviewOutbox
    _problem: Any
    _flushing: tuple[Any, Any] | None
    _retry_timer: Any
    _record_pending_fn: Callable[..., Any]
    verdict_saved: Any
    vigilance_revealed: Any
    verdict_kept: Any
    pending_rejected: Any
    outbox_changed: Any

    @property
    def outbox(self) -> ReviewOutbox:
        """Verdicts waiting for the database."""
        return self._outbox

    def pending(self) -> list[Any]:
        """The logged-in user's verdicts waiting for this database, oldest first."""
        if self._session is None:
            return []
        return self._outbox.entries(database=self._where, user_id=self._session.user.id)

    def pending_for(self, joint_id: int) -> Any:
        """The waiting verdict on `joint_id` (a PendingVerdict), or None."""
        entry = self._outbox.for_joint(joint_id, self._where)
        if entry is None or self._session is None:
            return None
        return entry if entry.user_id == self._session.user.id else None

    def outbox_state(self) -> OutboxState:
        """The database's state as the review screen and status bar show it."""
        problem = self._problem
        return OutboxState(
            database=self._where,
            waiting=len(self.pending()),
            problem_kind=problem.kind if problem is not None else "",
            problem=problem.message if problem is not None else "",
            file_problem=self._outbox.file_problem,
            retry_seconds=self._retry_timer.interval() / 1000.0,
        )

    def retry_pending(self) -> bool:
        """Write the oldest waiting verdict now (the next follow on success).

        Returns False when nothing waits or one is being written.
        """
        if self._session is None or self._flushing is not None:
            return False
        waiting = self.pending()
        if not waiting:
            return False
        entry = waiting[0]
        task = self._runner.submit(
            self._record_pending_fn,
            self._db,
            self._session.user,
            entry.shift_id,
            entry.request,
        )
        self._flushing = (task.signals, entry)
        task.signals.result.connect(self._on_pending_result)
        task.signals.failed.connect(self._on_pending_failed)
        self._runner.start(task)
        return True

    def _keep(self, request: Any, label: str, error: Any) -> None:
        session = self._session
        old = self.pending_for(request.joint_id)
        flying = self._flushing is not None and self._flushing[1] is old
        if old is not None and not flying:
            entry = self._outbox.replace(old, request)
        else:
            entry = self._outbox.add(
                request,
                database=self._where,
                user_id=session.user.id,
                user_name=str(getattr(session.user, "name", "")),
                shift_id=session.shift.id,
                label=label or f"joint {request.joint_id}",
            )
        if error is not None:
            self._problem = error
        self.verdict_kept.emit(entry, error)
        self._emit_outbox_state()

    def _emit_outbox_state(self) -> None:
        state = self.outbox_state()
        if state.waiting and self._session is not None:
            if not self._retry_timer.isActive():
                self._retry_timer.start()
        else:
            self._retry_timer.stop()
            if not state.waiting:
                self._problem = None
                state = self.outbox_state()
        self.outbox_changed.emit(state)

    def _keep_after_failure(self, request: Any, label: str, error: Any) -> None:
        session = self._session
        self._outbox.add(
            request,
            database=self._where,
            user_id=session.user.id,
            user_name=str(getattr(session.user, "name", "")),
            shift_id=session.shift.id,
            label=label or f"joint {request.joint_id}",
        )

    @Slot(object)
    def _on_pending_result(self, saved: object) -> None:
        flying, self._flushing = self._flushing, None
        if flying is not None:
            self._outbox.mark_saved(flying[1])
        self._problem = None
        self.verdict_saved.emit(saved.verdict)
        if saved.reveal is not None:
            self.vigilance_revealed.emit(saved.reveal)
        self._emit_outbox_state()
        self.retry_pending()  # the next in line

    @Slot(object)
    def _on_pending_failed(self, error: object) -> None:
        flying, self._flushing = self._flushing, None
        if flying is None:
            return
        entry = flying[1]
        if write_may_succeed_later(str(getattr(error, "kind", ""))):
            self._problem = error  # still cannot write: the timer tries again
            self._emit_outbox_state()
            return
        # Refused for good (a verdict given elsewhere meanwhile, a role...): reported,
        # never overwritten; the rest of the line goes on.
        self._outbox.mark_dropped(entry, str(getattr(error, "message", error)))
        self.pending_rejected.emit(entry, error)
        self._emit_outbox_state()
        self.retry_pending()

    @Slot()
    def _on_retry_timer_timeout(self) -> None:
        self.retry_pending()
