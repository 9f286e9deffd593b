"""``lms search ...``: rebuild the index, see its state, search from the command line."""

from __future__ import annotations

import json
import sys
import time
from urllib.parse import urlsplit

import click
from flask import current_app
from flask.cli import with_appcontext

from lms.config import LOCALES
from lms.core.db import write_intent
from lms.core.jobs import enqueue
from lms.extensions import db
from lms.search import operations, util
from lms.search.index import IndexStatus, IndexUnavailable

#: Exit status of `lms search query` when nothing in the text is searchable.
EXIT_UNPARSABLE = 2
#: Exit status when the index is missing or unreadable.
EXIT_UNAVAILABLE = 1


@click.group()
def cli() -> None:
    """Search index."""


cli.name = "search"


@cli.command("reindex")
@with_appcontext
def reindex() -> None:
    """Rebuild the index from the published courses and swap it in (searches keep working)."""
    started = time.monotonic()
    # Reading the whole catalogue must not hold SQLite's write lock meanwhile.
    token = write_intent.set(False)
    try:
        count = operations.rebuild_index()
    finally:
        db.session.rollback()
        write_intent.reset(token)
    click.echo(f"Indexed {count} document(s) into {util.index_path()} "
               f"in {time.monotonic() - started:.1f} s.")


@cli.command("status")
@with_appcontext
def status() -> None:
    """Say whether the index is usable and what it holds (exit status 1 if it is not)."""
    index = util.search_index()
    state = index.status()
    click.echo(f"path:       {index.path}")
    click.echo(f"state:      {state}")
    if state is not IndexStatus.OK:
        click.echo("Run `lms search reindex` to rebuild it from the database.")
        sys.exit(EXIT_UNAVAILABLE)
    info = index.info()
    click.echo(f"generation: {info.generation}")
    click.echo(f"documents:  {info.documents} ({info.courses} courses, {info.lessons} lessons)")


@cli.command("query")
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option("--lang", type=click.Choice(LOCALES), default=None,
              help="Language of the titles (default LMS_DEFAULT_LOCALE).")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 100))
@with_appcontext
def query(text: str, as_json: bool, lang: str | None, limit: int) -> None:
    """Search like the search page does and print each result's title and link."""
    config = current_app.config
    index = util.search_index()
    if index.query_for(text) is None:
        click.echo("Nothing to search for: the query has no words once quotes, brackets, "
                   "operators (AND OR NOT) and the characters * ? ~ ^ : are left out.", err=True)
        sys.exit(EXIT_UNPARSABLE)
    try:
        found = index.search(text, per_page=limit, lang=lang or config["DEFAULT_LOCALE"])
    except IndexUnavailable as exc:
        click.echo(f"The search index at {index.path} is {exc.status}. "
                   "Run `lms search reindex` to rebuild it.", err=True)
        sys.exit(EXIT_UNAVAILABLE)
    # Links as people reach them: PUBLIC_URL, whatever SERVER_NAME the app runs under.
    public = urlsplit(config["PUBLIC_URL"])
    with current_app.test_request_context(base_url=config["PUBLIC_URL"]):
        rows = [{"kind": hit.kind, "title": hit.title, "course_title": hit.course_title,
                 "url": f"{public.scheme}://{public.netloc}{util.hit_url(hit)}",
                 "score": round(hit.score, 3)}
                for hit in util.visible_hits(found.hits)]
    if as_json:
        click.echo(json.dumps({"query": found.query, "total": found.total, "results": rows,
                               "suggestion": found.suggestion}, ensure_ascii=False, indent=2))
        return
    click.echo(f"{found.total} result(s) for “{found.query}”"
               + (f" (did you mean “{found.suggestion}”?)" if found.suggestion else ""))
    for row in rows:
        course = f"  ({row['course_title']})" if row["course_title"] else ""
        click.echo(f"[{row['kind']}] {row['title']}{course}\n    {row['url']}")


def load_demo() -> list[str]:
    """Queue a rebuild of the index, so the demo courses can be searched at once."""
    enqueue("search.reindex", subject="search")
    return ["Search: the index is rebuilt from the published courses."]
