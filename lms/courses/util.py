"""Read-side queries: the catalogue, a learner's outline of a course, progress tables."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, bindparam, case, func, or_, select
from sqlalchemy.orm import aliased, defer, joinedload, selectinload

from lms.config import LOCALES
from lms.core.cache import Revision
from lms.core.i18n import CONTENT_LANGS
from lms.courses.listeners import course_revision
from lms.courses.models import (
    Course,
    CourseStatus,
    Enrolment,
    EnrolmentStatus,
    Lesson,
    LessonProgress,
    SkillLevel,
    TrainingType,
)
from lms.extensions import db
from lms.users.models import PREFECTURES, Institution, User

PER_PAGE = 20

#: A search engine that maps a query to matching course ids (best first), or None
#: when it cannot answer (then the catalogue falls back to matching titles).
SearchProvider = Callable[[str], list[int] | None]
_search_provider: list[SearchProvider] = []


def set_search_provider(provider: SearchProvider) -> None:
    """Let the search domain answer the catalogue's search box."""
    _search_provider[:] = [provider]


#: The hours learners' training records credit them for a course, by learner id: given a
#: course id and learner ids, a dict of hours (lms.records answers: the record, with its
#: corrections, not the lessons' hours as they are now).
HoursProvider = Callable[[int, list[int]], dict[int, Decimal]]
_hours_provider: list[HoursProvider] = []


def set_hours_provider(provider: HoursProvider) -> None:
    """Let the records domain say how many hours a course has credited."""
    _hours_provider[:] = [provider]


@dataclass
class CatalogueFilters:
    """What a visitor asked the catalogue for; unknown values are ignored, never an error."""

    q: str = ""
    training_type: str = ""
    level: str = ""
    occupation: str = ""
    institution: int | None = None
    prefecture: str = ""
    language: str = ""
    subsidised: bool = False
    sort: str = "newest"
    page: int = 1

    @classmethod
    def from_args(cls, args: Any) -> CatalogueFilters:
        f = cls(q=(args.get("q") or "").strip()[:200],
                training_type=args.get("training_type", ""),
                level=args.get("level", ""), occupation=(args.get("occupation") or "")[:50],
                institution=args.get("institution", type=int),
                prefecture=args.get("prefecture", ""), language=args.get("language", ""),
                subsidised=args.get("subsidised") in ("1", "on", "y"),
                sort=args.get("sort", "newest"), page=args.get("page", 1, type=int) or 1)
        if f.training_type not in TrainingType.__members__.values():
            f.training_type = ""
        if f.level not in SkillLevel.__members__.values():
            f.level = ""
        if f.prefecture not in PREFECTURES:
            f.prefecture = ""
        if f.language not in ("bo", "zh", "en"):
            f.language = ""
        if f.sort not in SORTS:
            f.sort = "newest"
        return f

    def args(self, **changes: Any) -> dict[str, Any]:
        """The query-string arguments of these filters (for pager and sort links)."""
        values = {"q": self.q, "training_type": self.training_type, "level": self.level,
                  "occupation": self.occupation, "institution": self.institution,
                  "prefecture": self.prefecture, "language": self.language,
                  "subsidised": "1" if self.subsidised else "", "sort": self.sort}
        values.update(changes)
        return {k: v for k, v in values.items() if v not in ("", None)}


SORTS = {
    "newest": Course.published_at.desc(),
    "hours": Course.nominal_hours.asc(),
    "code": Course.code.asc(),
}


def catalogue_query(f: CatalogueFilters) -> Select:
    """Published courses of active institutions matching the filters, in the chosen order;
    "subsidised only" keeps those of institutions approved for subsidised training."""
    stmt = (select(Course).join(Institution, Institution.id == Course.institution_id)
            .where(Course.status == CourseStatus.PUBLISHED, Institution.is_active.is_(True))
            .options(selectinload(Course.institution)))
    order = [SORTS[f.sort], Course.id.desc()]
    if f.q:
        ids = _search_provider[0](f.q) if _search_provider else None
        if ids is not None:
            stmt = stmt.where(Course.id.in_(ids or [-1]))
            if ids and f.sort == "newest":  # with a query, "newest" yields to relevance
                order = [_case_rank(ids), Course.id.desc()]
        else:
            like = f"%{f.q}%"
            stmt = stmt.where(or_(Course.title_bo.ilike(like), Course.title_zh.ilike(like),
                                  Course.title_en.ilike(like), Course.code.ilike(like),
                                  Course.occupation_name_zh.ilike(like),
                                  Course.occupation_name_bo.ilike(like),
                                  Course.occupation_name_en.ilike(like)))
    if f.training_type:
        stmt = stmt.where(Course.training_type == f.training_type)
    if f.level:
        stmt = stmt.where(Course.skill_level == f.level)
    if f.occupation:
        stmt = stmt.where(Course.occupation_code.startswith(f.occupation.strip()))
    if f.institution:
        stmt = stmt.where(Course.institution_id == f.institution)
    if f.prefecture:
        stmt = stmt.where(Institution.prefecture == f.prefecture)
    if f.language:
        stmt = stmt.where(getattr(Course, f"title_{f.language}").is_not(None))
    if f.subsidised:
        stmt = stmt.where(Course.subsidised.is_(True), Institution.subsidy_approved.is_(True))
    return stmt.order_by(*order)


