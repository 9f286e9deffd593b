"""Counting attempts that tell the one who makes them something, so guessing stays slow.

A sign-up form that says "this ID number is already registered" answers
whether a person trains here; that answer must be rationed, not refused (the
rightful owner needs it to ask for help). ``refused(key, ...)`` says whether
``key`` (a client address, an account) has used up its attempts in the
current window, and ``count(key, ...)`` uses one. Counters are rows, so every
web process and host sees the same count; a counter whose window has passed
starts again from one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

from lms.core.db import Base, utcnow
from lms.extensions import db


class AttemptCounter(Base):
    """How many counted attempts ``key`` made since ``window_start``."""

    __tablename__ = "attempt_counters"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    window_start: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)


def refused(key: str, *, limit: int, window: timedelta, now: datetime | None = None) -> bool:
    """Whether ``key`` has made ``limit`` counted attempts in the current window."""
    now = now or utcnow()
    row = db.session.get(AttemptCounter, key)
    return row is not None and row.window_start > now - window and row.attempts >= limit


def count(key: str, *, window: timedelta, now: datetime | None = None) -> None:
    """Count one attempt of ``key`` in the caller's unit of work (commit it even when the
    attempt itself is rolled back: the count must outlive the refusal it caused)."""
    now = now or utcnow()
    row = db.one_or_create(select(AttemptCounter).where(AttemptCounter.key == key),
                           lambda: AttemptCounter(key=key, window_start=now, attempts=0),
                           locked=True)
    if row.window_start <= now - window:
        row.window_start, row.attempts = now, 0
    row.attempts += 1
    db.session.flush()
