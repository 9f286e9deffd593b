"""Authoring operations: courses, sections, lessons, order, publishing, staff.

They change models and flush; the caller commits.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from werkzeug.exceptions import Forbidden

from lms.core import signals
from lms.core.db import utcnow
from lms.core.errors import UserError
from lms.core.i18n import (
    CONTENT_LANGS,
    ascii_digits,
    labelled,
    normalize_text,
    set_localized,
)
from lms.core.storage import delete_after_commit
from lms.courses import permissions
from lms.courses.kinds import LESSON_KINDS, kind_of
from lms.courses.models import (
    Attachment,
    Course,
    CourseStatus,
    Lesson,
    LessonProgress,
    Section,
    course_prerequisites,
)
from lms.courses.operations.learning import complete_courses_now_done
from lms.extensions import db
from lms.users.models import Institution, Role, User

OCCUPATION_CODE = re.compile(r"[0-9]-[0-9]{2}-[0-9]{2}-[0-9]{2}")

LOCALIZED_COURSE_FIELDS = ("title", "summary", "occupation_name")


def check_occupation_code(code: str) -> str:
    """The national occupational classification code, format-checked (``6-01-02-01``)."""
    code = ascii_digits(unicodedata.normalize("NFKC", code or "").strip())
    if not OCCUPATION_CODE.fullmatch(code):
        raise UserError(_l("An occupation code looks like 6-01-02-01 (digit-two-two-two)."),
                        "occupation_code")
    return code


def _require_title(values: dict[str, Any]) -> None:
    if not any(normalize_text(values.get(f"title_{lang}")) for lang in CONTENT_LANGS):
        raise UserError(_l("Give the title in at least one language."), "title_bo")


# --- courses -------------------------------------------------------------------

def save_course(actor: User, course: Course | None, *, institution: Institution,
                **values: Any) -> Course:
    """Create or edit a course's description (not its lessons or status)."""
    if course is None and not permissions.can_create_course(actor, institution):
        raise Forbidden()
    if course is not None and not permissions.can_edit_course(actor, course):
        raise Forbidden()
    _require_title(values)
    code = (values.get("code") or "").strip().upper()
    if not re.fullmatch(r"[A-Z0-9][A-Z0-9_-]{1,31}", code):
        raise UserError(_l("A course code has 2 to 32 letters, digits, - or _."), "code")
    clash = db.session.scalar(select(Course.id).where(Course.code == code))
    if clash is not None and (course is None or clash != course.id):
        raise UserError(_l("Another course already uses this code."), "code")
    if course is None:
        course = Course(institution=institution, created_by_id=actor.id)
        db.session.add(course)
        if actor.role == Role.INSTRUCTOR:
            course.instructors.append(actor)
    course.code = code
    for field in LOCALIZED_COURSE_FIELDS:
        set_localized(course, field, values)
    course.occupation_code = check_occupation_code(values.get("occupation_code", ""))
    course.skill_level = values["skill_level"]
    course.training_type = values["training_type"]
    hours = Decimal(str(values.get("nominal_hours") or 0))
    if hours < 0 or hours > 10000:
        raise UserError(_l("Nominal hours must be between 0 and 10000."), "nominal_hours")
    course.nominal_hours = hours
    course.subsidised = bool(values.get("subsidised"))
    if course.subsidised and not course.institution.subsidy_approved:
        raise UserError(_l("Only institutions approved for government-subsidised training "
                           "can offer subsidised courses; ask the regional administrator."),
                        "subsidised")
    course.sequential = bool(values.get("sequential"))
    db.flush_unique({"code": lambda: UserError(_l("Another course already uses this code."),
                                               "code")})
    if course.is_published:
        signals.course_published.send(course, course=course)
    return course


def set_prerequisites(actor: User, course: Course, required: list[Course]) -> None:
    """Course ``course`` needs every course in ``required`` completed first; cycles are refused."""
    if not permissions.can_edit_course(actor, course):
        raise Forbidden()
    if any(not c.is_published for c in required):
        raise UserError(_l("Only published courses can be required first."), "prerequisites")
    required_ids = {c.id for c in required}
    if course.id in required_ids or _reaches(required_ids, course.id):
        raise UserError(_l("These prerequisites would make a cycle: a course would need itself."),
                        "prerequisites")
    course.prerequisites = list(required)
    db.session.flush()


