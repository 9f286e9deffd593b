"""Read-side queries of the record: a learner's summary, learners in scope, names for the public."""

from __future__ import annotations

import json
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from lms.core.i18n import DISPLAY_TZ, listed
from lms.courses.models import (
    SKILL_LEVEL_LABELS,
    TRAINING_TYPE_LABELS,
    Course,
    CourseStatus,
    TrainingType,
)
from lms.extensions import db
from lms.records import permissions
from lms.records.exporters import EXPORTERS
from lms.records.models import (
    ENTRY_KIND_LABELS,
    EXPORT_SHAPE_LABELS,
    Certificate,
    LedgerEntry,
)
from lms.users.models import PREFECTURES, Institution, Role, User
from lms.users.target_groups import TARGET_GROUP_LABELS
from lms.users.util import parse_contact

ZERO = Decimal("0")


@dataclass
class RecordSummary:
    """A learner's whole record: totals, entries in chain order, certificates."""

    learner: User
    entries: list[LedgerEntry] = field(default_factory=list)
    certificates: list[Certificate] = field(default_factory=list)
    by_type: list[tuple[TrainingType, Decimal]] = field(default_factory=list)
    by_year: list[tuple[int, Decimal]] = field(default_factory=list)
    by_institution: list[tuple[Institution | None, Decimal]] = field(default_factory=list)

    @property
    def total_hours(self) -> Decimal:
        return sum((e.hours for e in self.entries), ZERO)

    @property
    def verified_seconds(self) -> int:
        return sum(e.verified_seconds for e in self.entries)

    @property
    def reversed_ids(self) -> set[int]:
        return {e.reverses_id for e in self.entries if e.reverses_id}


def record_summary(learner: User) -> RecordSummary:
    """Everything on the learner's record page, totals worked out from the entries."""
    entries = db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.learner_id == learner.id)
        .options(selectinload(LedgerEntry.institution), selectinload(LedgerEntry.course),
                 selectinload(LedgerEntry.lesson))
        .order_by(LedgerEntry.seq)).all()
    certificates = db.session.scalars(
        select(Certificate).where(Certificate.learner_id == learner.id)
        .order_by(Certificate.issued_at.desc())).all()
    by_type: dict[TrainingType, Decimal] = defaultdict(lambda: ZERO)
    by_year: dict[int, Decimal] = defaultdict(lambda: ZERO)
    by_institution: dict[int | None, Decimal] = defaultdict(lambda: ZERO)
    institutions: dict[int | None, Institution | None] = {None: None}
    for e in entries:
        by_type[e.training_type] += e.hours
        by_year[e.occurred_at.astimezone(DISPLAY_TZ).year] += e.hours
        by_institution[e.institution_id] += e.hours
        institutions[e.institution_id] = e.institution
    return RecordSummary(
        learner=learner, entries=list(entries), certificates=list(certificates),
        by_type=[(t, by_type[t]) for t in TrainingType if t in by_type],
        by_year=sorted(by_year.items()),
        by_institution=sorted(((institutions[i], h) for i, h in by_institution.items()),
                              key=lambda pair: (pair[0] is None,
                                                pair[0].code if pair[0] else "")))


def course_hours(course_id: int, learner_ids: list[int]) -> dict[int, Decimal]:
    """Hours each learner's record credits for a course, corrections included."""
    if not learner_ids:
        return {}
    stmt = (select(LedgerEntry.learner_id, func.sum(LedgerEntry.hours))
            .where(LedgerEntry.course_id == course_id).group_by(LedgerEntry.learner_id))
    if len(learner_ids) <= 500:  # else the whole course, rather than a very long IN list
        stmt = stmt.where(LedgerEntry.learner_id.in_(learner_ids))
    return {learner: Decimal(str(hours or 0)).quantize(Decimal("0.01"))
            for learner, hours in db.session.execute(stmt)}


