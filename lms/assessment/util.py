"""Read-side queries: banks, a learner's practical stages, queues, gradebooks, apprenticeships."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import selectinload

from lms.assessment.models import (
    Attempt,
    AttemptSlot,
    AttemptState,
    Pairing,
    PracticalStage,
    PracticalTask,
    Question,
    QuestionCategory,
    Quiz,
    Review,
    Submission,
    SubmissionState,
)
from lms.assessment.operations.quizzes import quiz_result
from lms.core.i18n import DISPLAY_TZ
from lms.courses.models import Course, Enrolment, Lesson, TrainingType
from lms.extensions import db
from lms.users.models import Role, User

# --- banks ------------------------------------------------------------------------------

def categories_with_counts(course: Course) -> list[tuple[QuestionCategory, int]]:
    """A course's categories by name, each with its number of active questions."""
    count = (select(Question.category_id, func.count(Question.id).label("n"))
             .where(Question.is_active.is_(True)).group_by(Question.category_id).subquery())
    rows = db.session.execute(
        select(QuestionCategory, func.coalesce(count.c.n, 0))
        .outerjoin(count, count.c.category_id == QuestionCategory.id)
        .where(QuestionCategory.course_id == course.id).order_by(QuestionCategory.name)).all()
    return [(category, n) for category, n in rows]


def bank_questions(course: Course, category_id: int | None = None) -> Select:
    """A course's active questions (of one category), by category and id."""
    stmt = (select(Question).join(QuestionCategory)
            .where(Question.course_id == course.id, Question.is_active.is_(True))
            .options(selectinload(Question.category))
            .order_by(QuestionCategory.name, Question.id))
    if category_id:
        stmt = stmt.where(Question.category_id == category_id)
    return stmt


# --- a learner's practical task -------------------------------------------------------------

@dataclass
class StageView:
    """One stage of a practical task as a learner stands in it."""

    stage: PracticalStage
    submissions: list[Submission]
    open: bool

    @property
    def draft(self) -> Submission | None:
        return next((s for s in self.submissions if s.state == SubmissionState.DRAFT), None)

    @property
    def approved(self) -> bool:
        return any(s.state == SubmissionState.APPROVED for s in self.submissions)

    @property
    def waiting(self) -> bool:
        return any(s.state == SubmissionState.SUBMITTED for s in self.submissions)

    @property
    def can_work(self) -> bool:
        return self.open and not self.approved and not self.waiting

    @property
    def history(self) -> list[Submission]:
        return [s for s in self.submissions if s.state != SubmissionState.DRAFT]


def stage_views(task: PracticalTask, user: User) -> list[StageView]:
    """Every stage of a task with the learner's submissions; a stage opens when the previous
    one is approved."""
    rows = db.session.scalars(select(Submission).where(
        Submission.task_id == task.id, Submission.user_id == user.id)
        .options(selectinload(Submission.evidence), selectinload(Submission.reviews))
        .order_by(Submission.number)).all()
    by_stage: dict[int, list[Submission]] = defaultdict(list)
    for row in rows:
        by_stage[row.stage_id].append(row)
    views, open_ = [], True
    for stage in task.stages:
        view = StageView(stage, by_stage[stage.id], open_)
        views.append(view)
        open_ = open_ and view.approved
    return views


# --- queues -----------------------------------------------------------------------------------

def _courses_edited_by(user: User) -> Any:
    if user.role == Role.REGIONAL_ADMIN:
        return Course.id.is_not(None)
    if user.role == Role.INSTITUTION_ADMIN:
        return Course.institution_id == user.institution_id
    if user.role == Role.INSTRUCTOR:
        return and_(Course.institution_id == user.institution_id,
                    Course.instructors.any(User.id == user.id))
    return Course.id.is_(None)


def review_queue(user: User, *, course_id: int | None = None,
                 stage_id: int | None = None) -> Select:
    """Submissions waiting for ``user``'s review, oldest first.

    Apprenticeship courses: the apprentice's current master and the
    institution's admins; other courses: their editors. Never one's own work.
    """
    master = exists().where(Pairing.course_id == Course.id,
                            Pairing.apprentice_id == Submission.user_id,
                            Pairing.master_id == user.id, Pairing.ended_at.is_(None))
    admin = (Course.institution_id == user.institution_id) \
        if user.role == Role.INSTITUTION_ADMIN else Course.id.is_(None)
    apprenticeship = Course.training_type == TrainingType.APPRENTICESHIP
    stmt = (select(Submission).join(PracticalTask, PracticalTask.id == Submission.task_id)
            .join(Course, Course.id == PracticalTask.course_id)
            .where(Submission.state == SubmissionState.SUBMITTED, Submission.user_id != user.id,
                   or_(and_(apprenticeship, or_(master, admin)),
                       and_(~apprenticeship, _courses_edited_by(user))))
            .options(selectinload(Submission.user), selectinload(Submission.stage),
                     selectinload(Submission.task).selectinload(PracticalTask.lesson))
            .order_by(Submission.submitted_at, Submission.id))
    if course_id:
        stmt = stmt.where(Course.id == course_id)
    if stage_id:
        stmt = stmt.where(Submission.stage_id == stage_id)
    return stmt


