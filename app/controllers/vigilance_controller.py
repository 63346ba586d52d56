"""`VigilanceController`: loads per-inspector vigilance scores off the GUI thread.

`db.vigilance.scores(...)` runs on the app's task pool (like the report controller);
the answer comes back as the `VigilanceScores` DTO.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal, Slot

from app.controllers._background import BackgroundController

if TYPE_CHECKING:
    from datetime import datetime

    from app.workers.task import TaskRunner

log = logging.getLogger(__name__)

# Roles that may see vigilance scores (db.vigilance refuses the others).
VIGILANCE_ROLES = frozenset({"supervisor", "engineer", "admin"})


def _scores(db: Any, actor: Any, start: datetime | None, end: datetime | None) -> Any:
    return db.vigilance.scores(actor=actor, start=start, end=end)


class VigilanceController(BackgroundController):
    """Fetches `VigilanceScores` for the supervisor's vigilance panel."""

    # Scores arrived: a db.services.vigilance.VigilanceScores.
    scores_ready = Signal(object)
    # Loading failed (e.g. refused): an ErrorInfo.
    failed = Signal(object)
    # A load started (True) or ended (False).
    busy_changed = Signal(bool)

    def __init__(
        self, database: Any, runner: TaskRunner, parent: QObject | None = None
    ) -> None:
        super().__init__(database, runner, parent)

    @staticmethod
    def may_view(role: str) -> bool:
        """Whether `role` may see vigilance scores."""
        return str(role) in VIGILANCE_ROLES

    def load(
        self,
        actor: Any,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> None:
        """Load the scores of verdicts in [start, end) as `actor`.

        Answers on `scores_ready` or `failed`.
        """
        self._run(_scores, self._on_task_result, self._db, actor, start, end)

    @Slot(object)
    def _on_task_result(self, scores: object) -> None:
        self.scores_ready.emit(scores)
