"""The search index on disk: a whoosh index per generation, swapped in atomically.

Layout under the index path: ``gen-<time>-<random>/`` directories, each a complete
whoosh index, a ``CURRENT`` file naming the one readers use, and ``WRITELOCK``, held by
whoever writes. A rebuild writes a new generation beside the live one and renames a new
``CURRENT`` over the old, so a reader sees either the old index or the new, never half.
"""

import logging
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from whoosh import index as windex
from whoosh import query as wq
from whoosh import sorting
from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.searching import Searcher

from lms.search.analysis import (
    analyzer,
    build_query,
    clean_query_text,
    did_you_mean,
    highlight_passage,
    nfc,
    spelling_analyzer,
)

logger = logging.getLogger(__name__)

# Searched fields. Summary, body, subtitles and institution name are searched through one
# `content` field (and stored apart for display): every searched field adds a matcher per
# query word, and matching is most of what a whoosh query costs.
SEARCH_FIELDS = ("title", "occupation", "content")
CONTENT_KEYS = ("summary", "body", "subtitles", "institution")
FACET_FIELDS = ("training_type", "skill_level", "institution_id", "region", "language")
FILTER_FIELDS = (*FACET_FIELDS, "kind", "course_id")
PASSAGE_FIELDS = ("body", "summary", "subtitles")

# The keys a document handed to update_documents or rebuild may have; titles are per
# language and all of them are searchable.
_TITLE_KEYS = ("title_bo", "title_zh", "title_en")
_OCCUPATION_KEYS = ("occupation_name", "occupation_code")
_TEXT_KEYS = (*_TITLE_KEYS, *CONTENT_KEYS, *_OCCUPATION_KEYS)
DOCUMENT_KEYS = frozenset({"doc_id", "kind", "course_id", "url", *_TEXT_KEYS, *FACET_FIELDS})

_POINTER = "CURRENT"
_LOCK = "WRITELOCK"
_GENERATION = re.compile(r"gen-\d{20}-[0-9a-f]{8}\Z")
_ATTEMPTS = 3
MAX_RESULTS = 10_000
_T = TypeVar("_T")


def schema() -> Schema:
    """Return the index schema: searchable text, stored display fields and facets."""
    text = analyzer()
    facet = {"stored": True, "sortable": True}
    return Schema(
        doc_id=ID(unique=True, stored=True),
        kind=ID(stored=True),
        course_id=ID(stored=True),
        url=STORED(),
        title=TEXT(analyzer=text, stored=True, field_boost=3.0),
        title_bo=STORED(),
        title_zh=STORED(),
        title_en=STORED(),
        occupation=TEXT(analyzer=text, stored=True, field_boost=2.0),
        content=TEXT(analyzer=text),
        summary=STORED(),
        body=STORED(),
        subtitles=STORED(),
        institution=STORED(),
        spelling=TEXT(analyzer=spelling_analyzer(), phrase=False),
        training_type=ID(**facet),
        skill_level=ID(**facet),
        institution_id=ID(**facet),
        region=ID(**facet),
        # A course can be taught in several languages: `language` holds the list for
        # filtering, `languages` the sorted list as one value, which counts in one column
        # lookup per hit where a list-valued facet would re-read the field on every search.
        language=KEYWORD(stored=True, scorable=False),
        languages=ID(sortable=True),
    )


class IndexStatus(StrEnum):
    """What state the index directory is in."""

    OK = "ok"
    MISSING = "missing"
    CORRUPT = "corrupt"


class SearchError(Exception):
    """Base of the errors the search index raises."""


class IndexUnavailable(SearchError):
    """The index is missing or unreadable; `rebuild()` repairs it."""

    def __init__(self, status: IndexStatus, detail: str = "") -> None:
        super().__init__(f"search index {status}: {detail}" if detail else f"search index {status}")
        self.status = status
        self.user_message = _l("Search is not available at the moment. Please try again later.")


