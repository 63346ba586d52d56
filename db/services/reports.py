"""Shift and date-range reports (product.md §6).

Population: the joints of every inspection that finished (status `done`) inside the
period. Each joint counts once per inspection (opportunity = one joint). Only the
*current* verdict of each joint counts (superseded and undone rows are ignored); the
figures therefore reflect corrections made after the shift too.

Outcome of a joint:

* current verdict `confirmed_defect` -> a confirmed defect, unless its IPC condition is
  `process_indicator` (then a process indicator: neither a defect nor a false call);
* current verdict `false_call` -> a false call;
* current verdict `skipped` -> unresolved (escalated);
* no current verdict, region `defect` (went straight to rework): the technician's
  outcome decides: `repaired`/`scrapped` -> confirmed defect, `not_a_defect` -> false
  call, still open -> unresolved;
* anything else -> unresolved (possible defect not reviewed yet) or nothing.

Vigilance seeds (known joints projected into the review queue to test the
inspectors, `VigilanceSeed`) are no production joints: they are left out of every
figure here (joints, calls, verdicts, boards, per-inspector rows, paretos). Their
scores are `VigilanceService.scores`.

Figures (ratios are None when the denominator is 0):

* calls = joints in the `possible_defect` or `defect` region;
* false-call PPM = false calls / joints * 1e6; false-call ratio = false calls / calls;
* DPMO = confirmed defects / joints * 1e6;
* FPY = boards with no confirmed defect / boards inspected;
* model escapes = confirmed defects on `non_defect`-region joints; operator escapes =
  confirmed defects whose verdict chain holds a `false_call` by another user (the call
  was first dismissed, then found to be a defect); both are "where known": only
  escapes someone recorded are counted. Escape PPM = escapes / joints * 1e6;
* review seconds = sum of `seconds_spent` of current verdicts; per call = that sum /
  the number of current verdicts (`reviewed`, skips included); calls per board =
  calls / boards inspected;
* operator-model agreement = over current `confirmed_defect` and `false_call`
  verdicts, the fraction where the inspector's call ("defect" = confirmed and not a
  process indicator) equals the model's decision at 0.5 ("defect" = p >= 0.5).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from db import repositories as repo
from db.base import utcnow
from db.dto import InspectorRow, ShiftReport, UserDTO
from db.enums import (
    InspectionStatus,
    IpcCondition,
    Region,
    ReworkSource,
    ReworkStatus,
    Role,
    VerdictKind,
)
from db.errors import PermissionDeniedError
from db.models import Inspection, Joint, ReworkItem, Shift, User, Verdict
from db.services._base import Deferred, ServiceBase, raise_deferred

REPORT_ROLES = frozenset({Role.SUPERVISOR, Role.ENGINEER, Role.ADMIN})
MODEL_DECISION_THRESHOLD = 0.5
UNCODED = "uncoded"


@dataclass
class _V:
    id: int
    joint_id: int
    user_id: int
    user_name: str
    kind: VerdictKind
    code: str | None
    condition: IpcCondition | None
    seconds: float | None
    supersedes_id: int | None


def _ratio(num: float, den: float, scale: float = 1.0) -> float | None:
    return num / den * scale if den else None


class ReportService(ServiceBase):
    """Compute `ShiftReport`s (supervisors, engineers and admins only)."""

    def shift_report(
        self,
        *,
        actor: UserDTO,
        shift_id: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> ShiftReport:
        """The figures of a shift (its start to its end, or now) or of [start, end).

        Args:
            actor: who asks; inspectors and technicians are refused (and audited as
                `report_denied`).
            shift_id: report this shift's period.
            start: period start (aware datetime), when no shift is given.
            end: period end (default: now).

        Raises:
            PermissionDeniedError: the actor may not see reports.
            ValueError: neither a shift nor a start was given, or end <= start.
            NotFoundError: no such shift.
        """
        repo.aware(start, "start")
        repo.aware(end, "end")

        def check(s: Session) -> str | Deferred:
            user = repo.acting_user(s, actor.id)
            if user.role in REPORT_ROLES:
                return user.name
            repo.add_audit(
                s,
                user.id,
                "report_denied",
                "shift",
                shift_id,
                {"role": user.role.value},
            )
            msg = (
                f"{user.name} ({user.role.value}) may not export reports; "
                "a supervisor, engineer or admin can"
            )
            return Deferred(PermissionDeniedError(msg))

        # The role check commits its audit row on refusal; a permitted check writes
        # nothing and so takes no write lock.
        who = self._read(lambda s: _permitted(s, actor.id))
        if who is None:
            who = raise_deferred(self._write(check))
        name: str = who

        def compute(s: Session) -> ShiftReport:
            if shift_id is not None:
                shift = repo.get_or_raise(s, Shift, shift_id, "shift")
                p_start, p_end = shift.started_at, shift.ended_at or utcnow()
            elif start is not None:
                p_start, p_end = start, end or utcnow()
            else:
                msg = "give a shift or a start date for the report"
                raise ValueError(msg)
            if p_end <= p_start:
                msg = f"the report period is empty ({p_start} to {p_end})"
                raise ValueError(msg)
            return _compute(s, p_start, p_end, shift_id, name)

        # Computed in a read transaction: a long report never blocks the stations.
        report = self._read(compute)
        self._write(
            lambda s: repo.add_audit(
                s,
                actor.id,
                "report_generated",
                "shift",
                shift_id,
                {
                    "start": report.period_start.isoformat(),
                    "end": report.period_end.isoformat(),
                },
            )
        )
        return report


def _permitted(s: Session, user_id: int) -> str | None:
    """The user's name if they may see reports, else None."""
    user = repo.acting_user(s, user_id)
    return user.name if user.role in REPORT_ROLES else None


