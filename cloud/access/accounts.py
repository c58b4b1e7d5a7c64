"""User accounts: creating them, their notification preferences and their second factor;
disabling them and changing or resetting their passwords (which ends their sessions).

Each function changes one user inside the caller's transaction and writes its audit entry
there too. Problems raise ``AccountError`` naming the field, which the API answers with.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.cloud.access import second_factor
from anxin.cloud.access.passwords import hash_password
from anxin.cloud.access.sessions import end_sessions
from anxin.cloud.audit.chain import record
from anxin.cloud.database.models import Person, User
from anxin.cloud.registry.field_crypto import FieldCipher, FieldCryptoError, mask_phone
from anxin.cloud.registry.registry import now_ms

ROLES = ("admin", "worker", "family", "recipient")
MIN_PASSWORD_CHARS = 10


class AccountError(ValueError):
    """A request that cannot be carried out; ``status`` and ``code`` are what the API answers."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class NewUser:
    username: str
    display_name: str
    role: str
    password: str
    community: str | None = None
    supervisor: str | None = None
    person_id: str | None = None
    email: str | None = None


def password_problem(password: str, username: str, field: str = "password") -> str | None:
    if len(password) < MIN_PASSWORD_CHARS:
        return f"'{field}' must have at least {MIN_PASSWORD_CHARS} characters"
    if password.strip().lower() == username.lower():
        return f"'{field}' must not be the username"
    return None


def create_user(session: Session, actor: str, new: NewUser) -> User:
    problem = password_problem(new.password, new.username)
    if problem:
        raise AccountError(400, "bad_parameter", problem)
    if session.get(User, new.username) is not None:
        raise AccountError(409, "exists", f"a user '{new.username}' already exists")
    if new.role == "worker" and not new.community:
        raise AccountError(400, "bad_parameter", "'community' is required for a worker")
    if new.supervisor is not None:
        if new.role != "worker":
            raise AccountError(400, "bad_parameter", "'supervisor' is only for a worker")
        boss = session.get(User, new.supervisor)
        if boss is None or boss.role not in ("worker", "admin"):
            raise AccountError(
                400, "bad_parameter", f"'supervisor': no worker or admin '{new.supervisor}'"
            )
    if new.role == "recipient":
        if not new.person_id:
            raise AccountError(400, "bad_parameter", "'person_id' is required for a recipient")
        if session.get(Person, new.person_id) is None:
            raise AccountError(400, "bad_parameter", f"'person_id': no person '{new.person_id}'")
    elif new.person_id is not None:
        raise AccountError(400, "bad_parameter", "'person_id' is only for a recipient")
    user = User(
        username=new.username,
        display_name=new.display_name,
        role=new.role,
        password_hash=hash_password(new.password),
        community=new.community,
        supervisor=new.supervisor,
        person_id=new.person_id,
        email=new.email,
        failed_logins=0,
        notify_channels=[],
    )
    session.add(user)
    session.flush()
    record(
        session,
        actor,
        "user.create",
        f"users/{new.username}",
        new.person_id,
        {"role": new.role, "community": new.community, "supervisor": new.supervisor},
    )
    return user


def _user_for_update(session: Session, username: str) -> User:
    user = session.get(User, username, with_for_update=True)
    if user is None:
        raise AccountError(404, "not_found", f"no user '{username}'")
    return user


def set_disabled(
    session: Session, actor: str, username: str, disabled: bool, reason: str | None = None
) -> User:
    """Disable the account and end all its sessions, or enable it again."""
    user = _user_for_update(session, username)
    if disabled and username == actor:
        raise AccountError(409, "own_account", "you may not disable your own account")
    detail: dict[str, Any] = {}
    if disabled:
        if not user.disabled:
            user.disabled_at_ms = now_ms()
        user.disabled = True
        detail["sessions_ended"] = end_sessions(session, username)
    else:
        user.disabled, user.disabled_at_ms = False, None
    if reason:
        detail["reason"] = reason
    action = "user.disable" if disabled else "user.enable"
    record(session, actor, action, f"users/{username}", user.person_id, detail or None)
    return user


def password_hash_of(session: Session, username: str) -> str:
    return _user_for_update(session, username).password_hash


def refuse_password_change(session: Session, username: str) -> None:
    """The current password given was wrong: on record, nothing changed."""
    record(session, username, "user.password_change.refused", f"users/{username}", None)


def change_password(
    session: Session,
    username: str,
    checked_hash: str,
    new_hash: str,
    keep_token_hash: str | None,
) -> int:
    """Store ``new_hash`` (made off this transaction, in the hash pool) in place of the
    password checked against ``checked_hash``, and end the user's sessions but
    ``keep_token_hash``'s; how many ended. 409 when the password changed in between."""
    user = _user_for_update(session, username)
    if user.password_hash != checked_hash:
        raise AccountError(409, "conflict", "the password was changed meanwhile: try again")
    user.password_hash = new_hash
    user.must_change_password = False
    ended = end_sessions(session, username, keep_token_hash)
    record(
        session,
        username,
        "user.password_change",
        f"users/{username}",
        user.person_id,
        {"sessions_ended": ended},
    )
    return ended


