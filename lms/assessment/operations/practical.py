"""Practical tasks: stages and rubrics, learners' submissions, reviews (their evidence
files: ``lms.assessment.operations.evidence``)."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import Forbidden

from lms.assessment.models import (
    EVIDENCE_KINDS,
    PracticalStage,
    PracticalTask,
    Review,
    ReviewDecision,
    RubricCriterion,
    RubricLevel,
    Submission,
    SubmissionState,
)
from lms.assessment.permissions import can_manage_bank, can_review_submission
from lms.core import signals
from lms.core.errors import UserError
from lms.core.forms import typed_number
from lms.core.i18n import listed, normalize_text, set_localized, snapshot
from lms.courses.models import Course, Enrolment, Lesson
from lms.courses.operations import complete_lesson, progress_for
from lms.extensions import db
from lms.users.models import User

CENT = Decimal("0.01")


def task_for(lesson: Lesson) -> PracticalTask | None:
    """The settings of a practical lesson (None until an instructor saves them)."""
    return db.session.scalar(select(PracticalTask).where(PracticalTask.lesson_id == lesson.id))


def _course(task_or_lesson: Any) -> Course:
    return db.session.get(Course, task_or_lesson.course_id)


def _check(actor: User, task_or_lesson: Any) -> None:
    if not can_manage_bank(actor, _course(task_or_lesson)):
        raise Forbidden()


def save_task(actor: User, lesson: Lesson, *, evidence_kinds: list[str],
              pass_percent: int) -> PracticalTask:
    """Create or change a practical lesson's evidence requirements and pass threshold."""
    _check(actor, lesson)
    if lesson.kind != "practical":
        raise Forbidden()
    kinds = [k for k in EVIDENCE_KINDS if k in set(evidence_kinds)]
    if not kinds:
        raise UserError(_l("Choose at least one kind of evidence."), "evidence_kinds")
    if not 0 <= int(pass_percent) <= 100:
        raise UserError(_l("The pass threshold is a percentage from 0 to 100."), "pass_percent")
    task = task_for(lesson)
    if task is None:
        task = PracticalTask(lesson_id=lesson.id, course_id=lesson.course_id)
        task.stages.append(PracticalStage(position=0))
        db.session.add(task)
    task.evidence_kinds, task.pass_percent = kinds, int(pass_percent)
    db.session.flush()
    return task


def save_stage(actor: User, task: PracticalTask, stage: PracticalStage | None,
               **values: Any) -> PracticalStage:
    """Add a stage at the end, or rename one."""
    _check(actor, task)
    if stage is None:
        stage = PracticalStage(position=max((s.position for s in task.stages), default=-1) + 1)
        task.stages.append(stage)
    set_localized(stage, "title", values)
    if len(task.stages) > 1 and not stage.title:
        raise UserError(_l("Give the stage a title."), "title_bo")
    db.session.flush()
    return stage


def delete_stage(actor: User, stage: PracticalStage) -> None:
    """Remove a stage nobody has worked on; a task keeps at least one."""
    task = stage.task
    _check(actor, task)
    if len(task.stages) == 1:
        raise UserError(_l("A practical task has at least one stage."))
    if db.session.scalar(select(Submission.id).where(Submission.stage_id == stage.id).limit(1)):
        raise UserError(_l("Learners have worked on this stage; it cannot be removed."))
    task.stages.remove(stage)
    db.session.flush()


