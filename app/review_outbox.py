"""`ReviewOutbox`: verdicts the database could not take yet, kept until it can.

When the database stops taking writes mid-shift (the file or its folder became
read-only, the disk is full, the PostgreSQL server went away, another program kept it
locked), the review controller keeps each refused verdict here, in the order given,
and retries them. Nothing here talks to the database or to Qt.

The outbox lives in memory and in an append-only JSON-lines file in the station's data
folder (`review-outbox.jsonl`), so a crash or a kill loses none of them either: every
change is one line (`add`, then `saved`, `dropped` or `undone` for the same key),
flushed and fsynced before the call returns; the file is deleted once nothing waits.
A line that cannot be parsed (a torn last line after a power cut) is skipped.

When the file cannot be written (it sits on the very disk that filled up, or in the
folder that became read-only) the verdicts are still kept in memory and
`file_problem` says so, for the user.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

log = logging.getLogger(__name__)

OUTBOX_FILE_NAME = "review-outbox.jsonl"


@dataclass(frozen=True)
class PendingVerdict:
    """One verdict waiting to be saved.

    Attributes:
        key: unique id of the entry (the file's lines refer to it).
        database: the database it belongs to (`Database.where`); never written to
            another one.
        user_id, user_name: who gave it (written only while they are logged in).
        shift_id: the shift it was given in (kept when saved later).
        label: what the user calls the joint, e.g. `C12.1`.
        given_at: when it was given (ISO 8601, UTC).
        request: the `VerdictRequest` (a dataclass) to write.
    """

    key: str
    database: str
    user_id: int
    user_name: str
    shift_id: int | None
    label: str
    given_at: str
    request: Any

    @property
    def joint_id(self) -> int:
        """The joint the verdict is about."""
        return int(self.request.joint_id)


@dataclass(frozen=True)
class OutboxState:
    """What the status bar and the review screen show about the database's state.

    Attributes:
        database: the database's name (file path or password-free URL).
        waiting: verdicts of the logged-in user waiting to be saved.
        problem_kind: the error kind of the last refused write (`""`: none known).
        problem: its message (names the database and what is wrong).
        file_problem: why the outbox file cannot be written (`""`: it can).
        retry_seconds: how often the controller retries on its own.
    """

    database: str
    waiting: int = 0
    problem_kind: str = ""
    problem: str = ""
    file_problem: str = ""
    retry_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Nothing waits and no problem is known."""
        return self.waiting == 0 and not self.problem_kind


class ReviewOutbox:
    """Ordered pending verdicts, mirrored in an append-only JSON-lines file.

    Args:
        path: the outbox file (None: memory only).
        make_request: builds a request from the dict stored in the file (the
            `VerdictRequest` class).
    """

    def __init__(
        self, path: Path | None, make_request: Callable[..., Any] | None = None
    ) -> None:
        self._path = path
        self._make_request = make_request
        self._entries: list[PendingVerdict] = []
        self.file_problem = ""
        if path is not None and make_request is not None:
            self._entries = self._load(path, make_request)

    # -- reading ---------------------------------------------------------------------
    @property
    def path(self) -> Path | None:
        """The outbox file (None: memory only)."""
        return self._path

    def entries(self, *, database: str | None = None, user_id: int | None = None):
        """The waiting verdicts, oldest first (optionally of one database/user)."""
        return [
            e
            for e in self._entries
            if (database is None or e.database == database)
            and (user_id is None or e.user_id == user_id)
        ]

    def __len__(self) -> int:
        return len(self._entries)

    def for_joint(self, joint_id: int, database: str) -> PendingVerdict | None:
        """The verdict waiting for `joint_id`, if any."""
        for entry in self._entries:
            if entry.database == database and entry.joint_id == joint_id:
                return entry
        return None

    # -- changes ---------------------------------------------------------------------
    def add(
        self,
        request: Any,
        *,
        database: str,
        user_id: int,
        user_name: str,
        shift_id: int | None,
        label: str,
    ) -> PendingVerdict:
        """Keep `request` at the end of the line (written to the file first)."""
        entry = PendingVerdict(
            key=uuid.uuid4().hex,
            database=database,
            user_id=int(user_id),
            user_name=user_name,
            shift_id=shift_id,
            label=label,
            given_at=datetime.now(UTC).isoformat(timespec="seconds"),
            request=request,
        )
        line = asdict(entry)
        line["request"] = asdict(request)
        self._append({"op": "add", **line})
        self._entries.append(entry)
        return entry

    def replace(self, old: PendingVerdict, request: Any) -> PendingVerdict:
        """The user changed their mind about a waiting verdict: same place in line."""
        index = self._entries.index(old)
        new = PendingVerdict(
            key=uuid.uuid4().hex,
            database=old.database,
            user_id=old.user_id,
            user_name=old.user_name,
            shift_id=old.shift_id,
            label=old.label,
            given_at=datetime.now(UTC).isoformat(timespec="seconds"),
            request=request,
        )
        self._append(
            {
                "op": "replace",
                "key": old.key,
                "new_key": new.key,
                "given_at": new.given_at,
                "request": asdict(request),
            }
        )
        self._entries[index] = new
        return new

    def mark_saved(self, entry: PendingVerdict) -> None:
        """`entry` is in the database now."""
        self._finish(entry, "saved")

    def mark_dropped(self, entry: PendingVerdict, reason: str) -> None:
        """The database refused `entry` for good (e.g. a verdict given elsewhere)."""
        self._finish(entry, "dropped", reason=reason)

    def mark_undone(self, entry: PendingVerdict) -> None:
        """The user took `entry` back before it was saved."""
        self._finish(entry, "undone")

    def _finish(self, entry: PendingVerdict, op: str, **extra: str) -> None:
        if entry not in self._entries:
            return
        self._entries.remove(entry)
        if self._entries:
            self._append({"op": op, "key": entry.key, **extra})
        else:
            self._clear_file()

    # -- the file --------------------------------------------------------------------
    def _append(self, record: dict[str, Any]) -> None:
        if self._path is None:
            return
        text = json.dumps(record, sort_keys=True, default=str) + "\n"
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            with self._path.open("a", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            self.file_problem = (
                f"the outbox file {self._path} cannot be written "
                f"({exc.strerror or exc}); the waiting verdicts are kept in memory only"
            )
            log.warning("review outbox: %s", self.file_problem)
        else:
            self.file_problem = ""

    def _clear_file(self) -> None:
        if self._path is None:
            return
        try:
            self._path.unlink(missing_ok=True)
        except OSError as exc:
            # Still readable, and every entry in it is finished: harmless.
            log.warning("review outbox: cannot delete %s: %s", self._path, exc)
        self.file_problem = ""

    @staticmethod
    def _load(path: Path, make_request: Callable[..., Any]) -> list[PendingVerdict]:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        except OSError as exc:
            log.warning("review outbox: cannot read %s: %s", path, exc)
            return []
        entries: list[PendingVerdict] = []
        for number, line in enumerate(lines, 1):
            try:
                record = json.loads(line)
                op = record.pop("op")
                if op == "add":
                    record["request"] = make_request(**record["request"])
                    entries.append(PendingVerdict(**record))
                elif op == "replace":
                    entries = [
                        PendingVerdict(
                            **{
                                **e.__dict__,
                                "key": record["new_key"],
                                "given_at": record["given_at"],
                                "request": make_request(**record["request"]),
                            }
                        )
                        if e.key == record["key"]
                        else e
                        for e in entries
                    ]
                else:
                    entries = [e for e in entries if e.key != record["key"]]
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("review outbox %s line %d skipped: %s", path, number, exc)
        if entries:
            log.warning(
                "review outbox %s: %d verdict(s) from an earlier run wait to be saved",
                path,
                len(entries),
            )
        return entries
