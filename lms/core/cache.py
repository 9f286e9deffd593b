"""Rendered fragments cached per process, invalidated by revision counters in the database.

A page that everybody sees the same way (the catalogue, say) is rendered once
per combination of filters and language and kept in memory. Whatever could
change it bumps a named revision counter in the same transaction as the
change, so every process (every gunicorn worker, every host) sees the new
revision on its next request and renders afresh. Reading the counter is one
primary-key lookup.
"""

from __future__ import annotations

import functools
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from flask import current_app, g, make_response, request, session, url_for
from flask.globals import request_ctx
from flask_login import current_user
from sqlalchemy import String, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from lms.core.db import Base


class Revision(Base):
    """A named counter that changes whenever what it names changes."""

    __tablename__ = "revisions"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


def bump(session: Session, *names: str) -> None:
    """Move each of ``names`` to a new revision, in the caller's transaction.

    Core statements on the session's connection, so a ``before_flush`` listener may call
    it: a first revision is inserted in a savepoint of its own, and if another
    transaction inserted it meanwhile, that row is moved on instead.
    """
    connection = session.connection()
    for name in sorted(set(names)):
        if connection.execute(_BUMP, {"revision": name}).rowcount:
            continue
        try:
            with connection.begin_nested():
                connection.execute(_FIRST, {"revision": name})
        except IntegrityError:  # created meanwhile by another transaction
            connection.execute(_BUMP, {"revision": name})


_BUMP = (update(Revision).where(Revision.name == bindparam("revision"))
         .values(value=Revision.value + 1))
_FIRST = insert(Revision).values(name=bindparam("revision"), value=1)


def current(session: Session, name: str) -> int:
    """The current revision of ``name`` (0 before its first change)."""
    # Read on every cached page: through the session's connection, without the ORM's
    # per-statement work (it selects a plain column).
    return session.connection().execute(_CURRENT, {"name": name}).scalar() or 0


_CURRENT = select(Revision.value).where(Revision.name == bindparam("name"))


_ALL_CACHES: weakref.WeakSet[FragmentCache] = weakref.WeakSet()


def clear_all() -> None:
    """Empty every fragment cache of this process (tests roll revisions back)."""
    for fragment_cache in list(_ALL_CACHES):
        fragment_cache.clear()


class FragmentCache:
    """A small thread-safe LRU of rendered fragments."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        _ALL_CACHES.add(self)

    def get_or_render(self, key: Hashable, render: Callable[[], Any]) -> Any:
        """The cached value for ``key``, rendering (outside the lock) when missing."""
        value = self.get(key)
        if value is None:
            value = render()
            self.put(key, value)
        return value

    def get(self, key: Hashable) -> Any:
        """The cached value, or None."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def put(self, key: Hashable, value: Any) -> None:
        """Store a value, forgetting the least recently used beyond the size."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def cached_for_visitors(revision: str, size: int = 512,
                        unless: Callable[[], bool] | None = None) -> Callable:
    """Cache a page's whole response for visitors who have no session (no login, no flash).

    Such a visitor sees exactly what every other visitor with the same language
    sees at the same ``revision``: the page is rendered once and then served
    from memory. Anyone with a session or a "keep me logged in" cookie gets the
    page rendered for them, and so does a request for which ``unless()`` is
    true. A page is kept only if rendering it neither logged anybody in nor
    touched the session: only then is it the page of nobody in particular.
    """
    pages = FragmentCache(size)

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if (request.method != "GET" or not _is_visitor()
                    or (unless is not None and unless())):
                return view(*args, **kwargs)
            from lms.core.i18n import current_locale
            from lms.extensions import db

            key = (request.full_path, current_locale(), current(db.session, revision))
            body = pages.get(key)
            if body is None:
                response = make_response(view(*args, **kwargs))
                if (response.status_code != 200 or "Set-Cookie" in response.headers
                        or current_user.is_authenticated or session.modified):
                    return response
                body = response.get_data()
                pages.put(key, body)
            return current_app.response_class(body, mimetype="text/html")

        return wrapper

    return decorator


def _is_visitor() -> bool:
    """No cookie that could make this request anybody's: no session, no remembered login."""
    config = current_app.config
    return not any(name in request.cookies for name in (
        config["SESSION_COOKIE_NAME"], config.get("REMEMBER_COOKIE_NAME", "remember_token")))


# --- pages kept for one signed-in user --------------------------------------------------

#: A kept page older than this is rendered again even if nothing it shows has changed.
PERSONAL_PAGE_MAX_AGE_S = 15 * 60


@dataclass(frozen=True)
class _KeptPage:
    fingerprint: Hashable
    csrf_secret: str
    body: bytes
    kept_at: float