def total_hours(learner: User) -> Decimal:
    """All hours credited to a learner (net of corrections)."""
    return db.session.scalar(select(func.coalesce(func.sum(LedgerEntry.hours), 0))
                             .where(LedgerEntry.learner_id == learner.id)) or ZERO


def learners_visible_to(actor: User, q: str = "") -> Select:
    """Learners whose record an administrator may open, filtered by ``q``: part of a name,
    or a whole phone number or email.

    Phone numbers and emails are shown masked, so they match only whole: matching
    part of one would let a search reveal the hidden digits one at a time.
    """
    stmt = select(User).where(User.role == Role.LEARNER).order_by(User.real_name, User.id)
    if not permissions.is_regional(actor):
        stmt = stmt.where(User.id.in_(
            permissions.institution_learner_ids(actor.institution_id or -1)))
    q = (q or "").strip()
    if q:
        name = User.real_name.icontains(q, autoescape=True)
        try:
            kind, contact = parse_contact(q)
        except ValueError:
            stmt = stmt.where(name)
        else:
            stmt = stmt.where(or_(name, (User.phone if kind == "phone" else User.email)
                                  == contact))
    return stmt


def certificate_by_serial(serial: str) -> Certificate | None:
    """The certificate with this serial (case and spaces forgiven), or None."""
    cleaned = "".join(serial.split()).upper()[:40]
    return db.session.scalar(select(Certificate).where(Certificate.serial == cleaned))


