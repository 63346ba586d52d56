"""Drift monitor: a model version's confidences and review outcome, window by window.

Population: the joints of finished (``done``) inspections of one model version,
without vigilance-seeded test joints. A joint belongs to the window in which its
inspection finished. Outcomes use the definitions of `db.services.reports`: only the
*current* verdict of a joint counts; it is *settled* when it is a confirmed defect
or a false call; a *false call* is a current `false_call`; the inspector *disagrees*
with the model when their call ("defect" = confirmed and not a process indicator)
differs from the model's decision at p >= 0.5. Joints in the `defect` region that
went straight to rework have no verdict and count in the confidence and review-band
charts only. The review band is the joint's stored region (`possible_defect`), i.e.
the band of the thresholds the inspection ran with.

Reference window: the newest `DriftReference` row of the version (set by an engineer
or admin, audited). Without one, the default is the time span of the version's first
finished inspections that together hold at least `DEFAULT_REFERENCE_JOINTS` joints
(the model's first days on the line, when it was accepted), or all of them if fewer.

Windows: fixed-length production shifts (default 8 h from 06:00 local time, i.e.
06-14, 14-22, 22-06) or every N inspected boards of the version. The chart maths is
in `inference.drift` (pure numpy, like `inference.types` free of torch).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

import numpy as np
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from db import repositories as repo
from db.base import utcnow
from db.dto import UserDTO
from db.enums import (
    InspectionStatus,
    IpcCondition,
    ModelStatus,
    Region,
    Role,
    VerdictKind,
)
from db.models import (
    DriftReference,
    Inspection,
    Joint,
    ModelVersion,
    User,
    Verdict,
    VigilanceSeed,
)
from db.services._base import ServiceBase
from db.services._verdicts import goes_to_rework
from inference.drift import (
    ALARM,
    OK,
    DriftRules,
    DriftWindow,
    JointSample,
    ReferenceModel,
    build_windows,
    reference_model,
)

DRIFT_ROLES = frozenset({Role.ENGINEER, Role.ADMIN})
DEFAULT_REFERENCE_JOINTS = 2000
MODEL_DECISION_THRESHOLD = 0.5
WINDOW_SHIFT = "shift"
WINDOW_BOARDS = "boards"


@dataclass(frozen=True)
class DriftReferenceDTO:
    """The reference window of a model version.

    Attributes:
        model_version: the version.
        start, end: the window [start, end) (aware UTC); None when the version has
            no finished inspection yet.
        is_default: no engineer set one; the default rule chose it.
        set_by: who set it (None for the default).
        note: why it was set.
        created_at: when it was set (None for the default).
    """

    model_version: str
    start: datetime | None
    end: datetime | None
    is_default: bool
    set_by: str | None = None
    note: str = ""
    created_at: datetime | None = None


@dataclass(frozen=True)
class DriftCounts:
    """Counts of one window (what `window_counts` returns).

    Attributes:
        n_joints: joints in the window; n_review_band: of them in the review band;
        n_settled, n_false_calls, n_disagreements: current verdicts that settle the
        joint, false calls among them, and model-operator disagreements;
        logit_sum, logit_sumsq: sums of logit(p) and of its square;
        p_hist: joints per p decile [0, 0.1), ..., [0.9, 1.0];
        n_boards: inspections in the window.
    """

    n_joints: int
    n_review_band: int
    n_settled: int
    n_false_calls: int
    n_disagreements: int
    logit_sum: float
    logit_sumsq: float
    p_hist: tuple[int, ...]
    n_boards: int


@dataclass(frozen=True)
class DriftReport:
    """Control-chart points of a model version's recent windows.

    Attributes:
        model_version: the version charted (None: nothing inspected yet).
        reference: its reference window.
        model: centres, spreads and bins learnt from the reference (None when the
            reference holds no joints).
        windows: oldest first; the last is the newest (possibly still running).
        window_kind: ``shift`` or ``boards``.
        rules: the alarm rules used.
        generated_at: when (UTC).
    """

    model_version: str | None
    reference: DriftReferenceDTO | None
    model: ReferenceModel | None
    windows: list[DriftWindow]
    window_kind: str
    rules: DriftRules = field(default_factory=DriftRules)
    generated_at: datetime | None = None

    @property
    def newest(self) -> DriftWindow | None:
        """The newest window, or None."""
        return self.windows[-1] if self.windows else None

    @property
    def judged(self) -> DriftWindow | None:
        """The newest window with enough data to alarm (a shift that has just
        begun is skipped, so the last full shift's alarm stays visible)."""
        for window in reversed(self.windows):
            if any(pt.status in (OK, ALARM) for pt in window.points.values()):
                return window
        return None

    @property
    def alarming(self) -> bool:
        """Whether the newest judged window raises an alarm."""
        return self.judged is not None and bool(self.judged.alarms)


def _not_seeded() -> Any:
    return ~exists().where(VigilanceSeed.joint_id == Joint.id)


def _rows(
    s: Session,
    model_version: str,
    start: datetime | None,
    end: datetime | None,
) -> list[Any]:
    """Per joint: inspection id, finished_at, p, region, head verdict, IPC condition."""
    heads = repo.head_verdicts_subquery()
    stmt = (
        select(
            Joint.inspection_id,
            Inspection.finished_at,
            Joint.p,
            Joint.region,
            Verdict.verdict,
            Verdict.ipc_condition,
        )
        .join(Inspection, Joint.inspection_id == Inspection.id)
        .outerjoin(heads, heads.c.joint_id == Joint.id)
        .outerjoin(Verdict, Verdict.id == heads.c.verdict_id)
        .where(
            Inspection.model_version == model_version,
            Inspection.status == InspectionStatus.DONE,
            _not_seeded(),
        )
        .order_by(Inspection.finished_at, Joint.id)
    )
    if start is not None:
        stmt = stmt.where(Inspection.finished_at >= start)
    if end is not None:
        stmt = stmt.where(Inspection.finished_at < end)
    return list(s.execute(stmt).all())


def _sample(rows: list[Any]) -> JointSample:
    """Turn `_rows` rows into the per-joint arrays of `inference.drift`."""
    if not rows:
        return JointSample.empty()
    n = len(rows)
    p = np.fromiter((float(r[2]) for r in rows), dtype=np.float64, count=n)
    group = np.fromiter((int(r[0]) for r in rows), dtype=np.int64, count=n)
    band = np.fromiter(
        (Region(r[3]) is Region.POSSIBLE_DEFECT for r in rows), dtype=bool, count=n
    )
    settled = np.zeros(n, dtype=bool)
    false_call = np.zeros(n, dtype=bool)
    disagree = np.zeros(n, dtype=bool)
    for i, r in enumerate(rows):
        if r[4] is None:
            continue
        kind = VerdictKind(r[4])
        if kind not in (VerdictKind.CONFIRMED_DEFECT, VerdictKind.FALSE_CALL):
            continue
        settled[i] = True
        false_call[i] = kind is VerdictKind.FALSE_CALL
        says_defect = goes_to_rework(kind, IpcCondition(r[5]) if r[5] else None)
        disagree[i] = says_defect != (p[i] >= MODEL_DECISION_THRESHOLD)
    return JointSample(p, band, settled, false_call, disagree, group)


def shift_windows(
    now: datetime,
    count: int,
    *,
    hours: float = 8.0,
    first_start: time = time(6, 0),
) -> list[tuple[str, datetime, datetime]]:
    """The `count` production-shift windows up to the one that holds `now`.

    Shifts are `hours` long and start at `first_start` local time (the machine's time
    zone, daylight saving included: each day's shifts restart at that local time).

    Returns:
        (label, start, end) oldest first, aware datetimes.

    Raises:
        ValueError: hours does not divide a day into whole shifts, or count < 1.
    """
    per_day = 24.0 / hours
    if hours <= 0 or abs(per_day - round(per_day)) > 1e-9:
        msg = f"shift length must divide 24 h into whole shifts, got {hours} h"
        raise ValueError(msg)
    if count < 1:
        msg = f"need at least one window, got {count}"
        raise ValueError(msg)
    local_now = now.astimezone()
    out: list[tuple[str, datetime, datetime]] = []
    day = local_now.date() - timedelta(days=count // round(per_day) + 2)
    while True:
        day_start = datetime.combine(day, first_start).astimezone()
        for k in range(round(per_day)):
            start = day_start + timedelta(hours=hours * k)
            end = start + timedelta(hours=hours)
            out.append((_span_label(start, end), start, end))
        if day_start + timedelta(hours=24) > local_now:
            break
        day += timedelta(days=1)
    # Keep the windows up to the one holding `now`.
    upto = [w for w in out if w[1] <= local_now]
    return upto[-count:]


def _span_label(start: datetime, end: datetime) -> str:
    a, b = start.astimezone(), end.astimezone()
    return f"{a:%Y-%m-%d %H:%M}–{b:%H:%M}"


class DriftService(ServiceBase):
    """Drift charts of a model version against its reference window."""

    def default_model_version(self) -> str | None:
        """The active registered version, else the newest inspected one, else None."""

        def work(s: Session) -> str | None:
            active = s.scalar(
                select(ModelVersion.version).where(
                    ModelVersion.status == ModelStatus.ACTIVE
                )
            )
            newest = s.scalar(
                select(Inspection.model_version)
                .where(Inspection.status == InspectionStatus.DONE)
                .order_by(Inspection.finished_at.desc(), Inspection.id.desc())
                .limit(1)
            )
            if active is not None and (
                newest is None
                or s.scalar(
                    select(func.count())
                    .select_from(Inspection)
                    .where(Inspection.model_version == active)
                )
            ):
                return str(active)
            return str(newest) if newest is not None else None

        return self._read(work)

    def reference(self, model_version: str) -> DriftReferenceDTO:
        """The version's reference window (the newest set one, else the default)."""
        return self._read(lambda s: _reference(s, model_version))

    def set_reference(
        self,
        model_version: str,
        start: datetime,
        end: datetime,
        *,
        actor: UserDTO,
        note: str = "",
    ) -> DriftReferenceDTO:
        """Make [start, end) the version's reference window (engineers and admins).

        Raises:
            PermissionDeniedError: the actor is not an engineer or admin.
            ValueError: naive datetimes, or end <= start.
        """
        repo.aware(start, "start")
        repo.aware(end, "end")
        if end <= start:
            msg = f"the reference window is empty ({start} to {end})"
            raise ValueError(msg)

        def work(s: Session) -> DriftReferenceDTO:
            user = repo.acting_user(s, actor.id, DRIFT_ROLES)
            row = DriftReference(
                model_version=model_version,
                window_start=start,
                window_end=end,
                set_by_id=user.id,
                note=note,
                created_at=utcnow(),
            )
            s.add(row)
            s.flush()
            repo.add_audit(
                s,
                user.id,
                "drift_reference_set",
                "drift_reference",
                row.id,
                {
                    "model_version": model_version,
                    "start": start.isoformat(),
                    "end": end.isoformat(),
                    "note": note,
                },
            )
            return _reference(s, model_version)

        return self._write(work)

    def window_counts(
        self, model_version: str, start: datetime | None, end: datetime | None
    ) -> DriftCounts:
        """The counts of [start, end) for `model_version` (seeded joints excluded)."""
        repo.aware(start, "start")
        repo.aware(end, "end")

        def work(s: Session) -> DriftCounts:
            sample = _sample(_rows(s, model_version, start, end))
            z = np.log(
                np.clip(sample.p, 1e-6, 1 - 1e-6)
                / (1 - np.clip(sample.p, 1e-6, 1 - 1e-6))
            )
            hist = np.histogram(sample.p, bins=10, range=(0.0, 1.0))[0]
            return DriftCounts(
                n_joints=len(sample),
                n_review_band=int(sample.in_band.sum()),
                n_settled=int(sample.settled.sum()),
                n_false_calls=int(sample.false_call.sum()),
                n_disagreements=int(sample.disagree.sum()),
                logit_sum=float(z.sum()),
                logit_sumsq=float((z * z).sum()),
                p_hist=tuple(int(c) for c in hist),
                n_boards=len(np.unique(sample.group)),
            )

        return self._read(work)

    def report(
        self,
        model_version: str | None = None,
        *,
        windows: str = WINDOW_SHIFT,
        count: int = 14,
        shift_hours: float = 8.0,
        shift_start: time = time(6, 0),
        boards_per_window: int = 50,
        now: datetime | None = None,
        rules: DriftRules | None = None,
    ) -> DriftReport:
        """Chart the newest `count` windows of a version against its reference.

        Args:
            model_version: the version (default: `default_model_version()`).
            windows: ``shift`` (fixed-length production shifts) or ``boards``
                (every `boards_per_window` inspected boards of the version).
            count: how many windows, the newest last.
            shift_hours, shift_start: the production-shift pattern (local time).
            boards_per_window: boards per window for ``boards``.
            now: the current time (aware; default: now).
            rules: alarm rules (default `DriftRules()`).

        Raises:
            ValueError: an unknown window kind, or bad sizes.
        """
        rules = rules or DriftRules()
        repo.aware(now, "now")
        if windows not in (WINDOW_SHIFT, WINDOW_BOARDS):
            msg = f"windows must be 'shift' or 'boards', got {windows!r}"
            raise ValueError(msg)
        if boards_per_window < 1 or count < 1:
            msg = "boards per window and window count must be at least 1"
            raise ValueError(msg)
        moment = now or utcnow()
        spans = (
            shift_windows(moment, count, hours=shift_hours, first_start=shift_start)
            if windows == WINDOW_SHIFT
            else []
        )
        version = model_version or self.default_model_version()

        def work(s: Session) -> DriftReport:
            if version is None:
                return DriftReport(None, None, None, [], windows, rules, utcnow())
            ref = _reference(s, version)
            model = None
            if ref.start is not None:
                ref_sample = _sample(_rows(s, version, ref.start, ref.end))
                if len(ref_sample):
                    model = reference_model(ref_sample, rules)
            if windows == WINDOW_SHIFT:
                samples = _by_time(s, version, spans)
            else:
                samples = _by_boards(s, version, boards_per_window, count)
            charted = (
                build_windows(model, samples, rules)
                if model is not None
                else [_uncharted(label, a, b, smp) for label, a, b, smp in samples]
            )
            return DriftReport(version, ref, model, charted, windows, rules, utcnow())

        return self._read(work)


def _uncharted(
    label: str, start: datetime | None, end: datetime | None, sample: JointSample
) -> DriftWindow:
    from inference.drift import window_stats

    return DriftWindow(label, start, end, window_stats(sample))


def _by_time(
    s: Session, version: str, spans: list[tuple[str, datetime, datetime]]
) -> list[tuple[str, datetime | None, datetime | None, JointSample]]:
    rows = _rows(s, version, spans[0][1], spans[-1][2])
    stamps = np.array([r[1].timestamp() for r in rows], dtype=np.float64)
    out: list[tuple[str, datetime | None, datetime | None, JointSample]] = []
    for label, a, b in spans:
        lo = int(np.searchsorted(stamps, a.timestamp(), side="left"))
        hi = int(np.searchsorted(stamps, b.timestamp(), side="left"))
        out.append((label, a, b, _sample(rows[lo:hi])))
    return out


def _by_boards(
    s: Session, version: str, per_window: int, count: int
) -> list[tuple[str, datetime | None, datetime | None, JointSample]]:
    """Windows of `per_window` consecutive inspections, counted from the version's
    first; the newest window may still be filling."""
    insp = list(
        s.execute(
            select(Inspection.id, Inspection.finished_at)
            .where(
                Inspection.model_version == version,
                Inspection.status == InspectionStatus.DONE,
            )
            .order_by(Inspection.finished_at, Inspection.id)
        ).all()
    )
    if not insp:
        return []
    n_windows = (len(insp) + per_window - 1) // per_window
    first = max(0, n_windows - count)
    chosen = insp[first * per_window :]
    window_of = {iid: (i // per_window) for i, (iid, _t) in enumerate(chosen)}
    rows = _rows(s, version, chosen[0][1], None)
    buckets: dict[int, list[Any]] = {}
    for r in rows:
        w = window_of.get(int(r[0]))
        if w is not None:
            buckets.setdefault(w, []).append(r)
    out: list[tuple[str, datetime | None, datetime | None, JointSample]] = []
    for w in range(n_windows - first):
        members = chosen[w * per_window : (w + 1) * per_window]
        a = (first + w) * per_window + 1
        label = f"boards {a}–{a + len(members) - 1}"
        out.append((label, members[0][1], members[-1][1], _sample(buckets.get(w, []))))
    return out


def _reference(s: Session, version: str) -> DriftReferenceDTO:
    row = s.scalars(
        select(DriftReference)
        .where(DriftReference.model_version == version)
        .order_by(DriftReference.created_at.desc(), DriftReference.id.desc())
        .limit(1)
    ).first()
    if row is not None:
        who = s.get(User, row.set_by_id) if row.set_by_id is not None else None
        return DriftReferenceDTO(
            model_version=version,
            start=row.window_start,
            end=row.window_end,
            is_default=False,
            set_by=who.name if who is not None else None,
            note=row.note,
            created_at=row.created_at,
        )
    counts = s.execute(
        select(Inspection.finished_at, func.count(Joint.id))
        .join(Joint, Joint.inspection_id == Inspection.id)
        .where(
            Inspection.model_version == version,
            Inspection.status == InspectionStatus.DONE,
            _not_seeded(),
        )
        .group_by(Inspection.id, Inspection.finished_at)
        .order_by(Inspection.finished_at, Inspection.id)
    ).all()
    if not counts:
        return DriftReferenceDTO(version, None, None, is_default=True)
    total = 0
    first, last = counts[0][0], counts[-1][0]
    for finished, n in counts:
        total += int(n)
        if total >= DEFAULT_REFERENCE_JOINTS:
            last = finished
            break
    assert first is not None  # a done inspection has finished
    assert last is not None
    return DriftReferenceDTO(
        version,
        first,
        last + timedelta(microseconds=1),
        is_default=True,
        note=f"default: the first {DEFAULT_REFERENCE_JOINTS} joints of the version",
    )
