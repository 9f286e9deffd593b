"""Dashboard figures for administrators: hours, completion rates and active learners.

Each function takes the institution an institution admin is limited to
(None for regional admins) and returns ``(label, value)`` rows ready for a
chart and the table beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Select, extract, func, select, union

from lms.core.i18n import DISPLAY_TZ
from lms.courses.models import TRAINING_TYPE_LABELS, Course, Enrolment, TrainingType
from lms.extensions import db
from lms.records.models import LedgerEntry
from lms.users.models import PREFECTURES, Institution
from lms.users.target_groups import TARGET_GROUP_LABELS, LearnerTargetGroup, TargetGroup

Rows = list[tuple[str, Decimal]]


def _entries(institution_id: int | None, *columns) -> Select:
    """A select of ``columns`` over the entries in scope."""
    stmt = select(*columns)
    if institution_id is not None:
        stmt = stmt.where(LedgerEntry.institution_id == institution_id)
    return stmt


def _hours() -> object:
    return func.coalesce(func.sum(LedgerEntry.hours), 0)


def hours_by_month(institution_id: int | None, now: datetime, months: int = 12) -> Rows:
    """Hours credited in each of the last ``months`` months (UTC months), oldest first."""
    year, month = now.year, now.month
    keys = []
    for _ in range(months):
        keys.append((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    keys.reverse()
    first = datetime(keys[0][0], keys[0][1], 1, tzinfo=now.tzinfo)
    y, m = extract("year", LedgerEntry.occurred_at), extract("month", LedgerEntry.occurred_at)
    stmt = (_entries(institution_id, y, m, _hours())
            .where(LedgerEntry.occurred_at >= first).group_by(y, m))
    found = {(int(a), int(b)): Decimal(h) for a, b, h in db.session.execute(stmt)}
    return [(f"{a}-{b:02d}", found.get((a, b), Decimal(0))) for a, b in keys]


def hours_by_training_type(institution_id: int | None) -> Rows:
    """Hours credited per training type, in the policy's order."""
    stmt = _entries(institution_id, LedgerEntry.training_type, _hours()).group_by(
        LedgerEntry.training_type)
    found = {TrainingType(t): Decimal(h) for t, h in db.session.execute(stmt)}
    return [(str(TRAINING_TYPE_LABELS[t]), found[t]) for t in TrainingType if t in found]


def hours_by_institution(institution_id: int | None) -> Rows:
    """Hours credited per training institution, by institution code."""
    stmt = (_entries(institution_id, Institution, _hours())
            .join(Institution, Institution.id == LedgerEntry.institution_id)
            .group_by(Institution.id).order_by(Institution.code))
    return [(inst.name, Decimal(h)) for inst, h in db.session.execute(stmt)]


def hours_by_region(institution_id: int | None) -> Rows:
    """Hours credited per prefecture (where the institution is)."""
    stmt = (_entries(institution_id, Institution.prefecture, _hours())
            .join(Institution, Institution.id == LedgerEntry.institution_id)
            .group_by(Institution.prefecture).order_by(Institution.prefecture))
    return [(str(PREFECTURES.get(p, p)), Decimal(h)) for p, h in db.session.execute(stmt)]


def hours_by_target_group(institution_id: int | None) -> Rows:
    """Hours of the learners in each key group (a learner in two groups counts in both)."""
    stmt = (_entries(institution_id, LearnerTargetGroup.group, _hours())
            .join(LearnerTargetGroup, LearnerTargetGroup.user_id == LedgerEntry.learner_id)
            .group_by(LearnerTargetGroup.group))
    found = {TargetGroup(g): Decimal(h) for g, h in db.session.execute(stmt)}
    return [(str(TARGET_GROUP_LABELS[g]), found[g]) for g in TargetGroup if g in found]


@dataclass(frozen=True)
class Completion:
    """Enrolled and completed learners of a course or institution."""

    label: str
    enrolled: int
    completed: int

    @property
    def percent(self) -> Decimal:
        if not self.enrolled:
            return Decimal(0)
        return (Decimal(100) * self.completed / self.enrolled).quantize(Decimal("0.1"))


def _completion(group_by, label_of, institution_id: int | None, order_by) -> list[Completion]:
    done = func.count(Enrolment.completed_at)
    stmt = (select(group_by, func.count(Enrolment.id), done)
            .join(Course, Course.id == Enrolment.course_id)
            .join(Institution, Institution.id == Course.institution_id)
            .group_by(group_by).order_by(order_by))
    if institution_id is not None:
        stmt = stmt.where(Course.institution_id == institution_id)
    return [Completion(label_of(obj), n, c) for obj, n, c in db.session.execute(stmt)]


def completion_by_course(institution_id: int | None) -> list[Completion]:
    """Enrolments and completions per course, by course code."""
    return _completion(Course, lambda c: f"{c.code} · {c.title}", institution_id, Course.code)


def completion_by_institution(institution_id: int | None) -> list[Completion]:
    """Enrolments and completions per institution (the policy's performance evaluation)."""
    return _completion(Institution, lambda i: i.name, institution_id, Institution.code)


def active_learners(institution_id: int | None, now: datetime) -> int:
    """Learners credited with study, or studying, since the start of this month."""
    start = datetime(now.year, now.month, 1, tzinfo=DISPLAY_TZ)
    credited = _entries(institution_id, LedgerEntry.learner_id).where(
        LedgerEntry.occurred_at >= start)
    studying = (select(Enrolment.user_id).join(Course, Course.id == Enrolment.course_id)
                .where(Enrolment.last_activity_at >= start))
    if institution_id is not None:
        studying = studying.where(Course.institution_id == institution_id)
    ids = union(credited, studying).subquery()
    return db.session.scalar(select(func.count()).select_from(ids)) or 0