def save_criterion(actor: User, task: PracticalTask, criterion: RubricCriterion | None, *,
                   stage_id: int | None, levels: list[dict[str, Any]],
                   **values: Any) -> RubricCriterion:
    """Add or change a rubric criterion with its levels (points and descriptions)."""
    _check(actor, task)
    if stage_id is not None and stage_id not in {s.id for s in task.stages}:
        raise UserError(_l("Choose one of this task's stages."), "stage_id")
    if criterion is None:
        criterion = RubricCriterion(
            position=max((c.position for c in task.criteria), default=-1) + 1)
        task.criteria.append(criterion)
    set_localized(criterion, "title", values)
    if not criterion.title:
        raise UserError(_l("Give the criterion a title in at least one language."), "title_bo")
    criterion.stage_id = stage_id
    new_levels = []
    for level in levels:
        level_obj = RubricLevel()
        set_localized(level_obj, "title", level)
        if level.get("points") in (None, "") and not level_obj.title:
            continue
        try:
            level_obj.points = typed_number(level.get("points")).quantize(CENT)
        except ValueError:
            raise UserError(_l("Each level needs its points."), "levels") from None
        if not Decimal("0") <= level_obj.points <= Decimal("1000"):
            raise UserError(_l("Points are between 0 and 1000."), "levels")
        new_levels.append(level_obj)
    if len(new_levels) < 2:
        raise UserError(_l("A criterion needs at least two levels."), "levels")
    new_levels.sort(key=lambda lv: lv.points)
    for position, level_obj in enumerate(new_levels):
        level_obj.position = position
    criterion.levels = new_levels
    db.session.flush()
    return criterion


def delete_criterion(actor: User, criterion: RubricCriterion) -> None:
    """Remove a rubric row (reviews keep the scores they gave)."""
    task = criterion.task
    _check(actor, task)
    task.criteria.remove(criterion)
    db.session.flush()


def criteria_for(stage: PracticalStage) -> list[RubricCriterion]:
    """The rubric rows scored in a stage's reviews."""
    return [c for c in stage.task.criteria if c.stage_id in (None, stage.id)]


def task_problems(task: PracticalTask | None) -> list[str]:
    """What keeps a practical task from being worked on."""
    if task is None:
        return [str(_l("Set up the practical task: evidence and rubric."))]
    empty = [s for s in task.stages if not criteria_for(s)]
    if empty:
        return [str(_l("Every stage needs at least one rubric criterion."))]
    return []


# --- learners --------------------------------------------------------------------------------

def submissions_of(user: User, stage: PracticalStage) -> list[Submission]:
    """A learner's submissions for a stage, oldest first."""
    return list(db.session.scalars(select(Submission).where(
        Submission.stage_id == stage.id, Submission.user_id == user.id)
        .order_by(Submission.number)))


def stage_approved(user: User, stage: PracticalStage) -> bool:
    return db.session.scalar(select(Submission.id).where(
        Submission.stage_id == stage.id, Submission.user_id == user.id,
        Submission.state == SubmissionState.APPROVED).limit(1)) is not None


def stage_is_open(user: User, stage: PracticalStage) -> bool:
    """Stages are done in order: a stage opens when the ones before it are approved."""
    return all(stage_approved(user, s) for s in stage.task.stages if s.position < stage.position)


def draft_for(user: User, enrolment: Enrolment, stage: PracticalStage) -> Submission:
    """The learner's unsent submission for a stage, created on first use.

    Two requests may both find no draft (two files sent at once from two tabs);
    the second insert then breaks the unique (stage, user, number) in its
    savepoint, and the draft the first one made is read again. A draft found
    is locked until the caller commits.
    """
    for _attempt in range(2):
        submissions = submissions_of(user, stage)
        if any(s.state in (SubmissionState.SUBMITTED, SubmissionState.APPROVED)
               for s in submissions):
            raise UserError(_l("This stage is already sent for review or approved."))
        if not stage_is_open(user, stage):
            raise UserError(_l("Finish the earlier stages first."))
        draft = next((s for s in submissions if s.state == SubmissionState.DRAFT), None)
        if draft is not None:
            # Locked until the commit, so a file added or removed in another tab cannot
            # slip past a submission sent meanwhile (PostgreSQL; SQLite's units of work
            # that write hold the database's write lock anyway).
            db.session.refresh(draft, with_for_update=True)
            if draft.state != SubmissionState.DRAFT:
                continue
            return draft
        try:
            with db.session.begin_nested():
                draft = Submission(task_id=stage.task_id, stage_id=stage.id, user_id=user.id,
                                   enrolment_id=enrolment.id, number=len(submissions) + 1)
                db.session.add(draft)
        except IntegrityError:
            continue
        return draft
    raise UserError(_l("Your work changed meanwhile; please try again."))


