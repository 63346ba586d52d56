"""Inspector vigilance: seeded known joints, their scores and the after-verdict reveal.

Like airport X-ray threat-image projection, known-defect and known-good joints are
projected into the review queue. A seed is an ordinary `Joint` row (region
`possible_defect`) plus a `VigilanceSeed` row holding the truth; nothing an inspector
sees before the verdict tells them apart. Seeds never reach rework or the production
figures (`repositories.not_seeded`); their scores are here.

Scoring (signal detection): a known-defect seed is a *signal*, a known-good seed is
*noise*. Only the current verdict of each seed counts (corrections replace the first
answer; `changed` counts the seeds whose answer was changed, e.g. after the reveal).

* hit: known defect, current verdict a defect (`confirmed_defect`, not a process
  indicator); miss: known defect, current verdict `false_call` (or a process
  indicator);
* false alarm: known good, current verdict a defect; correct rejection: known good,
  `false_call`;
* skipped: escalated, neither right nor wrong; left out of the rates;
* hit rate = hits / (hits + misses); false-alarm rate = false alarms / (false alarms
  + correct rejections); d' = z(H) - z(F) with the log-linear correction
  (H = (hits + 0.5) / (signals + 1), the same for F; Hautus 1995), so rates of 0 or 1
  stay finite.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from statistics import NormalDist

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db import repositories as repo
from db.base import utcnow
from db.dto import JointRecord, UserDTO
from db.enums import DefectCode, IpcCondition, Region, Role, VerdictKind
from db.errors import PermissionDeniedError
from db.models import Inspection, Joint, User, Verdict, VigilanceSeed
from db.services._base import Deferred, ServiceBase, raise_deferred
from db.services._verdicts import goes_to_rework

SCORE_ROLES = frozenset({Role.SUPERVISOR, Role.ENGINEER, Role.ADMIN})

HIT = "hit"
MISS = "miss"
FALSE_ALARM = "false_alarm"
CORRECT_REJECTION = "correct_rejection"
SKIPPED = "skipped"


@dataclass(frozen=True)
class InspectorVigilance:
    """One inspector's vigilance scores over a period (by current verdict).

    Attributes:
        user_name: the inspector (the author of the current verdict).
        seeds: seeds with a current verdict by them.
        known_defect: of these, known-defect seeds.
        known_good: of these, known-good seeds.
        hits, misses, false_alarms, correct_rejections, skipped: the outcomes.
        changed: seeds whose verdict was changed after the first one (correction
            or undo and new verdict), e.g. after the reveal.
        hit_rate: hits / (hits + misses); None without decided known defects.
        false_alarm_rate: false alarms / (false alarms + correct rejections).
        d_prime: sensitivity z(H) - z(F) (log-linear corrected); None unless both
            known-defect and known-good seeds were decided.
    """

    user_name: str
    seeds: int = 0
    known_defect: int = 0
    known_good: int = 0
    hits: int = 0
    misses: int = 0
    false_alarms: int = 0
    correct_rejections: int = 0
    skipped: int = 0
    changed: int = 0
    hit_rate: float | None = None
    false_alarm_rate: float | None = None
    d_prime: float | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready copy."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class VigilanceScores:
    """Vigilance scores of a period, per inspector and in total.

    Attributes:
        period_start: first verdict time counted (None: from the beginning).
        period_end: verdicts before this (None: up to now).
        inspectors: one row per inspector, by name.
        total: all inspectors together (`user_name` is ``"all"``).
        seeds_waiting: seeds in the database without a current verdict (still in
            the queue, or on a board inspected again since).
        generated_at: when computed.
    """

    period_start: datetime | None
    period_end: datetime | None
    inspectors: list[InspectorVigilance] = field(default_factory=list)
    total: InspectorVigilance = field(default_factory=lambda: InspectorVigilance("all"))
    seeds_waiting: int = 0
    generated_at: datetime | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready copy (datetimes as ISO text)."""
        return {
            "period_start": _iso(self.period_start),
            "period_end": _iso(self.period_end),
            "inspectors": [r.to_dict() for r in self.inspectors],
            "total": self.total.to_dict(),
            "seeds_waiting": self.seeds_waiting,
            "generated_at": _iso(self.generated_at),
        }


