"""What learners do: enrol, withdraw, read, complete lessons and courses.

Completion is guarded by conditional UPDATEs, so two tabs or two workers
complete a lesson (and a course) once and send each signal once. They flush;
the caller commits.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import has_request_context, session
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from lms.core import signals
from lms.core.db import utcnow
from lms.core.errors import UserError
from lms.core.i18n import listed
from lms.courses import listeners
from lms.courses.models import (
    Course,
    Enrolment,
    EnrolmentStatus,
    Lesson,
    LessonProgress,
    StudyClock,
)
from lms.extensions import db
from lms.users.models import User

#: Longest stretch one page view (without the page's heartbeat) counts as reading.
READING_GAP_CAP_SECONDS = 300
#: "Last activity" in the progress table is kept to this resolution.
ACTIVITY_RESOLUTION_SECONDS = 300

def enrol(user: User, course: Course) -> Enrolment:
    """Enrol a learner (enrolling twice is harmless; a withdrawn learner comes back)."""
    if not course.is_published or not course.institution.is_active:
        raise UserError(_l("This course is not open for enrolment."))
    missing = [c for c in course.prerequisites if not is_course_completed(user, c)]
    if missing:
        raise UserError(_l("Complete %(courses)s first.",
                           courses=listed(c.title for c in missing)))
    enrolment = db.one_or_create(_enrolment_stmt(user, course),  # two tabs enrol once
                                 lambda: Enrolment(course_id=course.id, user_id=user.id))
    if enrolment.status == EnrolmentStatus.WITHDRAWN:
        enrolment.status = (EnrolmentStatus.COMPLETED if enrolment.completed_at
                            else EnrolmentStatus.ACTIVE)
        enrolment.withdrawn_at = None
    db.session.flush()
    return enrolment


def withdraw(user: User, course: Course) -> None:
    """Leave a course; progress and credited hours are kept."""
    enrolment = find_enrolment(user, course)
    if enrolment is None or enrolment.status == EnrolmentStatus.WITHDRAWN:
        return
    enrolment.status = EnrolmentStatus.WITHDRAWN
    enrolment.withdrawn_at = utcnow()
    db.session.flush()


def _enrolment_stmt(user: User, course: Course) -> Any:
    return select(Enrolment).where(Enrolment.course_id == course.id,
                                   Enrolment.user_id == user.id)


def find_enrolment(user: User, course: Course) -> Enrolment | None:
    """The learner's enrolment in a course, whatever its status."""
    return db.session.scalar(_enrolment_stmt(user, course))


def is_course_completed(user: User, course: Course) -> bool:
    """Whether the learner has completed ``course``."""
    enrolment = find_enrolment(user, course)
    return enrolment is not None and enrolment.completed_at is not None


def progress_for(enrolment: Enrolment, lesson: Lesson) -> LessonProgress:
    """The learner's progress row for a lesson, created on first use."""
    return db.one_or_create(
        select(LessonProgress).where(LessonProgress.enrolment_id == enrolment.id,
                                     LessonProgress.lesson_id == lesson.id),
        lambda: LessonProgress(enrolment_id=enrolment.id, lesson_id=lesson.id))


def touch(enrolment: Enrolment, now: datetime | None = None) -> None:
    """Note learner activity for the progress table."""
    enrolment.last_activity_at = now or utcnow()


def activity_is_stale(enrolment: Enrolment, now: datetime) -> bool:
    """Whether a page view should refresh "last activity" (at most every few minutes)."""
    return last_activity_is_stale(enrolment.last_activity_at, now)


def last_activity_is_stale(last: datetime | None, now: datetime) -> bool:
    return last is None or (now - last).total_seconds() > ACTIVITY_RESOLUTION_SECONDS


_VIEW_KEY = "lms_viewing"


def note_view(lesson_id: int, now: datetime) -> None:
    """Remember, in the signed session, when the learner opened this lesson.

    Page views write nothing to the database (readers never wait for the
    write lock); the next reading report measures from this moment.
    """
    session[_VIEW_KEY] = [lesson_id, int(now.timestamp())]


def _viewed_since(lesson: Lesson) -> datetime | None:
    viewing = session.get(_VIEW_KEY)
    if isinstance(viewing, list) and len(viewing) == 2 and viewing[0] == lesson.id:
        return datetime.fromtimestamp(int(viewing[1]), UTC)
    return None


#: Called with a learner's id once their study clock is locked, before it is read: other
#: domains apply study they took in without the clock (video's spooled heartbeats), so every
#: report moves the clock in the order it arrived.
BEFORE_CLOCK_READ: list[Callable[[int], None]] = []


def study_clock(user_id: int) -> StudyClock:
    """The learner's study clock, created if need be, locked until the commit.

    Lock it before any row of what is being studied, so every kind of study
    takes its locks in one order.
    """
    clock = db.one_or_create(select(StudyClock).where(StudyClock.user_id == user_id),
                             lambda: StudyClock(user_id=user_id, carry_s=0.0), locked=True)
    for bring_in in BEFORE_CLOCK_READ:
        bring_in(user_id)
    return clock


