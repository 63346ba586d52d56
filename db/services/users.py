"""Users: PIN login, user administration."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from db import repositories as repo
from db.dto import UserDTO
from db.enums import Role
from db.errors import AuthenticationError, PermissionDeniedError
from db.mappers import user_dto
from db.models import User
from db.services._base import Deferred, ServiceBase, raise_deferred

log = logging.getLogger(__name__)

# scrypt cost: 2**14 * 8 * 128 bytes = 16 MiB and ~50 ms per check. A 4-12 digit PIN is
# still guessable offline from a stolen file; the KDF only makes that slow.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
_PIN_RE = re.compile(r"[0-9]{4,12}")
_ADMINS = frozenset({Role.ADMIN})


def validate_pin(pin: str) -> None:
    """Check the PIN's form (4 to 12 digits) without ever echoing it.

    Raises:
        ValueError: the PIN is not 4 to 12 digits.
    """
    if not isinstance(pin, str) or _PIN_RE.fullmatch(pin) is None:
        msg = "the PIN must be 4 to 12 digits (0-9)"
        raise ValueError(msg)


def hash_pin(pin: str, *, salt: bytes | None = None) -> str:
    """Hash a PIN with scrypt and a per-user random salt.

    Returns:
        `scrypt$n$r$p$<salt hex>$<hash hex>`.
    """
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(
        pin.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str) -> bool:
    """Constant-time check of a PIN against a stored hash."""
    try:
        scheme, n, r, p, salt_hex, digest_hex = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(
            pin.encode(),
            salt=bytes.fromhex(salt_hex),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(digest_hex) // 2,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest.hex(), digest_hex)


# Spent on unknown names so that a wrong name costs as much time as a wrong PIN.
_DUMMY_HASH = hash_pin("0000", salt=b"\0" * 16)


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 80:
        msg = "the user name must be 1 to 80 characters"
        raise ValueError(msg)
    return name


class UserService(ServiceBase):
    """Create users, log them in, change PINs (every change audited)."""

    def has_users(self) -> bool:
        """True once at least one user exists (else the app asks for a first admin)."""
        return self._read(lambda s: repo.count_users(s) > 0)

    def create_user(
        self, name: str, role: Role | str, pin: str, *, actor: UserDTO | None
    ) -> UserDTO:
        """Create a user.

        Args:
            name: unique login name.
            role: the user's role.
            pin: 4 to 12 digits; stored only as a scrypt hash.
            actor: the admin creating the user; None only for the very first user,
                who must be an admin.

        Returns:
            The new user.

        Raises:
            ValueError: bad name, role or PIN, or the name is taken.
            PermissionDeniedError: the actor is not an active admin (or None while
                users exist).
        """
        name = _clean_name(name)
        role = Role(role)
        validate_pin(pin)
        pin_hash = hash_pin(pin)

        def work(s: Session) -> UserDTO:
            if actor is None:
                if repo.count_users(s) > 0:
                    msg = "only an admin can create users"
                    raise PermissionDeniedError(msg)
                if role is not Role.ADMIN:
                    msg = "the first user must be an admin"
                    raise ValueError(msg)
                actor_id = None
            else:
                actor_id = repo.acting_user(s, actor.id, _ADMINS).id
            if repo.user_by_name(s, name) is not None:
                msg = f"a user named {name!r} already exists"
                raise ValueError(msg)
            user = User(name=name, role=role, pin_hash=pin_hash, active=True)
            s.add(user)
            s.flush()
            repo.add_audit(
                s,
                actor_id or user.id,
                "user_created",
                "user",
                user.id,
                {"name": name, "role": role.value},
            )
            return user_dto(user)

        created = self._write(work)
        log.info("user %s (%s) created", created.name, created.role.value)
        return created

    def authenticate(self, name: str, pin: str) -> UserDTO:
        """Log a user in by name and PIN.

        Returns:
            The user.

        Raises:
            AuthenticationError: unknown name, wrong PIN or inactive user. A
                `login_failed` audit row (without the PIN) is written first.
        """
        name = (name or "").strip()

        def work(s: Session) -> UserDTO | Deferred:
            user = repo.user_by_name(s, name)
            if user is None:
                verify_pin(pin, _DUMMY_HASH)
                reason = "unknown_user"
            elif not verify_pin(pin, user.pin_hash):
                reason = "wrong_pin"
            elif not user.active:
                reason = "inactive"
            else:
                repo.add_audit(s, user.id, "login", "user", user.id, {})
                return user_dto(user)
            repo.add_audit(
                s,
                user.id if user else None,
                "login_failed",
                "user",
                user.id if user else None,
                {"name": name, "reason": reason},
            )
            text = (
                f"user {name!r} is not active"
                if reason == "inactive"
                else "wrong user name or PIN"
            )
            return Deferred(AuthenticationError(text))

        result = self._write(work)
        if isinstance(result, Deferred):
            log.warning("failed login for user %r", name)
        return raise_deferred(result)

    def list_users(self, *, include_inactive: bool = True) -> list[UserDTO]:
        """All users, by name."""

        def work(s: Session) -> list[UserDTO]:
            stmt = select(User).order_by(User.name)
            if not include_inactive:
                stmt = stmt.where(User.active.is_(True))
            return [user_dto(u) for u in s.scalars(stmt)]

        return self._read(work)

    def get_user(self, user_id: int) -> UserDTO:
        """One user by id (NotFoundError if missing)."""
        return self._read(
            lambda s: user_dto(repo.get_or_raise(s, User, user_id, "user"))
        )

    def set_active(self, user_id: int, active: bool, *, actor: UserDTO) -> UserDTO:
        """Activate or deactivate a user (admins only; the last admin stays active).

        Raises:
            PermissionDeniedError: the actor is not an admin, or this would leave no
                active admin.
            NotFoundError: no such user.
        """

        def work(s: Session) -> UserDTO:
            admin = repo.acting_user(s, actor.id, _ADMINS)
            user = repo.get_or_raise(s, User, user_id, "user")
            if not active and user.role is Role.ADMIN and user.active:
                admins = s.scalars(
                    select(User).where(User.role == Role.ADMIN, User.active.is_(True))
                ).all()
                if len(admins) <= 1:
                    msg = "cannot deactivate the last active admin"
                    raise PermissionDeniedError(msg)
            user.active = bool(active)
            repo.add_audit(
                s,
                admin.id,
                "user_activated" if active else "user_deactivated",
                "user",
                user.id,
                {"name": user.name},
            )
            return user_dto(user)

        return self._write(work)

    def change_pin(self, user_id: int, old_pin: str, new_pin: str) -> None:
        """A user changes their own PIN.

        Raises:
            AuthenticationError: the old PIN is wrong.
            ValueError: the new PIN is not 4 to 12 digits.
        """
        validate_pin(new_pin)
        new_hash = hash_pin(new_pin)

        def work(s: Session) -> Deferred | None:
            user = repo.get_or_raise(s, User, user_id, "user")
            if not verify_pin(old_pin, user.pin_hash):
                repo.add_audit(s, user.id, "pin_change_failed", "user", user.id, {})
                return Deferred(AuthenticationError("the current PIN is wrong"))
            user.pin_hash = new_hash
            repo.add_audit(s, user.id, "pin_changed", "user", user.id, {})
            return None

        raise_deferred(self._write(work))

    def reset_pin(self, user_id: int, new_pin: str, *, actor: UserDTO) -> None:
        """An admin sets a new PIN for a user (audited)."""
        validate_pin(new_pin)
        new_hash = hash_pin(new_pin)

        def work(s: Session) -> None:
            admin = repo.acting_user(s, actor.id, _ADMINS)
            user = repo.get_or_raise(s, User, user_id, "user")
            user.pin_hash = new_hash
            repo.add_audit(
                s, admin.id, "pin_reset", "user", user.id, {"name": user.name}
            )

        self._write(work)
