"""Question banks and quizzes: categories, questions and options, quiz settings, attempts.

Question text, options and feedback have one column per content language and
are shown in the first language the reader can use. A finished attempt is
never rewritten: it is the learner's history.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import Base, TimestampMixin, enum_column, utcnow
from lms.core.i18n import CONTENT_LANGS, FALLBACK, content_languages, current_locale, localized
from lms.courses.models import Course, Lesson
from lms.users.models import User


def text_in(obj: Any, field: str, lang: str) -> str:
    """``obj.<field>_<lang>``, or the field in the reader's first available language."""
    return getattr(obj, f"{field}_{lang}", None) or localized(obj, field)


# --- question banks -------------------------------------------------------------

class QuestionCategory(Base):
    """A folder of a course's question bank; its name is a path such as ``唐卡/颜料``."""

    __tablename__ = "question_categories"
    __table_args__ = (UniqueConstraint("course_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"),
                                           index=True)
    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    course: Mapped[Course] = relationship()


class Question(TimestampMixin, Base):
    """A question of a course's bank; ``qtype`` is a key of the question-type registry."""

    __tablename__ = "questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"),
                                           index=True)
    category_id: Mapped[int] = mapped_column(
        ForeignKey("question_categories.id", ondelete="CASCADE"), index=True)
    qtype: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255))
    #: How the text is written: ``markdown``, ``plain``/``moodle`` (text) or ``html``.
    text_format: Mapped[str] = mapped_column(String(16), default="markdown")
    text_bo: Mapped[str | None] = mapped_column(Text)
    text_zh: Mapped[str | None] = mapped_column(Text)
    text_en: Mapped[str | None] = mapped_column(Text)
    general_feedback_bo: Mapped[str | None] = mapped_column(Text)
    general_feedback_zh: Mapped[str | None] = mapped_column(Text)
    general_feedback_en: Mapped[str | None] = mapped_column(Text)
    #: Points the question is worth in a quiz.
    mark: Mapped[Decimal] = mapped_column(Numeric(6, 2), default=Decimal("1"))
    #: Format details kept for export (e.g. ``{"missing_word": true}``).
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Questions that attempts used are retired, not deleted, so the attempts stay whole.
    is_active: Mapped[bool] = mapped_column(default=True)

    category: Mapped[QuestionCategory] = relationship()
    options: Mapped[list[QuestionOption]] = relationship(
        back_populates="question", order_by="QuestionOption.position",
        cascade="all, delete-orphan")

    @property
    def languages(self) -> list[str]:
        return content_languages(self, "text")

    def display_lang(self, locale: str | None = None) -> str:
        """The content language this question is shown in to the reader."""
        order = FALLBACK.get(locale or current_locale(), CONTENT_LANGS)
        return next((lang for lang in order if getattr(self, f"text_{lang}")), order[0])

    def __repr__(self) -> str:
        return f"<Question {self.id} {self.qtype}>"


class QuestionOption(Base):
    """An answer of a question: a choice, an accepted text, a number or a matching pair.

    ``fraction`` is the share of the question's mark it earns (-1..1). Numerical
    answers use ``value`` ± ``tolerance`` or ``range_min``..``range_max``; an option
    with neither is the "any other answer" entry. True/false options carry
    ``value`` 1 (true) or 0 (false). Matching pairs map ``text`` to ``match``; a
    pair without text is a distractor.
    """

    __tablename__ = "question_options"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"),
                                             index=True)
    position: Mapped[int] = mapped_column(default=0)
    text_bo: Mapped[str | None] = mapped_column(Text)
    text_zh: Mapped[str | None] = mapped_column(Text)
    text_en: Mapped[str | None] = mapped_column(Text)
    feedback_bo: Mapped[str | None] = mapped_column(Text)
    feedback_zh: Mapped[str | None] = mapped_column(Text)
    feedback_en: Mapped[str | None] = mapped_column(Text)
    match_bo: Mapped[str | None] = mapped_column(Text)
    match_zh: Mapped[str | None] = mapped_column(Text)
    match_en: Mapped[str | None] = mapped_column(Text)
    fraction: Mapped[float] = mapped_column(Float, default=0.0)
    value: Mapped[float | None] = mapped_column(Float)
    tolerance: Mapped[float | None] = mapped_column(Float)
    range_min: Mapped[float | None] = mapped_column(Float)
    range_max: Mapped[float | None] = mapped_column(Float)

    question: Mapped[Question] = relationship(back_populates="options")

    def texts(self, field: str = "text") -> list[str]:
        """Every filled-in language version of ``field``."""
        return [v for lang in CONTENT_LANGS if (v := getattr(self, f"{field}_{lang}"))]


# --- quizzes and attempts -------------------------------------------------------------

class Selection(StrEnum):
    RANDOM = "random"
    FIXED = "fixed"


class GradingMethod(StrEnum):
    HIGHEST = "highest"
    LAST = "last"


class ReviewPolicy(StrEnum):
    SCORE_ONLY = "score_only"
    AFTER_SUBMISSION = "after_submission"
    AFTER_LAST_ATTEMPT = "after_last_attempt"