def review_queue_courses(user: User) -> list[Course]:
    """The courses with work waiting for ``user``'s review (for the queue's filter)."""
    ids = {s.task.course_id for s in db.session.scalars(review_queue(user))}
    return list(db.session.scalars(select(Course).where(Course.id.in_(ids or [-1]))
                                   .order_by(Course.code)))


def grading_queue(user: User) -> Select:
    """Submitted attempts with essays waiting for ``user`` to grade, oldest first."""
    waiting = exists().where(AttemptSlot.attempt_id == Attempt.id,
                             AttemptSlot.needs_grading.is_(True))
    return (select(Attempt).join(Quiz, Quiz.id == Attempt.quiz_id)
            .join(Course, Course.id == Quiz.course_id)
            .where(Attempt.state == AttemptState.GRADING, waiting, Attempt.user_id != user.id,
                   _courses_edited_by(user))
            .options(selectinload(Attempt.user), selectinload(Attempt.quiz).selectinload(
                Quiz.lesson))
            .order_by(Attempt.submitted_at, Attempt.id))


# --- gradebook ----------------------------------------------------------------------------------

STATUS_LABELS = {
    "passed": _l("Passed"),
    "failed": _l("Not passed"),
    "grading": _l("Waiting for grading"),
    "in_progress": _l("In progress"),
    "approved": _l("Approved"),
    "waiting": _l("Waiting for review"),
    "revision": _l("Revision requested"),
    "draft": _l("Preparing"),
    "": _l("Not started"),
}


@dataclass
class GradeCell:
    """A learner's standing in one quiz or practical task."""

    score: str = ""
    detail: str = ""
    status: str = ""

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status])


@dataclass
class GradebookRow:
    enrolment: Enrolment
    learner: User
    cells: list[GradeCell] = field(default_factory=list)


def _percent(value: Decimal | None) -> str:
    return "" if value is None else f"{value.normalize():f}%"


def _quiz_cells(quiz: Quiz | None, user_ids: list[int]) -> dict[int, GradeCell]:
    if quiz is None:
        return {}
    attempts: dict[int, list[Attempt]] = defaultdict(list)
    for attempt in db.session.scalars(select(Attempt).where(
            Attempt.quiz_id == quiz.id, Attempt.user_id.in_(user_ids or [-1]))
            .order_by(Attempt.number)):
        attempts[attempt.user_id].append(attempt)
    cells = {}
    for user_id, rows in attempts.items():
        result = quiz_result(quiz, rows)
        if any(a.passed for a in rows):
            status = "passed"
        elif any(a.state == AttemptState.GRADING for a in rows):
            status = "grading"
        elif any(a.is_open for a in rows):
            status = "in_progress"
        else:
            status = "failed"
        cells[user_id] = GradeCell(_percent(result.percent if result else None),
                                   ngettext("%(num)d attempt", "%(num)d attempts", len(rows)),
                                   status)
    return cells


def _task_cells(task: PracticalTask | None, user_ids: list[int]) -> dict[int, GradeCell]:
    if task is None:
        return {}
    subs: dict[int, list[Submission]] = defaultdict(list)
    for submission in db.session.scalars(select(Submission).where(
            Submission.task_id == task.id, Submission.user_id.in_(user_ids or [-1]))
            .options(selectinload(Submission.reviews)).order_by(Submission.id)):
        subs[submission.user_id].append(submission)
    cells = {}
    for user_id, rows in subs.items():
        approved = {s.stage_id for s in rows if s.state == SubmissionState.APPROVED}
        latest = rows[-1]
        reviews = [r for s in rows for r in s.reviews]
        if len(approved) >= len(task.stages):
            status = "approved"
        else:
            status = {SubmissionState.SUBMITTED: "waiting", SubmissionState.REVISION: "revision",
                      SubmissionState.DRAFT: "draft"}.get(latest.state, "draft")
        score = ""
        if reviews:
            last = max(reviews, key=lambda r: r.id)
            score = f"{last.points.normalize():f}/{last.max_points.normalize():f}"
        detail = str(_l("%(done)s of %(total)s stages", done=len(approved),
                        total=len(task.stages))) if len(task.stages) > 1 else ""
        cells[user_id] = GradeCell(score, detail, status)
    return cells


