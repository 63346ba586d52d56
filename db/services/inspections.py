"""Inspections: boards, joints and explanations written by the pipeline."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from db import repositories as repo
from db.base import utcnow
from db.dto import (
    BoardDTO,
    ExplanationDTO,
    ExplanationRecord,
    InspectionDTO,
    JointRecord,
    UserDTO,
)
from db.enums import InspectionStatus, Region, ReworkSource, ReworkStatus
from db.errors import VerdictConflictError
from db.mappers import board_dto, explanation_dto, inspection_dto
from db.models import Board, Explanation, Inspection, Joint, ReworkItem
from db.services._base import ServiceBase
from inference.types import region_of

log = logging.getLogger(__name__)


def _check_thresholds(t_lo: float, t_hi: float) -> None:
    if not 0.0 <= t_lo <= t_hi <= 1.0:
        msg = f"thresholds must satisfy 0 <= t_lo <= t_hi <= 1, got {t_lo}, {t_hi}"
        raise ValueError(msg)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class InspectionService(ServiceBase):
    """Record inspections (at once or incrementally); recover interrupted ones."""

    def record_inspection(
        self,
        *,
        serial: str,
        product: str,
        image_path: str | Path,
        image_sha256: str,
        model_version: str,
        t_lo: float,
        t_hi: float,
        joints: Iterable[JointRecord],
        side: str = "top",
        user: UserDTO | None = None,
        started_at: datetime | None = None,
    ) -> InspectionDTO:
        """Write a board, one finished inspection, its joints and explanations at once.

        Joints in the `defect` region get an open rework item (source `model`).

        Args:
            serial: board serial number.
            product: product name (created if new).
            image_path: the board image.
            image_sha256: its hash.
            model_version: the classifier version that scored the joints.
            t_lo: lower threshold used.
            t_hi: upper threshold used.
            joints: the joints found.
            side: board side (`top`/`bottom`).
            user: who ingested the board.
            started_at: when the run began (default: now).

        Returns:
            The inspection with per-region counts.
        """
        _check_thresholds(t_lo, t_hi)
        repo.aware(started_at, "started_at")

        def work(s: Session) -> InspectionDTO:
            insp = self._start(
                s,
                serial,
                product,
                image_path,
                image_sha256,
                model_version,
                t_lo,
                t_hi,
                side,
                user,
                started_at,
            )
            self._add(s, insp, joints)
            insp.status = InspectionStatus.DONE
            insp.finished_at = utcnow()
            return self._dto(s, insp)

        return self._write(work)

    def start_inspection(
        self,
        *,
        serial: str,
        product: str,
        image_path: str | Path,
        image_sha256: str,
        model_version: str,
        t_lo: float,
        t_hi: float,
        side: str = "top",
        user: UserDTO | None = None,
    ) -> InspectionDTO:
        """Open a `running` inspection; add joints with `add_joints`, then finish it."""
        _check_thresholds(t_lo, t_hi)
        return self._write(
            lambda s: self._dto(
                s,
                self._start(
                    s,
                    serial,
                    product,
                    image_path,
                    image_sha256,
                    model_version,
                    t_lo,
                    t_hi,
                    side,
                    user,
                    None,
                ),
            )
        )

    def add_joints(self, inspection_id: int, joints: Iterable[JointRecord]) -> int:
        """Add joints to a running inspection (one transaction); returns how many.

        Raises:
            VerdictConflictError: the inspection is no longer running.
        """

        def work(s: Session) -> int:
            insp = self._running(s, inspection_id)
            return self._add(s, insp, joints)

        return self._write(work)

    def finish_inspection(self, inspection_id: int) -> InspectionDTO:
        """Mark a running inspection done; its possible defects enter the queue."""

        def work(s: Session) -> InspectionDTO:
            insp = self._running(s, inspection_id)
            insp.status = InspectionStatus.DONE
            insp.finished_at = utcnow()
            return self._dto(s, insp)

        return self._write(work)

    def fail_inspection(
        self, inspection_id: int, error: str = "", *, cancelled: bool = False
    ) -> InspectionDTO:
        """Mark a running inspection failed (or cancelled), keeping the message."""

        def work(s: Session) -> InspectionDTO:
            insp = repo.get_or_raise(s, Inspection, inspection_id, "inspection")
            if insp.status is InspectionStatus.RUNNING:
                insp.status = (
                    InspectionStatus.CANCELLED if cancelled else InspectionStatus.FAILED
                )
                insp.error = error
                insp.finished_at = utcnow()
            return self._dto(s, insp)

        return self._write(work)

    def mark_interrupted(self, *, started_before: datetime | None = None) -> int:
        """Mark inspections left `running` by a dead process as `failed`.

        Called at start-up. An inspection counts as interrupted when it was started on
        this host by a process that no longer runs, or (any host) when it started
        before `started_before`.

        Returns:
            How many inspections were marked.
        """
        repo.aware(started_before, "started_before")
        host = socket.gethostname()

        def work(s: Session) -> int:
            running = s.scalars(
                select(Inspection).where(Inspection.status == InspectionStatus.RUNNING)
            ).all()
            n = 0
            for insp in running:
                dead_here = (
                    insp.host == host
                    and insp.pid is not None
                    and insp.pid != os.getpid()
                    and not _pid_alive(insp.pid)
                )
                too_old = (
                    started_before is not None and insp.started_at < started_before
                )
                if dead_here or too_old:
                    insp.status = InspectionStatus.FAILED
                    insp.error = "interrupted: the process running it stopped"
                    insp.finished_at = utcnow()
                    repo.add_audit(
                        s, None, "inspection_interrupted", "inspection", insp.id, {}
                    )
                    n += 1
            return n

        n = self._write(work)
        if n:
            log.warning("marked %d interrupted inspection(s) as failed", n)
        return n

    def get_inspection(self, inspection_id: int) -> InspectionDTO:
        """One inspection with its counts."""
        return self._read(
            lambda s: self._dto(
                s, repo.get_or_raise(s, Inspection, inspection_id, "inspection")
            )
        )

    def list_inspections(
        self, *, board_id: int | None = None, limit: int = 100
    ) -> list[InspectionDTO]:
        """Newest inspections first."""

        def work(s: Session) -> list[InspectionDTO]:
            stmt = select(Inspection).order_by(Inspection.id.desc()).limit(limit)
            if board_id is not None:
                stmt = stmt.where(Inspection.board_id == board_id)
            return [self._dto(s, i) for i in s.scalars(stmt)]

        return self._read(work)

    def get_board(self, board_id: int) -> BoardDTO:
        """One board."""
        return self._read(
            lambda s: board_dto(repo.get_or_raise(s, Board, board_id, "board"))
        )

    # ------------------------------------------------------- pipeline (issue 6)

    def find_done_inspection(
        self, image_sha256: str, model_version: str
    ) -> InspectionDTO | None:
        """The newest finished inspection of this image by this model version.

        The pipeline skips a board whose exact image (same bytes) was already
        inspected with the same model, unless forced.

        Args:
            image_sha256: SHA-256 of the image file.
            model_version: the classifier's version.

        Returns:
            The inspection, or None.
        """

        def work(s: Session) -> InspectionDTO | None:
            insp = s.scalars(
                select(Inspection)
                .where(
                    Inspection.image_sha256 == image_sha256,
                    Inspection.model_version == model_version,
                    Inspection.status == InspectionStatus.DONE,
                )
                .order_by(Inspection.id.desc())
                .limit(1)
            ).one_or_none()
            return None if insp is None else self._dto(s, insp)

        return self._read(work)

    def joint_ids(self, inspection_id: int) -> list[int]:
        """The ids of an inspection's joints in the order they were added."""

        def work(s: Session) -> list[int]:
            repo.get_or_raise(s, Inspection, inspection_id, "inspection")
            return list(
                s.scalars(
                    select(Joint.id)
                    .where(Joint.inspection_id == inspection_id)
                    .order_by(Joint.id)
                )
            )

        return self._read(work)

    def add_explanation(
        self, joint_id: int, explanation: ExplanationRecord
    ) -> ExplanationDTO:
        """Attach an explanation to a joint already persisted.

        Explanations are computed after the inspection's joints are written (and
        usually after it is done), one joint at a time in queue order.

        Args:
            joint_id: the joint.
            explanation: artefact paths and numbers.

        Returns:
            The stored explanation.

        Raises:
            NotFoundError: no such joint.
            VerdictConflictError: the joint already has an explanation.
        """

        def work(s: Session) -> ExplanationDTO:
            joint = repo.get_or_raise(s, Joint, joint_id, "joint")
            existing = s.scalars(
                select(Explanation).where(Explanation.joint_id == joint.id)
            ).one_or_none()
            if existing is not None:
                msg = f"joint {joint_id} already has an explanation"
                raise VerdictConflictError(msg)
            e = explanation
            row = Explanation(
                joint_id=joint.id,
                overlay_path=str(e.overlay_path),
                heatmap_path=str(e.heatmap_path),
                mask_path=str(e.mask_path),
                p_before=float(e.p_before),
                p_after=float(e.p_after),
                n_factors=int(e.n_factors),
                forward_passes=int(e.forward_passes),
                explainer_version=e.explainer_version,
                created_at=utcnow(),
            )
            s.add(row)
            s.flush()
            dto = explanation_dto(row)
            assert dto is not None
            return dto

        return self._write(work)

    # ------------------------------------------------------------------ internals

    @staticmethod
    def _dto(s: Session, insp: Inspection) -> InspectionDTO:
        s.flush()
        return inspection_dto(
            insp, repo.inspection_counts(s, insp.id), repo.rework_count(s, insp.id)
        )

    @staticmethod
    def _running(s: Session, inspection_id: int) -> Inspection:
        insp = repo.get_or_raise(s, Inspection, inspection_id, "inspection")
        if insp.status is not InspectionStatus.RUNNING:
            msg = f"inspection {inspection_id} is {insp.status.value}, not running"
            raise VerdictConflictError(msg)
        return insp

    @staticmethod
    def _start(
        s: Session,
        serial: str,
        product: str,
        image_path: str | Path,
        image_sha256: str,
        model_version: str,
        t_lo: float,
        t_hi: float,
        side: str,
        user: UserDTO | None,
        started_at: datetime | None,
    ) -> Inspection:
        serial = serial.strip()
        if not serial:
            msg = "the board serial must not be empty"
            raise ValueError(msg)
        prod = repo.product_by_name(s, product.strip() or "default", create=True)
        assert prod is not None
        user_id = repo.acting_user(s, user.id).id if user is not None else None
        board = s.scalars(
            select(Board).where(
                Board.product_id == prod.id, Board.serial == serial, Board.side == side
            )
        ).one_or_none()
        now = utcnow()
        if board is None:
            board = Board(
                product_id=prod.id,
                serial=serial,
                side=side,
                image_path=str(image_path),
                image_sha256=image_sha256,
                ingested_at=now,
                ingested_by_id=user_id,
            )
            s.add(board)
        else:
            board.image_path = str(image_path)
            board.image_sha256 = image_sha256
            board.ingested_at = now
            board.ingested_by_id = user_id
            board.reinspection_requested_at = None
            board.reinspection_requested_by_id = None
        s.flush()
        insp = Inspection(
            board_id=board.id,
            user_id=user_id,
            image_path=str(image_path),
            image_sha256=image_sha256,
            model_version=model_version,
            t_lo=t_lo,
            t_hi=t_hi,
            status=InspectionStatus.RUNNING,
            host=socket.gethostname(),
            pid=os.getpid(),
            started_at=started_at or now,
        )
        s.add(insp)
        s.flush()
        return insp

    @staticmethod
    def _add(
        s: Session,
        insp: Inspection,
        joints: Iterable[JointRecord],
    ) -> int:
        rows: list[tuple[Joint, JointRecord]] = []
        for rec in joints:
            if not 0.0 <= rec.p <= 1.0:
                msg = f"joint {rec.refdes or '?'}: p must be in [0, 1], got {rec.p}"
                raise ValueError(msg)
            region = rec.region or region_of(rec.p, insp.t_lo, insp.t_hi)
            joint = Joint(
                inspection_id=insp.id,
                board_id=insp.board_id,
                refdes=rec.refdes,
                pin=rec.pin,
                joint_type=rec.joint_type,
                package=rec.package,
                bbox_x=rec.bbox.x,
                bbox_y=rec.bbox.y,
                bbox_w=rec.bbox.w,
                bbox_h=rec.bbox.h,
                crop_path=str(rec.crop_path),
                p=float(rec.p),
                region=Region(region),
            )
            s.add(joint)
            rows.append((joint, rec))
        s.flush()
        now = utcnow()
        for joint, rec in rows:
            e = rec.explanation
            if e is not None:
                s.add(
                    Explanation(
                        joint_id=joint.id,
                        overlay_path=str(e.overlay_path),
                        heatmap_path=str(e.heatmap_path),
                        mask_path=str(e.mask_path),
                        p_before=e.p_before,
                        p_after=e.p_after,
                        n_factors=e.n_factors,
                        forward_passes=e.forward_passes,
                        explainer_version=e.explainer_version,
                        created_at=now,
                    )
                )
            if joint.region is Region.DEFECT:
                s.add(
                    ReworkItem(
                        joint_id=joint.id,
                        source=ReworkSource.MODEL,
                        status=ReworkStatus.OPEN,
                        created_at=now,
                    )
                )
        s.flush()
        return len(rows)
