"""Keep cached pages honest: every change moves on the version of what it changes.

- Any change to a course or an institution bumps the catalogue's revision.
- Any change to a course's content (the course, its sections, lessons and files) bumps
  ``course:<id>``, and any change to a learner's progress in one of its lessons moves
  their enrolment's ``progress_version`` on: the two versions in a kept lesson page's
  fingerprint (see ``util.lesson_page_fingerprint``).

The listener sees every change made through the ORM. Statements that update progress
directly call :func:`progress_changed` themselves.

Lock order (PostgreSQL): a learner's report takes their study clock, then their progress
row, then their enrolment; staff work that completes enrolments
(``complete_courses_now_done``) locks enrolments and no progress. The version lives on the
enrolment row, so moving it adds no lock of its own, and it is moved after the progress
row is written, never before.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, event, update
from sqlalchemy.orm import Session

from lms.core import cache
from lms.courses.models import Attachment, Course, Enrolment, Lesson, LessonProgress, Section
from lms.users.models import Institution

CATALOGUE = "catalogue"


def course_revision(course_id: int) -> str:
    return f"course:{course_id}"


_NEXT_PROGRESS = (update(Enrolment.__table__)
                  .where(Enrolment.__table__.c.id == bindparam("enrolment_id"))
                  .values(progress_version=Enrolment.__table__.c.progress_version + 1))


def progress_changed(session: Session, enrolment_id: int) -> None:
    """Move the enrolment's progress version on: the listener below does it for changes
    made through the ORM, statements that update progress directly call it themselves."""
    session.connection().execute(_NEXT_PROGRESS, {"enrolment_id": enrolment_id})


@event.listens_for(Session, "before_flush")
def _bump_revisions(session: Session, _context: Any, _instances: Any) -> None:
    names: set[str] = set()
    for obj in _changed(session):
        if isinstance(obj, Course | Institution):
            names.add(CATALOGUE)
        course_id = _course_of(session, obj)
        if course_id is not None:
            names.add(course_revision(course_id))
    if names:
        cache.bump(session, *names)


@event.listens_for(Session, "after_flush")
def _move_progress_versions(session: Session, _context: Any) -> None:
    """After the flush, so a learner's progress row is written (and locked) before their
    enrolment, as everywhere else. A progress row just made that shows nothing yet (no
    time, no completion, no evidence) moves nothing: a report makes one before it takes the
    learner's study clock, and must not hold their enrolment while it waits for it."""
    enrolments = {obj.enrolment_id for obj in _changed(session)
                  if isinstance(obj, LessonProgress) and obj.enrolment_id is not None
                  and (obj not in session.new or obj.completed_at is not None
                       or obj.verified_seconds or obj.evidence)}
    for enrolment_id in sorted(enrolments):
        progress_changed(session, enrolment_id)


def _changed(session: Session) -> list[Any]:
    """What this flush adds, deletes or really modifies (its pre-flush view, which an
    ``after_flush`` listener still sees)."""
    return [obj for obj in (*session.new, *session.dirty, *session.deleted)
            if obj in session.new or obj in session.deleted or session.is_modified(obj)]


def _course_of(session: Session, obj: Any) -> int | None:
    """The course whose content ``obj`` is, if any (None for a course not yet saved)."""
    if isinstance(obj, Course):
        return obj.id
    if isinstance(obj, Section):
        return obj.course_id or (obj.course.id if obj.course is not None else None)
    if isinstance(obj, Lesson):
        return obj.course_id or (_course_of(session, obj.section) if obj.section is not None
                                 else None)
    if isinstance(obj, Attachment):
        lesson = obj.lesson if obj.lesson is not None else (
            session.get(Lesson, obj.lesson_id) if obj.lesson_id else None)
        return _course_of(session, lesson) if lesson is not None else None
    return None
