"""The lifelong training record: ledger entries and chains, certificates, exports."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.audit import append_only
from lms.core.db import Base, TimestampMixin, enum_column, utcnow
from lms.courses.models import Course, Lesson, SkillLevel, TrainingType
from lms.users.models import Institution, User

#: The ``prev_hash`` of a chain's first entry.
GENESIS_HASH = "0" * 64


class EntryKind(StrEnum):
    """What an entry credits."""

    LESSON_COMPLETED = "lesson_completed"
    COURSE_COMPLETED = "course_completed"
    PRACTICAL_APPROVED = "practical_approved"
    OFFLINE_SESSION = "offline_session"
    SKILL_CERTIFICATE = "skill_certificate"
    COMPETITION = "competition"
    #: A correction: it cancels the entry named by ``reverses_id``.
    REVERSAL = "reversal"

    @property
    def label(self) -> str:
        return str(ENTRY_KIND_LABELS[self])


ENTRY_KIND_LABELS = {
    EntryKind.LESSON_COMPLETED: _l("Lesson completed"),
    EntryKind.COURSE_COMPLETED: _l("Course completed"),
    EntryKind.PRACTICAL_APPROVED: _l("Practical work approved"),
    EntryKind.OFFLINE_SESSION: _l("In-person training session"),
    EntryKind.SKILL_CERTIFICATE: _l("Skill-level certificate"),
    EntryKind.COMPETITION: _l("Skills competition result"),
    EntryKind.REVERSAL: _l("Correction"),
}

#: Kinds an administrator enters by hand, with evidence.
OFFLINE_KINDS = (EntryKind.OFFLINE_SESSION, EntryKind.COMPETITION, EntryKind.SKILL_CERTIFICATE)


class EntrySource(StrEnum):
    """Who wrote an entry: the system from a verified event, or an administrator."""

    SYSTEM = "system"
    ADMIN = "admin"


@append_only
class LedgerEntry(Base):
    """One credit in a learner's record: immutable, and chained to the one before it.

    ``hash = sha256(prev_hash + canonical_json(content))`` where the content
    is every column below except ``id`` and the two hashes (see ``ledger.py``).
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("learner_id", "seq"),
        # One entry per credited thing (a lesson, a course, a reversal ...): idempotency.
        UniqueConstraint("learner_id", "credit_key"),
        Index("ix_ledger_entries_institution_occurred", "institution_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: Position in the learner's chain, 1, 2, 3 ... without gaps.
    seq: Mapped[int]
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"))
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id"), index=True)
    lesson_id: Mapped[int | None] = mapped_column(ForeignKey("lessons.id"), index=True)
    training_type: Mapped[TrainingType] = mapped_column(enum_column(TrainingType))
    skill_level: Mapped[SkillLevel | None] = mapped_column(enum_column(SkillLevel))
    kind: Mapped[EntryKind] = mapped_column(enum_column(EntryKind))
    #: Credited hours (学时); a reversal carries the negated hours of the entry it cancels.
    hours: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    verified_seconds: Mapped[int] = mapped_column(default=0)
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: What proves it: the progress evidence, an attempt, an uploaded file's key ...
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    source: Mapped[EntrySource] = mapped_column(enum_column(EntrySource))
    #: The administrator who entered it; None for the system.
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Why (a correction's reason, an offline entry's description).
    reason: Mapped[str | None] = mapped_column(Text)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"),
                                                    unique=True)
    #: What was credited, e.g. ``lesson:12``; a second credit of the same thing is refused.
    credit_key: Mapped[str | None] = mapped_column(String(100))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    learner: Mapped[User] = relationship(foreign_keys=[learner_id])
    entered_by: Mapped[User | None] = relationship(foreign_keys=[entered_by_id])
    institution: Mapped[Institution | None] = relationship()
    course: Mapped[Course | None] = relationship()
    lesson: Mapped[Lesson | None] = relationship()
    reverses: Mapped[LedgerEntry | None] = relationship(remote_side=[id])

    def __repr__(self) -> str:
        return f"<LedgerEntry {self.learner_id}#{self.seq} {self.kind} {self.hours}>"


class LedgerChain(Base):
    """The head of a learner's chain; writers lock this row so the chain never forks."""

    __tablename__ = "ledger_chains"

    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    length: Mapped[int] = mapped_column(default=0)
    head_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Certificate(TimestampMixin, Base):
    """A certificate of completion; what it prints is frozen in ``data`` when it is issued."""

    __tablename__ = "certificates"
    __table_args__ = (UniqueConstraint("learner_id", "course_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(32), unique=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    hours: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    started_on: Mapped[date] = mapped_column(Date)
    completed_on: Mapped[date] = mapped_column(Date)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Names, titles and levels as printed (they do not follow later edits).
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: The signed PDF, once the ``records.issue_certificate`` job has made it.
    pdf_key: Mapped[str | None] = mapped_column(String(200))
    key_fingerprint: Mapped[str | None] = mapped_column(String(16))
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revocation_reason: Mapped[str | None] = mapped_column(Text)

    learner: Mapped[User] = relationship(foreign_keys=[learner_id])
    course: Mapped[Course] = relationship()
    institution: Mapped[Institution] = relationship()

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_ready(self) -> bool:
        return self.pdf_key is not None

    def __repr__(self) -> str:
        return f"<Certificate {self.serial}>"


class ExportShape(StrEnum):
    """One row per ledger entry, or one per learner and course."""

    ENTRIES = "entries"
    LEARNER_COURSE = "learner_course"

    @property
    def label(self) -> str:
        return str(EXPORT_SHAPE_LABELS[self])


EXPORT_SHAPE_LABELS = {
    ExportShape.ENTRIES: _l("One row per ledger entry"),
    ExportShape.LEARNER_COURSE: _l("One row per learner and course"),
}


class Export(Base):
    """An export an administrator asked for: its filters, its job and its file."""

    __tablename__ = "exports"

    id: Mapped[int] = mapped_column(primary_key=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    format: Mapped[str] = mapped_column(String(16))
    shape: Mapped[ExportShape] = mapped_column(enum_column(ExportShape))
    filters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    include_full_ids: Mapped[bool] = mapped_column(default=False)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    file_key: Mapped[str | None] = mapped_column(String(200))
    row_count: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    expires_at: Mapped[datetime]

    requested_by: Mapped[User] = relationship()
    job = relationship("Job")