def _reaches(start: set[int], target: int) -> bool:
    """Whether ``target`` is among the (transitive) prerequisites of ``start``."""
    seen, frontier = set(), set(start)
    while frontier:
        if target in frontier:
            return True
        seen |= frontier
        rows = db.session.execute(select(course_prerequisites.c.required_course_id).where(
            course_prerequisites.c.course_id.in_(frontier))).scalars()
        frontier = set(rows) - seen
    return False


def publish_course(actor: User, course: Course) -> None:
    """Put a course in the catalogue; refused while any published lesson is not ready."""
    if not permissions.can_edit_course(actor, course):
        raise Forbidden()
    problems = publish_problems(course)
    if problems:
        raise UserError(problems[0])
    course.status = CourseStatus.PUBLISHED
    course.published_at = course.published_at or utcnow()
    db.session.flush()
    complete_courses_now_done(course)  # reworked while out of the catalogue
    signals.course_published.send(course, course=course)


def publish_problems(course: Course) -> list[str]:
    """Everything that stops a course from being published, for the author to fix."""
    problems = []
    lessons = [lesson for s in course.sections for lesson in s.lessons if lesson.is_published]
    if not lessons:
        problems.append(str(_l("Add at least one published lesson.")))
    elif not any(lesson.required for lesson in lessons):
        # Without a required lesson the course would complete on any first lesson.
        problems.append(str(_l("Mark at least one published lesson as required.")))
    for lesson in lessons:
        problems.extend(labelled(lesson.title, p)
                        for p in kind_of(lesson).publish_problems(lesson))
    return problems


def keep_publishable(course: Course) -> None:
    """Refuse a change that leaves a course in the catalogue without a required lesson its
    learners can see (the only one hidden, made optional or deleted): it would complete,
    and credit its hours, on any first lesson."""
    if not course.is_published:
        return
    for section in course.sections:
        db.session.refresh(section, ["lessons"])
    if not any(lesson.required and lesson.is_published
               for section in course.sections for lesson in section.lessons):
        raise UserError(_l("A course in the catalogue needs at least one required lesson that "
                           "learners can see. Take the course out of the catalogue first to "
                           "change this."))


def unpublish_course(actor: User, course: Course, *, archive: bool = False) -> None:
    """Take a course out of the catalogue (back to draft, or archived for good)."""
    if not permissions.can_edit_course(actor, course):
        raise Forbidden()
    course.status = CourseStatus.ARCHIVED if archive else CourseStatus.DRAFT
    db.session.flush()
    signals.course_withdrawn.send(course, course=course)


def set_instructors(actor: User, course: Course, instructors: list[User]) -> None:
    """Assign the instructors who may edit a course (institution admins and regional admins)."""
    if not permissions.can_manage_course_staff(actor, course):
        raise Forbidden()
    for user in instructors:
        if user.role != Role.INSTRUCTOR or user.institution_id != course.institution_id:
            raise UserError(_l("Only instructors of this course's institution can teach it."),
                            "instructors")
    course.instructors = list(instructors)
    db.session.flush()


# --- sections and lessons ---------------------------------------------------------

def save_section(actor: User, course: Course, section: Section | None, **values: Any) -> Section:
    """Add or rename a section."""
    if not permissions.can_edit_course(actor, course):
        raise Forbidden()
    _require_title(values)
    if section is None:
        position = max((s.position for s in course.sections), default=-1) + 1
        section = Section(course=course, position=position)
        db.session.add(section)
    set_localized(section, "title", values)
    db.session.flush()
    return section


