"""Keep cached catalogue pages honest: any change to a course or institution bumps its revision."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from lms.core import cache
from lms.courses.models import Course
from lms.users.models import Institution

CATALOGUE = "catalogue"


@event.listens_for(Session, "before_flush")
def _bump_catalogue(session: Session, _context: Any, _instances: Any) -> None:
    changed = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(obj, Course | Institution) and (obj in session.new or obj in session.deleted
                                                      or session.is_modified(obj))
           for obj in changed):
        cache.bump(session, CATALOGUE)