def _case_rank(ids: list[int]) -> Any:
    return case({course_id: rank for rank, course_id in enumerate(ids)}, value=Course.id,
                else_=len(ids))


def institutions_with_courses() -> list[tuple[Institution, int]]:
    """Active institutions with their number of published courses, for filters and the
    public institution catalogue."""
    count = (select(Course.institution_id, func.count(Course.id).label("n"))
             .where(Course.status == CourseStatus.PUBLISHED)
             .group_by(Course.institution_id).subquery())
    rows = db.session.execute(
        select(Institution, func.coalesce(count.c.n, 0))
        .outerjoin(count, count.c.institution_id == Institution.id)
        .where(Institution.is_active.is_(True)).order_by(Institution.code)).all()
    return [(inst, n) for inst, n in rows]


# --- a learner in a course ---------------------------------------------------------

@dataclass
class OutlineItem:
    """A lesson as one learner sees it in the syllabus."""

    lesson: Lesson
    progress: LessonProgress | None
    locked: bool

    @property
    def completed(self) -> bool:
        return self.progress is not None and self.progress.completed_at is not None


@dataclass
class Outline:
    """A course's published lessons for one learner, with what is done and what is locked."""

    course: Course
    enrolment: Enrolment | None
    items: list[OutlineItem] = field(default_factory=list)

    def item(self, lesson_id: int) -> OutlineItem | None:
        return next((i for i in self.items if i.lesson.id == lesson_id), None)

    def neighbours(self, lesson_id: int) -> tuple[Lesson | None, Lesson | None]:
        ids = [i.lesson.id for i in self.items]
        if lesson_id not in ids:
            return None, None
        at = ids.index(lesson_id)
        prev = self.items[at - 1].lesson if at > 0 else None
        nxt = self.items[at + 1].lesson if at + 1 < len(ids) else None
        return prev, nxt

    @property
    def next_lesson(self) -> Lesson | None:
        """Where "continue" goes: the first open lesson not yet completed."""
        for item in self.items:
            if not item.completed and not item.locked:
                return item.lesson
        return None

    @property
    def required_count(self) -> int:
        return sum(1 for i in self.items if i.lesson.required)

    @property
    def required_done(self) -> int:
        return sum(1 for i in self.items if i.lesson.required and i.completed)

    @property
    def percent(self) -> int:
        total = self.required_count
        return 100 if not total else round(100 * self.required_done / total)

    @property
    def hours_credited(self) -> Decimal:
        if _hours_provider and self.enrolment is not None:
            user_id = self.enrolment.user_id
            return _hours_provider[0](self.course.id, [user_id]).get(user_id, Decimal("0"))
        return sum((i.lesson.credit_hours for i in self.items if i.completed), Decimal("0"))


#: Loader options that leave lessons' bodies in the database, for queries that list or
#: check lessons and never show their text (an outline, a video segment).
LESSON_BODIES_DEFERRED = tuple(defer(getattr(Lesson, f"body_{lang}")) for lang in CONTENT_LANGS)


def outline(course: Course, enrolment: Enrolment | None, *, include_unpublished: bool = False
            ) -> Outline:
    """The syllabus of ``course`` for a learner (or for a preview when ``enrolment`` is None)."""
    stmt = (select(Lesson).where(Lesson.course_id == course.id)
            .options(joinedload(Lesson.section), *LESSON_BODIES_DEFERRED)
            .order_by(Lesson.section_position, Lesson.position))
    if not include_unpublished:
        stmt = stmt.where(Lesson.is_published.is_(True))
    lessons = db.session.scalars(stmt).all()
    progress: dict[int, LessonProgress] = {}
    if enrolment is not None:
        progress = {p.lesson_id: p for p in db.session.scalars(
            select(LessonProgress).where(LessonProgress.enrolment_id == enrolment.id))}
    result = Outline(course, enrolment)
    blocked = False
    for lesson in lessons:
        p = progress.get(lesson.id)
        locked = course.sequential and blocked and enrolment is not None
        result.items.append(OutlineItem(lesson, p, locked))
        if lesson.required and not (p and p.completed_at):
            blocked = True
    return result


def my_learning(user: User) -> list[tuple[Enrolment, Outline]]:
    """A learner's courses (not withdrawn), most recently active first."""
    enrolments = db.session.scalars(
        select(Enrolment).where(Enrolment.user_id == user.id,
                                Enrolment.status != EnrolmentStatus.WITHDRAWN)
        .options(selectinload(Enrolment.course))
        .order_by(Enrolment.last_activity_at.desc().nulls_last(), Enrolment.id.desc())).all()
    return [(e, outline(e.course, e)) for e in enrolments]


