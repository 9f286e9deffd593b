"""Quizzes: settings, attempts drawn from the bank, saving answers, submitting, grading essays.

Time is the server's: an attempt's deadline is fixed when it starts, and an
answer saved later than the deadline plus ``QUIZ_GRACE_SECONDS`` is refused, so
it never counts. Every function that depends on the time takes ``now``. The
study time an attempt earns is measured like reading: from one sign of work
to the next (start, saves, the submit), each gap capped, never past the
deadline, and through the learner's study clock, so time already credited to
a video or a text in another tab is not counted again.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import Forbidden

from lms.assessment import formats
from lms.assessment.models import (
    Attempt,
    AttemptSlot,
    AttemptState,
    GradingMethod,
    Question,
    QuestionCategory,
    Quiz,
    QuizQuestion,
    ReviewPolicy,
    Selection,
)
from lms.assessment.permissions import can_grade_attempt, can_manage_bank
from lms.assessment.questions import QUESTION_TYPES, qtype_of
from lms.core.errors import UserError
from lms.core.forms import typed_number
from lms.courses.models import Course, Enrolment, Lesson, StudyClock
from lms.courses.operations import complete_lesson, progress_for, study_clock
from lms.extensions import db
from lms.users.models import User

_FIELD = re.compile(r"^q([0-9]{1,18})(?:\.[0-9]{1,18})?$")
CENT = Decimal("0.01")
#: The most one gap between signs of work on an attempt earns: a learner who walks away
#: from an open quiz for a day is credited ten minutes of it, not the day.
QUIZ_GAP_CAP_SECONDS = 600


def quiz_for(lesson: Lesson) -> Quiz | None:
    """The settings of a quiz lesson (None until an instructor saves them)."""
    return db.session.scalar(select(Quiz).where(Quiz.lesson_id == lesson.id))


def _int(values: dict[str, Any], key: str, low: int, high: int, field: str | None = None) -> int:
    try:
        value = int(values.get(key) or 0)
    except (TypeError, ValueError):
        value = -1
    if not low <= value <= high:
        raise UserError(_l("Enter a whole number between %(low)s and %(high)s.",
                           low=low, high=high), field or key)
    return value


def save_quiz_settings(actor: User, lesson: Lesson, **values: Any) -> Quiz:
    """Create or change a quiz lesson's settings."""
    course = db.session.get(Course, lesson.course_id)
    if not can_manage_bank(actor, course) or lesson.kind != "quiz":
        raise Forbidden()
    quiz = quiz_for(lesson)
    if quiz is None:
        quiz = Quiz(lesson_id=lesson.id, course_id=course.id)
        db.session.add(quiz)
    quiz.selection = Selection(values.get("selection") or Selection.RANDOM)
    quiz.question_count = _int(values, "question_count", 1, 200)
    quiz.shuffle_questions = bool(values.get("shuffle_questions"))
    quiz.shuffle_options = bool(values.get("shuffle_options"))
    quiz.pass_percent = _int(values, "pass_percent", 0, 100)
    quiz.time_limit_seconds = _int(values, "time_limit_minutes", 0, 600) * 60
    quiz.max_attempts = _int(values, "max_attempts", 0, 100)
    quiz.grading = GradingMethod(values.get("grading") or GradingMethod.HIGHEST)
    quiz.review = ReviewPolicy(values.get("review") or ReviewPolicy.AFTER_SUBMISSION)
    category_ids = set(values.get("categories") or [])
    quiz.categories = list(db.session.scalars(select(QuestionCategory).where(
        QuestionCategory.course_id == course.id, QuestionCategory.id.in_(category_ids))))
    question_ids = list(dict.fromkeys(values.get("questions") or []))
    bank = {q.id: q for q in db.session.scalars(select(Question).where(
        Question.course_id == course.id, Question.is_active.is_(True),
        Question.id.in_(question_ids)))}
    quiz.fixed_questions = [QuizQuestion(question_id=qid, position=n)
                            for n, qid in enumerate(i for i in question_ids if i in bank)]
    if quiz.selection == Selection.RANDOM and not quiz.categories:
        raise UserError(_l("Choose the categories to draw questions from."), "categories")
    if quiz.selection == Selection.FIXED and not quiz.fixed_questions:
        raise UserError(_l("Choose the questions of the quiz."), "questions")
    db.session.flush()
    return quiz