@dataclass(frozen=True)
class SeedReveal:
    """What a seeded joint was, shown to the inspector after their verdict.

    Attributes:
        joint_id: the seeded joint.
        is_defect: the truth: a known defect (True) or a known-good joint.
        defect_code: the known defect's code, when the library names one.
        verdict: the current verdict given.
        outcome: ``hit``, ``miss``, ``false_alarm``, ``correct_rejection`` or
            ``skipped``.
    """

    joint_id: int
    is_defect: bool
    defect_code: DefectCode | None
    verdict: VerdictKind
    outcome: str

    @property
    def message(self) -> str:
        """One line for the review screen."""
        truth = "a known defect" if self.is_defect else "a known-good joint"
        if self.is_defect and self.defect_code is not None:
            truth += f" ({self.defect_code.value.replace('_', ' ')})"
        word = {
            HIT: "hit, well spotted",
            MISS: "miss: it was defective",
            FALSE_ALARM: "false alarm: it was good",
            CORRECT_REJECTION: "correct: it was good",
            SKIPPED: "skipped (not scored)",
        }[self.outcome]
        return (
            f"Vigilance check: that joint was {truth} seeded into the queue: "
            f"{word}. It is not on the board and will not go to rework."
        )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def outcome_of(
    is_defect: bool, kind: VerdictKind, condition: IpcCondition | None
) -> str:
    """The signal-detection outcome of a verdict on a seed."""
    if kind is VerdictKind.SKIPPED:
        return SKIPPED
    says_defect = goes_to_rework(kind, condition)
    if is_defect:
        return HIT if says_defect else MISS
    return FALSE_ALARM if says_defect else CORRECT_REJECTION


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def d_prime(hits: int, misses: int, false_alarms: int, rejections: int) -> float | None:
    """Sensitivity d' = z(H) - z(F) with the log-linear correction (Hautus 1995).

    Returns None unless there are both signal (hits + misses) and noise (false
    alarms + correct rejections) trials.
    """
    signals, noise = hits + misses, false_alarms + rejections
    if not signals or not noise:
        return None
    z = NormalDist().inv_cdf
    h = (hits + 0.5) / (signals + 1)
    f = (false_alarms + 0.5) / (noise + 1)
    return z(h) - z(f)


def _row(name: str, c: Counter[str]) -> InspectorVigilance:
    return InspectorVigilance(
        user_name=name,
        seeds=c["seeds"],
        known_defect=c["known_defect"],
        known_good=c["known_good"],
        hits=c[HIT],
        misses=c[MISS],
        false_alarms=c[FALSE_ALARM],
        correct_rejections=c[CORRECT_REJECTION],
        skipped=c[SKIPPED],
        changed=c["changed"],
        hit_rate=_rate(c[HIT], c[HIT] + c[MISS]),
        false_alarm_rate=_rate(c[FALSE_ALARM], c[FALSE_ALARM] + c[CORRECT_REJECTION]),
        d_prime=d_prime(c[HIT], c[MISS], c[FALSE_ALARM], c[CORRECT_REJECTION]),
    )