SELECTION_LABELS = {
    Selection.RANDOM: _l("Draw questions at random from categories"),
    Selection.FIXED: _l("A fixed list of questions"),
}
GRADING_LABELS = {
    GradingMethod.HIGHEST: _l("Highest attempt"),
    GradingMethod.LAST: _l("Last attempt"),
}
REVIEW_LABELS = {
    ReviewPolicy.SCORE_ONLY: _l("Show the score only"),
    ReviewPolicy.AFTER_SUBMISSION: _l("Show correct answers and feedback after each attempt"),
    ReviewPolicy.AFTER_LAST_ATTEMPT: _l("Show correct answers and feedback after the last "
                                        "attempt"),
}

quiz_categories = Table(
    "quiz_categories", Base.metadata,
    Column("quiz_id", ForeignKey("quizzes.id", ondelete="CASCADE"), primary_key=True),
    Column("category_id", ForeignKey("question_categories.id", ondelete="CASCADE"),
           primary_key=True),
)


class Quiz(Base):
    """The settings of a quiz lesson."""

    __tablename__ = "quizzes"

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"),
                                           unique=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"),
                                           index=True)
    selection: Mapped[Selection] = mapped_column(enum_column(Selection),
                                                 default=Selection.RANDOM)
    #: Random selection: how many questions each attempt draws.
    question_count: Mapped[int] = mapped_column(default=10)
    shuffle_questions: Mapped[bool] = mapped_column(default=True)
    shuffle_options: Mapped[bool] = mapped_column(default=True)
    pass_percent: Mapped[int] = mapped_column(default=60)
    #: 0: no time limit.
    time_limit_seconds: Mapped[int] = mapped_column(default=0)
    #: 0: unlimited attempts.
    max_attempts: Mapped[int] = mapped_column(default=0)
    grading: Mapped[GradingMethod] = mapped_column(enum_column(GradingMethod),
                                                   default=GradingMethod.HIGHEST)
    review: Mapped[ReviewPolicy] = mapped_column(enum_column(ReviewPolicy),
                                                 default=ReviewPolicy.AFTER_SUBMISSION)

    lesson: Mapped[Lesson] = relationship()
    categories: Mapped[list[QuestionCategory]] = relationship(secondary=quiz_categories)
    fixed_questions: Mapped[list[QuizQuestion]] = relationship(
        order_by="QuizQuestion.position", cascade="all, delete-orphan")


class QuizQuestion(Base):
    """A question of a quiz with a fixed list, in its place."""

    __tablename__ = "quiz_questions"

    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"),
                                         primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"),
                                             primary_key=True)
    position: Mapped[int] = mapped_column(default=0)

    question: Mapped[Question] = relationship()


class AttemptState(StrEnum):
    IN_PROGRESS = "in_progress"
    #: Submitted; essays wait for the instructor.
    GRADING = "grading"
    FINISHED = "finished"


class Attempt(Base):
    """One learner's attempt at a quiz: the questions drawn, the answers, the result."""

    __tablename__ = "quiz_attempts"
    __table_args__ = (UniqueConstraint("quiz_id", "user_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"),
                                         index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"),
                                              index=True)
    number: Mapped[int] = mapped_column(default=1)
    state: Mapped[AttemptState] = mapped_column(enum_column(AttemptState),
                                                default=AttemptState.IN_PROGRESS)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: When the time limit runs out (None: no limit).
    deadline_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    #: The learner's last sign of work on it (start, a save, the submit).
    active_at: Mapped[datetime | None]
    #: Study time the server verified on it (``operations.quizzes.note_study``).
    studied_s: Mapped[int] = mapped_column(default=0, server_default="0")
    score: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    max_score: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    passed: Mapped[bool | None]

    quiz: Mapped[Quiz] = relationship()
    user: Mapped[User] = relationship()
    slots: Mapped[list[AttemptSlot]] = relationship(
        back_populates="attempt", order_by="AttemptSlot.position", cascade="all, delete-orphan")

    @property
    def is_open(self) -> bool:
        return self.state == AttemptState.IN_PROGRESS


class AttemptSlot(Base):
    """A question as it appears in one attempt: its place, option order and the answer."""

    __tablename__ = "quiz_attempt_questions"
    __table_args__ = (UniqueConstraint("attempt_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("quiz_attempts.id", ondelete="CASCADE"),
                                            index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    #: Per-attempt presentation (shuffled option ids ...), so a reload shows the same order.
    layout: Mapped[dict[str, Any]] = mapped_column(default=dict)
    response: Mapped[dict[str, Any] | None]
    saved_at: Mapped[datetime | None]
    mark: Mapped[Decimal] = mapped_column(Numeric(6, 2), default=Decimal("1"))
    fraction: Mapped[float | None] = mapped_column(Float)
    points: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    needs_grading: Mapped[bool] = mapped_column(default=False)
    graded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    graded_at: Mapped[datetime | None]
    grader_feedback: Mapped[str | None] = mapped_column(Text)

    attempt: Mapped[Attempt] = relationship(back_populates="slots")
    question: Mapped[Question] = relationship()
