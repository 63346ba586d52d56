"""The review queue and verdicts (append-only, with corrections and undo)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db import repositories as repo
from db.dto import QueueSort, ReviewFilter, ReviewItem, UserDTO, VerdictDTO
from db.enums import (
    DefectCode,
    InspectionStatus,
    IpcClass,
    IpcCondition,
    Region,
    Role,
    VerdictKind,
)
from db.errors import PermissionDeniedError, VerdictConflictError
from db.mappers import review_item, verdict_dto
from db.models import Board, Inspection, Joint, Product, Verdict
from db.services import _verdicts as _v
from db.services._base import Deferred, ServiceBase, raise_deferred

log = logging.getLogger(__name__)

T = TypeVar("T")

_REVIEWERS = frozenset({Role.INSPECTOR, Role.SUPERVISOR, Role.ENGINEER, Role.ADMIN})


def _item(row: Any) -> ReviewItem:
    joint, inspection, board, product, explanation = row
    return review_item(joint, inspection, board, product, explanation)


class ReviewService(ServiceBase):
    """Serve the review queue and record verdicts.

    Every joint's verdicts form one chain: the first row has no `supersedes_id`; a
    correction or an undo appends a row superseding the current head. The head is the
    joint's current verdict, unless it is an `undone` row (then the joint has none and
    is back in the queue). Rows are never updated or deleted.
    """

    # ------------------------------------------------------------------ queue

    def _queue_stmt(self, filters: ReviewFilter | None) -> Any:
        f = filters or ReviewFilter()
        heads = repo.head_verdicts_subquery()
        open_kinds = [VerdictKind.UNDONE]
        if f.include_skipped:
            open_kinds.append(VerdictKind.SKIPPED)
        stmt = (
            repo.review_rows()
            .outerjoin(heads, heads.c.joint_id == Joint.id)
            .where(
                Joint.region == Region.POSSIBLE_DEFECT,
                Inspection.status == InspectionStatus.DONE,
                Joint.inspection_id == repo.latest_done_inspection_id(),
                or_(heads.c.joint_id.is_(None), heads.c.verdict.in_(open_kinds)),
            )
        )
        if f.board_id is not None:
            stmt = stmt.where(Joint.board_id == f.board_id)
        if f.board_serial:
            stmt = stmt.where(Board.serial.contains(f.board_serial, autoescape=True))
        if f.product:
            stmt = stmt.where(Product.name == f.product)
        if f.refdes:
            stmt = stmt.where(
                func.lower(Joint.refdes).contains(f.refdes.lower(), autoescape=True)
            )
        if f.p_min is not None:
            stmt = stmt.where(Joint.p >= f.p_min)
        if f.p_max is not None:
            stmt = stmt.where(Joint.p <= f.p_max)
        return stmt

    def queue(
        self,
        filters: ReviewFilter | None = None,
        *,
        offset: int = 0,
        limit: int | None = None,
    ) -> list[ReviewItem]:
        """Possibly defective joints without a current verdict.

        Only joints of each board's newest finished inspection are shown.

        Args:
            filters: what to show and the order (default: all, highest p first).
            offset: rows to skip (for lazy loading).
            limit: at most this many rows.
        """
        sort = (filters or ReviewFilter()).sort

        def work(s: Session) -> list[ReviewItem]:
            stmt = self._queue_stmt(filters)
            order = {
                QueueSort.P_DESC: (Joint.p.desc(), Joint.id),
                QueueSort.P_ASC: (Joint.p.asc(), Joint.id),
                QueueSort.BOARD: (Board.serial, Joint.refdes, Joint.pin, Joint.id),
                QueueSort.REFDES: (Joint.refdes, Joint.pin, Board.serial, Joint.id),
                QueueSort.OLDEST: (Joint.id,),
            }[QueueSort(sort)]
            stmt = stmt.order_by(*order).offset(offset)
            if limit is not None:
                stmt = stmt.limit(limit)
            return [_item(row) for row in s.execute(stmt)]

        return self._read(work)

    def queue_count(self, filters: ReviewFilter | None = None) -> int:
        """How many joints `queue(filters)` would return in all."""

        def work(s: Session) -> int:
            sub = self._queue_stmt(filters).with_only_columns(Joint.id).subquery()
            return int(s.scalar(select(func.count()).select_from(sub)) or 0)

        return self._read(work)

    def item(self, joint_id: int) -> ReviewItem:
        """The review view of one joint (whether or not it is in the queue)."""

        def work(s: Session) -> ReviewItem:
            row = s.execute(repo.review_rows().where(Joint.id == joint_id)).first()
            if row is None:
                repo.get_or_raise(s, Joint, joint_id, "joint")
            assert row is not None
            return _item(row)

        return self._read(work)

    def reference_joint(self, joint_id: int) -> ReviewItem | None:
        """A good joint to show next to this one: same type and package, model-clean.

        Picks the non-defect-region joint with the lowest p (newest first on ties) of
        the same joint type and package (any package when the joint has none) that has
        a crop image. Returns None when there is none.
        """

        def work(s: Session) -> ReviewItem | None:
            target = repo.get_or_raise(s, Joint, joint_id, "joint")
            stmt = repo.review_rows().where(
                Joint.id != target.id,
                Joint.joint_type == target.joint_type,
                Joint.region == Region.NON_DEFECT,
                Joint.crop_path != "",
                repo.not_seeded(Joint.id),
            )
            if target.package:
                stmt = stmt.where(Joint.package == target.package)
            row = s.execute(stmt.order_by(Joint.p, Joint.id.desc()).limit(1)).first()
            return _item(row) if row is not None else None

        return self._read(work)

    # ------------------------------------------------------------------ verdicts

    def record_verdict(
        self,
        joint_id: int,
        *,
        user: UserDTO,
        verdict: VerdictKind | str,
        defect_code: DefectCode | str | None = None,
        ipc_condition: IpcCondition | str | None = None,
        ipc_class: IpcClass | int | None = None,
        note: str = "",
        seconds_spent: float | None = None,
        shift_id: int | None = None,
    ) -> VerdictDTO:
        """Record an inspector's first verdict on a joint (committed before returning).

        A confirmed defect goes to rework unless its IPC condition is a process
        indicator; a false call or a skip does not. The verdict keeps the model version
        and thresholds of the inspection that produced the call. `shift_id` defaults to
        the user's open shift.

        Raises:
            VerdictConflictError: the joint already has a current verdict (e.g. given on
                another station); use `correct_verdict`.
            PermissionDeniedError: the user may not give verdicts (technicians).
            NotFoundError: no such joint.
            ValueError: inconsistent arguments.
        """
        kind, code, condition, klass = _v.validate(
            verdict, defect_code, ipc_condition, ipc_class, seconds_spent
        )

        def work(s: Session) -> VerdictDTO:
            reviewer = repo.acting_user(s, user.id, _REVIEWERS)
            joint = repo.get_or_raise(s, Joint, joint_id, "joint")
            head = repo.head_verdict(s, joint_id)
            if head is not None and head.verdict is not VerdictKind.UNDONE:
                msg = (
                    f"joint {joint.refdes or joint_id} already has a verdict "
                    f"({head.verdict.value} by {head.user.name}); reload the queue"
                )
                raise VerdictConflictError(msg)
            row = _v.append(
                s,
                joint,
                reviewer.id,
                kind,
                code,
                condition,
                klass,
                note,
                seconds_spent,
                shift_id,
                head,
            )
            if _v.goes_to_rework(kind, condition):
                _v.ensure_rework(s, joint.id, row.id)
            return verdict_dto(row)

        return self._conflict_guard(work, joint_id)

    def correct_verdict(
        self,
        verdict_id: int,
        *,
        user: UserDTO,
        verdict: VerdictKind | str,
        defect_code: DefectCode | str | None = None,
        ipc_condition: IpcCondition | str | None = None,
        ipc_class: IpcClass | int | None = None,
        note: str = "",
        seconds_spent: float | None = None,
        shift_id: int | None = None,
    ) -> VerdictDTO:
        """Replace the current verdict of a joint by a new row that supersedes it.

        Users may correct their own verdicts; correcting another user's verdict needs a
        supervisor or admin. Every correction writes a `verdict_corrected` audit row;
        a refused one writes `verdict_change_denied`. Rework follows the new verdict: an
        open item created by the old verdict is cancelled, one is opened for a new
        confirmed defect.

        Raises:
            PermissionDeniedError: another user's verdict and not a supervisor/admin.
            VerdictConflictError: the verdict is no longer current (already superseded).
            NotFoundError: no such verdict.
        """
        kind, code, condition, klass = _v.validate(
            verdict, defect_code, ipc_condition, ipc_class, seconds_spent
        )

        def work(s: Session) -> VerdictDTO | Deferred:
            actor = repo.acting_user(s, user.id, _REVIEWERS)
            old = repo.get_or_raise(s, Verdict, verdict_id, "verdict")
            by_other = old.user_id != actor.id
            if by_other and actor.role not in repo.SUPERVISOR_ROLES:
                repo.add_audit(
                    s,
                    actor.id,
                    "verdict_change_denied",
                    "verdict",
                    old.id,
                    {"joint_id": old.joint_id, "owner": old.user.name},
                )
                msg = (
                    f"{actor.name} may not change {old.user.name}'s verdict; "
                    "ask a supervisor"
                )
                return Deferred(PermissionDeniedError(msg))
            _v.check_head(s, old)
            if old.verdict is VerdictKind.UNDONE:
                msg = f"verdict {old.id} was undone; record a new verdict instead"
                raise VerdictConflictError(msg)
            row = _v.append(
                s,
                old.joint,
                actor.id,
                kind,
                code,
                condition,
                klass,
                note,
                seconds_spent,
                shift_id,
                old,
            )
            _v.follow_rework(s, old, row, kind, condition)
            repo.add_audit(
                s,
                actor.id,
                "verdict_corrected",
                "verdict",
                row.id,
                {
                    "joint_id": old.joint_id,
                    "supersedes_id": old.id,
                    "from": old.verdict.value,
                    "to": kind.value,
                    "owner": old.user.name,
                    "by_other_user": by_other,
                },
            )
            return verdict_dto(row)

        verdict_row = self._conflict_guard(work, None)
        return verdict_row

    def undo_last(self, user: UserDTO) -> VerdictDTO | None:
        """Undo the user's most recent verdict that is still current.

        Appends an `undone` row superseding it (audited as `verdict_undone`); the joint
        returns to the queue and a rework item the verdict opened is cancelled. Calling
        it again undoes the verdict before that.

        Returns:
            The new `undone` row (its `supersedes_id` is the undone verdict and its
            `joint_id` the joint to show again), or None if there is nothing to undo.
        """

        def work(s: Session) -> VerdictDTO | None:
            actor = repo.acting_user(s, user.id)
            last = repo.latest_user_head_verdict(s, actor.id)
            if last is None:
                return None
            row = _v.append(
                s,
                last.joint,
                actor.id,
                VerdictKind.UNDONE,
                None,
                None,
                None,
                "",
                None,
                None,
                last,
            )
            _v.follow_rework(s, last, row, VerdictKind.UNDONE, None)
            repo.add_audit(
                s,
                actor.id,
                "verdict_undone",
                "verdict",
                last.id,
                {
                    "joint_id": last.joint_id,
                    "verdict": last.verdict.value,
                    "undo_id": row.id,
                },
            )
            return verdict_dto(row)

        return self._conflict_guard(work, None)

    def current_verdict(self, joint_id: int) -> VerdictDTO | None:
        """The joint's current verdict (None: none yet, or the last one was undone)."""

        def work(s: Session) -> VerdictDTO | None:
            head = repo.head_verdict(s, joint_id)
            if head is None or head.verdict is VerdictKind.UNDONE:
                return None
            return verdict_dto(head)

        return self._read(work)

    def verdict_history(self, joint_id: int) -> list[VerdictDTO]:
        """Every verdict row of the joint, oldest first (including undone rows)."""
        return self._read(
            lambda s: [
                verdict_dto(v)
                for v in s.scalars(
                    select(Verdict)
                    .where(Verdict.joint_id == joint_id)
                    .order_by(Verdict.id)
                )
            ]
        )

    def count_verdicts(
        self, *, user_id: int | None = None, shift_id: int | None = None
    ) -> int:
        """Current verdicts given (by a user, in a shift): the "reviewed" counter.

        Verdicts on vigilance seeds count: reviewing a seed is real work the inspector
        did, and a counter that stood still would tell them the joint was a test.
        Production figures (`ReportService`) leave seeds out.
        """

        def work(s: Session) -> int:
            heads = repo.head_verdicts_subquery()
            stmt = (
                select(func.count())
                .select_from(Verdict)
                .join(heads, heads.c.verdict_id == Verdict.id)
                .where(Verdict.verdict != VerdictKind.UNDONE)
            )
            if user_id is not None:
                stmt = stmt.where(Verdict.user_id == user_id)
            if shift_id is not None:
                stmt = stmt.where(Verdict.shift_id == shift_id)
            return int(s.scalar(stmt) or 0)

        return self._read(work)

    def verdict_outcomes(
        self, *, start: datetime | None = None, end: datetime | None = None
    ) -> list[tuple[float, bool]]:
        """(p, is_defect) of every joint whose current verdict settles it.

        The pairs of the threshold what-if: `p` is the model's confidence that the
        joint is defective, `is_defect` the inspector's current verdict (a confirmed
        defect that is not only a process indicator). False calls and process
        indicators count as not defective; skipped and undone joints are left out,
        and so are vigilance seeds (test images, not the production population).

        Args:
            start: only verdicts given at or after this (aware) time.
            end: only verdicts given before this (aware) time.

        Returns:
            One pair per joint, in joint order.
        """
        repo.aware(start, "start")
        repo.aware(end, "end")

        def work(s: Session) -> list[tuple[float, bool]]:
            heads = repo.head_verdicts_subquery()
            stmt = (
                select(Joint.p, Verdict.verdict, Verdict.ipc_condition)
                .join(Verdict, Verdict.joint_id == Joint.id)
                .join(heads, heads.c.verdict_id == Verdict.id)
                .where(
                    Verdict.verdict.in_(
                        [VerdictKind.CONFIRMED_DEFECT, VerdictKind.FALSE_CALL]
                    ),
                    repo.not_seeded(Joint.id),
                )
                .order_by(Joint.id)
            )
            if start is not None:
                stmt = stmt.where(Verdict.created_at >= start)
            if end is not None:
                stmt = stmt.where(Verdict.created_at < end)
            out: list[tuple[float, bool]] = []
            for p, kind, condition in s.execute(stmt):
                ipc = IpcCondition(condition) if condition else None
                out.append((float(p), _v.goes_to_rework(VerdictKind(kind), ipc)))
            return out

        return self._read(work)

    # ------------------------------------------------------------------ internals

    def _conflict_guard(
        self, work: Callable[[Session], T | Deferred], joint_id: int | None
    ) -> T:
        try:
            result = self._write(work)
        except IntegrityError as exc:
            text = str(exc.orig).lower()
            if "unique" not in text and "duplicate" not in text:
                raise
            # The chain constraints caught a concurrent verdict on the same joint.
            what = f"joint {joint_id}" if joint_id is not None else "this joint"
            msg = f"{what} got a verdict on another station at the same moment; reload"
            raise VerdictConflictError(msg) from exc
        return raise_deferred(result)
