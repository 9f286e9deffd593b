"""Read-side helpers: the app's index, what the search page was asked, facets and links."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from lms.core.i18n import NATIVE_NAMES
from lms.core.jobs import Job, JobState
from lms.courses.models import (
    SKILL_LEVEL_LABELS,
    TRAINING_TYPE_LABELS,
    Course,
    CourseStatus,
    Lesson,
)
from lms.extensions import db
from lms.search.documents import LISTED
from lms.search.index import IndexUnavailable, SearchIndex
from lms.search.results import SearchHit
from lms.users.models import PREFECTURES, Institution

_EXTENSION = "lms_search_index"


def index_path() -> Path:
    """Where the index lives: SEARCH_INDEX_PATH, relative to the instance directory."""
    return Path(current_app.instance_path) / current_app.config["SEARCH_INDEX_PATH"]


def search_index() -> SearchIndex:
    """The app's search index (one object per app, so opened files are shared)."""
    index = current_app.extensions.get(_EXTENSION)
    if index is None:
        config = current_app.config
        index = SearchIndex(index_path(), lock_timeout=config["SEARCH_LOCK_TIMEOUT"],
                            max_query_chars=config["SEARCH_MAX_QUERY_CHARS"])
        current_app.extensions[_EXTENSION] = index
    return index


def catalogue_course_ids(q: str) -> list[int] | None:
    """Course ids matching q directly or through their lessons, best first; None if the
    index cannot answer (the catalogue then matches titles)."""
    try:
        return search_index().course_ids(q)
    except IndexUnavailable:
        return None


# --- the search page -------------------------------------------------------------------

#: Query-string argument -> index field, in the order the page shows the facets. The
#: argument names are the catalogue's, so a filter means the same on both pages.
FACETS = {
    "kind": "kind",
    "training_type": "training_type",
    "level": "skill_level",
    "institution": "institution_id",
    "prefecture": "region",
    "language": "language",
}
FACET_TITLES = {
    "kind": _l("Show"),
    "training_type": _l("Training type"),
    "level": _l("Skill level"),
    "institution": _l("Institution"),
    "prefecture": _l("Region"),
    "language": _l("Language"),
}
KIND_LABELS = {"course": _l("Courses"), "lesson": _l("Lessons")}
#: What one result is, shown beside its title.
KIND_BADGES = {"course": _l("Course"), "lesson": _l("Lesson")}


def _allowed(arg: str, value: str) -> bool:
    if arg == "kind":
        return value in KIND_LABELS
    if arg == "training_type":
        return value in TRAINING_TYPE_LABELS
    if arg == "level":
        return value in SKILL_LEVEL_LABELS
    if arg == "institution":
        return value.isdigit() and len(value) < 10
    if arg == "prefecture":
        return value in PREFECTURES
    return value in ("bo", "zh", "en")


@dataclass
class SearchArgs:
    """What the search page was asked: the text, the chosen facet values and the page.

    Unknown filter values are dropped, never an error: links get old and people edit URLs.
    """

    q: str = ""
    filters: dict[str, str] = field(default_factory=dict)
    page: int = 1

    @classmethod
    def from_args(cls, args: Any, max_chars: int) -> SearchArgs:
        filters = {}
        for arg in FACETS:
            value = (args.get(arg) or "").strip()
            if value and _allowed(arg, value):
                filters[arg] = value
        page = args.get("page", 1, type=int) or 1
        # Keep a little more than the engine searches, so the cut happens at a word.
        q = " ".join((args.get("q") or "")[: max_chars * 2].split())
        return cls(q=q, filters=filters, page=max(page, 1))

    def index_filters(self) -> dict[str, str]:
        """The chosen facet values, keyed by index field."""
        return {FACETS[arg]: value for arg, value in self.filters.items()}

    def url(self, **changes: Any) -> str:
        """This search with some arguments changed (None removes one); back to page 1."""
        values: dict[str, Any] = {"q": self.q, **self.filters}
        values.update(changes)
        return url_for("search.results", **{k: v for k, v in values.items() if v})


@dataclass(frozen=True)
class FacetValue:
    """One value of a facet as a link: its label, how many results have it, chosen or not."""

    label: str
    count: int
    url: str
    chosen: bool


def facet_links(args: SearchArgs, counts: dict[str, dict[str, int]]) -> list[tuple[Any, list]]:
    """Each facet with values: (title, [FacetValue ...]), most frequent value first."""
    institution_ids = [int(v) for v in counts.get("institution_id", {}) if v.isdigit()]
    institutions = {str(i.id): i.name for i in db.session.scalars(
        select(Institution).where(Institution.id.in_(institution_ids)))} if institution_ids else {}
    labels = {"kind": KIND_LABELS, "training_type": TRAINING_TYPE_LABELS,
              "level": SKILL_LEVEL_LABELS, "institution": institutions,
              "prefecture": PREFECTURES, "language": NATIVE_NAMES}
    facets = []
    for arg, name in FACETS.items():
        values = []
        for value, count in counts.get(name, {}).items():
            chosen = args.filters.get(arg) == value
            label = str(labels[arg].get(value, value))
            values.append(FacetValue(label, count, args.url(**{arg: None if chosen else value}),
                                     chosen))
        values.sort(key=lambda v: (not v.chosen, -v.count, v.label))
        if values:
            facets.append((FACET_TITLES[arg], values))
    return facets


def lesson_id(hit: SearchHit) -> int | None:
    """The lesson a hit is, if it is one."""
    kind, _, ident = hit.doc_id.partition(":")
    return int(ident) if kind == "lesson" and ident.isdigit() else None


def courses_leaving() -> set[int]:
    """Courses withdrawn from the catalogue whose indexing job has not run yet: the index
    still holds them for a moment, and must not count them (``SearchIndex.search``)."""
    subjects = db.session.scalars(select(Job.subject).where(
        Job.name.in_(("search.index_course", "search.remove_course")),
        Job.state.in_((JobState.QUEUED, JobState.RUNNING))))
    pending = {int(s[len("course:"):]) for s in subjects
               if s and s.startswith("course:") and s[len("course:"):].isdigit()}
    if not pending:
        return set()
    return pending - set(db.session.scalars(select(Course.id).where(
        Course.id.in_(pending), Course.status == CourseStatus.PUBLISHED)))


def visible_hits(hits: list[SearchHit]) -> list[SearchHit]:
    """The hits whose course and lesson are still published.

    The index follows the database through jobs, a few seconds behind; a course
    withdrawn a moment ago must not show meanwhile.
    """
    course_ids = {hit.course_id for hit in hits if hit.course_id is not None}
    lesson_ids = {i for i in map(lesson_id, hits) if i is not None}
    published = set(db.session.scalars(select(Course.id).where(
        Course.id.in_(course_ids), *LISTED))) if course_ids else set()
    open_lessons = set(db.session.scalars(select(Lesson.id).where(
        Lesson.id.in_(lesson_ids), Lesson.is_published.is_(True),
        Lesson.course_id.in_(published)))) if lesson_ids and published else set()
    return [hit for hit in hits if hit.course_id in published
            and (hit.kind != "lesson" or lesson_id(hit) in open_lessons)]


def hit_url(hit: SearchHit) -> str:
    """The page of a hit: the course page, or the lesson page (which sends a visitor who
    is not enrolled to the course page)."""
    ident = lesson_id(hit)
    if ident is not None:
        return url_for("courses.lesson", course_id=hit.course_id, lesson_id=ident)
    return url_for("courses.display", course_id=hit.course_id)
