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
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from flask import current_app, make_response, request, session
from flask_login import current_user
from sqlalchemy import String, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from lms.core.db import Base


class Revision(Base):
    """A named counter that changes whenever what it names changes."""

    __tablename__ = "revisions"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


def bump(session: Session, name: str) -> None:
    """Move ``name`` to a new revision, in the caller's transaction."""
    result = session.execute(update(Revision).where(Revision.name == name)
                             .values(value=Revision.value + 1)
                             .execution_options(synchronize_session=False))
    if result.rowcount == 0:
        try:
            with session.begin_nested():
                session.add(Revision(name=name, value=1))
        except IntegrityError:  # created meanwhile by another transaction
            bump(session, name)


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
