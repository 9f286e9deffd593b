"""Course operations: authoring, publishing, enrolment and completion. They flush, never commit."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from flask import has_request_context, session
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from werkzeug.exceptions import Forbidden

from lms.core import signals
from lms.core.db import utcnow
from lms.core.errors import UserError
from lms.core.i18n import CONTENT_LANGS, normalize_text, set_localized
from lms.courses import permissions
from lms.courses.kinds import LESSON_KINDS, kind_of
from lms.courses.models import (
    Course,
    CourseStatus,
    Enrolment,
    EnrolmentStatus,
    Lesson,
    LessonProgress,
    Section,
    course_prerequisites,
)
from lms.extensions import db
from lms.users.models import Institution, Role, User

OCCUPATION_CODE = re.compile(r"^\d-\d{2}-\d{2}-\d{2}$")
#: Longest stretch one page view (without the page's heartbeat) counts as reading.
READING_GAP_CAP_SECONDS = 300
#: "Last activity" in the progress table is kept to this resolution.
ACTIVITY_RESOLUTION_SECONDS = 300

LOCALIZED_COURSE_FIELDS = ("title", "summary", "occupation_name")


def check_occupation_code(code: str) -> str:
    """The national occupational classification code, format-checked (``6-01-02-01``)."""
    code = (code or "").strip()
    if not OCCUPATION_CODE.match(code):
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
    course.sequential = bool(values.get("sequential"))
    db.session.flush()
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
        problems.extend(f"{lesson.title}: {p}" for p in kind_of(lesson).publish_problems(lesson))
    return problems


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
    if course.is_published:
        signals.course_published.send(course, course=course)
    return lesson


def reorder(actor: User, course: Course, items: list[tuple[str, int]]) -> None:
    """Set the order of a course's sections and lessons in one go.

    ``items`` lists ``("section", id)`` and ``("lesson", id)`` in the new
    order; each lesson belongs to the nearest section above it. The list must
    name every section and lesson of this course exactly once, so a stale
    form (someone else changed the course meanwhile) or ids of another
    course are refused rather than half-applied.
    """
    if not permissions.can_edit_course(actor, course):
        raise Forbidden()
    sections = {s.id: s for s in course.sections}
    lessons = {x.id: x for s in course.sections for x in s.lessons}
    named_sections = [i for k, i in items if k == "section"]
    named_lessons = [i for k, i in items if k == "lesson"]
    if (sorted(named_sections) != sorted(sections) or sorted(named_lessons) != sorted(lessons)
            or (items and items[0][0] != "section")):
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


def delete_lesson(actor: User, lesson: Lesson) -> None:
    """Remove a lesson nobody has started yet (with progress, unpublish it instead)."""
    if not permissions.can_edit_course(actor, lesson.section.course):
        raise Forbidden()
    started = db.session.scalar(select(func.count(LessonProgress.id))
                                .where(LessonProgress.lesson_id == lesson.id))
    if started:
        raise UserError(_l("Learners have started this lesson; unpublish it instead of "
                           "deleting it, so their records stay whole."))
    db.session.delete(lesson)
    db.session.flush()


# --- learners ------------------------------------------------------------------------

def enrol(user: User, course: Course) -> Enrolment:
    """Enrol a learner (enrolling twice is harmless; a withdrawn learner comes back)."""
    if not course.is_published:
        raise UserError(_l("This course is not open for enrolment."))
    missing = [c for c in course.prerequisites if not is_course_completed(user, c)]
    if missing:
        raise UserError(_l("Complete %(courses)s first.",
                           courses="、".join(c.title for c in missing)))
    enrolment = find_enrolment(user, course)
    if enrolment is None:
        try:
            with db.session.begin_nested():
                enrolment = Enrolment(course_id=course.id, user_id=user.id)
                db.session.add(enrolment)
        except IntegrityError:  # a second tab enrolled at the same moment
            enrolment = find_enrolment(user, course)
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


def find_enrolment(user: User, course: Course) -> Enrolment | None:
    """The learner's enrolment in a course, whatever its status."""
    return db.session.scalar(select(Enrolment).where(Enrolment.course_id == course.id,
                                                     Enrolment.user_id == user.id))


