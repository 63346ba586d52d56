"""`open_database`: the one entry point the GUI and the CLI use."""

from __future__ import annotations

import logging
from pathlib import Path
from types import TracebackType

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from db.engine import (
    describe,
    make_engine,
    make_read_session_factory,
    make_session_factory,
    sqlite_file,
    to_url,
)
from db.errors import MigrationError
from db.migrate import (
    MigrationResult,
    _check_known,
    current_revision,
    head_revision,
    upgrade_to_head,
)
from db.services import (
    AuditService,
    ClaimService,
    InspectionService,
    ModelRegistryService,
    ReportService,
    ReviewService,
    ReworkService,
    ShiftService,
    UserService,
)
from db.services.drift import DriftService
from db.services.verified import VerifiedJointService
from db.services.vigilance import VigilanceService

log = logging.getLogger(__name__)


class Database:
    """An open database: engine, session factories and the services.

    Attributes:
        url: the database URL (password hidden).
        where: a short name for messages (the file path for SQLite).
        engine: the SQLAlchemy engine.
        sessions: the write session factory (`BEGIN IMMEDIATE` on SQLite).
        read_sessions: the read-only session factory.
        migration: what `open_database` did to the schema.
        users, shifts, inspections, review, rework, reports, audit, models_registry:
            the services; each method is one transaction and returns DTOs. They are
            safe to call from any thread (each call uses its own session).
    """

    def __init__(self, engine: Engine, migration: MigrationResult) -> None:
        self.engine = engine
        self.url = engine.url.render_as_string(hide_password=True)
        self.where = describe(engine.url)
        self.migration = migration
        self.sessions: sessionmaker[Session] = make_session_factory(engine)
        self.read_sessions: sessionmaker[Session] = make_read_session_factory(engine)
        w, r, where = self.sessions, self.read_sessions, self.where
        self.users = UserService(w, r, where=where)
        self.shifts = ShiftService(w, r, where=where)
        self.inspections = InspectionService(w, r, where=where)
        self.review = ReviewService(w, r, where=where)
        self.rework = ReworkService(w, r, where=where)
        self.reports = ReportService(w, r, where=where)
        self.audit = AuditService(w, r, where=where)
        self.models_registry = ModelRegistryService(w, r, where=where)
        self.claims = ClaimService(w, r, where=where)
        self.drift = DriftService(w, r, where=where)
        self.verified = VerifiedJointService(w, r, where=where)
        self.vigilance = VigilanceService(w, r, where=where)

    @property
    def path(self) -> Path | None:
        """The SQLite file, or None for a server database."""
        return sqlite_file(self.engine.url)

    def close(self) -> None:
        """Close every pooled connection (the services are unusable afterwards)."""
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Database({self.url!r})"


def open_database(
    url_or_path: str | Path, *, migrate: bool = True, create_folder: bool = False
) -> Database:
    """Open (and by default migrate) the inspection database.

    Args:
        url_or_path: a SQLite file path or URL, or a `postgresql+psycopg://` URL.
        migrate: upgrade the schema to head first (after a backup of an existing
            SQLite file). Without it an out-of-date schema is refused.
        create_folder: create the SQLite file's folder if missing (for the default
            location in the data folder); otherwise a missing folder is an error.

    Returns:
        The open database.

    Raises:
        DatabaseLocationError: the folder is missing or read-only, or the file is
            read-only (the message names the path).
        SchemaTooNewError: written by a newer version of the application.
        MigrationError: not a SolderNet database, or the migration failed.
        DatabaseLockedError: another program held the database locked too long.
    """
    url = to_url(url_or_path)
    path = sqlite_file(url)
    if create_folder and path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    try:
        if migrate:
            result = upgrade_to_head(engine)
        else:
            found = current_revision(engine)
            _check_known(found, describe(url))
            head = head_revision()
            if found != head:
                msg = (
                    f"database {describe(url)} has schema {found or 'none'}, this "
                    f"version needs {head}; run `soldernet db upgrade`"
                )
                raise MigrationError(msg)
            result = MigrationResult(found, head, None)
    except BaseException:
        engine.dispose()
        raise
    if result.backup_path is not None:
        log.warning(
            "database %s upgraded from %s to %s; backup at %s",
            describe(url),
            result.from_revision,
            result.to_revision,
            result.backup_path,
        )
    return Database(engine, result)
