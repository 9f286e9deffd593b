"""Search documents built from the database: published courses and their published lessons.

Only catalogue content is read: titles, summaries, lesson text, occupation, institution
name and the facets. Nothing about people (learners, ID numbers, target groups) is
read, and ``lms.search.schema`` refuses any key it does not know.

Other domains add text to a lesson's document by appending a function
``(lesson) -> str`` to ``LESSON_TEXT_PROVIDERS`` (the video domain: subtitle text), so
search never imports them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from lms.core.i18n import CONTENT_LANGS, content_languages
from lms.core.markup import markdown_to_text
from lms.courses.models import Course, CourseStatus, Lesson
from lms.extensions import db
from lms.users.models import Institution

log = logging.getLogger(__name__)

#: Functions ``(lesson) -> str`` giving more searchable text of a lesson (subtitles ...).
LessonTextProvider = Callable[[Lesson], str]
LESSON_TEXT_PROVIDERS: list[LessonTextProvider] = []

#: Courses read from the database at a time during a rebuild.
_CHUNK = 50


def _joined(obj: Any, field: str, convert: Callable[[str], str] = str) -> str:
    """Every language version of obj.<field>_<lang>, one per line."""
    values = (getattr(obj, f"{field}_{lang}", None) for lang in CONTENT_LANGS)
    return "\n".join(convert(v) for v in values if v)


def _lesson_extra_text(lesson: Lesson) -> str:
    texts = []
    for provider in LESSON_TEXT_PROVIDERS:
        try:
            texts.append(provider(lesson) or "")
        except Exception:  # one domain's bug must not keep a course out of search
            log.exception("lesson text provider %r failed for lesson %s", provider, lesson.id)
    return "\n".join(t for t in texts if t)


def course_documents(course: Course | None) -> list[dict[str, Any]]:
    """The documents of a listed course (published, of an active institution) and its
    published lessons; none for anything else."""
    if course is None or course.status != CourseStatus.PUBLISHED \
            or not course.institution.is_active:
        return []
    institution = course.institution
    facets = {
        "training_type": str(course.training_type),
        "skill_level": str(course.skill_level),
        "institution_id": course.institution_id,
        "region": institution.prefecture if institution else None,
    }
    course_titles = {f"course_title_{lang}": getattr(course, f"title_{lang}")
                     for lang in CONTENT_LANGS}
    documents = [{
        "doc_id": f"course:{course.id}",
        "kind": "course",
        "course_id": course.id,
        **{f"title_{lang}": getattr(course, f"title_{lang}") for lang in CONTENT_LANGS},
        "summary": _joined(course, "summary"),
        "occupation_name": _joined(course, "occupation_name"),
        "occupation_code": course.occupation_code,
        "institution": _joined(institution, "name") if institution else "",
        "language": course.languages,
        **facets,
    }]
    for lesson in course.lessons:
        if not lesson.is_published:
            continue
        languages = sorted(set(content_languages(lesson, "title"))
                           | set(content_languages(lesson, "body")))
        documents.append({
            "doc_id": f"lesson:{lesson.id}",
            "kind": "lesson",
            "course_id": course.id,
            **{f"title_{lang}": getattr(lesson, f"title_{lang}") for lang in CONTENT_LANGS},
            "body": _joined(lesson, "body", markdown_to_text),
            "subtitles": _lesson_extra_text(lesson),
            "language": languages or course.languages,
            **facets,
            **course_titles,
        })
    return documents


#: What puts a course in the catalogue and in search: published, by an active institution.
LISTED = (Course.status == CourseStatus.PUBLISHED, Course.institution_id.in_(
    select(Institution.id).where(Institution.is_active.is_(True))))


def published_course_count() -> int:
    """How many courses are in the catalogue (what a rebuild will read)."""
    return db.session.scalar(select(func.count(Course.id)).where(*LISTED)) or 0


def all_documents(on_course: Callable[[int], None] | None = None) -> Iterator[dict[str, Any]]:
    """Every document of the catalogue, course by course; on_course(n) after the n-th course."""
    ids = list(db.session.scalars(select(Course.id).where(*LISTED).order_by(Course.id)))
    done = 0
    for start in range(0, len(ids), _CHUNK):
        courses = db.session.scalars(
            select(Course).where(Course.id.in_(ids[start:start + _CHUNK])).order_by(Course.id)
            .options(selectinload(Course.institution), selectinload(Course.lessons))).all()
        for course in courses:
            yield from course_documents(course)
            done += 1
            if on_course is not None:
                on_course(done)
