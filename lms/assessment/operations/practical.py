"""Practical tasks: stages and rubrics, learners' evidence and submissions, reviews.

Evidence arrives through the resumable upload (purpose ``evidence``), is
checked by its content, and photos are re-encoded without their metadata.
Videos are stored as they came; the video domain can take them further
through ``EVIDENCE_VIDEO_HANDLERS``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from werkzeug.exceptions import Forbidden

from lms.assessment.models import (
    EVIDENCE_KINDS,
    Evidence,
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
from lms.core.files import clean_image, clean_pdf
from lms.core.i18n import normalize_text, set_localized
from lms.core.storage import storage
from lms.courses.models import Course, Enrolment, EnrolmentStatus, Lesson
from lms.courses.operations import complete_lesson, progress_for
from lms.extensions import db
from lms.uploads.models import Upload
from lms.uploads.operations import Purpose, register_purpose
from lms.users.models import User

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
VIDEO_TYPES = {"video/mp4": ".mp4", "video/x-matroska": ".mkv"}
#: Photos and PDFs are read whole to be checked; larger ones are refused.
DOCUMENT_MAX_BYTES = 50 * 2**20
CENT = Decimal("0.01")

#: Called with each new video ``Evidence`` inside the submitting unit of work (flush, never
#: commit). The video domain appends a handler that hands the file to its pipeline and may
#: note what it made in ``evidence.meta``; with no handler, videos are kept as uploaded.
EVIDENCE_VIDEO_HANDLERS: list[Callable[[Evidence], None]] = []



def _may_send_evidence(user: User) -> bool:
    """Only people enrolled in some course send evidence (nobody else needs the space)."""
    return db.session.scalar(select(Enrolment.id).where(
        Enrolment.user_id == user.id, Enrolment.status != EnrolmentStatus.WITHDRAWN)
        .limit(1)) is not None


EVIDENCE_PURPOSE = register_purpose(Purpose(
    "evidence", lambda: current_app.config["EVIDENCE_MAX_BYTES"],
    IMAGE_TYPES | {"application/pdf"} | frozenset(VIDEO_TYPES), _may_send_evidence))


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
            level_obj.points = Decimal(str(level.get("points"))).quantize(CENT)
        except (InvalidOperation, ValueError):
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


def _draft(user: User, enrolment: Enrolment, stage: PracticalStage) -> Submission:
    """The learner's unsent submission for a stage, created on first use."""
    submissions = submissions_of(user, stage)
    if any(s.state in (SubmissionState.SUBMITTED, SubmissionState.APPROVED) for s in submissions):
        raise UserError(_l("This stage is already sent for review or approved."))
    if not stage_is_open(user, stage):
        raise UserError(_l("Finish the earlier stages first."))
    draft = next((s for s in submissions if s.state == SubmissionState.DRAFT), None)
    if draft is None:
        draft = Submission(task_id=stage.task_id, stage_id=stage.id, user_id=user.id,
                           enrolment_id=enrolment.id, number=len(submissions) + 1)
        db.session.add(draft)
        db.session.flush()
    return draft


def _keep(data: bytes, content_type: str) -> tuple[str, bytes, str, str]:
    """Check a photo or PDF by its content: (kind, cleaned bytes, content type, extension)."""
    if content_type in IMAGE_TYPES:
        clean = clean_image(data)
        return "photo", clean.data, clean.content_type, clean.extension
    clean = clean_pdf(data)
    return "pdf", clean.data, clean.content_type, clean.extension


def add_evidence(user: User, enrolment: Enrolment, stage: PracticalStage,
                 upload: Upload) -> Evidence:
    """Attach a claimed upload to the learner's draft for a stage, checked and cleaned."""
    if upload.owner_id != user.id:
        raise Forbidden()
    draft = _draft(user, enrolment, stage)
    store = storage()
    name = upload.filename.rsplit("/", 1)[-1][:200] or "file"
    try:
        if upload.content_type in VIDEO_TYPES:
            kind, content_type = "video", upload.content_type
            key = store.new_key("evidence", VIDEO_TYPES[content_type])
            target = store.path(key)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(store.path(upload.key), target)
            size = target.stat().st_size
        elif upload.content_type in IMAGE_TYPES | {"application/pdf"}:
            if upload.size > DOCUMENT_MAX_BYTES:
                raise UserError(_l("Photos and PDF files may be at most %(mb)s MB.",
                                   mb=DOCUMENT_MAX_BYTES // 2**20), "file")
            kind, data, content_type, extension = _keep(
                store.path(upload.key).read_bytes(), upload.content_type)
            key = store.new_key("evidence", extension)
            store.save_bytes(key, data)
            size = len(data)
            if not name.lower().endswith(extension):
                name = name.rsplit(".", 1)[0] + extension
        else:
            raise UserError(_l("Send photos (JPEG, PNG, WebP), a PDF or a video (MP4, MKV)."),
                            "file")
    finally:
        store.delete(upload.key)
    evidence = Evidence(submission_id=draft.id, kind=kind, key=key, filename=name,
                        content_type=content_type, size=size)
    db.session.add(evidence)
    db.session.flush()
    if kind == "video":
        for handler in EVIDENCE_VIDEO_HANDLERS:
            handler(evidence)
    return evidence


def remove_evidence(user: User, evidence: Evidence) -> None:
    """Take a file out of an unsent submission."""
    submission = evidence.submission
    if submission.user_id != user.id:
        raise Forbidden()
    if submission.state != SubmissionState.DRAFT:
        raise UserError(_l("Files of a submission that was sent stay as they were."))
    key = evidence.key
    db.session.delete(evidence)
    db.session.flush()
    storage().delete(key)


def submit_work(user: User, enrolment: Enrolment, stage: PracticalStage, *, text: str | None,
                now: datetime) -> Submission:
    """Send the stage's draft for review once it holds every kind of evidence required."""
    draft = _draft(user, enrolment, stage)
    draft.text = normalize_text(text) or None
    have = {e.kind for e in draft.evidence} | ({"text"} if draft.text else set())
    missing = [EVIDENCE_KINDS[k] for k in stage.task.evidence_kinds if k not in have]
    if missing:
        raise UserError(_l("Still missing: %(kinds)s.", kinds=", ".join(str(m) for m in missing)),
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
        scores.append({"criterion_id": criterion.id, "criterion": criterion.title,
                       "level_id": level.id, "level": level.title, "points": str(level.points),
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
