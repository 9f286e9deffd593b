"""Keeping the search index in step with the catalogue. These write the index, never the
database: jobs and commands call them, and only one writer at a time gets the index."""

from __future__ import annotations

import logging
from collections.abc import Callable

from lms.courses.models import Course
from lms.extensions import db
from lms.search.documents import all_documents, course_documents, published_course_count
from lms.search.index import IndexUnavailable
from lms.search.util import search_index

log = logging.getLogger(__name__)


def sync_course(course_id: int) -> int:
    """Make the index hold exactly what the database says of a course; return its documents.

    A published course (and its published lessons) replaces what the index had; a course
    that is draft, archived or gone leaves the index. Both jobs call this, so a late or
    retried job can never undo a newer change: the course is read only once this job
    holds the index, so a job that wrote before it read an older catalogue, and one that
    writes after it reads a newer one. A missing or unreadable index is rebuilt from the
    whole catalogue.
    """
    def documents() -> list[dict]:
        db.session.commit()  # end the job's read snapshot: read the catalogue as it is now,
        db.session.expire_all()  # not as objects this session loaded before
        return course_documents(db.session.get(Course, course_id))

    try:
        return search_index().replace_course(course_id, documents)
    except IndexUnavailable as exc:
        log.warning("search index is %s; rebuilding it from the catalogue", exc.status)
        rebuild_index()
        return len(course_documents(db.session.get(Course, course_id)))


def rebuild_index(progress: Callable[[float], None] | None = None) -> int:
    """Rebuild the index from every published course into a new generation and swap it in.

    Searches keep answering from the old generation meanwhile. Returns how many
    documents the new index holds.
    """
    total = max(published_course_count(), 1)
    on_course = (lambda done: progress(done / total)) if progress else None
    return search_index().rebuild(all_documents(on_course))