def candidate_questions(quiz: Quiz) -> list[Question]:
    """The questions an attempt may use: the fixed list, or the chosen categories' questions."""
    if quiz.selection == Selection.FIXED:
        return [fq.question for fq in quiz.fixed_questions if fq.question.is_active]
    ids = [c.id for c in quiz.categories]
    return list(db.session.scalars(select(Question).where(
        Question.category_id.in_(ids or [-1]), Question.is_active.is_(True),
        Question.qtype != formats.DESCRIPTION).order_by(Question.id)))


def quiz_problems(quiz: Quiz | None) -> list[str]:
    """What keeps a quiz from being taken."""
    if quiz is None:
        return [str(_l("Set up the quiz: choose its questions."))]
    if not candidate_questions(quiz):
        return [str(_l("The quiz has no questions to draw from."))]
    return []


def draw_questions(quiz: Quiz, rng: random.Random) -> list[Question]:
    """The questions of a new attempt, in the order the learner sees them."""
    pool = candidate_questions(quiz)
    if quiz.selection == Selection.RANDOM:
        chosen = rng.sample(pool, min(quiz.question_count, len(pool)))
        if not quiz.shuffle_questions:
            chosen.sort(key=lambda q: (q.category.name, q.id))
        return chosen
    if quiz.shuffle_questions:
        rng.shuffle(pool)
    return pool


# --- attempts -------------------------------------------------------------------------

def grace() -> timedelta:
    return timedelta(seconds=current_app.config["QUIZ_GRACE_SECONDS"])


def is_overdue(attempt: Attempt, now: datetime) -> bool:
    """Past the deadline and its grace: nothing more counts."""
    return attempt.deadline_at is not None and now > attempt.deadline_at + grace()


def attempts_of(quiz: Quiz, user: User) -> list[Attempt]:
    """A learner's attempts at a quiz, oldest first."""
    return list(db.session.scalars(select(Attempt).where(
        Attempt.quiz_id == quiz.id, Attempt.user_id == user.id).order_by(Attempt.number)))


def attempts_left(quiz: Quiz, user: User) -> int | None:
    """How many more attempts a learner may start (None: unlimited)."""
    if not quiz.max_attempts:
        return None
    used = db.session.scalar(select(func.count(Attempt.id)).where(
        Attempt.quiz_id == quiz.id, Attempt.user_id == user.id))
    return max(0, quiz.max_attempts - used)


def start_attempt(user: User, enrolment: Enrolment, quiz: Quiz, *, now: datetime,
                  rng: random.Random | None = None) -> Attempt:
    """Start an attempt, or return the one in progress (a reload or a second tab resumes it)."""
    rng = rng or random.SystemRandom()
    attempts = attempts_of(quiz, user)
    current = next((a for a in attempts if a.is_open), None)
    if current is not None and close_if_overdue(current, now):
        current = None
    if current is not None:
        return current
    if quiz.max_attempts and len(attempts) >= quiz.max_attempts:
        raise UserError(_l("You have used all %(n)s attempts at this quiz.", n=quiz.max_attempts))
    questions = draw_questions(quiz, rng)
    if not questions:
        raise UserError(_l("This quiz has no questions yet."))
    attempt = Attempt(quiz_id=quiz.id, user_id=user.id, enrolment_id=enrolment.id,
                      number=len(attempts) + 1, started_at=now, active_at=now,
                      deadline_at=now + timedelta(seconds=quiz.time_limit_seconds)
                      if quiz.time_limit_seconds else None)
    for position, question in enumerate(questions):
        qtype = qtype_of(question)
        attempt.slots.append(AttemptSlot(
            question_id=question.id, position=position,
            layout=qtype.layout(question, rng, quiz.shuffle_options),
            mark=question.mark if qtype.scored else Decimal("0")))
    try:
        with db.session.begin_nested():
            db.session.add(attempt)
    except IntegrityError:  # another tab started this attempt at the same moment
        return next(a for a in attempts_of(quiz, user) if a.number == len(attempts) + 1)
    return attempt