def _size(kept: _KeptPage) -> int:
    """Bytes a kept page holds, its key, fingerprint and bookkeeping counted generously."""
    return len(kept.body) + 1024


class PersonalPages(FragmentCache):
    """Pages that show one signed-in user their own state, kept until that state changes.

    A lesson page shows its learner their completion marks, their reading time,
    their name and a form token, so no two learners see the same page; but a
    learner who opens a page again (a reload on a poor connection, back from the
    next lesson) mostly sees exactly what they saw before. :func:`personal_page`
    keeps such a page per user, beside its *fingerprint*: one query's answer that
    names the version of everything the page was drawn from (the user's row, the
    course's revision, the version of the learner's progress ...). A later view is
    answered from memory only when the fingerprint, read again, is the same.

    Each process keeps its own pages, at most ``PAGE_CACHE_MB`` of them (not a count,
    as a fragment cache keeps), the least recently used forgotten first.
    """

    def __init__(self) -> None:
        super().__init__(size=0)
        self._bytes = 0

    @staticmethod
    def capacity() -> int:
        return current_app.config["PAGE_CACHE_MB"] * 2**20

    def put(self, key: Hashable, kept: _KeptPage) -> None:
        capacity = self.capacity()
        if _size(kept) > capacity // 8:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= _size(old)
            self._items[key] = kept
            self._bytes += _size(kept)
            while self._bytes > capacity:
                _key, dropped = self._items.popitem(last=False)
                self._bytes -= _size(dropped)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0


def keep_page() -> None:
    """Declare, from a view decorated with :func:`personal_page`, that the page it is
    rendering is one to keep (an ordinary view, not a preview or a warning)."""
    g.lms_keep_page = True


def personal_page(pages: PersonalPages, fingerprint: Callable[..., Any],
                  on_serve: Callable[..., bool]) -> Callable:
    """Serve a signed-in user's page from ``pages`` while its fingerprint holds.

    ``fingerprint(user_id, **view_args)`` reads, in one query, the version of
    everything the page shows, including the user's session version and whether
    their account is active: the query is also the sign-in check, so a kept page
    is served without loading the user. It returns None when the page must be
    rendered anyway. ``on_serve(fingerprint, **view_args)`` does what a view of the
    page does besides rendering it (noting the time in the session, say), and returns
    False when the view must run after all.

    Only a plain GET of the page's own address with a session that names a user,
    carries its form secret and holds no message to show is served from memory.
    Otherwise, and whenever the fingerprint has changed, the view runs as usual: the
    fingerprint is read before the view reads anything, so a page is never kept
    under a fingerprint newer than what it shows. Place the decorator above the
    view's access rule, which then applies to every view that is rendered.
    """

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(**view_args: Any) -> Any:
            key = _personal_key(pages)
            if key is None:
                return view(**view_args)
            if request.script_root + request.path != url_for(request.endpoint, **view_args):
                return view(**view_args)  # not the page's own address (/courses/01/...)
            user_id = int(key[1].partition(":")[0])
            seen = fingerprint(user_id, **view_args)
            kept = pages.get(key)
            if (seen is not None and kept is not None and kept.fingerprint == seen
                    and kept.csrf_secret == session.get("csrf_token")
                    and time.monotonic() - kept.kept_at < PERSONAL_PAGE_MAX_AGE_S
                    and on_serve(seen, **view_args)):
                response = current_app.response_class(kept.body, mimetype="text/html")
                response.cache_control.private = True
                response.cache_control.no_store = True
                return response
            g.lms_keep_page = False
            response = make_response(view(**view_args))
            if (seen is not None and g.lms_keep_page and response.status_code == 200
                    and response.mimetype == "text/html" and not response.direct_passthrough
                    and not getattr(request_ctx, "flashes", None)
                    and session.get("csrf_token")):
                pages.put(key, _KeptPage(seen, session["csrf_token"], response.get_data(),
                                         time.monotonic()))
            return response

        return wrapper

    return decorator


def _personal_key(pages: PersonalPages) -> tuple | None:
    """Who and what a kept page would be for, or None when this request cannot use one."""
    if request.method != "GET" or request.query_string or not pages.capacity():
        return None
    claimed = session.get("_user_id")
    if not isinstance(claimed, str) or not claimed.partition(":")[0].isdigit():
        return None
    if "_flashes" in session or not session.get("csrf_token"):
        return None
    manager = current_app.login_manager
    if (manager.session_protection
            and session.get("_id") != manager._session_identifier_generator()):
        return None  # let flask-login judge a session that moved to another browser
    # A signed-in user's language is their setting, which the fingerprint covers: the
    # language cookie and the browser's languages play no part.
    return (request.path, claimed)