def submit_work(user: User, enrolment: Enrolment, stage: PracticalStage, *, text: str | None,
                now: datetime) -> Submission:
    """Send the stage's draft for review once it holds every kind of evidence required."""
    draft = draft_for(user, enrolment, stage)
    draft.text = normalize_text(text) or None
    have = {e.kind for e in draft.evidence} | ({"text"} if draft.text else set())
    missing = [EVIDENCE_KINDS[k] for k in stage.task.evidence_kinds if k not in have]
    if missing:
        raise UserError(_l("Still missing: %(kinds)s.", kinds=listed(missing)),
                        "text")
    draft.state, draft.submitted_at = SubmissionState.SUBMITTED, now
    db.session.flush()
    return draft


# --- reviewers ---------------------------------------------------------------------------------

def review_submission(reviewer: User, submission: Submission, *, levels: dict[int, int],
                      feedback: str | None, decision: ReviewDecision,
                      now: datetime) -> Review:
    """Score a submission on its stage's rubric and approve it or ask for a revision.

    Approving needs a score at the pass threshold. Approval of the last stage
    completes the lesson; every approval sends ``practical_approved``.
    """
    task, stage = submission.task, submission.stage
    course = _course(task)
    if not can_review_submission(reviewer, submission, course):
        raise Forbidden()
    scores, points, maximum = [], Decimal("0"), Decimal("0")
    for criterion in criteria_for(stage):
        level = next((lv for lv in criterion.levels if lv.id == levels.get(criterion.id)), None)
        if level is None:
            raise UserError(_l("Choose a level for every criterion."), "levels")
        # The rubric's words as they were, in every language: each reader sees their own.
        scores.append({"criterion_id": criterion.id, "criterion": snapshot(criterion, "title"),
                       "level_id": level.id, "level": snapshot(level, "title"),
                       "points": str(level.points),
                       "max": str(criterion.max_points)})
        points += level.points
        maximum += criterion.max_points
    percent = Decimal("100") * points / maximum if maximum else Decimal("100")
    feedback = normalize_text(feedback) or None
    if decision == ReviewDecision.APPROVED and percent < task.pass_percent:
        raise UserError(_l("The score is below the pass threshold of %(p)s%%; ask for a "
                           "revision instead.", p=task.pass_percent), "levels")
    if decision == ReviewDecision.REVISION and not feedback:
        raise UserError(_l("Say what should be improved."), "feedback")
    state = (SubmissionState.APPROVED if decision == ReviewDecision.APPROVED
             else SubmissionState.REVISION)
    result = db.session.execute(
        update(Submission).where(Submission.id == submission.id,
                                 Submission.state == SubmissionState.SUBMITTED)
        .values(state=state, reviewed_at=now).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise UserError(_l("This submission is not waiting for review (someone may have "
                           "reviewed it already)."))
    db.session.refresh(submission)
    review = Review(submission_id=submission.id, reviewer_id=reviewer.id, decision=decision,
                    scores=scores, points=points.quantize(CENT, ROUND_HALF_UP),
                    max_points=maximum, feedback=feedback, created_at=now)
    db.session.add(review)
    db.session.flush()
    if decision == ReviewDecision.APPROVED:
        lesson = db.session.get(Lesson, task.lesson_id)
        signals.practical_approved.send(lesson, submission=submission, review=review)
        approved = db.session.scalar(select(func.count(func.distinct(Submission.stage_id))).where(
            Submission.task_id == task.id, Submission.user_id == submission.user_id,
            Submission.state == SubmissionState.APPROVED))
        if approved >= len(task.stages):
            enrolment = db.session.get(Enrolment, submission.enrolment_id)
            complete_lesson(progress_for(enrolment, lesson),
                            evidence={"submission": submission.id, "review": review.id}, now=now)
    return review
