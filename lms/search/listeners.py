"""How search follows the catalogue: signals from courses become indexing jobs, and the
catalogue's search box asks the search index.

A unit of work may send ``course_published`` many times (each lesson saved sends it
again); the courses it names are collected on the session and one job per course is
enqueued when the unit of work commits. Collecting also keeps the jobs out of savepoints:
``enqueue`` hands pending jobs to the queue on any commit, a savepoint's too, before the
rows it names are committed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction

from lms.core import signals
from lms.core.jobs import enqueue
from lms.courses.models import Course, CourseStatus
from lms.courses.util import set_search_provider
from lms.extensions import db
from lms.search import tasks  # noqa: F401 - registers the jobs enqueued below
from lms.search.util import catalogue_course_ids

_PENDING = "lms_search_courses"


def _note(course_id: int, job_name: str) -> None:
    # The last word about a course wins; either job makes the index match the database.
    db.session().info.setdefault(_PENDING, {})[course_id] = job_name


def _course_published(sender: Any, course: Any, **_: Any) -> None:
    _note(course.id, "search.index_course")


def _course_withdrawn(sender: Any, course: Any, **_: Any) -> None:
    _note(course.id, "search.remove_course")


def _institution_changed(sender: Any, institution: Any, **_: Any) -> None:
    # Its courses' documents carry its names and region.
    for course_id in db.session.scalars(select(Course.id).where(
            Course.institution_id == institution.id, Course.status == CourseStatus.PUBLISHED)):
        _note(course_id, "search.index_course")


def _enqueue_noted(session: Session) -> None:
    if session.in_nested_transaction():
        return
    for course_id, name in session.info.pop(_PENDING, {}).items():
        enqueue(name, subject=f"course:{course_id}", session=session, course_id=course_id)


def _forget_noted(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the whole unit of work ended (after a rollback, say)
        session.info.pop(_PENDING, None)


signals.course_published.connect(_course_published)
signals.course_withdrawn.connect(_course_withdrawn)
signals.institution_changed.connect(_institution_changed)
if not event.contains(Session, "before_commit", _enqueue_noted):
    event.listen(Session, "before_commit", _enqueue_noted)
    event.listen(Session, "after_transaction_end", _forget_noted)
set_search_provider(catalogue_course_ids)