def reset_password(session: Session, actor: str, username: str, reason: str | None = None) -> str:
    """Give the user a temporary password they must change at their next login, and end
    all their sessions; returns the temporary password (shown to the administrator once)."""
    if username == actor:
        raise AccountError(
            409, "own_account", "change your own password with POST /me/password instead"
        )
    user = _user_for_update(session, username)
    temporary = secrets.token_urlsafe(12)  # 16 characters, 96 random bits
    user.password_hash = hash_password(temporary)
    user.must_change_password = True
    ended = end_sessions(session, username)
    record(
        session,
        actor,
        "user.password_reset",
        f"users/{username}",
        user.person_id,
        {"sessions_ended": ended} | ({"reason": reason} if reason else {}),
    )
    return temporary


def list_users(session: Session, role: str | None = None) -> list[User]:
    query = select(User).order_by(User.username)
    if role is not None:
        query = query.where(User.role == role)
    return list(session.scalars(query))


def update_preferences(
    session: Session, username: str, changes: dict[str, Any], cipher: FieldCipher | None
) -> User:
    """Apply ``changes`` (already validated) to the user's contact points and preferences."""
    user = session.get(User, username)
    if user is None:
        raise AccountError(404, "not_found", f"no user '{username}'")
    changed = sorted(changes)
    if "phone" in changes:
        phone = changes.pop("phone")
        if phone is None:
            user.phone_enc = None
        else:
            if cipher is None:
                raise AccountError(
                    400,
                    "not_configured",
                    "'phone' cannot be stored: the server has no [registry] encryption_key",
                )
            user.phone_enc = cipher.encrypt(phone)
    for name, value in changes.items():
        setattr(user, name, value)
    # Who changed what, never the values themselves (they are personal data).
    record(session, username, "user.preferences", f"users/{username}", None, {"fields": changed})
    return user


def start_totp_enrolment(session: Session, username: str, cipher: FieldCipher | None) -> str:
    """A new secret, kept pending until a code from it is confirmed; returns the secret."""
    user = session.get(User, username)
    if user is None:
        raise AccountError(404, "not_found", f"no user '{username}'")
    if cipher is None:
        raise AccountError(
            400,
            "not_configured",
            "a second factor cannot be stored: the server has no [registry] encryption_key",
        )
    secret = second_factor.new_secret()
    user.totp_pending_enc = second_factor.seal(cipher, secret)
    record(session, username, "user.totp_enrol", f"users/{username}", None, None)
    return secret


def confirm_totp(session: Session, username: str, code: str, cipher: FieldCipher | None) -> None:
    """Make the pending secret the user's second factor if ``code`` comes from it."""
    user = session.get(User, username, with_for_update=True)
    if user is None:
        raise AccountError(404, "not_found", f"no user '{username}'")
    if user.totp_pending_enc is None:
        raise AccountError(409, "no_enrolment", "start with POST /me/totp: nothing to confirm")
    try:
        secret = second_factor.unseal(cipher, user.totp_pending_enc)
    except FieldCryptoError as exc:
        raise AccountError(400, "not_configured", str(exc)) from None
    step = second_factor.accepted_step(secret, code, None)
    if step is None:
        raise AccountError(400, "bad_totp", "'code' is not the current code of the new secret")
    user.totp_secret_enc, user.totp_pending_enc, user.totp_last_step = (
        user.totp_pending_enc,
        None,
        step,
    )
    record(session, username, "user.totp_confirm", f"users/{username}", None, None)


def user_json(user: User, cipher: FieldCipher | None) -> dict[str, Any]:
    """A user as the API shows them: no hashes or secrets, the phone masked."""
    phone = None
    if user.phone_enc and cipher is not None:
        try:
            phone = mask_phone(cipher.decrypt(user.phone_enc))
        except FieldCryptoError:
            phone = None
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "community": user.community,
        "supervisor": user.supervisor,
        "person_id": user.person_id,
        "disabled": bool(user.disabled),
        "must_change_password": bool(user.must_change_password),
        "second_factor": "enrolled" if user.totp_secret_enc else "none",
        "preferences": {
            "notify_channels": list(user.notify_channels or []),
            "notify_min_severity": user.notify_min_severity or "high",
            "quiet_start": user.quiet_start,
            "quiet_end": user.quiet_end,
            "timezone": user.timezone or "Asia/Shanghai",
            "email": user.email,
            "webhook_url": user.webhook_url,
            "phone": phone,
        },
    }
