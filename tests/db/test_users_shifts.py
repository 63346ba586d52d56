"""Users, PINs, shifts, audit log and model registry."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from db import (
    AuthenticationError,
    Database,
    ModelStatus,
    NotFoundError,
    PermissionDeniedError,
    Role,
)
from tests.db.conftest import ADMIN_PIN, PIN, People


def test_first_user_must_be_admin_and_later_ones_need_an_admin(database: Database):
    assert not database.users.has_users()
    with pytest.raises(ValueError, match="first user must be an admin"):
        database.users.create_user("ann", Role.INSPECTOR, "1234", actor=None)
    admin = database.users.create_user("root", "admin", "987654", actor=None)
    assert database.users.has_users()
    assert admin.role is Role.ADMIN
    with pytest.raises(PermissionDeniedError):
        database.users.create_user("eve", Role.INSPECTOR, "1234", actor=None)
    ann = database.users.create_user("ann", Role.INSPECTOR, "1234", actor=admin)
    with pytest.raises(PermissionDeniedError):
        database.users.create_user("joe", Role.INSPECTOR, "1234", actor=ann)
    with pytest.raises(ValueError, match="already exists"):
        database.users.create_user("ann", Role.INSPECTOR, "1234", actor=admin)
    assert [u.name for u in database.users.list_users()] == ["ann", "root"]


@pytest.mark.parametrize("pin", ["123", "1234567890123", "12a4", "", " 1234", "١٢٣٤"])
def test_pin_must_be_4_to_12_ascii_digits(database: Database, pin: str):
    with pytest.raises(ValueError, match="4 to 12 digits"):
        database.users.create_user("root", Role.ADMIN, pin, actor=None)


def test_wrong_pin_never_logs_in_and_is_audited_without_the_pin(
    database: Database, people: People
):
    assert database.users.authenticate("alice", PIN).name == "alice"
    with pytest.raises(AuthenticationError, match="wrong user name or PIN"):
        database.users.authenticate("alice", "9999")
    with pytest.raises(AuthenticationError, match="wrong user name or PIN"):
        database.users.authenticate("nobody", PIN)
    failed = database.audit.entries(action="login_failed")
    assert [e.details["reason"] for e in failed] == ["unknown_user", "wrong_pin"]
    assert all("9999" not in str(e.details) for e in failed)
    database.users.set_active(people.alice.id, False, actor=people.admin)
    with pytest.raises(AuthenticationError, match="not active"):
        database.users.authenticate("alice", PIN)


def test_pin_never_stored_or_logged_in_clear(
    sqlite_db: Database, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    secret = "80417395"  # unlikely to appear by chance in a small file
    admin = sqlite_db.users.create_user("root", Role.ADMIN, secret, actor=None)
    sqlite_db.users.authenticate("root", secret)
    with pytest.raises(AuthenticationError):
        sqlite_db.users.authenticate("root", "31415926")
    sqlite_db.users.change_pin(admin.id, secret, "27182818")
    path = sqlite_db.path
    assert path is not None
    sqlite_db.close()
    blob = b"".join(
        p.read_bytes() for p in path.parent.iterdir() if p.name.startswith(path.name)
    )
    for pin in (secret, "31415926", "27182818"):
        assert pin.encode() not in blob
        assert pin not in caplog.text


def test_change_pin_checks_the_old_one(database: Database, people: People):
    with pytest.raises(AuthenticationError):
        database.users.change_pin(people.bob.id, "0000", "5555")
    database.users.change_pin(people.bob.id, PIN, "5555")
    assert database.users.authenticate("bob", "5555").id == people.bob.id
    with pytest.raises(AuthenticationError):
        database.users.authenticate("bob", PIN)


def test_last_admin_cannot_be_deactivated(database: Database, people: People):
    with pytest.raises(PermissionDeniedError, match="last active admin"):
        database.users.set_active(people.admin.id, False, actor=people.admin)
    with pytest.raises(PermissionDeniedError):
        database.users.set_active(people.bob.id, False, actor=people.supervisor)


def test_deactivated_user_loses_rights_at_once(database: Database, people: People):
    database.users.set_active(people.alice.id, False, actor=people.admin)
    with pytest.raises(PermissionDeniedError, match="not active"):
        database.shifts.open_shift(people.alice)


def test_shifts_open_close_and_stale(database: Database, people: People):
    first = database.shifts.open_shift(people.alice)
    assert database.shifts.current_shift(people.alice.id) == first
    second = database.shifts.open_shift(people.alice)  # e.g. after a crash
    shifts = {s.id: s for s in database.shifts.list_shifts()}
    assert shifts[first.id].ended_at is not None
    assert shifts[second.id].is_open
    with pytest.raises(PermissionDeniedError):
        database.shifts.close_shift(second.id, user=people.bob)
    closed = database.shifts.close_shift(second.id, user=people.supervisor)
    assert closed.ended_at is not None
    assert database.shifts.current_shift(people.alice.id) is None
    later = closed.ended_at + timedelta(hours=1)
    assert database.shifts.list_shifts(start=later) == []
    assert len(database.shifts.list_shifts(end=later)) == 2
    with pytest.raises(NotFoundError):
        database.shifts.close_shift(999, user=people.admin)
    assert first.started_at.tzinfo is not None


def test_audit_log_entries(database: Database, people: People):
    database.audit.log(people.supervisor, "note", "board", 7, {"k": "v"})
    (entry,) = database.audit.entries(action="note")
    assert (entry.user_name, entry.entity, entry.entity_id) == ("sue", "board", 7)
    assert entry.details == {"k": "v"}
    assert len(database.audit.entries(limit=2)) == 2


def test_model_registry_promote_and_rollback(database: Database, people: People):
    engineer = database.users.create_user("eng", Role.ENGINEER, PIN, actor=people.admin)
    reg = database.models_registry
    reg.register("v1", "/m/v1", "a" * 64, {"arch": "resnet18"})
    reg.register("v2", "/m/v2", "b" * 64, {"arch": "attend-next"})
    assert reg.active() is None
    with pytest.raises(PermissionDeniedError):
        reg.promote("v1", actor=people.alice)
    reg.promote("v1", actor=engineer)
    reg.promote("v2", actor=engineer)
    states = {m.version: m.status for m in reg.list()}
    assert states == {"v1": ModelStatus.RETIRED, "v2": ModelStatus.ACTIVE}
    back = reg.rollback(actor=people.admin)
    assert back.version == "v1"
    assert reg.active().version == "v1"
    assert {m.version: m.status for m in reg.list()}["v2"] is ModelStatus.RETIRED
    assert reg.active().card == {"arch": "resnet18"}
    with pytest.raises(ValueError, match="different weights"):
        reg.register("v1", "/m/v1", "c" * 64, {})
    actions = [e.action for e in database.audit.entries(entity="model")]
    assert actions.count("model_promoted") == 2
    assert "model_rolled_back" in actions
    assert ADMIN_PIN not in str([e.details for e in database.audit.entries()])