# --- progress table ---------------------------------------------------------------------

#: Extra columns other domains add to the progress table: (header, values by enrolment id).
ProgressColumn = tuple[Any, Callable[[Course, list[int]], dict[int, str]]]
PROGRESS_COLUMNS: list[ProgressColumn] = []


@dataclass
class ProgressRow:
    """One learner's line in a course's progress table."""

    enrolment: Enrolment
    learner: User
    completed: int
    hours: Decimal
    extra: list[str]


def progress_table(course: Course) -> tuple[list[Any], list[ProgressRow]]:
    """Every enrolled learner's progress in ``course``, with the extra domain columns."""
    enrolments = db.session.scalars(
        select(Enrolment).where(Enrolment.course_id == course.id)
        .options(selectinload(Enrolment.user)).order_by(Enrolment.enrolled_at)).all()
    done = db.session.execute(
        select(LessonProgress.enrolment_id, func.count(LessonProgress.id),
               func.coalesce(func.sum(Lesson.credit_hours), 0))
        .join(Lesson, Lesson.id == LessonProgress.lesson_id)
        .join(Enrolment, Enrolment.id == LessonProgress.enrolment_id)
        .where(Enrolment.course_id == course.id, LessonProgress.completed_at.is_not(None))
        .group_by(LessonProgress.enrolment_id)).all()
    by_enrolment = {eid: (n, Decimal(str(h))) for eid, n, h in done}
    credited = _hours_provider[0](course.id, [e.user_id for e in enrolments]) \
        if _hours_provider else None
    ids = [e.id for e in enrolments]
    extras = [(header, func_(course, ids)) for header, func_ in PROGRESS_COLUMNS]
    rows = []
    for e in enrolments:
        n, hours = by_enrolment.get(e.id, (0, Decimal("0")))
        if credited is not None:
            hours = credited.get(e.user_id, Decimal("0"))
        rows.append(ProgressRow(e, e.user, n, hours, [vals.get(e.id, "") for _h, vals in extras]))
    return [header for header, _ in extras], rows


def courses_taught_by(user: User) -> Select:
    """Courses a staff member can edit, newest first."""
    from lms.users.models import Role

    stmt = select(Course).order_by(Course.updated_at.desc())
    if user.role == Role.REGIONAL_ADMIN:
        return stmt
    if user.role == Role.INSTITUTION_ADMIN:
        return stmt.where(Course.institution_id == user.institution_id)
    return stmt.where(Course.instructors.any(User.id == user.id))


# --- the lesson page's fingerprint ------------------------------------------------------

_COURSE_REVISION = aliased(Revision)

#: Everything a learner's lesson page is drawn from, by version, in one query: their
#: account (name, role, language, sign-in version; ``updated_at`` moves with any change),
#: the course row and its content revision, the lesson, and their enrolment with the
#: version of their progress, and last activity (last, apart: see
#: :class:`LessonPageVersions`).
_LESSON_PAGE_VERSIONS = (
    select(User.session_version, User.is_active, User.updated_at, User.locale,
           Course.status, Course.updated_at, _COURSE_REVISION.value,
           Lesson.updated_at, Lesson.is_published,
           Enrolment.id, Enrolment.status, Enrolment.completed_at, Enrolment.progress_version,
           Enrolment.last_activity_at)
    .select_from(User)
    .join(Lesson, Lesson.id == bindparam("lesson_id"))
    .join(Course, (Course.id == Lesson.course_id) & (Course.id == bindparam("course_id")))
    .outerjoin(Enrolment, (Enrolment.course_id == Course.id) & (Enrolment.user_id == User.id))
    .outerjoin(_COURSE_REVISION, _COURSE_REVISION.name == bindparam("course_revision"))
    .where(User.id == bindparam("user_id")))


@dataclass(frozen=True)
class LessonPageVersions:
    """The versions a user's view of a lesson is drawn from, and their last activity in the
    course, which the page does not show (two fingerprints equal whatever it is)."""

    versions: tuple
    last_activity_at: datetime | None = field(compare=False)


def lesson_page_fingerprint(user_id: int, course_id: int, lesson_id: int
                            ) -> LessonPageVersions | None:
    """What a kept lesson page must still match to be shown again (None: no such lesson)."""
    # Read apart, before the view reads anything: a page is then never kept under a
    # fingerprint newer than what it shows.
    row = db.first_apart(_LESSON_PAGE_VERSIONS, {
        "user_id": user_id, "course_id": course_id, "lesson_id": lesson_id,
        "course_revision": course_revision(course_id)})
    if row is None or row[3] not in LOCALES:  # a language chosen by cookie or browser
        return None
    return LessonPageVersions(tuple(row[:-1]), row[-1])
