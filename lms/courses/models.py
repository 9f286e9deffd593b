"""Courses, their sections and lessons, enrolments and lesson progress."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import Base, TimestampMixin, enum_column, utcnow
from lms.core.i18n import content_languages, localized
from lms.users.models import Institution, User


class TrainingType(StrEnum):
    """The policy's forms of training (and apprenticeship, 以师带徒)."""

    EMPLOYMENT = "employment"
    UPGRADING = "upgrading"
    ENTREPRENEURSHIP = "entrepreneurship"
    APPRENTICESHIP = "apprenticeship"

    @property
    def label(self) -> str:
        return str(TRAINING_TYPE_LABELS[self])


TRAINING_TYPE_LABELS = {
    TrainingType.EMPLOYMENT: _l("Employment skills training"),
    TrainingType.UPGRADING: _l("On-the-job skills upgrading"),
    TrainingType.ENTREPRENEURSHIP: _l("Entrepreneurship and innovation training"),
    TrainingType.APPRENTICESHIP: _l("Apprenticeship (master and apprentice)"),
}


class SkillLevel(StrEnum):
    """The five national vocational skill levels, from 五级 (初级工) up to 一级 (高级技师)."""

    LEVEL5 = "level5"
    LEVEL4 = "level4"
    LEVEL3 = "level3"
    LEVEL2 = "level2"
    LEVEL1 = "level1"

    @property
    def label(self) -> str:
        return str(SKILL_LEVEL_LABELS[self])


SKILL_LEVEL_LABELS = {
    SkillLevel.LEVEL5: _l("Level 5 · Junior worker"),
    SkillLevel.LEVEL4: _l("Level 4 · Intermediate worker"),
    SkillLevel.LEVEL3: _l("Level 3 · Senior worker"),
    SkillLevel.LEVEL2: _l("Level 2 · Technician"),
    SkillLevel.LEVEL1: _l("Level 1 · Senior technician"),
}


class CourseStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"

    @property
    def label(self) -> str:
        return str(COURSE_STATUS_LABELS[self])


COURSE_STATUS_LABELS = {
    CourseStatus.DRAFT: _l("Draft"),
    CourseStatus.PUBLISHED: _l("Published"),
    CourseStatus.ARCHIVED: _l("Archived"),
}

