"""Practical tasks: stages, rubrics, submissions with evidence, reviews; apprenticeship pairings.

A submission and its reviews are kept as they were: a revision is a new
submission, and a review stores the rubric scores it gave, so later edits of
the rubric do not rewrite history.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import Base, enum_column, utcnow
from lms.core.i18n import localized
from lms.courses.models import Course, Lesson
from lms.users.models import User

EVIDENCE_KINDS = {
    "photo": _l("Photos"),
    "video": _l("Video"),
    "pdf": _l("PDF document"),
    "text": _l("Written account"),
}


class PracticalTask(Base):
    """The settings of a practical lesson; its instructions are the lesson's text."""

    __tablename__ = "practical_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"),
                                           unique=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"),
                                           index=True)
    #: Keys of ``EVIDENCE_KINDS`` a submission must include.
    evidence_kinds: Mapped[list[Any]] = mapped_column(default=list)
    #: Share of the rubric's points a review must give for the work to be approved.
    pass_percent: Mapped[int] = mapped_column(default=60)

    lesson: Mapped[Lesson] = relationship()
    stages: Mapped[list[PracticalStage]] = relationship(
        back_populates="task", order_by="PracticalStage.position", cascade="all, delete-orphan")
    criteria: Mapped[list[RubricCriterion]] = relationship(
        back_populates="task", order_by="RubricCriterion.position", cascade="all, delete-orphan")


class PracticalStage(Base):
    """A step of a practical task (sketch → colouring → gilding), submitted and reviewed alone.

    Every task has at least one stage; a task of one untitled stage is shown without stages.
    """

    __tablename__ = "practical_stages"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("practical_tasks.id", ondelete="CASCADE"),
                                         index=True)
    position: Mapped[int] = mapped_column(default=0)
    title_bo: Mapped[str | None] = mapped_column(String(200))
    title_zh: Mapped[str | None] = mapped_column(String(200))
    title_en: Mapped[str | None] = mapped_column(String(200))

    task: Mapped[PracticalTask] = relationship(back_populates="stages")

    @property
    def title(self) -> str:
        return localized(self, "title")


class RubricCriterion(Base):
    """A row of the rubric; with a ``stage_id`` it is scored in that stage's reviews only."""

    __tablename__ = "rubric_criteria"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("practical_tasks.id", ondelete="CASCADE"),
                                         index=True)
    stage_id: Mapped[int | None] = mapped_column(
        ForeignKey("practical_stages.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    title_bo: Mapped[str | None] = mapped_column(String(200))
    title_zh: Mapped[str | None] = mapped_column(String(200))
    title_en: Mapped[str | None] = mapped_column(String(200))

    task: Mapped[PracticalTask] = relationship(back_populates="criteria")
    stage: Mapped[PracticalStage | None] = relationship()
    levels: Mapped[list[RubricLevel]] = relationship(
        order_by="RubricLevel.position", cascade="all, delete-orphan")

    @property
    def title(self) -> str:
        return localized(self, "title")

    @property
    def max_points(self) -> Decimal:
        return max((level.points for level in self.levels), default=Decimal("0"))


class RubricLevel(Base):
    """A column of a rubric row: a described level of achievement and its points."""

    __tablename__ = "rubric_levels"

    id: Mapped[int] = mapped_column(primary_key=True)
    criterion_id: Mapped[int] = mapped_column(
        ForeignKey("rubric_criteria.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    points: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    title_bo: Mapped[str | None] = mapped_column(String(200))
    title_zh: Mapped[str | None] = mapped_column(String(200))
    title_en: Mapped[str | None] = mapped_column(String(200))

    @property
    def title(self) -> str:
        return localized(self, "title")


class SubmissionState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    REVISION = "revision"
    APPROVED = "approved"

    @property
    def label(self) -> str:
        return str(SUBMISSION_STATE_LABELS[self])


SUBMISSION_STATE_LABELS = {
    SubmissionState.DRAFT: _l("Not sent yet"),
    SubmissionState.SUBMITTED: _l("Waiting for review"),
    SubmissionState.REVISION: _l("Revision requested"),
    SubmissionState.APPROVED: _l("Approved"),
}


class Submission(Base):
    """A learner's work for one stage; a revision is a new submission with the next number."""

    __tablename__ = "practical_submissions"
    __table_args__ = (UniqueConstraint("stage_id", "user_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("practical_tasks.id", ondelete="CASCADE"),
                                         index=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("practical_stages.id", ondelete="CASCADE"),
                                          index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"),
                                              index=True)
    number: Mapped[int] = mapped_column(default=1)
    state: Mapped[SubmissionState] = mapped_column(enum_column(SubmissionState),
                                                   default=SubmissionState.DRAFT, index=True)
    text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    reviewed_at: Mapped[datetime | None]

    task: Mapped[PracticalTask] = relationship()
    stage: Mapped[PracticalStage] = relationship()
    user: Mapped[User] = relationship()
    evidence: Mapped[list[Evidence]] = relationship(
        back_populates="submission", order_by="Evidence.id", cascade="all, delete-orphan")
    reviews: Mapped[list[Review]] = relationship(
        back_populates="submission", order_by="Review.id", cascade="all, delete-orphan")


class Evidence(Base):
    """A file a learner submitted: a cleaned photo, a PDF or a video, stored under a server key."""

    __tablename__ = "practical_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("practical_submissions.id", ondelete="CASCADE"), index=True)
    #: ``photo``, ``video`` or ``pdf``.
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    #: What other domains attach (a video handler may note its video id here).
    meta: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    submission: Mapped[Submission] = relationship(back_populates="evidence")


class ReviewDecision(StrEnum):
    APPROVED = "approved"
    REVISION = "revision"

    @property
    def label(self) -> str:
        return str(_l("Approved") if self == ReviewDecision.APPROVED
                   else _l("Revision requested"))


class Review(Base):
    """A reviewer's verdict on a submission; the rubric scores are kept as they were given."""

    __tablename__ = "practical_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("practical_submissions.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decision: Mapped[ReviewDecision] = mapped_column(enum_column(ReviewDecision))
    #: ``[{"criterion_id", "criterion", "level_id", "level", "points", "max"}]``, as scored.
    scores: Mapped[list[Any]] = mapped_column(default=list)
    points: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal("0"))
    max_points: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal("0"))
    feedback: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    submission: Mapped[Submission] = relationship(back_populates="reviews")
    reviewer: Mapped[User | None] = relationship()


class Pairing(Base):
    """以师带徒: a master (an instructor) guiding an apprentice through an apprenticeship course."""

    __tablename__ = "apprenticeship_pairings"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"),
                                           index=True)
    apprentice_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                               index=True)
    master_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                           index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]

    course: Mapped[Course] = relationship()
    apprentice: Mapped[User] = relationship(foreign_keys=[apprentice_id])
    master: Mapped[User] = relationship(foreign_keys=[master_id])
