"""The search page: one GET form, results with marked passages, facets, pages."""

from __future__ import annotations

from flask import current_app, render_template, request

from lms.core.access import public
from lms.core.db import Page
from lms.core.i18n import current_locale
from lms.search import util
from lms.search.index import IndexUnavailable


@public
def results() -> tuple[str, int]:
    config = current_app.config
    args = util.SearchArgs.from_args(request.args, config["SEARCH_MAX_QUERY_CHARS"])
    context = {"args": args, "max_chars": config["SEARCH_MAX_QUERY_CHARS"]}
    if not args.q:
        return render_template("search/results.html", **context), 200
    index = util.search_index()
    if index.query_for(args.q) is None:
        return render_template("search/results.html", nothing_to_search=True, **context), 200
    try:
        found = index.search(args.q, filters=args.index_filters(), page=args.page,
                             per_page=config["SEARCH_PER_PAGE"], lang=current_locale(),
                             hidden_courses=util.courses_leaving())
    except IndexUnavailable as exc:
        current_app.logger.warning("search page: %s", exc)
        return render_template("search/results.html", unavailable=exc.user_message,
                               **context), 503
    page = Page(items=util.visible_hits(found.hits), number=found.page,
                per_page=found.per_page, total=found.total, pages=max(found.pages, 1))
    return render_template("search/results.html", found=found, page=page,
                           facets=util.facet_links(args, found.facets), hit_url=util.hit_url,
                           kind_badges=util.KIND_BADGES, **context), 200