def is_course_completed(user: User, course: Course) -> bool:
    """Whether the learner has completed ``course``."""
    enrolment = find_enrolment(user, course)
    return enrolment is not None and enrolment.completed_at is not None


def progress_for(enrolment: Enrolment, lesson: Lesson) -> LessonProgress:
    """The learner's progress row for a lesson, created on first use."""
    stmt = select(LessonProgress).where(LessonProgress.enrolment_id == enrolment.id,
                                        LessonProgress.lesson_id == lesson.id)
    progress = db.session.scalar(stmt)
    if progress is None:
        try:
            with db.session.begin_nested():
                progress = LessonProgress(enrolment_id=enrolment.id, lesson_id=lesson.id)
                db.session.add(progress)
        except IntegrityError:
            progress = db.session.scalar(stmt)
    return progress


def touch(enrolment: Enrolment, now: datetime | None = None) -> None:
    """Note learner activity for the progress table."""
    enrolment.last_activity_at = now or utcnow()


def activity_is_stale(enrolment: Enrolment, now: datetime) -> bool:
    """Whether a page view should refresh "last activity" (at most every few minutes)."""
    last = enrolment.last_activity_at
    return last is None or (now - last).total_seconds() > ACTIVITY_RESOLUTION_SECONDS


_VIEW_KEY = "lms_viewing"


def note_view(lesson: Lesson, now: datetime) -> None:
    """Remember, in the signed session, when the learner opened this lesson.

    Page views write nothing to the database (readers never wait for the
    write lock); the next reading report measures from this moment.
    """
    session[_VIEW_KEY] = [lesson.id, int(now.timestamp())]


def _viewed_since(lesson: Lesson) -> datetime | None:
    viewing = session.get(_VIEW_KEY)
    if isinstance(viewing, list) and len(viewing) == 2 and viewing[0] == lesson.id:
        return datetime.fromtimestamp(int(viewing[1]), UTC)
    return None


def record_reading(progress: LessonProgress, now: datetime, lesson: Lesson | None = None) -> int:
    """Credit the time since the learner's last view or reading report as reading, capped.

    A learner has one reading clock: the latest reading report on any of
    their lessons, or the page view remembered in the session. So reading in
    two tabs counts once, and reports sent for many lessons at once share the
    same minutes instead of multiplying them. From a browser (``lesson``
    given), only the lesson the learner last opened earns time: a report for
    a page never opened, or left for another, credits nothing and moves no clock.
    """
    db.session.refresh(progress, with_for_update=True)  # two tabs report one at a time
    viewed = _viewed_since(lesson) if lesson is not None else None
    if lesson is not None and viewed is None:
        return 0
    enrolment = db.session.get(Enrolment, progress.enrolment_id)
    latest_report = db.session.scalar(
        select(func.max(LessonProgress.viewed_at)).join(
            Enrolment, Enrolment.id == LessonProgress.enrolment_id)
        .where(Enrolment.user_id == enrolment.user_id))
    anchors = [t for t in (progress.viewed_at, viewed, latest_report) if t]
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
    progress.viewed_at = now
    if lesson is not None and has_request_context():
        session[_VIEW_KEY] = [lesson.id, int(now.timestamp())]
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
    if required - done:
        return
    result = db.session.execute(
        update(Enrolment).where(Enrolment.id == enrolment.id, Enrolment.completed_at.is_(None))
        .values(completed_at=now, status=EnrolmentStatus.COMPLETED)
        .execution_options(synchronize_session=False))
    if result.rowcount == 1:
        db.session.refresh(enrolment)
        signals.course_completed.send(enrolment.course, enrolment=enrolment)


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
