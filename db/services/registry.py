"""The model registry: versions, promotion and rollback (audited)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db import repositories as repo
from db.base import utcnow
from db.dto import ModelVersionDTO, UserDTO
from db.enums import ModelStatus, Role
from db.errors import NotFoundError
from db.mappers import model_dto
from db.models import AuditEntry, ModelVersion
from db.services._base import ServiceBase

_PROMOTERS = frozenset({Role.ENGINEER, Role.ADMIN})


class ModelRegistryService(ServiceBase):
    """Register model versions and choose the active one."""

    def register(
        self,
        version: str,
        path: str,
        sha256: str,
        card: dict[str, Any],
        *,
        actor: UserDTO | None = None,
    ) -> ModelVersionDTO:
        """Register a model version as a candidate.

        Raises:
            ValueError: the version is already registered with different weights.
        """

        def work(s: Session) -> ModelVersionDTO:
            existing = s.scalars(
                select(ModelVersion).where(ModelVersion.version == version)
            ).one_or_none()
            if existing is not None:
                if existing.sha256 != sha256:
                    msg = (
                        f"model version {version!r} is already registered with "
                        "different weights (sha256 differs)"
                    )
                    raise ValueError(msg)
                return model_dto(existing)
            row = ModelVersion(
                version=version,
                path=str(path),
                sha256=sha256,
                card=dict(card),
                status=ModelStatus.CANDIDATE,
                registered_at=utcnow(),
            )
            s.add(row)
            s.flush()
            repo.add_audit(
                s,
                actor.id if actor else None,
                "model_registered",
                "model",
                row.id,
                {"version": version, "sha256": sha256},
            )
            return model_dto(row)

        return self._write(work)

    def promote(self, version: str, *, actor: UserDTO) -> ModelVersionDTO:
        """Make a version the active one; the previous active one is retired (kept).

        Raises:
            PermissionDeniedError: the actor is not an engineer or admin.
            NotFoundError: unknown version.
        """

        def work(s: Session) -> ModelVersionDTO:
            user = repo.acting_user(s, actor.id, _PROMOTERS)
            row = self._by_version(s, version)
            previous = self._active(s)
            comparison = (
                _latest_comparison(s, row.id, previous.version)
                if previous is not None and previous.id != row.id
                else None
            )
            if previous is not None and previous.id != row.id:
                previous.status = ModelStatus.RETIRED
            row.status = ModelStatus.ACTIVE
            row.promoted_at = utcnow()
            repo.add_audit(
                s,
                user.id,
                "model_promoted",
                "model",
                row.id,
                {
                    "version": version,
                    "previous": previous.version if previous else None,
                    # The side-by-side evidence on record when it was promoted.
                    "comparison_audit_id": comparison.id if comparison else None,
                },
            )
            return model_dto(row)

        return self._write(work)

    def rollback(self, *, actor: UserDTO) -> ModelVersionDTO:
        """Re-activate the most recently promoted retired version.

        Raises:
            NotFoundError: no earlier version to roll back to.
        """

        def work(s: Session) -> ModelVersionDTO:
            user = repo.acting_user(s, actor.id, _PROMOTERS)
            current = self._active(s)
            stmt = (
                select(ModelVersion)
                .where(
                    ModelVersion.status == ModelStatus.RETIRED,
                    ModelVersion.promoted_at.is_not(None),
                )
                .order_by(ModelVersion.promoted_at.desc(), ModelVersion.id.desc())
                .limit(1)
            )
            target = s.scalars(stmt).first()
            if target is None:
                msg = "no earlier model version to roll back to"
                raise NotFoundError(msg)
            if current is not None:
                current.status = ModelStatus.RETIRED
            target.status = ModelStatus.ACTIVE
            target.promoted_at = utcnow()
            repo.add_audit(
                s,
                user.id,
                "model_rolled_back",
                "model",
                target.id,
                {"to": target.version, "from": current.version if current else None},
            )
            return model_dto(target)

        return self._write(work)

    def activate_baseline(self, version: str) -> ModelVersionDTO | None:
        """Make a registered version active when no version is (first start).

        Written by the station itself (no user), audited as
        ``model_baseline_activated``. Returns the active version afterwards, or None
        when another version was already active (nothing changes then).
        """

        def work(s: Session) -> ModelVersionDTO | None:
            if self._active(s) is not None:
                return None
            row = self._by_version(s, version)
            row.status = ModelStatus.ACTIVE
            row.promoted_at = utcnow()
            repo.add_audit(
                s,
                None,
                "model_baseline_activated",
                "model",
                row.id,
                {"version": version},
            )
            return model_dto(row)

        return self._write(work)

    def record_comparison(
        self,
        version: str,
        *,
        against: str,
        summary: dict[str, Any],
        actor: UserDTO,
    ) -> int:
        """Record a side-by-side evaluation of `version` against `against` (audited).

        Args:
            version: the candidate.
            against: the version it was compared with (usually the active one).
            summary: JSON-ready figures (old, new, delta per figure, test data).
            actor: an engineer or admin.

        Returns:
            The id of the ``model_compared`` audit row.

        Raises:
            PermissionDeniedError, NotFoundError: as for `promote`.
        """

        def work(s: Session) -> int:
            user = repo.acting_user(s, actor.id, _PROMOTERS)
            row = self._by_version(s, version)
            self._by_version(s, against)
            entry = repo.add_audit(
                s,
                user.id,
                "model_compared",
                "model",
                row.id,
                {"version": version, "against": against, **summary},
            )
            return entry.id

        return self._write(work)

    def latest_comparison(self, version: str, against: str) -> dict[str, Any] | None:
        """The newest recorded comparison of `version` against `against`, or None."""

        def work(s: Session) -> dict[str, Any] | None:
            row = self._by_version(s, version)
            entry = _latest_comparison(s, row.id, against)
            return dict(entry.details) if entry is not None else None

        return self._read(work)

    def get(self, version: str) -> ModelVersionDTO:
        """One registered version.

        Raises:
            NotFoundError: unknown version.
        """
        return self._read(lambda s: model_dto(self._by_version(s, version)))

    def active(self) -> ModelVersionDTO | None:
        """The active version, or None."""

        def work(s: Session) -> ModelVersionDTO | None:
            row = self._active(s)
            return model_dto(row) if row is not None else None

        return self._read(work)

    def list(self) -> list[ModelVersionDTO]:
        """Every registered version, newest first."""
        return self._read(
            lambda s: [
                model_dto(m)
                for m in s.scalars(
                    select(ModelVersion).order_by(ModelVersion.id.desc())
                )
            ]
        )

    @staticmethod
    def _active(s: Session) -> ModelVersion | None:
        return s.scalars(
            select(ModelVersion).where(ModelVersion.status == ModelStatus.ACTIVE)
        ).first()

    @staticmethod
    def _by_version(s: Session, version: str) -> ModelVersion:
        row = s.scalars(
            select(ModelVersion).where(ModelVersion.version == version)
        ).one_or_none()
        if row is None:
            msg = f"model version {version!r} is not registered"
            raise NotFoundError(msg)
        return row


def _latest_comparison(s: Session, model_id: int, against: str) -> AuditEntry | None:
    rows = s.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.action == "model_compared",
            AuditEntry.entity == "model",
            AuditEntry.entity_id == model_id,
        )
        .order_by(AuditEntry.id.desc())
    )
    return next((e for e in rows if e.details.get("against") == against), None)
