"""Accounts, roles and training institutions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import Base, TimestampMixin, enum_column
from lms.core.i18n import localized
from lms.core.security import mask_contact


class Role(StrEnum):
    LEARNER = "learner"
    INSTRUCTOR = "instructor"
    INSTITUTION_ADMIN = "institution_admin"
    REGIONAL_ADMIN = "regional_admin"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])


#: Everyone who teaches or administers (may open authoring pages).
STAFF_ROLES = (Role.INSTRUCTOR, Role.INSTITUTION_ADMIN, Role.REGIONAL_ADMIN)
#: Administrators of an institution or of the region.
ADMIN_ROLES = (Role.INSTITUTION_ADMIN, Role.REGIONAL_ADMIN)

ROLE_LABELS = {
    Role.LEARNER: _l("Learner"),
    Role.INSTRUCTOR: _l("Instructor"),
    Role.INSTITUTION_ADMIN: _l("Institution administrator"),
    Role.REGIONAL_ADMIN: _l("Regional administrator"),
}


class InstitutionKind(StrEnum):
    PUBLIC_TRAINING_BASE = "public_training_base"
    VOCATIONAL_SCHOOL = "vocational_school"
    PRIVATE = "private"
    ENTERPRISE = "enterprise"

    @property
    def label(self) -> str:
        return str(INSTITUTION_KIND_LABELS[self])


INSTITUTION_KIND_LABELS = {
    InstitutionKind.PUBLIC_TRAINING_BASE: _l("Public training base"),
    InstitutionKind.VOCATIONAL_SCHOOL: _l("Vocational school"),
    InstitutionKind.PRIVATE: _l("Private training institution"),
    InstitutionKind.ENTERPRISE: _l("Enterprise"),
}

#: Prefecture-level divisions of the Tibet Autonomous Region, by GB/T 2260 code.
PREFECTURES = {
    "540100": _l("Lhasa"),
    "540200": _l("Shigatse"),
    "540300": _l("Chamdo"),
    "540400": _l("Nyingchi"),
    "540500": _l("Shannan"),
    "540600": _l("Nagqu"),
    "542500": _l("Ngari"),
}


class Institution(TimestampMixin, Base):
    """A training institution in the regional catalogue."""

    __tablename__ = "institutions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_bo: Mapped[str | None] = mapped_column(String(200))
    name_zh: Mapped[str | None] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[InstitutionKind] = mapped_column(enum_column(InstitutionKind))
    prefecture: Mapped[str] = mapped_column(String(6))
    county_bo: Mapped[str | None] = mapped_column(String(100))
    county_zh: Mapped[str | None] = mapped_column(String(100))
    county_en: Mapped[str | None] = mapped_column(String(100))
    subsidy_approved: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)

    members: Mapped[list[User]] = relationship(back_populates="institution")

    @property
    def name(self) -> str:
        return localized(self, "name")

    @property
    def county(self) -> str:
        return localized(self, "county")

    @property
    def prefecture_label(self) -> str:
        return str(PREFECTURES.get(self.prefecture, self.prefecture))

    def __repr__(self) -> str:
        return f"<Institution {self.code}>"


class User(UserMixin, TimestampMixin, Base):
    """An account: a learner, an instructor or an administrator."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("resident_id_digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    real_name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(8))
    role: Mapped[Role] = mapped_column(enum_column(Role), default=Role.LEARNER)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"), index=True)
    # The ID number itself is encrypted; the digest enforces uniqueness and the
    # masked form is what every page shows.
    resident_id_cipher: Mapped[str | None] = mapped_column(Text)
    resident_id_digest: Mapped[str | None] = mapped_column(String(64))
    resident_id_masked: Mapped[str | None] = mapped_column(String(18))
    is_active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    last_failed_login_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    # Bumped on password change so every other session of the account ends.
    session_version: Mapped[int] = mapped_column(default=1)

    institution: Mapped[Institution | None] = relationship(back_populates="members")

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_admin(self) -> bool:
        return self.role in (Role.INSTITUTION_ADMIN, Role.REGIONAL_ADMIN)

    @property
    def is_staff(self) -> bool:
        return self.role != Role.LEARNER

    @property
    def login_name(self) -> str:
        return self.phone or self.email or ""

    @property
    def login_name_masked(self) -> str:
        """The login name as staff see it: enough to recognise a person, not to call them."""
        return mask_contact(self.login_name)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"