course_instructors = Table(
    "course_instructors", Base.metadata,
    Column("course_id", ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)

course_prerequisites = Table(
    "course_prerequisites", Base.metadata,
    Column("course_id", ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True),
    Column("required_course_id", ForeignKey("courses.id", ondelete="CASCADE"),
           primary_key=True),
)


class Course(TimestampMixin, Base):
    """A course of an institution, in one or more languages."""

    __tablename__ = "courses"
    __table_args__ = (Index("ix_courses_catalogue", "status", "published_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    title_bo: Mapped[str | None] = mapped_column(String(200))
    title_zh: Mapped[str | None] = mapped_column(String(200))
    title_en: Mapped[str | None] = mapped_column(String(200))
    summary_bo: Mapped[str | None] = mapped_column(Text)
    summary_zh: Mapped[str | None] = mapped_column(Text)
    summary_en: Mapped[str | None] = mapped_column(Text)
    occupation_code: Mapped[str] = mapped_column(String(16), index=True)
    occupation_name_bo: Mapped[str | None] = mapped_column(String(200))
    occupation_name_zh: Mapped[str | None] = mapped_column(String(200))
    occupation_name_en: Mapped[str | None] = mapped_column(String(200))
    skill_level: Mapped[SkillLevel] = mapped_column(enum_column(SkillLevel), index=True)
    training_type: Mapped[TrainingType] = mapped_column(enum_column(TrainingType), index=True)
    nominal_hours: Mapped[Decimal] = mapped_column(Numeric(7, 1))
    subsidised: Mapped[bool] = mapped_column(default=False, index=True)
    #: Lessons open one after another: a lesson opens when the previous required one is done.
    sequential: Mapped[bool] = mapped_column(default=False)
    status: Mapped[CourseStatus] = mapped_column(enum_column(CourseStatus),
                                                 default=CourseStatus.DRAFT)
    cover_key: Mapped[str | None] = mapped_column(String(200))
    published_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    institution: Mapped[Institution] = relationship()
    sections: Mapped[list[Section]] = relationship(
        back_populates="course", order_by="Section.position", cascade="all, delete-orphan")
    lessons: Mapped[list[Lesson]] = relationship(
        back_populates="course", order_by="(Lesson.section_position, Lesson.position)",
        viewonly=True)
    instructors: Mapped[list[User]] = relationship(secondary=course_instructors)
    prerequisites: Mapped[list[Course]] = relationship(
        secondary=course_prerequisites,
        primaryjoin=lambda: Course.id == course_prerequisites.c.course_id,
        secondaryjoin=lambda: Course.id == course_prerequisites.c.required_course_id)

    @property
    def title(self) -> str:
        return localized(self, "title")

    @property
    def summary(self) -> str:
        return localized(self, "summary")

    @property
    def occupation_name(self) -> str:
        return localized(self, "occupation_name")

    @property
    def languages(self) -> list[str]:
        return content_languages(self, "title")

    @property
    def is_published(self) -> bool:
        return self.status == CourseStatus.PUBLISHED

    def __repr__(self) -> str:
        return f"<Course {self.code}>"


class Section(Base):
    """A chapter of a course (章节): an ordered group of lessons."""

    __tablename__ = "sections"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"),
                                           index=True)
    position: Mapped[int] = mapped_column(default=0)
    title_bo: Mapped[str | None] = mapped_column(String(200))
    title_zh: Mapped[str | None] = mapped_column(String(200))
    title_en: Mapped[str | None] = mapped_column(String(200))

    course: Mapped[Course] = relationship(back_populates="sections")
    lessons: Mapped[list[Lesson]] = relationship(
        back_populates="section", order_by="Lesson.position", cascade="all, delete-orphan")

    @property
    def title(self) -> str:
        return localized(self, "title")


class Lesson(TimestampMixin, Base):
    """One lesson; its ``kind`` names the registered lesson kind that renders and completes it."""

    __tablename__ = "lessons"
    __table_args__ = (Index("ix_lessons_course_order", "course_id", "section_position",
                            "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id", ondelete="CASCADE"),
                                            index=True)
    #: The section's position, copied here so a course's lessons sort in one indexed query.
    section_position: Mapped[int] = mapped_column(default=0)
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[str] = mapped_column(String(32))
    title_bo: Mapped[str | None] = mapped_column(String(200))
    title_zh: Mapped[str | None] = mapped_column(String(200))
    title_en: Mapped[str | None] = mapped_column(String(200))
    #: Markdown: the lesson text, or the instructions of a video, quiz or practical lesson.
    body_bo: Mapped[str | None] = mapped_column(Text)
    body_zh: Mapped[str | None] = mapped_column(Text)
    body_en: Mapped[str | None] = mapped_column(Text)
    credit_hours: Mapped[Decimal] = mapped_column(Numeric(6, 2), default=Decimal("0"))
    required: Mapped[bool] = mapped_column(default=True)
    is_published: Mapped[bool] = mapped_column(default=True)
    #: Text lessons: seconds of reading, measured by the server, before the lesson is complete.
    min_reading_seconds: Mapped[int] = mapped_column(default=60)

    course: Mapped[Course] = relationship(back_populates="lessons", viewonly=True)
    section: Mapped[Section] = relationship(back_populates="lessons")
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="lesson", order_by="Attachment.id", cascade="all, delete-orphan")

    @property
    def title(self) -> str:
        return localized(self, "title")

    @property
    def body(self) -> str:
        return localized(self, "body")

    def __repr__(self) -> str:
        return f"<Lesson {self.id} {self.kind}>"


class Attachment(Base):
    """A file of an attachment lesson (PDF or image), checked by its content."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"),
                                           index=True)
    key: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    lesson: Mapped[Lesson] = relationship(back_populates="attachments")


class EnrolmentStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"


class Enrolment(Base):
    """A learner's place in a course."""

    __tablename__ = "enrolments"
    __table_args__ = (UniqueConstraint("course_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"),
                                           index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[EnrolmentStatus] = mapped_column(enum_column(EnrolmentStatus),
                                                    default=EnrolmentStatus.ACTIVE)
    enrolled_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    last_activity_at: Mapped[datetime | None]
    #: Moves on whenever the learner's progress in any lesson of the course changes, so
    #: one column says whether a page drawn from that progress is still true (moved on by
    #: ``courses.listeners``).
    progress_version: Mapped[int] = mapped_column(default=0, server_default="0")

    course: Mapped[Course] = relationship()
    user: Mapped[User] = relationship()

    @property
    def is_active(self) -> bool:
        return self.status != EnrolmentStatus.WITHDRAWN


class LessonProgress(Base):
    """What one learner has done in one lesson; ``completed_at`` is set exactly once."""

    __tablename__ = "lesson_progress"
    __table_args__ = (UniqueConstraint("enrolment_id", "lesson_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"),
                                              index=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"),
                                           index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: When the learner last opened the lesson page (reading time is measured from it).
    viewed_at: Mapped[datetime | None]
    #: Seconds of study the server has verified (reading time, unique watched seconds ...).
    verified_seconds: Mapped[int] = mapped_column(default=0)
    completed_at: Mapped[datetime | None]
    #: What completed it (e.g. ``{"attempt": 12}``), kept for the training record.
    evidence: Mapped[dict[str, Any] | None]

    enrolment: Mapped[Enrolment] = relationship()
    lesson: Mapped[Lesson] = relationship()


class StudyClock(Base):
    """One learner's clock for verified study time, shared by everything they study.

    A learner studies one thing at a time: reading in one tab while a video
    plays in another, or two videos at once, earns the time that passed once.
    Every credit of study time (a reading report, a watch report) locks this
    row first, takes its time from it and moves it on.
    """

    __tablename__ = "study_clocks"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    #: Server time (epoch seconds) of the learner's last credited study report.
    last_report_at: Mapped[float | None]
    #: Time earned and not yet spent on watching (``lms.video.watch``).
    carry_s: Mapped[float] = mapped_column(default=0.0)
