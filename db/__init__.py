"""Inspection database: SQLAlchemy 2.0 models, Alembic migrations and services.

No Qt and no torch here. Services own their transactions and return plain dataclasses.
"""

from __future__ import annotations

from db.database import Database, open_database
from db.dto import (
    AuditEntryDTO,
    BoardDTO,
    ExplanationDTO,
    ExplanationRecord,
    InspectionDTO,
    InspectorRow,
    JointRecord,
    ModelVersionDTO,
    QueueSort,
    ReviewFilter,
    ReviewItem,
    ReworkItemDTO,
    ShiftDTO,
    ShiftReport,
    UserDTO,
    VerdictDTO,
)
from db.enums import (
    DefectCode,
    InspectionStatus,
    IpcClass,
    IpcCondition,
    ModelStatus,
    Region,
    ReworkSource,
    ReworkStatus,
    Role,
    VerdictKind,
)
from db.errors import (
    AppendOnlyError,
    AuthenticationError,
    DatabaseFullError,
    DatabaseLocationError,
    DatabaseLockedError,
    DatabaseReadOnlyError,
    DatabaseUnavailableError,
    DbError,
    MigrationError,
    NotFoundError,
    PermissionDeniedError,
    ReworkOpenError,
    SchemaTooNewError,
    VerdictConflictError,
)
from db.migrate import MigrationResult

# The name the product spec uses for a verdict's value.
Verdict = VerdictKind

__all__ = [
    "AppendOnlyError",
    "AuditEntryDTO",
    "AuthenticationError",
    "BoardDTO",
    "Database",
    "DatabaseFullError",
    "DatabaseLocationError",
    "DatabaseLockedError",
    "DatabaseReadOnlyError",
    "DatabaseUnavailableError",
    "DbError",
    "DefectCode",
    "ExplanationDTO",
    "ExplanationRecord",
    "InspectionDTO",
    "InspectionStatus",
    "InspectorRow",
    "IpcClass",
    "IpcCondition",
    "JointRecord",
    "MigrationError",
    "MigrationResult",
    "ModelStatus",
    "ModelVersionDTO",
    "NotFoundError",
    "PermissionDeniedError",
    "QueueSort",
    "Region",
    "ReviewFilter",
    "ReviewItem",
    "ReworkItemDTO",
    "ReworkOpenError",
    "ReworkSource",
    "ReworkStatus",
    "Role",
    "SchemaTooNewError",
    "ShiftDTO",
    "ShiftReport",
    "UserDTO",
    "Verdict",
    "VerdictConflictError",
    "VerdictDTO",
    "open_database",
]