def record_reading(progress: LessonProgress, now: datetime, lesson: Lesson | None = None) -> int:
    """Credit the time since the learner's last view or study report as reading, capped.

    A learner has one study clock (:func:`study_clock`): the latest reading
    or watch report on anything, besides the page view remembered in the
    session. So reading in two tabs, or reading while a video plays in
    another, counts the time once, and reports sent for many lessons at once
    share the same minutes instead of multiplying them. From a browser
    (``lesson`` given), only the lesson the learner last opened earns time: a
    report for a page never opened, or left for another, credits nothing and
    moves no clock.
    """
    enrolment = db.session.get(Enrolment, progress.enrolment_id)
    clock = study_clock(enrolment.user_id)
    db.session.refresh(progress, with_for_update=True)  # two tabs report one at a time
    viewed = _viewed_since(lesson) if lesson is not None else None
    if lesson is not None and viewed is None:
        return 0
    studied = (datetime.fromtimestamp(clock.last_report_at, UTC)
               if clock.last_report_at is not None else None)
    anchors = [t for t in (progress.viewed_at, viewed, studied) if t]
    credit = 0
    if anchors:
        elapsed = (now - max(anchors)).total_seconds()
        credit = int(max(0, min(elapsed, READING_GAP_CAP_SECONDS)))
    if credit:
        # Increment in SQL so two concurrent views never lose each other's seconds.
        db.session.execute(update(LessonProgress).where(LessonProgress.id == progress.id)
                           .values(verified_seconds=LessonProgress.verified_seconds + credit)
                           .execution_options(synchronize_session=False))
        set_committed_value(progress, "verified_seconds", progress.verified_seconds + credit)
        listeners.progress_changed(db.session, progress.enrolment_id)
    progress.viewed_at = now
    if clock.last_report_at is None or now.timestamp() > clock.last_report_at:
        # The time up to now is spent on reading: a video in another tab starts from here.
        clock.last_report_at, clock.carry_s = now.timestamp(), 0.0
    if lesson is not None and has_request_context():
        note_view(lesson.id, now)
    db.session.flush()
    return credit


def complete_lesson(progress: LessonProgress, *, evidence: dict[str, Any] | None = None,
                    verified_seconds: int | None = None, now: datetime | None = None) -> bool:
    """Mark a lesson complete exactly once; send ``lesson_completed`` (and ``course_completed``).

    The conditional UPDATE is the guard: of two tabs or two workers completing
    the same lesson at once, only one changes the row and only it sends signals.
    """
    now = now or utcnow()
    values: dict[str, Any] = {"completed_at": now}
    if evidence is not None:
        values["evidence"] = evidence
    if verified_seconds is not None:
        values["verified_seconds"] = verified_seconds
    result = db.session.execute(
        update(LessonProgress)
        .where(LessonProgress.id == progress.id, LessonProgress.completed_at.is_(None))
        .values(**values).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return False
    listeners.progress_changed(db.session, progress.enrolment_id)
    db.session.refresh(progress)
    enrolment = db.session.get(Enrolment, progress.enrolment_id)
    lesson = db.session.get(Lesson, progress.lesson_id)
    touch(enrolment, now)
    signals.lesson_completed.send(lesson, enrolment=enrolment, lesson=lesson, progress=progress)
    _complete_course_if_done(enrolment, now)
    return True


def _complete_course_if_done(enrolment: Enrolment, now: datetime) -> None:
    required = set(db.session.scalars(select(Lesson.id).where(
        Lesson.course_id == enrolment.course_id, Lesson.required.is_(True),
        Lesson.is_published.is_(True))))
    done = set(db.session.scalars(select(LessonProgress.lesson_id).where(
        LessonProgress.enrolment_id == enrolment.id, LessonProgress.completed_at.is_not(None))))
    if not required or required - done:  # no required lesson: nothing says it is done
        return
    _mark_complete(enrolment, now)


def _mark_complete(enrolment: Enrolment, now: datetime) -> None:
    """Complete the course for a learner found done; of two units of work, one sends."""
    result = db.session.execute(
        update(Enrolment).where(Enrolment.id == enrolment.id, Enrolment.completed_at.is_(None))
        .values(completed_at=now, status=EnrolmentStatus.COMPLETED)
        .execution_options(synchronize_session=False))
    if result.rowcount == 1:
        db.session.refresh(enrolment)
        signals.course_completed.send(enrolment.course, enrolment=enrolment)


def complete_courses_now_done(course: Course, now: datetime | None = None) -> int:
    """Complete the enrolments whose learners have now done every required lesson, after the
    required lessons changed (one hidden, made optional or deleted): they finish no further
    lesson that would check. Returns how many completed."""
    now = now or utcnow()
    required = set(db.session.scalars(select(Lesson.id).where(
        Lesson.course_id == course.id, Lesson.required.is_(True), Lesson.is_published.is_(True))))
    if not required:
        return 0
    done_all = (select(LessonProgress.enrolment_id)
                .where(LessonProgress.lesson_id.in_(required),
                       LessonProgress.completed_at.is_not(None))
                .group_by(LessonProgress.enrolment_id)
                .having(func.count(func.distinct(LessonProgress.lesson_id)) == len(required)))
    waiting = db.session.scalars(select(Enrolment).where(
        Enrolment.course_id == course.id, Enrolment.completed_at.is_(None),
        Enrolment.status == EnrolmentStatus.ACTIVE, Enrolment.id.in_(done_all))).all()
    for enrolment in waiting:
        _mark_complete(enrolment, now)
    return len(waiting)


def note_attachment_opened(progress: LessonProgress, lesson: Lesson, attachment_id: int) -> None:
    """A learner opened a file; the lesson is complete once every file was opened."""
    db.session.refresh(progress, with_for_update=True)  # two downloads at once: one at a time
    evidence = dict(progress.evidence or {})
    opened = sorted(set(evidence.get("opened", [])) | {attachment_id})
    evidence["opened"] = opened
    progress.evidence = evidence
    db.session.flush()
    if set(opened) >= {a.id for a in lesson.attachments}:
        complete_lesson(progress, evidence=evidence)
