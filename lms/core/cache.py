"""Rendered fragments cached per process, invalidated by revision counters in the database.

A page that everybody sees the same way (the catalogue, say) is rendered once
per combination of filters and language and kept in memory. Whatever could
change it bumps a named revision counter in the same transaction as the
change, so every process (every gunicorn worker, every host) sees the new
revision on its next request and renders afresh. Reading the counter is one
primary-key lookup.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from sqlalchemy import String, select, update
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
    return session.scalar(select(Revision.value).where(Revision.name == name)) or 0


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
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = render()
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
