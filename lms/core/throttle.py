"""Counting attempts that tell the one who makes them something, so guessing stays slow.

A sign-up form that says "this ID number is already registered" answers
whether a person trains here; that answer must be rationed, not refused (the
rightful owner needs it to ask for help). ``take(key, ...)`` uses one of
``key``'s attempts (a client address, an account) in the current window, or
says none is left; ``give_back(key)`` returns one that turned out not to
count. Counters are rows, so every
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


def take(key: str, *, limit: int, window: timedelta, now: datetime | None = None) -> bool:
    """Use one of ``key``'s attempts if any is left in the current window; ``False`` if not.

    The counter is locked until the caller commits, so parallel requests count one after
    another: commit before making the attempt, and never more than ``limit`` are made.
    """
    now = now or utcnow()
    row = _locked(key, now)
    if row.window_start <= now - window:
        row.window_start, row.attempts = now, 0
    if row.attempts >= limit:
        return False
    row.attempts += 1
    db.session.flush()
    return True


def give_back(key: str) -> None:
    """Return an attempt taken for something that turned out not to count."""
    row = _locked(key, utcnow())
    row.attempts = max(0, row.attempts - 1)
    db.session.flush()


def _locked(key: str, now: datetime) -> AttemptCounter:
    return db.one_or_create(select(AttemptCounter).where(AttemptCounter.key == key),
                            lambda: AttemptCounter(key=key, window_start=now, attempts=0),
                            locked=True)