def save_lesson(actor: User, section: Section, lesson: Lesson | None, **values: Any) -> Lesson:
    """Add or edit a lesson of a section."""
    course = section.course
    if not permissions.can_edit_course(actor, course):
        raise Forbidden()
    _require_title(values)
    if lesson is None:
        kind = values.get("kind")
        if kind not in LESSON_KINDS:
            raise UserError(_l("Choose a kind of lesson."), "kind")
        position = max((x.position for x in section.lessons), default=-1) + 1
        lesson = Lesson(section=section, course_id=course.id, kind=kind, position=position,
                        section_position=section.position)
        db.session.add(lesson)
    set_localized(lesson, "title", values)
    set_localized(lesson, "body", values)
    hours = Decimal(str(values.get("credit_hours") or 0))
    if hours < 0 or hours > 1000:
        raise UserError(_l("Credit hours must be between 0 and 1000."), "credit_hours")
    lesson.credit_hours = hours
    lesson.required = bool(values.get("required"))
    lesson.is_published = bool(values.get("is_published"))
    seconds = int(values.get("min_reading_minutes") or 0) * 60
    lesson.min_reading_seconds = max(0, min(seconds, 24 * 3600))
    db.session.flush()
    keep_publishable(course)
    if course.is_published:
        complete_courses_now_done(course)  # a required lesson hidden or made optional
        signals.course_published.send(course, course=course)
    return lesson


def course_order(course: Course) -> list[tuple[str, int]]:
    """A course's sections and lessons as ``reorder`` takes them, in their order now."""
    return [item for s in course.sections
            for item in [("section", s.id)] + [("lesson", x.id) for x in s.lessons]]


def reorder(actor: User, course: Course, items: list[tuple[str, int]], *,
            shown: list[tuple[str, int]] | None = None) -> None:
    """Set the order of a course's sections and lessons in one go.

    ``items`` lists ``("section", id)`` and ``("lesson", id)`` in the new
    order; each lesson belongs to the nearest section above it. The list must
    name every section and lesson of this course exactly once, and ``shown``
    (the order the author's page showed, when given) must still be the
    course's order: a stale form (someone else added, removed or moved
    something meanwhile) or ids of another course are refused rather than
    half-applied or silently undoing a colleague's change.
    """
    if not permissions.can_edit_course(actor, course):
        raise Forbidden()
    sections = {s.id: s for s in course.sections}
    lessons = {x.id: x for s in course.sections for x in s.lessons}
    named_sections = [i for k, i in items if k == "section"]
    named_lessons = [i for k, i in items if k == "lesson"]
    if (sorted(named_sections) != sorted(sections) or sorted(named_lessons) != sorted(lessons)
            or (items and items[0][0] != "section")
            or (shown is not None and shown != course_order(course))):
        raise UserError(_l("The course changed while you were arranging it. "
                           "Reload the page and try again."))
    current: Section | None = None
    counters: dict[int, int] = {}
    for position, (_kind, ident) in enumerate(i for i in items if i[0] == "section"):
        sections[ident].position = position
    for kind, ident in items:
        if kind == "section":
            current = sections[ident]
            counters[current.id] = 0
            continue
        lesson = lessons[ident]
        lesson.section = current
        lesson.section_id = current.id
        lesson.section_position = current.position
        lesson.position = counters[current.id]
        counters[current.id] += 1
    db.session.flush()
    for section in course.sections:
        db.session.refresh(section, ["lessons"])


def delete_attachment(actor: User, attachment: Attachment) -> None:
    """Remove a file from an attachment lesson (from the disk once this commits)."""
    lesson = db.session.get(Lesson, attachment.lesson_id)
    if not permissions.can_edit_course(actor, lesson.section.course):
        raise Forbidden()
    delete_after_commit(attachment.key)
    db.session.delete(attachment)
    db.session.flush()


def delete_lesson(actor: User, lesson: Lesson) -> None:
    """Remove a lesson nobody has started yet (with progress, unpublish it instead)."""
    if not permissions.can_edit_course(actor, lesson.section.course):
        raise Forbidden()
    started = db.session.scalar(select(func.count(LessonProgress.id))
                                .where(LessonProgress.lesson_id == lesson.id))
    if started or kind_of(lesson).holds_learner_work(lesson):
        raise UserError(_l("Learners have started this lesson; unpublish it instead of "
                           "deleting it, so their records stay whole."))
    course = lesson.section.course
    for attachment in lesson.attachments:
        delete_after_commit(attachment.key)
    db.session.delete(lesson)
    db.session.flush()
    keep_publishable(course)
    if course.is_published:
        complete_courses_now_done(course)
        # The catalogue (and its search index) loses the lesson.
        signals.course_published.send(course, course=course)
