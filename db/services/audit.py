"""The audit log: who did what, when."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db import repositories as repo
from db.dto import AuditEntryDTO, UserDTO
from db.mappers import audit_dto
from db.models import AuditEntry
from db.services._base import ServiceBase


class AuditService(ServiceBase):
    """Append to and read the audit log (rows are never changed)."""

    def log(
        self,
        actor: UserDTO | None,
        action: str,
        entity: str = "",
        entity_id: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> AuditEntryDTO:
        """Append one audit row.

        Args:
            actor: who did it (None: the system).
            action: a short verb-like key, e.g. `report_exported`.
            entity: the kind of thing acted on, e.g. `board`.
            entity_id: its id.
            details: JSON-serialisable extra facts (never secrets).
        """

        def work(s: Session) -> AuditEntryDTO:
            entry = repo.add_audit(
                s, actor.id if actor else None, action, entity, entity_id, details
            )
            return audit_dto(entry)

        return self._write(work)

    def entries(
        self,
        limit: int = 100,
        action: str | None = None,
        *,
        entity: str | None = None,
        entity_id: int | None = None,
    ) -> list[AuditEntryDTO]:
        """The newest audit rows first, optionally of one action or entity."""

        def work(s: Session) -> list[AuditEntryDTO]:
            stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
            if action is not None:
                stmt = stmt.where(AuditEntry.action == action)
            if entity is not None:
                stmt = stmt.where(AuditEntry.entity == entity)
            if entity_id is not None:
                stmt = stmt.where(AuditEntry.entity_id == entity_id)
            return [audit_dto(a) for a in s.scalars(stmt)]

        return self._read(work)