def read_answers(attempt: Attempt, form: MultiDict) -> dict[int, dict[str, Any] | None]:
    """Every answer of the posted form, by slot id; refuses fields for other questions and
    values the questions do not offer. A question without a field is unanswered."""
    slots = {slot.question_id: slot for slot in attempt.slots}
    for key in form:
        found = _FIELD.match(key)
        if found and int(found[1]) not in slots:
            raise UserError(_l("An answer was sent for a question that is not in this attempt."))
    return {slot.id: qtype_of(slot.question).read(slot.question, slot.layout, form)
            for slot in slots.values()}


def _lock(attempt: Attempt) -> None:
    # PostgreSQL: a save and a submit of the same attempt take turns (SQLite writers always do).
    db.session.refresh(attempt, with_for_update=True)


def note_study(attempt: Attempt, clock: StudyClock, now: datetime) -> int:
    """Credit the attempt the time since the learner's last sign of work, capped; returns it.

    The caller holds the learner's study clock (:func:`study_clock`, locked
    before the attempt, as every kind of study takes its locks) and the attempt.
    """
    until = min(now, attempt.deadline_at) if attempt.deadline_at is not None else now
    anchors = [attempt.active_at or attempt.started_at]
    if clock.last_report_at is not None:
        anchors.append(datetime.fromtimestamp(clock.last_report_at, UTC))
    elapsed = (until - max(anchors)).total_seconds()
    credit = int(max(0.0, min(elapsed, QUIZ_GAP_CAP_SECONDS)))
    attempt.studied_s = (attempt.studied_s or 0) + credit
    attempt.active_at = max(attempt.active_at or attempt.started_at, until)
    if clock.last_report_at is None or until.timestamp() > clock.last_report_at:
        # The time up to here is spent on the quiz: a video in another tab starts from here.
        clock.last_report_at, clock.carry_s = until.timestamp(), 0.0
    return credit


def save_answers(attempt: Attempt, form: MultiDict, *, now: datetime) -> int:
    """Store the posted answers of an open attempt; returns how many changed."""
    answers = read_answers(attempt, form)
    clock = study_clock(attempt.user_id)
    _lock(attempt)
    if not attempt.is_open:
        raise UserError(_l("This attempt has been submitted; answers can no longer change."))
    if is_overdue(attempt, now):
        raise UserError(_l("Time is up: answers sent after the time limit are not counted."))
    note_study(attempt, clock, now)
    changed = 0
    for slot in attempt.slots:
        response = answers.get(slot.id)
        if response != slot.response:
            slot.response, slot.saved_at = response, now
            changed += 1
    db.session.flush()
    return changed


def submit_attempt(attempt: Attempt, *, now: datetime) -> bool:
    """Hand an attempt in and grade it. The conditional UPDATE is the guard: of two submits
    (a double click, two tabs) only one grades. Returns whether this call did."""
    clock = study_clock(attempt.user_id)  # first, as every kind of study locks it
    result = db.session.execute(
        update(Attempt).where(Attempt.id == attempt.id,
                              Attempt.state == AttemptState.IN_PROGRESS)
        .values(state=AttemptState.GRADING, submitted_at=now)
        .execution_options(synchronize_session=False))
    db.session.refresh(attempt)
    if result.rowcount != 1:
        return False
    note_study(attempt, clock, now)
    for slot in attempt.slots:
        qtype = qtype_of(slot.question)
        if not qtype.scored:
            continue
        if qtype.graded_by_hand:
            slot.needs_grading = slot.response is not None
            if not slot.needs_grading:
                slot.fraction, slot.points = 0.0, Decimal("0")
            continue
        slot.fraction = qtype.score(slot.question, slot.layout, slot.response) or 0.0
        slot.points = _points(slot.mark, slot.fraction)
    db.session.flush()
    if not any(slot.needs_grading for slot in attempt.slots):
        _finish(attempt, now)
    return True


def close_if_overdue(attempt: Attempt, now: datetime) -> bool:
    """Submit an attempt whose time ran out with the answers saved in time."""
    if attempt.is_open and is_overdue(attempt, now):
        return submit_attempt(attempt, now=now)
    return False


