"""Background jobs that keep the search index current; the index is written only here and
by `lms search reindex`.

A job that finds another writer holding the index (IndexLocked) fails its attempt with an
ordinary exception, so the job system retries it with back-off; hence the generous attempts.
"""

from __future__ import annotations

from typing import Any

from lms.core.jobs import JobContext, job
from lms.search import operations

#: Back-off doubles from 5 s: eight attempts wait about ten minutes in all, longer than a
#: rebuild of a large catalogue holds the lock.
_ATTEMPTS = 8


@job("search.index_course", max_attempts=_ATTEMPTS)
def index_course(ctx: JobContext, course_id: int) -> dict[str, Any]:
    """A course was published or edited: index it as it now is."""
    return {"documents": operations.sync_course(course_id)}


@job("search.remove_course", max_attempts=_ATTEMPTS)
def remove_course(ctx: JobContext, course_id: int) -> dict[str, Any]:
    """A course left the catalogue: take it out (or index it, if it came back meanwhile)."""
    return {"documents": operations.sync_course(course_id)}


@job("search.reindex", lease_seconds=600, max_attempts=_ATTEMPTS)
def reindex(ctx: JobContext) -> dict[str, Any]:
    """Rebuild the whole index from the catalogue (the demo, or an administrator)."""
    return {"documents": operations.rebuild_index(progress=ctx.progress)}