class VigilanceService(ServiceBase):
    """Add seeds, score inspectors on them, reveal a seed after its verdict."""

    def add_seed(
        self,
        inspection_id: int,
        joint: JointRecord,
        *,
        is_defect: bool,
        defect_code: DefectCode | str | None = None,
        source: str = "",
    ) -> int:
        """Add a seeded joint to an inspection's board (one transaction).

        The joint is stored like any other joint of the inspection, always in the
        `possible_defect` region (so it is queued), with the truth in a
        `VigilanceSeed` row.

        Args:
            inspection_id: the (running or done) inspection the seed joins.
            joint: the joint as the queue will show it (cover refdes, pin, type,
                package and bbox; the seed crop; its real model score).
            is_defect: the truth.
            defect_code: the known defect's code (None: unknown or good).
            source: where the seed came from (library file and row), for audits.

        Returns:
            The new joint's id.

        Raises:
            NotFoundError: no such inspection.
            ValueError: p outside [0, 1].
        """
        code = DefectCode(defect_code) if defect_code else None
        if not 0.0 <= joint.p <= 1.0:
            msg = f"seed p must be in [0, 1], got {joint.p}"
            raise ValueError(msg)

        def work(s: Session) -> int:
            insp = repo.get_or_raise(s, Inspection, inspection_id, "inspection")
            row = Joint(
                inspection_id=insp.id,
                board_id=insp.board_id,
                refdes=joint.refdes,
                pin=joint.pin,
                joint_type=joint.joint_type,
                package=joint.package,
                bbox_x=joint.bbox.x,
                bbox_y=joint.bbox.y,
                bbox_w=joint.bbox.w,
                bbox_h=joint.bbox.h,
                crop_path=str(joint.crop_path),
                p=float(joint.p),
                region=Region.POSSIBLE_DEFECT,
            )
            s.add(row)
            s.flush()
            s.add(
                VigilanceSeed(
                    joint_id=row.id,
                    is_defect=bool(is_defect),
                    defect_code=code if is_defect else None,
                    source=source,
                    created_at=utcnow(),
                )
            )
            s.flush()
            return int(row.id)

        return self._write(work)

    def reveal(self, joint_id: int) -> SeedReveal | None:
        """The truth of a seeded joint, once it has a current verdict.

        Returns None for an ordinary joint, and for a seed without a current verdict
        (the truth is never told before the verdict).
        """

        def work(s: Session) -> SeedReveal | None:
            seed = s.scalars(
                select(VigilanceSeed).where(VigilanceSeed.joint_id == joint_id)
            ).one_or_none()
            if seed is None:
                return None
            head = repo.head_verdict(s, joint_id)
            if head is None or head.verdict is VerdictKind.UNDONE:
                return None
            return SeedReveal(
                joint_id=joint_id,
                is_defect=seed.is_defect,
                defect_code=seed.defect_code,
                verdict=head.verdict,
                outcome=outcome_of(seed.is_defect, head.verdict, head.ipc_condition),
            )

        return self._read(work)

    def seed_count(self) -> int:
        """How many seeds exist (any state)."""
        return self._read(
            lambda s: int(
                s.scalar(select(func.count()).select_from(VigilanceSeed)) or 0
            )
        )

    def scores(
        self,
        *,
        actor: UserDTO,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> VigilanceScores:
        """Per-inspector vigilance scores of the verdicts given in [start, end).

        Args:
            actor: who asks; only supervisors, engineers and admins may (a refusal
                is audited as `vigilance_denied`).
            start: count current verdicts given at or after this (aware) time.
            end: ... and before this (aware) time.

        Raises:
            PermissionDeniedError: the actor may not see the scores.
            ValueError: naive datetimes.
        """
        repo.aware(start, "start")
        repo.aware(end, "end")

        def check(s: Session) -> Deferred | None:
            user = repo.acting_user(s, actor.id)
            if user.role in SCORE_ROLES:
                return None
            repo.add_audit(
                s,
                user.id,
                "vigilance_denied",
                "user",
                user.id,
                {"role": user.role.value},
            )
            msg = (
                f"{user.name} ({user.role.value}) may not see vigilance scores; "
                "a supervisor, engineer or admin can"
            )
            return Deferred(PermissionDeniedError(msg))

        allowed = self._read(
            lambda s: repo.acting_user(s, actor.id).role in SCORE_ROLES
        )
        if not allowed:
            raise_deferred(self._write(check))
        return self._read(lambda s: _compute(s, start, end))


def _compute(
    s: Session, start: datetime | None, end: datetime | None
) -> VigilanceScores:
    heads = repo.head_verdicts_subquery()
    stmt = (
        select(
            VigilanceSeed.joint_id,
            VigilanceSeed.is_defect,
            User.name,
            Verdict.verdict,
            Verdict.ipc_condition,
        )
        .join(heads, heads.c.joint_id == VigilanceSeed.joint_id)
        .join(Verdict, Verdict.id == heads.c.verdict_id)
        .join(User, User.id == Verdict.user_id)
        .where(Verdict.verdict != VerdictKind.UNDONE)
        .order_by(VigilanceSeed.joint_id)
    )
    if start is not None:
        stmt = stmt.where(Verdict.created_at >= start)
    if end is not None:
        stmt = stmt.where(Verdict.created_at < end)
    rows = s.execute(stmt).all()
    given = dict(
        s.execute(
            select(Verdict.joint_id, func.count())
            .where(
                Verdict.joint_id.in_(repo.seed_joint_ids()),
                Verdict.verdict != VerdictKind.UNDONE,
            )
            .group_by(Verdict.joint_id)
        ).all()
    )
    per_user: dict[str, Counter[str]] = defaultdict(Counter)
    total: Counter[str] = Counter()
    for joint_id, is_defect, name, kind, condition in rows:
        ipc = IpcCondition(condition) if condition else None
        outcome = outcome_of(bool(is_defect), VerdictKind(kind), ipc)
        for c in (per_user[name], total):
            c["seeds"] += 1
            c["known_defect" if is_defect else "known_good"] += 1
            c[outcome] += 1
            c["changed"] += int(given.get(joint_id, 0)) > 1
    decided = s.scalar(
        select(func.count())
        .select_from(VigilanceSeed)
        .join(heads, heads.c.joint_id == VigilanceSeed.joint_id)
        .where(heads.c.verdict != VerdictKind.UNDONE)
    )
    n_seeds = s.scalar(select(func.count()).select_from(VigilanceSeed))
    return VigilanceScores(
        period_start=start,
        period_end=end,
        inspectors=[_row(name, c) for name, c in sorted(per_user.items())],
        total=_row("all", total),
        seeds_waiting=int(n_seeds or 0) - int(decided or 0),
        generated_at=utcnow(),
    )