def _is_han(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in "WF"


def mask_name(name: str) -> str:
    """What the public may see of a name: 卓玛 → 卓*, བཀྲ་ཤིས་ལྷ་མོ། → བཀྲ་*, Drolma Tsering → D*."""
    name = (name or "").strip()
    if not name:
        return "*"
    if _is_han(name[0]):
        return name[0] + "*" * max(1, min(len(name) - 1, 3))
    if "\u0f00" <= name[0] <= "\u0fff":
        first = name.split("\u0f0b", 1)[0].rstrip("\u0f0d")
        return first + "\u0f0b*"
    return name[0] + "*"


# --- the audit log, for people ----------------------------------------------------------

#: What each particular of an audit entry is called, for people reading the log.
AUDIT_LABELS = {
    "serial": _l("Certificate number"), "reason": _l("Reason"),
    "format": _l("File format"), "shape": _l("Rows"), "rows": _l("Number of rows"),
    "include_full_ids": _l("Include full ID numbers"), "via": _l("Through"),
    "learner_id": _l("Learner"), "reverses": _l("Corrects entry"), "hours": _l("Hours"),
    "kind": _l("Kind"), "added": _l("Target groups added"),
    "removed": _l("Target groups removed"),
    "date_from": _l("From"), "date_to": _l("To"),
    "institution_id": _l("Training institution"), "prefecture": _l("Prefecture"),
    "course_id": _l("Course"), "training_type": _l("Training type"),
    "skill_level": _l("Skill level"), "target_group": _l("Target group"),
    "entry": _l("Entry number"), "certificate": _l("Certificate"), "export": _l("Export"),
    "file": _l("File"),
}
#: Which particular an entry's target is, by the target's table: a learner's number then
#: becomes their name like any other, where the reader may see it.
_TARGETS = {"users": "learner_id", "ledger_entries": "entry", "certificates": "certificate",
            "exports": "export", "file": "file", "courses": "course_id"}


def audit_details(entries: list[Any], reader: User) -> dict[int, list[tuple[str, str]]]:
    """Each audit entry's particulars as (label, value) lines in ``reader``'s language.

    Codes become their labels; numbers of learners, institutions and courses
    become names (read in one query each for the whole page), but only names
    ``reader`` may see elsewhere: an entry filed under their institution can
    point at another institution's draft course or learner, which stays a
    number. Filters become lines of their own; particulars this function
    does not know are shown as they were recorded.
    """
    flat = {entry.id: _target(entry) + _flatten(entry.details) for entry in entries}
    wanted: dict[str, set[int]] = defaultdict(set)
    for details in flat.values():
        for key, value in details:
            if key in ("learner_id", "institution_id", "course_id") and _is_id(value):
                wanted[key].add(int(value))
    names: dict[str, dict[int, str]] = {}
    if wanted["learner_id"]:
        learners = select(User.id, User.real_name).where(User.id.in_(wanted["learner_id"]))
        if not permissions.is_regional(reader):
            learners = learners.where(User.id.in_(
                permissions.institution_learner_ids(reader.institution_id or -1)))
        names["learner_id"] = {i: f"{n} ({i})" for i, n in db.session.execute(learners)}
    if wanted["institution_id"]:  # institutions are listed publicly
        names["institution_id"] = {i.id: i.name for i in db.session.scalars(
            select(Institution).where(Institution.id.in_(wanted["institution_id"])))}
    if wanted["course_id"]:
        courses = select(Course).where(Course.id.in_(wanted["course_id"]))
        if not permissions.is_regional(reader):
            courses = courses.where(or_(Course.status == CourseStatus.PUBLISHED,
                                        Course.institution_id == reader.institution_id))
        names["course_id"] = {c.id: f"{c.code} · {c.title}"
                              for c in db.session.scalars(courses)}
    groups = {k.value: v for k, v in TARGET_GROUP_LABELS.items()}
    coded: dict[str, dict[Any, Any]] = {
        "format": {"pdf": "PDF", "json": "JSON",
                   **{k: cls.label for k, cls in EXPORTERS.items()}},
        "shape": {k.value: v for k, v in EXPORT_SHAPE_LABELS.items()},
        "kind": {k.value: v for k, v in ENTRY_KIND_LABELS.items()},
        "training_type": {k.value: v for k, v in TRAINING_TYPE_LABELS.items()},
        "skill_level": {k.value: v for k, v in SKILL_LEVEL_LABELS.items()},
        "target_group": groups, "added": groups, "removed": groups,
        "prefecture": {k: f"{k} {v}" for k, v in PREFECTURES.items()},
        "via": {"command line": _("from the command line")},
    }
    def text(key: str, value: Any) -> str:
        if isinstance(value, bool):
            return _("yes") if value else _("no")
        if key in names and _is_id(value):
            return names[key].get(int(value), str(value))
        if isinstance(value, list):
            return listed(text(key, v) for v in value) if value else "—"
        if isinstance(value, dict):
            return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
        if key in coded and isinstance(value, str | int):
            return str(coded[key].get(value, value))
        return str(value)

    return {entry_id: [(str(AUDIT_LABELS.get(key, key)), text(key, value))
                       for key, value in details]
            for entry_id, details in flat.items()}


def _target(entry: Any) -> list[tuple[str, Any]]:
    # What the entry was done to, unless its particulars already say (a certificate's
    # number, a reversal's learner).
    key = _TARGETS.get(entry.target_type or "", entry.target_type)
    if not key or entry.target_id is None:
        return []
    details = entry.details if isinstance(entry.details, dict) else {}
    if key in details or (key == "certificate" and "serial" in details):
        return []
    return [(key, entry.target_id)]


def _flatten(details: Any) -> list[tuple[str, Any]]:
    # An export's filters are particulars of their own: "Prefecture: 540100 Lhasa".
    if details is None:
        return []
    if not isinstance(details, dict):
        return [("details", details)]
    lines: list[tuple[str, Any]] = []
    for key, value in details.items():
        if key == "filters" and isinstance(value, dict):
            lines.extend((str(k), v) for k, v in value.items())
        else:
            lines.append((str(key), value))
    return lines


def _is_id(value: Any) -> bool:
    """Whether ``value`` is a row number (an int, or ASCII digits, small enough to query)."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 16:
        value = int(value)
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**53