def gradebook(course: Course) -> tuple[list[Lesson], list[GradebookRow]]:
    """Learners × quizzes and practical tasks of a course, with scores, attempts and status."""
    lessons = list(db.session.scalars(select(Lesson).where(
        Lesson.course_id == course.id, Lesson.kind.in_(("quiz", "practical")))
        .order_by(Lesson.section_position, Lesson.position)))
    enrolments = db.session.scalars(select(Enrolment).where(Enrolment.course_id == course.id)
                                    .options(selectinload(Enrolment.user))
                                    .order_by(Enrolment.enrolled_at)).all()
    user_ids = [e.user_id for e in enrolments]
    columns = []
    for lesson in lessons:
        if lesson.kind == "quiz":
            quiz = db.session.scalar(select(Quiz).where(Quiz.lesson_id == lesson.id))
            columns.append(_quiz_cells(quiz, user_ids))
        else:
            task = db.session.scalar(select(PracticalTask).where(
                PracticalTask.lesson_id == lesson.id))
            columns.append(_task_cells(task, user_ids))
    rows = [GradebookRow(e, e.user, [col.get(e.user_id, GradeCell()) for col in columns])
            for e in enrolments]
    return lessons, rows


def waiting_by_enrolment(course: Course, enrolment_ids: list[int]) -> dict[int, str]:
    """For the progress table: work of each learner waiting for a teacher."""
    counts: dict[int, int] = defaultdict(int)
    for eid, n in db.session.execute(
            select(Submission.enrolment_id, func.count(Submission.id))
            .where(Submission.enrolment_id.in_(enrolment_ids or [-1]),
                   Submission.state == SubmissionState.SUBMITTED)
            .group_by(Submission.enrolment_id)):
        counts[eid] += n
    for eid, n in db.session.execute(
            select(Attempt.enrolment_id, func.count(Attempt.id))
            .where(Attempt.enrolment_id.in_(enrolment_ids or [-1]),
                   Attempt.state == AttemptState.GRADING)
            .group_by(Attempt.enrolment_id)):
        counts[eid] += n
    return {eid: str(n) for eid, n in counts.items() if n}


# --- apprenticeship ------------------------------------------------------------------------------

@dataclass
class Month:
    """The reviews of one month of an apprenticeship."""

    label: str
    reviews: list[Review]


def apprenticeship_history(course: Course, apprentice: User) -> tuple[list[Pairing], list[Month]]:
    """An apprentice's pairings and every review of their work, month by month, newest first."""
    pairings = list(db.session.scalars(select(Pairing).where(
        Pairing.course_id == course.id, Pairing.apprentice_id == apprentice.id)
        .options(selectinload(Pairing.master)).order_by(Pairing.started_at.desc())))
    reviews = db.session.scalars(
        select(Review).join(Submission, Submission.id == Review.submission_id)
        .join(PracticalTask, PracticalTask.id == Submission.task_id)
        .where(PracticalTask.course_id == course.id, Submission.user_id == apprentice.id)
        .options(selectinload(Review.reviewer),
                 selectinload(Review.submission).selectinload(Submission.stage),
                 selectinload(Review.submission).selectinload(Submission.task)
                 .selectinload(PracticalTask.lesson))
        .order_by(Review.created_at.desc(), Review.id.desc())).all()
    months: list[Month] = []
    for review in reviews:
        label = review.created_at.astimezone(DISPLAY_TZ).strftime("%Y-%m")
        if not months or months[-1].label != label:
            months.append(Month(label, []))
        months[-1].reviews.append(review)
    return pairings, months


def apprenticeships_of(user: User) -> list[Pairing]:
    """The pairings in force where ``user`` is the apprentice or the master."""
    return list(db.session.scalars(select(Pairing).where(
        Pairing.ended_at.is_(None),
        or_(Pairing.apprentice_id == user.id, Pairing.master_id == user.id))
        .options(selectinload(Pairing.course), selectinload(Pairing.apprentice),
                 selectinload(Pairing.master))
        .order_by(Pairing.started_at.desc())))