def _points(mark: Decimal, fraction: float) -> Decimal:
    return (mark * Decimal(str(fraction))).quantize(CENT, ROUND_HALF_UP)


def _finish(attempt: Attempt, now: datetime) -> None:
    scored = [s for s in attempt.slots if QUESTION_TYPES[s.question.qtype].scored]
    attempt.score = sum((s.points or Decimal("0") for s in scored), Decimal("0"))
    attempt.max_score = sum((s.mark for s in scored), Decimal("0"))
    attempt.percent = (Decimal("100") * attempt.score / attempt.max_score).quantize(
        CENT, ROUND_HALF_UP) if attempt.max_score else Decimal("0")
    quiz = attempt.quiz
    attempt.passed = attempt.percent >= quiz.pass_percent
    attempt.state, attempt.finished_at = AttemptState.FINISHED, now
    db.session.flush()
    if attempt.passed:
        enrolment = db.session.get(Enrolment, attempt.enrolment_id)
        progress = progress_for(enrolment, quiz.lesson)
        complete_lesson(progress, evidence={"attempt": attempt.id, "score": float(attempt.percent)},
                        verified_seconds=attempt_seconds(attempt), now=now)


def attempt_seconds(attempt: Attempt) -> int:
    """Study time a quiz earned its learner: what the server verified on every attempt they
    handed in at it, the failed ones too (see :func:`note_study`)."""
    return int(db.session.scalar(select(func.coalesce(func.sum(Attempt.studied_s), 0)).where(
        Attempt.quiz_id == attempt.quiz_id, Attempt.user_id == attempt.user_id,
        Attempt.submitted_at.is_not(None))) or 0)


def grade_essay(grader: User, slot: AttemptSlot, *, points: Any, feedback: str | None,
                now: datetime) -> None:
    """Score an essay; when the attempt's last essay is scored, the attempt is final."""
    attempt = slot.attempt
    course = db.session.get(Course, attempt.quiz.course_id)
    if not can_grade_attempt(grader, attempt, course):
        raise Forbidden()
    try:
        value = typed_number(points).quantize(CENT, ROUND_HALF_UP)
    except ValueError:
        value = Decimal("-1")
    if not Decimal("0") <= value <= slot.mark:
        raise UserError(_l("Give between 0 and %(mark)s points.", mark=slot.mark), "points")
    # Two graders scoring the attempt's last two essays take turns, so the second sees the
    # first's score and finishes the attempt (PostgreSQL; SQLite writers always take turns).
    _lock(attempt)
    result = db.session.execute(
        update(AttemptSlot).where(AttemptSlot.id == slot.id, AttemptSlot.needs_grading.is_(True))
        .values(needs_grading=False, points=value,
                fraction=float(value / slot.mark) if slot.mark else 0.0,
                graded_by_id=grader.id, graded_at=now, grader_feedback=feedback or None)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise UserError(_l("This answer has already been graded."))
    db.session.refresh(attempt)
    for other in attempt.slots:
        db.session.refresh(other)
    if attempt.state == AttemptState.GRADING and not any(s.needs_grading for s in attempt.slots):
        _finish(attempt, now)


# --- results -------------------------------------------------------------------------------

def quiz_result(quiz: Quiz, attempts: list[Attempt]) -> Attempt | None:
    """The attempt that counts: the highest or the last finished one, by the quiz's method."""
    finished = [a for a in attempts if a.state == AttemptState.FINISHED]
    if not finished:
        return None
    if quiz.grading == GradingMethod.LAST:
        return max(finished, key=lambda a: a.number)
    return max(finished, key=lambda a: (a.percent or 0, -a.number))


def shows_answers(quiz: Quiz, attempt: Attempt, attempts: list[Attempt]) -> bool:
    """Whether the learner's review of a submitted attempt shows correct answers and feedback.

    "After the last attempt" means once no attempt is open and none may be started.
    """
    if attempt.is_open:
        return False
    if quiz.review == ReviewPolicy.AFTER_SUBMISSION:
        return True
    if quiz.review == ReviewPolicy.AFTER_LAST_ATTEMPT:
        return bool(quiz.max_attempts) and len(attempts) >= quiz.max_attempts and not any(
            a.is_open for a in attempts)
    return False
