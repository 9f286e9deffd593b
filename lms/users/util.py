"""Read-side helpers for accounts: contact parsing and lookups."""

from __future__ import annotations

import re
import unicodedata

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select

from lms.core.i18n import ascii_digits
from lms.extensions import db
from lms.users.models import Institution, Role, User

_PHONE_JUNK = re.compile(r"[\s\-()]")
_CN_MOBILE = re.compile(r"1[3-9][0-9]{9}")


def parse_contact(raw: str) -> tuple[str, str]:
    """``("phone", "13800138000")`` or ``("email", "a@b.cn")``; else ValueError with a message."""
    value = raw.strip()
    if "@" in value:
        try:
            return "email", validate_email(value, check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            raise ValueError(_l("This email address is not valid.")) from None
    digits = _PHONE_JUNK.sub("", ascii_digits(unicodedata.normalize("NFKC", value)))
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix):]
    if _CN_MOBILE.fullmatch(digits):
        return "phone", digits
    raise ValueError(_l("Enter an 11-digit mobile phone number or an email address."))


def find_user_by_contact(raw: str) -> User | None:
    """The account registered with this phone number or email, if any."""
    try:
        kind, value = parse_contact(raw)
    except ValueError:
        return None
    column = User.phone if kind == "phone" else User.email
    return db.session.scalar(select(User).where(column == value))


def users_visible_to(actor: User, *, role: str | None = None,
                     institution_id: int | None = None) -> Select:
    """The accounts an administrator may see, newest first."""
    stmt = select(User).order_by(User.id.desc())
    if actor.role == Role.INSTITUTION_ADMIN:
        stmt = stmt.where(User.institution_id == actor.institution_id)
    if role:
        stmt = stmt.where(User.role == role)
    if institution_id:
        stmt = stmt.where(User.institution_id == institution_id)
    return stmt


def institutions_visible_to(actor: User) -> Select:
    """The institutions an administrator may see, by code."""
    stmt = select(Institution).order_by(Institution.code)
    if actor.role != Role.REGIONAL_ADMIN:
        stmt = stmt.where(Institution.id == actor.institution_id)
    return stmt
