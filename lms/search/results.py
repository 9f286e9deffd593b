"""What a search returns: hits, pages of results with facet counts, and filters."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup
from whoosh import query as wq

from lms.search.schema import FACET_FIELDS, FILTER_FIELDS

MAX_RESULTS = 10_000
# Facets counted from one column each; `language` is counted from `languages`, below.
COUNTED_FACETS = ("kind", *(name for name in FACET_FIELDS if name != "language"))


@dataclass(frozen=True)
class SearchHit:
    """One result: its stored fields, its title in the reader's language and a passage."""

    doc_id: str
    kind: str
    url: str
    title: str
    passage: Markup
    score: float
    fields: dict[str, Any]
    #: For a lesson, the title of its course in the reader's language.
    course_title: str = ""

    @property
    def course_id(self) -> int | None:
        """Return the id of the course the hit is (or belongs to), if it has one."""
        value = self.fields.get("course_id", "")
        return int(value) if value.isdigit() else None


@dataclass(frozen=True)
class SearchResults:
    """One page of results, with facet counts over every matching document."""

    query: str
    hits: list[SearchHit] = field(default_factory=list)
    total: int = 0
    page: int = 1
    per_page: int = 10
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    suggestion: str | None = None

    @property
    def pages(self) -> int:
        """Return how many pages the results fill."""
        return -(-self.total // self.per_page)


@dataclass(frozen=True)
class IndexInfo:
    """What `lms search status` reports about a readable index."""

    path: Path
    generation: str
    documents: int
    courses: int
    lessons: int


def facet_counts(results: Any) -> dict[str, dict[str, int]]:
    """Return value -> count for each facet, over every document that matched."""
    counts = {name: dict(results.groups(name)) for name in COUNTED_FACETS}
    languages: dict[str, int] = {}
    for combination, count in results.groups("languages").items():
        for code in (combination or "").split():
            languages[code] = languages.get(code, 0) + count
    counts["language"] = languages
    # Documents without a value have an empty key; a facet lists only real values.
    return {name: {k: v for k, v in values.items() if k} for name, values in counts.items()}


def filter_query_for(filters: Mapping[str, Any]) -> wq.Query | None:
    """Return a query that keeps documents matching every filter (any of a filter's values)."""
    clauses = []
    for name, value in filters.items():
        if name not in FILTER_FIELDS:
            raise ValueError(f"cannot filter on {name!r}; use one of {FILTER_FIELDS}")
        values = list(value) if isinstance(value, list | tuple | set | frozenset) else [value]
        values = [str(v) for v in values if v not in (None, "")]
        if values:
            clauses.append(wq.Or([wq.Term(name, v) for v in values]))
    return wq.And(clauses) if clauses else None
