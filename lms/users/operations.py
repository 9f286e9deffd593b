"""Account and institution operations: they change models and flush, never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.exceptions import Forbidden
from werkzeug.security import check_password_hash, generate_password_hash

from lms.core import signals
from lms.core.db import utcnow
from lms.core.errors import UserError
from lms.core.i18n import normalize_text
from lms.core.security import mask_resident_id, pii_cipher, validate_resident_id
from lms.extensions import db
from lms.users import permissions
from lms.users.models import Institution, InstitutionKind, Role, User
from lms.users.util import find_user_by_contact, parse_contact

_DUMMY_HASH: str | None = None


def hash_password(password: str) -> str:
    """Hash with the configured method (scrypt unless tests ask for a cheaper one)."""
    return generate_password_hash(password, method=current_app.config.get(
        "PASSWORD_HASH_METHOD", "scrypt"))


def _contact_fields(contact: str) -> dict[str, str]:
    try:
        kind, value = parse_contact(contact)
    except ValueError as exc:
        raise UserError(exc.args[0], "contact") from None
    column = User.phone if kind == "phone" else User.email
    if db.session.scalar(select(User.id).where(column == value)) is not None:
        raise _contact_taken()
    return {kind: value}


class ResidentIdTaken(UserError):
    """The ID number belongs to another account: an answer callers ration (lms.core.throttle)."""

    def __init__(self) -> None:
        super().__init__(_l("This ID number is already registered to another account. "
                            "If it is yours, ask your training institution for help."),
                         "resident_id")


def _contact_taken() -> UserError:
    return UserError(_l("An account with this phone number or email already exists."),
                     "contact")


_USER_CLASHES = {"phone": _contact_taken, "email": _contact_taken,
                 "resident_id": ResidentIdTaken}


def _set_resident_id(user: User, raw: str) -> None:
    try:
        value = validate_resident_id(raw)
    except ValueError as exc:
        raise UserError(getattr(exc, "message", str(exc)), "resident_id") from None
    cipher = pii_cipher()
    digest = cipher.digest(value)
    clash = db.session.scalar(select(User.id).where(User.resident_id_digest == digest,
                                                     User.id != user.id))
    if clash is not None:
        raise ResidentIdTaken()
    user.resident_id_cipher = cipher.encrypt(value)
    user.resident_id_digest = digest
    user.resident_id_masked = mask_resident_id(value)


def resident_id_of(user: User) -> str | None:
    """The full ID number (exports with explicit permission only; never in pages or logs)."""
    return pii_cipher().decrypt(user.resident_id_cipher) if user.resident_id_cipher else None


def create_user(*, real_name: str, contact: str, password: str, locale: str,
                role: Role = Role.LEARNER, institution: Institution | None = None,
                resident_id: str | None = None) -> User:
    """Create an account (the caller has checked who may create it)."""
    name = normalize_text(real_name)
    if not name:
        raise UserError(_l("Enter your real name."), "real_name")
    user = User(real_name=name, password_hash=hash_password(password), locale=locale,
                role=role, institution=institution, **_contact_fields(contact))
    if role in (Role.INSTRUCTOR, Role.INSTITUTION_ADMIN) and institution is None:
        raise UserError(_l("Instructors and institution administrators belong to an institution."),
                        "institution_id")
    if resident_id:
        _set_resident_id(user, resident_id)
    db.session.add(user)
    db.flush_unique(_USER_CLASHES)  # the same phone or ID number sent twice at once
    signals.user_registered.send(user, user=user)
    return user


def register_learner(*, real_name: str, contact: str, password: str, locale: str,
                     resident_id: str | None = None) -> User:
    """A learner signs themselves up."""
    return create_user(real_name=real_name, contact=contact, password=password, locale=locale,
                       resident_id=resident_id)


def create_staff(actor: User, *, role: Role, institution: Institution | None,
                 **fields: Any) -> User:
    """An administrator creates an instructor or administrator account."""
    if role not in permissions.assignable_roles(actor):
        raise Forbidden()
    if actor.role == Role.INSTITUTION_ADMIN and (
            institution is None or institution.id != actor.institution_id):
        raise Forbidden()
    return create_user(role=role, institution=institution, **fields)


@dataclass(frozen=True)
class LoginOutcome:
    """The result of a login attempt: the user, or a message saying why not."""

    user: User | None
    message: Any = None


def _wait_required(user: User, now: datetime) -> int:
    """Seconds the account must wait before the next attempt is even checked."""
    slow_after = current_app.config["LOGIN_SLOWDOWN_AFTER"]
    if user.failed_logins < slow_after or user.last_failed_login_at is None:
        return 0
    delay = 2 ** (user.failed_logins - slow_after)
    ready_at = user.last_failed_login_at + timedelta(seconds=delay)
    return max(0, int((ready_at - now).total_seconds() + 0.999))


def authenticate(contact: str, password: str, *, now: datetime | None = None) -> LoginOutcome:
    """Check a login; failures slow the account down and then lock it for a while."""
    global _DUMMY_HASH
    now = now or utcnow()
    user = find_user_by_contact(contact)
    wrong = _l("Wrong phone number, email or password.")
    if user is None:
        # Spend the same time as a real check so timing does not reveal accounts.
        _DUMMY_HASH = _DUMMY_HASH or hash_password("not a real password")
        check_password_hash(_DUMMY_HASH, password)
        return LoginOutcome(None, wrong)
    # Attempts on one account take turns, each seeing the last one's count: otherwise
    # guesses sent side by side all read "no failures yet" and none slows the next.
    user = db.session.scalar(select(User).where(User.id == user.id).with_for_update()
                             .execution_options(populate_existing=True))
    if user.locked_until and user.locked_until > now:
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        return LoginOutcome(None, _l("This account is locked after too many failed logins. "
                                     "Try again in %(minutes)s minutes.", minutes=minutes))
    wait = _wait_required(user, now)
    if wait:
        return LoginOutcome(None, _l("Too many failed attempts. Wait %(seconds)s seconds "
                                     "and try again.", seconds=wait))
    if not check_password_hash(user.password_hash, password):
        user.failed_logins += 1
        user.last_failed_login_at = now
        if user.failed_logins >= current_app.config["LOGIN_LOCK_AFTER"]:
            user.locked_until = now + timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])
            user.failed_logins = 0
            db.session.flush()
            return LoginOutcome(None, _l(
                "This account is locked after too many failed logins. "
                "Try again in %(minutes)s minutes.",
                minutes=current_app.config["LOGIN_LOCK_MINUTES"]))
        db.session.flush()
        return LoginOutcome(None, wrong)
    if not user.is_active:
        return LoginOutcome(None, _l("This account has been switched off. "
                                     "Ask your training institution."))
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    db.session.flush()
    return LoginOutcome(user)


def change_password(user: User, current: str, new: str) -> None:
    """Change a password after checking the current one; other sessions end."""
    if not check_password_hash(user.password_hash, current):
        raise UserError(_l("The current password is wrong."), "current")
    user.password_hash = hash_password(new)
    user.session_version += 1
    db.session.flush()


def reset_password(actor: User, user: User, new: str) -> None:
    """An administrator sets a new password for an account they manage."""
    if not permissions.can_manage_user(actor, user):
        raise Forbidden()
    user.password_hash = hash_password(new)
    user.session_version += 1
    user.failed_logins, user.locked_until = 0, None
    db.session.flush()


def update_profile(user: User, *, real_name: str, locale: str,
                   resident_id: str | None = None) -> None:
    """A user edits their own profile; an ID number, once set, stays (admins correct it)."""
    name = normalize_text(real_name)
    if not name:
        raise UserError(_l("Enter your real name."), "real_name")
    user.real_name, user.locale = name, locale
    if resident_id and not user.resident_id_cipher:
        _set_resident_id(user, resident_id)
    db.flush_unique({"resident_id": ResidentIdTaken})


def set_active(actor: User, user: User, active: bool) -> None:
    """Switch an account on or off (switched-off accounts cannot log in)."""
    if not permissions.can_manage_user(actor, user) or user.id == actor.id:
        raise Forbidden()
    user.is_active = active
    user.session_version += 1
    db.session.flush()


def save_institution(actor: User, institution: Institution | None, **fields: Any) -> Institution:
    """Create or update an institution in the catalogue (regional admins only)."""
    if not permissions.can_edit_institution(actor, institution):
        raise Forbidden()
    code = (fields.pop("code") or "").strip().upper()
    clash = db.session.scalar(select(Institution.id).where(Institution.code == code))
    if clash is not None and (institution is None or clash != institution.id):
        raise UserError(_l("Another institution already uses this code."), "code")
    if institution is None:
        institution = Institution(code=code)
        db.session.add(institution)
    institution.code = code
    for key in ("name_bo", "name_zh", "name_en", "county_bo", "county_zh", "county_en"):
        setattr(institution, key, normalize_text(fields.get(key)) or None)
    institution.kind = InstitutionKind(fields["kind"])
    institution.prefecture = fields["prefecture"]
    institution.subsidy_approved = bool(fields.get("subsidy_approved"))
    institution.is_active = bool(fields.get("is_active", True))
    db.flush_unique({"code": lambda: UserError(
        _l("Another institution already uses this code."), "code")})
    signals.institution_changed.send(institution, institution=institution)
    return institution