class IndexLocked(SearchError):
    """Another writer held the index for longer than the lock timeout; retry later."""


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


class SearchIndex:
    """A search index directory: writes take a lock, searches never block."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        lock_timeout: float = 10.0,
        max_query_chars: int = 200,
        passage_chars: int = 240,
        highlight_scan_chars: int = 20_000,
        writer_memory_mb: int = 128,
    ) -> None:
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        self.max_query_chars = max_query_chars
        self.passage_chars = passage_chars
        self.highlight_scan_chars = highlight_scan_chars
        self.writer_memory_mb = writer_memory_mb
        self.schema = schema()
        self._opened: dict[str, windex.Index] = {}
        self._opened_lock = threading.Lock()

    # Reading

    def status(self) -> IndexStatus:
        """Return whether the index is usable, absent, or present but unreadable."""
        try:
            self._read(lambda searcher: searcher.doc_count())
        except IndexUnavailable as exc:
            return exc.status
        return IndexStatus.OK

    def search(
        self,
        text: str,
        *,
        filters: Mapping[str, Any] | None = None,
        page: int = 1,
        per_page: int = 10,
        lang: str = "bo",
    ) -> SearchResults:
        """Search for what a user typed; raise IndexUnavailable if the index cannot be read."""
        cleaned = clean_query_text(text, self.max_query_chars)
        per_page = min(max(per_page, 1), 100)
        # Deep pages cost as much as reading every hit before them; nobody reads that far.
        page = min(max(page, 1), MAX_RESULTS // per_page)
        empty = SearchResults(query=cleaned, page=page, per_page=per_page)
        query = build_query(cleaned, list(SEARCH_FIELDS), self.schema, max_chars=len(cleaned))
        if query is None:
            return replace(empty, page=1)
        filter_query = _filter_query(filters or {})
        return self._read(lambda s: self._search(s, query, filter_query, empty, lang))

    def _search(
        self,
        searcher: Searcher,
        query: wq.Query,
        filter_query: Any,
        empty: SearchResults,
        lang: str,
    ) -> SearchResults:
        facets = sorting.Facets()
        for name in (*FACET_FIELDS[:-1], "languages"):
            facets.add_field(name, maptype=sorting.Count)
        per_page = empty.per_page
        results = searcher.search(
            query, limit=empty.page * per_page, filter=filter_query, groupedby=facets
        )
        total = len(results)
        page = min(empty.page, max(1, -(-total // per_page)))
        terms = {t for f, t in query.iter_all_terms() if f in SEARCH_FIELDS}
        return replace(
            empty,
            hits=[
                self._hit(hit.fields(), hit.score, terms, lang)
                for hit in results[(page - 1) * per_page : page * per_page]
            ],
            total=total,
            page=page,
            facets=_facet_counts(results),
            suggestion=did_you_mean(searcher.reader(), empty.query, SEARCH_FIELDS),
        )

    def _hit(self, stored: dict[str, Any], score: float, terms: set[str], lang: str) -> SearchHit:
        return SearchHit(
            doc_id=stored["doc_id"],
            kind=stored.get("kind", ""),
            url=stored.get("url", ""),
            title=display_title(stored, lang),
            passage=self._passage(stored, terms),
            score=score,
            fields=stored,
        )

    def _passage(self, stored: dict[str, Any], terms: set[str]) -> Markup:
        for name in PASSAGE_FIELDS:
            # Highlighting re-analyses the text; the scan is capped so one long lesson
            # cannot slow a results page.
            text = (stored.get(name) or "")[: self.highlight_scan_chars]
            marked = highlight_passage(text, terms, max_chars=self.passage_chars) if text else ""
            if marked:
                return Markup(marked)  # noqa: S704 - MarkFormatter escaped every character
        opening = next((stored[n] for n in PASSAGE_FIELDS if stored.get(n)), "")
        shortened = opening[: self.passage_chars]
        suffix = "…" if len(opening) > len(shortened) else ""
        return escape(shortened) + suffix

    def _read(self, action: Callable[[Searcher], _T]) -> _T:
        """Run action on a searcher of the live generation, retrying across a swap."""
        error: Exception | None = None
        for _ in range(_ATTEMPTS):
            # A rebuild may swap CURRENT and remove the generation it named between our
            # reading it and opening the files; the next attempt reads the new one.
            try:
                name = self._current_generation()
            except IndexUnavailable as exc:
                error = exc
                continue
            try:
                with self._index(name).searcher() as searcher:
                    return action(searcher)
            except Exception as exc:  # noqa: BLE001 - any failure to read means unavailable
                error = exc
                with self._opened_lock:
                    self._opened.pop(name, None)
        if isinstance(error, IndexUnavailable):
            raise error
        logger.error("search index at %s is unreadable", self.path, exc_info=error)
        raise IndexUnavailable(IndexStatus.CORRUPT, repr(error)) from error

    def _current_generation(self) -> str:
        try:
            name = (self.path / _POINTER).read_text("ascii").strip()
        except FileNotFoundError:
            empty = not self.path.is_dir() or all(p.name == _LOCK for p in self.path.iterdir())
            status = IndexStatus.MISSING if empty else IndexStatus.CORRUPT
            raise IndexUnavailable(status, f"no {_POINTER} in {self.path}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise IndexUnavailable(IndexStatus.CORRUPT, repr(exc)) from exc
        if not _GENERATION.match(name) or not (self.path / name).is_dir():
            raise IndexUnavailable(IndexStatus.CORRUPT, f"{_POINTER} names {name[:40]!r}")
        return name

    def _index(self, name: str) -> windex.Index:
        with self._opened_lock:
            opened = self._opened.get(name)
            if opened is None:
                opened = windex.open_dir(str(self.path / name))
                self._opened = {name: opened}
            return opened

    # Writing

    def ensure(self) -> IndexStatus:
        """Create an empty index if there is none; return the index status."""
        with self._write_lock():
            if self.status() is IndexStatus.MISSING:
                self._install(self._build([])[0])
        return self.status()

    def update_documents(self, docs: Iterable[Mapping[str, Any]]) -> int:
        """Add or replace documents by doc_id; return how many were written."""
        batch = {fields["doc_id"]: fields for fields in map(to_fields, docs)}
        with self._write_lock(), self._writer() as writer:
            for fields in batch.values():
                writer.update_document(**fields)
        return len(batch)

    def delete_documents(self, doc_ids: Iterable[str]) -> int:
        """Remove documents by doc_id; return how many were in the index."""
        with self._write_lock(), self._writer() as writer:
            return sum(writer.delete_by_term("doc_id", str(doc_id)) for doc_id in doc_ids)

    def rebuild(self, docs: Iterable[Mapping[str, Any]]) -> int:
        """Index docs into a new generation and swap it in; return how many were indexed.

        Searches keep using the old generation until the swap. This also repairs a
        missing or corrupt index.
        """
        with self._write_lock():
            name, count = self._build(map(to_fields, docs))
            self._install(name)
        return count

    @contextmanager
    def _writer(self) -> Iterator[Any]:
        name = self._current_generation()
        try:
            writer = self._index(name).writer()
        except Exception as exc:  # noqa: BLE001 - an unopenable index is a corrupt one
            raise IndexUnavailable(IndexStatus.CORRUPT, repr(exc)) from exc
        with writer:
            yield writer

    def _build(self, fields_stream: Iterable[dict[str, Any]]) -> tuple[str, int]:
        name = f"gen-{time.time_ns():020d}-{secrets.token_hex(4)}"
        target = self.path / name
        target.mkdir(parents=True)
        try:
            ix = windex.create_in(str(target), self.schema)
            with ix.writer(limitmb=self.writer_memory_mb) as writer:
                seen: set[str] = set()
                for fields in fields_stream:
                    if fields["doc_id"] in seen:
                        raise ValueError(f"doc_id {fields['doc_id']!r} given twice")
                    seen.add(fields["doc_id"])
                    writer.add_document(**fields)
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
        return name, len(seen)

    def _install(self, name: str) -> None:
        """Point CURRENT at generation name atomically, then remove every other one."""
        temporary = self.path / f".{_POINTER}.{secrets.token_hex(4)}"
        with open(temporary, "w", encoding="ascii") as handle:
            handle.write(name)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path / _POINTER)
        directory = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        for child in self.path.iterdir():
            if child.name != name and child.is_dir() and _GENERATION.match(child.name):
                shutil.rmtree(child, ignore_errors=True)

    @contextmanager
    def _write_lock(self) -> Iterator[None]:
        self.path.mkdir(parents=True, exist_ok=True)
        lock = FileStorage(str(self.path)).lock(_LOCK)
        deadline = time.monotonic() + self.lock_timeout
        while not lock.acquire(blocking=False):
            if time.monotonic() >= deadline:
                raise IndexLocked(
                    f"another writer holds {self.path / _LOCK} after {self.lock_timeout}s"
                )
            time.sleep(0.05)
        try:
            yield
        finally:
            lock.release()


def to_fields(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Return the index fields of a document; raise ValueError on a malformed one."""
    unknown = set(doc) - DOCUMENT_KEYS
    if unknown:
        raise ValueError(f"unknown search document keys: {sorted(unknown)}")
    doc_id, kind = str(doc.get("doc_id") or ""), doc.get("kind")
    if not doc_id or kind not in ("course", "lesson"):
        raise ValueError(
            f"a search document needs a doc_id and a kind of course or lesson: {doc_id!r}"
        )
    text = {key: nfc(str(doc.get(key) or "")).strip() for key in _TEXT_KEYS}
    fields: dict[str, Any] = {
        "title": "\n".join(filter(None, (text[key] for key in _TITLE_KEYS))),
        "occupation": " ".join(filter(None, (text[key] for key in _OCCUPATION_KEYS))),
        **{key: text[key] for key in _TEXT_KEYS if key not in _OCCUPATION_KEYS},
    }
    fields["content"] = "\n".join(filter(None, (text[key] for key in CONTENT_KEYS)))
    fields["spelling"] = "\n".join(fields[name] for name in SEARCH_FIELDS)
    fields = {name: value.strip() for name, value in fields.items() if value.strip()}
    fields.update(doc_id=doc_id, kind=kind)
    for name in ("course_id", "url", *FACET_FIELDS):
        value = doc.get(name)
        if isinstance(value, list | tuple | set | frozenset):
            value = " ".join(sorted({str(v) for v in value}))
        if value not in (None, ""):
            fields[name] = str(value)
    if "language" in fields:
        fields["languages"] = fields["language"]
    return fields


def _facet_counts(results: Any) -> dict[str, dict[str, int]]:
    counts = {name: dict(results.groups(name)) for name in FACET_FIELDS[:-1]}
    languages: dict[str, int] = {}
    for combination, count in results.groups("languages").items():
        for code in (combination or "").split():
            languages[code] = languages.get(code, 0) + count
    counts["language"] = languages
    # Documents without a value have an empty key; a facet lists only real values.
    return {name: {k: v for k, v in values.items() if k} for name, values in counts.items()}


def _filter_query(filters: Mapping[str, Any]) -> wq.Query | None:
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


def display_title(stored: Mapping[str, Any], lang: str) -> str:
    """Return the title in lang ("bo", "zh_Hans", "en"), else in the first language it has."""
    wanted = lang.split("_")[0].lower()
    order = [wanted] + [code for code in ("bo", "zh", "en") if code != wanted]
    return next((stored[f"title_{c}"] for c in order if stored.get(f"title_{c}")), "")
