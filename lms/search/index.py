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
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from flask_babel import lazy_gettext as _l
from whoosh import index as windex
from whoosh import query as wq
from whoosh import sorting
from whoosh.filedb.filestore import FileStorage
from whoosh.searching import Searcher

from lms.search.highlight import result_passage
from lms.search.query import build_query, clean_query_text, did_you_mean
from lms.search.results import (
    COUNTED_FACETS,
    MAX_RESULTS,
    IndexInfo,
    SearchHit,
    SearchResults,
    facet_counts,
    filter_query_for,
)
from lms.search.schema import (
    KINDS,
    SEARCH_FIELDS,
    display_title,
    schema,
    to_fields,
)

logger = logging.getLogger(__name__)

_POINTER = "CURRENT"
_LOCK = "WRITELOCK"
_GENERATION = re.compile(r"gen-\d{20}-[0-9a-f]{8}\Z")
_ATTEMPTS = 3
_T = TypeVar("_T")


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
        hidden_courses: Iterable[int] = (),
    ) -> SearchResults:
        """Search for what a user typed; raise IndexUnavailable if the index cannot be read.

        ``hidden_courses``: courses the index still holds but must not answer with, in
        hits, totals, facets or suggestions (withdrawn a moment ago, their job not run).
        """
        cleaned = clean_query_text(text, self.max_query_chars)
        per_page = min(max(per_page, 1), 100)
        # Deep pages cost as much as reading every hit before them; nobody reads that far.
        page = min(max(page, 1), MAX_RESULTS // per_page)
        empty = SearchResults(query=cleaned, page=page, per_page=per_page)
        query = build_query(cleaned, list(SEARCH_FIELDS), self.schema, max_chars=len(cleaned))
        if query is None:
            return replace(empty, page=1)
        filter_query = filter_query_for(filters or {})
        hidden = sorted({str(int(i)) for i in hidden_courses})
        mask = wq.Or([wq.Term("course_id", i) for i in hidden]) if hidden else None
        return self._read(lambda s: self._search(s, query, filter_query, mask, empty, lang))

    def _search(
        self,
        searcher: Searcher,
        query: wq.Query,
        filter_query: Any,
        mask: wq.Query | None,
        empty: SearchResults,
        lang: str,
    ) -> SearchResults:
        facets = sorting.Facets()
        for name in (*COUNTED_FACETS, "languages"):
            facets.add_field(name, maptype=sorting.Count)
        per_page = empty.per_page
        results = searcher.search(
            query, limit=empty.page * per_page, filter=filter_query, mask=mask, groupedby=facets
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
            facets=facet_counts(results),
            suggestion=self._suggestion(searcher, empty.query, filter_query, mask),
        )

    def _suggestion(self, searcher: Searcher, text: str, filter_query: Any,
                    mask: wq.Query | None) -> str | None:
        # Only a correction that finds something: the index's word list still holds the
        # words of documents deleted since its last merge (a withdrawn course's, say).
        suggestion = did_you_mean(searcher.reader(), text, SEARCH_FIELDS)
        if suggestion is None:
            return None
        query = build_query(suggestion, list(SEARCH_FIELDS), self.schema,
                            max_chars=len(suggestion))
        if query is None or searcher.search(query, limit=1, filter=filter_query,
                                            mask=mask).is_empty():
            return None
        return suggestion

    def _hit(self, stored: dict[str, Any], score: float, terms: set[str], lang: str) -> SearchHit:
        return SearchHit(
            doc_id=stored["doc_id"],
            kind=stored.get("kind", ""),
            url=stored.get("url", ""),
            title=display_title(stored, lang),
            passage=result_passage(
                stored,
                terms,
                lang=lang,
                max_chars=self.passage_chars,
                scan_chars=self.highlight_scan_chars,
            ),
            score=score,
            fields=stored,
            course_title=display_title(stored, lang, prefix="course_title"),
        )

    def query_for(self, text: str) -> wq.Query | None:
        """Return the query what a user typed becomes, or None if nothing in it is searchable."""
        return build_query(text, list(SEARCH_FIELDS), self.schema, max_chars=self.max_query_chars)

    def course_ids(self, text: str, *, limit: int = 500) -> list[int] | None:
        """Return the ids of the courses that match, directly or through a lesson, best first.

        None when nothing in text is searchable; IndexUnavailable if the index cannot be read.
        """
        query = self.query_for(text)
        if query is None:
            return None

        def collect(searcher: Searcher) -> list[int]:
            # Lessons outnumber courses: read enough hits to fill limit courses.
            results = searcher.search(query, limit=limit * 20)
            reader = searcher.reader()
            column = reader.column_reader("course_id") if reader.has_column("course_id") else None
            found: dict[int, None] = {}
            for i in range(results.scored_length()):
                docnum = results.docnum(i)
                value = column[docnum] if column else reader.stored_fields(docnum)["course_id"]
                if value and str(value).isdigit():
                    found.setdefault(int(value))
                    if len(found) >= limit:
                        break
            return list(found)

        return self._read(collect)

    def info(self) -> IndexInfo:
        """Return what is in the live generation: how many courses and lessons."""

        def count(searcher: Searcher) -> IndexInfo:
            kinds = {k: len(searcher.search(wq.Term("kind", k), limit=1)) for k in KINDS}
            return IndexInfo(
                path=self.path,
                generation=self._current_generation(),
                documents=searcher.doc_count(),
                courses=kinds["course"],
                lessons=kinds["lesson"],
            )

        return self._read(count)

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

    def replace_course(self, course_id: int,
                       docs: Iterable[Mapping[str, Any]]
                       | Callable[[], Iterable[Mapping[str, Any]]]) -> int:
        """Replace every document of a course with docs in one commit; return how many.

        Lessons that were deleted or unpublished since the course was last indexed go
        with the rest; readers see the old documents or the new, never neither. Given a
        function, it is called once this writer holds the index, so what it reads is
        never older than what an earlier writer wrote.
        """
        with self._write_lock():
            if callable(docs):
                docs = docs()
            batch = {fields["doc_id"]: fields for fields in map(to_fields, docs)}
            if any(fields.get("course_id") != str(course_id) for fields in batch.values()):
                raise ValueError(f"every document must belong to course {course_id}")
            self._replace(course_id, batch)
        return len(batch)

    def _replace(self, course_id: int, batch: dict[str, dict[str, Any]]) -> None:
        with self._writer() as writer:
            writer.delete_by_term("course_id", str(course_id))
            for fields in batch.values():
                writer.update_document(**fields)

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