def _compute(
    s: Session, start: datetime, end: datetime, shift_id: int | None, who: str
) -> ShiftReport:
    in_period = (
        select(Inspection.id)
        .where(
            Inspection.status == InspectionStatus.DONE,
            Inspection.finished_at >= start,
            Inspection.finished_at < end,
        )
        .scalar_subquery()
    )
    joints = s.execute(
        select(Joint.id, Joint.board_id, Joint.refdes, Joint.p, Joint.region).where(
            Joint.inspection_id.in_(in_period), repo.not_seeded(Joint.id)
        )
    ).all()
    verdict_rows = s.execute(
        select(
            Verdict.id,
            Verdict.joint_id,
            Verdict.user_id,
            User.name,
            Verdict.verdict,
            Verdict.defect_code,
            Verdict.ipc_condition,
            Verdict.seconds_spent,
            Verdict.supersedes_id,
        )
        .join(User, Verdict.user_id == User.id)
        .join(Joint, Verdict.joint_id == Joint.id)
        .where(Joint.inspection_id.in_(in_period), repo.not_seeded(Joint.id))
        .order_by(Verdict.id)
    ).all()
    model_rework = dict(
        s.execute(
            select(ReworkItem.joint_id, ReworkItem.status)
            .join(Joint, ReworkItem.joint_id == Joint.id)
            .where(
                Joint.inspection_id.in_(in_period),
                ReworkItem.source == ReworkSource.MODEL,
                repo.not_seeded(Joint.id),
            )
            .order_by(ReworkItem.id)
        ).all()
    )

    chains: dict[int, list[_V]] = defaultdict(list)
    superseded: set[int] = set()
    for r in verdict_rows:
        v = _V(
            r[0],
            r[1],
            r[2],
            r[3],
            VerdictKind(r[4]),
            r[5].value if r[5] else None,
            IpcCondition(r[6]) if r[6] else None,
            r[7],
            r[8],
        )
        chains[v.joint_id].append(v)
        if v.supersedes_id is not None:
            superseded.add(v.supersedes_id)

    boards: set[int] = set()
    defect_boards: set[int] = set()
    n_joints = calls = confirmed = false_calls = indicators = skipped = unresolved = 0
    model_escapes = operator_escapes = 0
    seconds_total = 0.0
    reviewed = agree_n = agree_yes = 0
    by_code: Counter[str] = Counter()
    by_refdes: Counter[str] = Counter()
    per_user: dict[str, Counter[str]] = defaultdict(Counter)
    per_user_seconds: dict[str, float] = defaultdict(float)

    for joint_id, board_id, refdes, p, region in joints:
        n_joints += 1
        boards.add(board_id)
        region = Region(region)
        is_call = region in (Region.POSSIBLE_DEFECT, Region.DEFECT)
        calls += is_call
        chain = chains.get(joint_id, [])
        heads = [v for v in chain if v.id not in superseded]
        head = heads[-1] if heads else None
        if head is not None and head.kind is VerdictKind.UNDONE:
            head = None
        outcome = "unresolved"
        code: str | None = None
        if head is not None:
            reviewed += 1
            seconds_total += head.seconds or 0.0
            per_user_seconds[head.user_name] += head.seconds or 0.0
            per_user[head.user_name]["verdicts"] += 1
            if head.kind is VerdictKind.CONFIRMED_DEFECT:
                if head.condition is IpcCondition.PROCESS_INDICATOR:
                    outcome = "indicator"
                else:
                    outcome, code = "defect", head.code or UNCODED
                    if any(
                        v.kind is VerdictKind.FALSE_CALL and v.user_id != head.user_id
                        for v in chain
                    ):
                        operator_escapes += 1
            elif head.kind is VerdictKind.FALSE_CALL:
                outcome = "false_call"
            else:
                outcome = "skipped"
            if head.kind in (VerdictKind.CONFIRMED_DEFECT, VerdictKind.FALSE_CALL):
                says_defect = outcome == "defect"
                model_defect = p >= MODEL_DECISION_THRESHOLD
                agree_n += 1
                agree_yes += says_defect == model_defect
                per_user[head.user_name]["agree_n"] += 1
                per_user[head.user_name]["agree_yes"] += says_defect == model_defect
            per_user[head.user_name][outcome] += 1
        elif region is Region.DEFECT:
            status = model_rework.get(joint_id)
            if status in (ReworkStatus.REPAIRED, ReworkStatus.SCRAPPED):
                outcome, code = "defect", UNCODED
            elif status is ReworkStatus.NOT_A_DEFECT:
                outcome = "false_call"

        if outcome == "defect":
            confirmed += 1
            defect_boards.add(board_id)
            by_code[code or UNCODED] += 1
            by_refdes[refdes or "?"] += 1
            if region is Region.NON_DEFECT:
                model_escapes += 1
        elif outcome == "false_call":
            false_calls += 1
        elif outcome == "indicator":
            indicators += 1
        elif outcome == "skipped":
            skipped += 1
        if is_call and outcome in ("unresolved", "skipped"):
            unresolved += 1

    def pareto(c: Counter[str]) -> list[tuple[str, int]]:
        return sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))

    inspectors = [
        InspectorRow(
            user_name=name,
            verdicts=c["verdicts"],
            confirmed_defects=c["defect"],
            false_calls=c["false_call"],
            process_indicators=c["indicator"],
            skipped=c["skipped"],
            review_seconds_total=per_user_seconds[name],
            review_seconds_per_verdict=_ratio(per_user_seconds[name], c["verdicts"]),
            operator_model_agreement=_ratio(c["agree_yes"], c["agree_n"]),
        )
        for name, c in sorted(per_user.items())
    ]
    n_boards = len(boards)
    return ShiftReport(
        period_start=start,
        period_end=end,
        shift_id=shift_id,
        boards_inspected=n_boards,
        joints_inspected=n_joints,
        calls=calls,
        reviewed=reviewed,
        confirmed_defects=confirmed,
        false_calls=false_calls,
        process_indicators=indicators,
        skipped=skipped,
        pending_calls=unresolved,
        false_call_ppm=_ratio(false_calls, n_joints, 1e6),
        false_call_ratio=_ratio(false_calls, calls),
        model_escapes=model_escapes,
        operator_escapes=operator_escapes,
        model_escape_ppm=_ratio(model_escapes, n_joints, 1e6),
        operator_escape_ppm=_ratio(operator_escapes, n_joints, 1e6),
        dpmo=_ratio(confirmed, n_joints, 1e6),
        fpy=_ratio(n_boards - len(defect_boards), n_boards),
        review_seconds_total=seconds_total,
        review_seconds_per_call=_ratio(seconds_total, reviewed),
        calls_per_board=_ratio(calls, n_boards),
        operator_model_agreement=_ratio(agree_yes, agree_n),
        pareto_by_code=pareto(by_code),
        pareto_by_refdes=pareto(by_refdes),
        per_inspector=inspectors,
        generated_at=utcnow(),
        generated_by=who,
    )
