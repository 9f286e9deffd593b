"""Keep cached pages honest: every change bumps the revision of what it changes.

- Any change to a course or an institution bumps the catalogue's revision.
- Any change to a course's content (the course, its sections, lessons and files) bumps
  ``course:<id>``, and any change to a learner's place in it (their enrolment, their
  progress in its lessons) bumps ``enrolment:<id>``: the two revisions in a kept lesson
  page's fingerprint (see ``util.lesson_page_fingerprint``).

The listener sees every change made through the ORM. Statements that update these
tables directly call :func:`progress_changed` themselves.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from lms.core import cache
from lms.courses.models import Attachment, Course, Enrolment, Lesson, LessonProgress, Section
from lms.users.models import Institution

CATALOGUE = "catalogue"


def course_revision(course_id: int) -> str:
    return f"course:{course_id}"


def enrolment_revision(enrolment_id: int) -> str:
    return f"enrolment:{enrolment_id}"


def progress_changed(session: Session, enrolment_id: int) -> None:
    """A learner's progress changed by a statement the ORM did not see."""
    cache.bump(session, enrolment_revision(enrolment_id))


@event.listens_for(Session, "before_flush")
def _bump_revisions(session: Session, _context: Any, _instances: Any) -> None:
    names: set[str] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if not (obj in session.new or obj in session.deleted or session.is_modified(obj)):
            continue
        if isinstance(obj, Course | Institution):
            names.add(CATALOGUE)
        course_id = _course_of(session, obj)
        if course_id is not None:
            names.add(course_revision(course_id))
        enrolment_id = _enrolment_of(session, obj)
        if enrolment_id is not None:
            names.add(enrolment_revision(enrolment_id))
    if names:
        cache.bump(session, *names)


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


#: Columns of an enrolment no page shows: a view refreshes them every few minutes, and a
#: kept page stays good.
_UNSHOWN = frozenset({"last_activity_at"})


def _enrolment_of(session: Session, obj: Any) -> int | None:
    if isinstance(obj, Enrolment):
        if obj in session.dirty and obj not in session.deleted:
            changed = {a.key for a in inspect(obj).attrs if a.history.has_changes()}
            if changed <= _UNSHOWN:
                return None
        return obj.id
    if isinstance(obj, LessonProgress):
        return obj.enrolment_id or (obj.enrolment.id if obj.enrolment is not None else None)
    return None
