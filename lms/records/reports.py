"""Completion-record exports: filters, the streamed rows, and writing the file.

Rows come straight from the database, a batch at a time (``yield_per``: a
server-side cursor on PostgreSQL, SQLite's own stepping cursor), and go
straight into an exporter, so an export of ten million rows needs no more
memory than one of ten. Labels (training type, kind, region ...) are worked
out once per export in the requester's language, not once per row; ledger
entries carry only their own facts, and the names of their learner, course
and institution are looked up once per key (``keyed_entries``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import reduce
from itertools import repeat
from types import SimpleNamespace
from typing import Any, BinaryIO

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    DateTime,
    Select,
    String,
    case,
    cast,
    exists,
    func,
    literal,
    select,
    type_coerce,
)
from sqlalchemy.orm import aliased
from sqlalchemy.types import NullType

from lms.core.i18n import DISPLAY_TZ, FALLBACK
from lms.courses.models import (
    SKILL_LEVEL_LABELS,
    TRAINING_TYPE_LABELS,
    Course,
    Lesson,
    SkillLevel,
    TrainingType,
)
from lms.extensions import db
from lms.records.exporters import Column, KeyedRows, Lookup, get_exporter
from lms.records.ledger import HOURS_QUANTUM
from lms.records.models import ENTRY_KIND_LABELS, Certificate, EntryKind, ExportShape, LedgerEntry
from lms.users.models import PREFECTURES, Institution, User
from lms.users.operations import resident_id_of
from lms.users.target_groups import LearnerTargetGroup, TargetGroup


@dataclass
class ExportFilters:
    """Which ledger entries an export (or a dashboard) covers; empty fields do not filter."""

    date_from: date | None = None
    date_to: date | None = None
    institution_id: int | None = None
    prefecture: str | None = None
    course_id: int | None = None
    training_type: str | None = None
    target_group: str | None = None
    skill_level: str | None = None

    def __post_init__(self) -> None:
        if self.training_type and self.training_type not in set(TrainingType):
            raise ValueError(f"unknown training type {self.training_type!r}")
        if self.skill_level and self.skill_level not in set(SkillLevel):
            raise ValueError(f"unknown skill level {self.skill_level!r}")
        if self.target_group and self.target_group not in set(TargetGroup):
            raise ValueError(f"unknown target group {self.target_group!r}")
        if self.prefecture and self.prefecture not in PREFECTURES:
            raise ValueError(f"unknown prefecture {self.prefecture!r}")

    def to_json(self) -> dict[str, Any]:
        """The filters that are set, as JSON (for the job, the audit log and the page)."""
        return {k: (v.isoformat() if isinstance(v, date) else v)
                for k, v in asdict(self).items() if v not in (None, "")}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExportFilters:
        values = {f.name: data.get(f.name) or None for f in fields(cls)}
        for name in ("date_from", "date_to"):
            if isinstance(values[name], str):
                values[name] = date.fromisoformat(values[name])
        return cls(**values)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), DISPLAY_TZ)


def filter_entries(stmt: Select, f: ExportFilters, entry: Any = LedgerEntry) -> Select:
    """``stmt`` limited to the entries ``f`` selects (``entry`` may be an alias)."""
    if f.date_from:
        stmt = stmt.where(entry.occurred_at >= _day_start(f.date_from))
    if f.date_to:
        stmt = stmt.where(entry.occurred_at < _day_start(f.date_to + timedelta(days=1)))
    if f.institution_id:
        stmt = stmt.where(entry.institution_id == f.institution_id)
    if f.prefecture:
        stmt = stmt.where(entry.institution_id.in_(
            select(Institution.id).where(Institution.prefecture == f.prefecture)))
    if f.course_id:
        stmt = stmt.where(entry.course_id == f.course_id)
    if f.training_type:
        stmt = stmt.where(entry.training_type == f.training_type)
    if f.skill_level:
        stmt = stmt.where(entry.skill_level == f.skill_level)
    if f.target_group:
        stmt = stmt.where(exists().where(LearnerTargetGroup.user_id == entry.learner_id,
                                         LearnerTargetGroup.group == f.target_group))
    return stmt


# --- columns --------------------------------------------------------------------------

def _columns(*keys: str) -> list[Column]:
    return [COLUMNS[k] for k in keys]


#: Every column an export may have, by key.
COLUMNS = {c.key: c for c in (
    Column("entry_id", _l("Entry number"), "int"),
    Column("seq", _l("Number in the learner's record"), "int"),
    Column("learner_ref", _l("Learner number"), "int"),
    Column("learner_name", _l("Real name")),
    Column("id_number", _l("Resident ID number")),
    Column("institution_code", _l("Institution code")),
    Column("institution", _l("Training institution")),
    Column("region", _l("Prefecture")),
    Column("course_code", _l("Course code")),
    Column("course", _l("Course")),
    Column("lesson", _l("Lesson")),
    Column("occupation_code", _l("Occupation code")),
    Column("skill_level", _l("Skill level")),
    Column("training_type", _l("Training type")),
    Column("kind", _l("Kind")),
    Column("entries", _l("Entries"), "int"),
    Column("credited_hours", _l("Hours"), "decimal"),
    Column("verified_seconds", _l("Verified study seconds"), "int"),
    Column("started_at", _l("First entry (UTC)"), "datetime"),
    Column("occurred_at", _l("Date and time (UTC)"), "datetime"),
    Column("entered_by", _l("Entered by")),
    Column("reason", _l("Reason")),
    Column("reverses", _l("Corrects entry"), "int"),
    Column("hash", _l("Hash")),
    Column("completed", _l("Course completed")),
    Column("certificate", _l("Certificate number")),
)}
_WHO_WHERE_WHAT = ("learner_ref", "learner_name", "id_number", "institution_code", "institution",
                   "region", "course_code", "course")

ENTRY_COLUMNS = _columns("entry_id", "seq", *_WHO_WHERE_WHAT, "lesson", "occupation_code",
                         "skill_level", "training_type", "kind", "credited_hours",
                         "verified_seconds", "occurred_at", "entered_by", "reason", "reverses",
                         "hash")
LEARNER_COURSE_COLUMNS = [
    *_columns(*_WHO_WHERE_WHAT, "occupation_code", "skill_level", "training_type", "entries",
              "credited_hours", "verified_seconds", "started_at"),
    Column("occurred_at", _l("Last entry (UTC)"), "datetime"),
    *_columns("completed", "certificate"),
]


def columns_for(shape: ExportShape) -> list[Column]:
    return ENTRY_COLUMNS if shape == ExportShape.ENTRIES else LEARNER_COURSE_COLUMNS


# --- rows -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Labels:
    """The words an export prints for codes, in one language, turned into SQL expressions.

    In the one-query exports (``entries_stmt``, ``learner_course_stmt``),
    labels, names in the reader's language and xAPI activity addresses are
    worked out by the database as part of the query, so a row arrives ready
    to write and a million rows cost no million Python dictionaries; the
    lookups of ``keyed_entries`` use the same expressions.
    """

    locale: str
    homepage: str

    @property
    def order(self) -> tuple[str, ...]:
        return FALLBACK.get(self.locale, ("zh", "bo", "en"))

    def name(self, model: Any, field: str) -> Any:
        """The first filled-in language of ``model.<field>_*`` in the reader's order."""
        return func.coalesce(*(getattr(model, f"{field}_{lang}") for lang in self.order))

    @staticmethod
    def texts(labels: dict[Any, Any], *, prefix_code: bool = False) -> dict[str, str]:
        """Each code's label (``540100 Lhasa`` with ``prefix_code``), in the current language."""
        return {getattr(k, "value", k): (f"{getattr(k, 'value', k)} {v}" if prefix_code
                                         else str(v)) for k, v in labels.items()}

    @classmethod
    def coded(cls, column: Any, labels: dict[Any, Any], *, prefix_code: bool = False) -> Any:
        """``column``'s code replaced by its label; a code without one stays as it is."""
        return case(cls.texts(labels, prefix_code=prefix_code),
                    value=type_coerce(column, String), else_=column)

    def url(self, *parts: Any) -> Any:
        """An absolute address made of literal text and (integer) columns."""
        pieces = [literal(self.homepage)] + [
            literal(p) if isinstance(p, str) else cast(p, String) for p in parts]
        return reduce(lambda a, b: a.op("||")(b), pieces)


def _plain_time(column: Any) -> Any:
    # A naive UTC datetime straight from the driver; the exporters treat naive as UTC.
    return type_coerce(column, DateTime())


def entries_stmt(f: ExportFilters, labels: Labels | None = None) -> Select:
    """One row per ledger entry, in ledger order, with every column ready to write."""
    labels = labels or Labels("zh_Hans", "")
    e = LedgerEntry
    activity = case(
        (e.lesson_id.is_not(None), labels.url("/courses/", e.course_id, "/lessons/",
                                              e.lesson_id)),
        (e.course_id.is_not(None), labels.url("/courses/", e.course_id)),
        else_=labels.url("/records/entries/", e.id))
    stmt = (select(
        e.id.label("entry_id"), e.seq, e.learner_id.label("learner_ref"),
        User.real_name.label("learner_name"), User.resident_id_masked.label("id_number"),
        User.resident_id_cipher.label("id_cipher"),
        Institution.code.label("institution_code"),
        labels.name(Institution, "name").label("institution"),
        labels.coded(Institution.prefecture, PREFECTURES, prefix_code=True).label("region"),
        Course.code.label("course_code"), labels.name(Course, "title").label("course"),
        labels.name(Lesson, "title").label("lesson"), Course.occupation_code,
        labels.coded(e.skill_level, SKILL_LEVEL_LABELS).label("skill_level"),
        labels.coded(e.training_type, TRAINING_TYPE_LABELS).label("training_type"),
        labels.coded(e.kind, ENTRY_KIND_LABELS).label("kind"),
        e.hours.label("credited_hours"), e.verified_seconds,
        _plain_time(e.occurred_at).label("occurred_at"),
        labels.coded(e.source, SOURCE_LABELS).label("entered_by"), e.reason,
        e.reverses_id.label("reverses"), e.hash,
        # For xAPI statements.
        activity.label("activity_url"),
        case((e.lesson_id.is_not(None), "lesson"), else_="course").label("activity_type"),
        *(func.coalesce(getattr(Lesson, f"title_{lang}"), getattr(Course, f"title_{lang}"))
          .label(f"activity_name_{lang}") for lang in ("bo", "zh", "en")))
        .join(User, User.id == e.learner_id)
        .outerjoin(Institution, Institution.id == e.institution_id)
        .outerjoin(Course, Course.id == e.course_id)
        .outerjoin(Lesson, Lesson.id == e.lesson_id))
    return filter_entries(stmt, f).order_by(e.id)


def _read(key: Any, *values: Any) -> Callable[[set[Any]], dict[Any, tuple[Any, ...]]]:
    """A lookup's loader: ``values`` for each of a set of ``key`` values, in one query."""
    def load(keys: set[Any]) -> dict[Any, tuple[Any, ...]]:
        rows = db.session.execute(select(key, *values).where(key.in_(keys)))
        return {row[0]: tuple(row[1:]) for row in rows}
    return load


def _labelled(labels: dict[Any, Any]) -> Callable[[set[Any]], dict[Any, tuple[str]]]:
    """A lookup's loader for codes: their labels, as ``Labels.coded`` gives them in SQL."""
    texts = Labels.texts(labels)
    return lambda keys: {k: (texts.get(k, k),) for k in keys}


def _learners(include_full_ids: bool) -> Callable[[set[Any]], dict[Any, tuple[Any, ...]]]:
    """A lookup's loader for learners: real name and ID number (full ones decrypted once)."""
    read = _read(User.id, User.real_name, User.resident_id_masked, User.resident_id_cipher)

    def load(keys: set[Any]) -> dict[Any, tuple[Any, ...]]:
        return {key: (name, _full_id(cipher) if include_full_ids and cipher else masked)
                for key, (name, masked, cipher) in read(keys).items()}
    return load


def keyed_entries(f: ExportFilters, labels: Labels, *, include_full_ids: bool = False,
                  batch: int = 500) -> KeyedRows:
    """The rows of ``entries_stmt`` (``ENTRY_COLUMNS``), read as facts and lookups.

    A million entries name a few thousand learners and courses: reading each
    name once per key instead of once per row is most of what makes a large
    export fast. Facts come as the driver returns them; each column type's
    own result processing is applied only where an exporter needs it. Small
    batches are faster than large ones here: a batch's lists stay in the
    processor's cache while a batch is turned into text.
    """
    e = LedgerEntry
    raw = [e.id, e.seq, e.learner_id, e.institution_id, e.course_id, e.lesson_id,
           e.skill_level, e.training_type, e.kind, e.hours, e.verified_seconds, e.occurred_at,
           e.source, e.reason, e.reverses_id, e.hash]
    process = [{"hours": _hours, "occurred_at": _utc_time}.get(c.key) for c in raw]
    stmt = filter_entries(select(*(type_coerce(c, String) if c.key in _CODES else
                                   type_coerce(c, NullType()) for c in raw)), f).order_by(e.id)
    plan: list[Any] = [
        0, 1, 2,
        Lookup(2, 2, _learners(include_full_ids)),
        Lookup(3, 3, _read(Institution.id, Institution.code, labels.name(Institution, "name"),
                           labels.coded(Institution.prefecture, PREFECTURES, prefix_code=True))),
        Lookup(4, 2, _read(Course.id, Course.code, labels.name(Course, "title"))),
        Lookup(5, 1, _read(Lesson.id, labels.name(Lesson, "title"))),
        Lookup(4, 1, _read(Course.id, Course.occupation_code)),
        Lookup(6, 1, _labelled(SKILL_LEVEL_LABELS)),
        Lookup(7, 1, _labelled(TRAINING_TYPE_LABELS)),
        Lookup(8, 1, _labelled(ENTRY_KIND_LABELS)),
        9, 10, 11,
        Lookup(12, 1, _labelled(SOURCE_LABELS)),
        13, 14, 15,
    ]
    # Options on the statement, not the connection: they must not outlive this query.
    result = db.session.connection().execute(stmt.execution_options(yield_per=batch))
    return KeyedRows(plan, result.partitions(), process)


_CODES = ("skill_level", "training_type", "kind", "source")


def _hours(value: Any) -> Decimal:
    """Hours as the driver gives them (SQLite: a float; PostgreSQL: a Decimal) as a Decimal."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):  # rounded as the column type's own processing rounds it
        return Decimal(f"{value:.2f}")
    return Decimal(value).quantize(HOURS_QUANTUM)


def _utc_time(value: Any) -> datetime:
    """A time as the driver gives it (SQLite: stored text; PostgreSQL: naive) in aware UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _certificate(cert: type[Certificate]) -> Any:
    """A certificate's number, said to be revoked when it is (in the export's language)."""
    before, after = str(_l("%(serial)s (revoked)", serial="\x00")).split("\x00")
    return case((cert.revoked_at.is_(None), cert.serial),
                else_=literal(before) + cert.serial + literal(after))


def learner_course_stmt(f: ExportFilters, labels: Labels | None = None) -> Select:
    """One row per learner, course and institution: hours, study time, dates, certificate."""
    labels = labels or Labels("zh_Hans", "")
    e = aliased(LedgerEntry)
    reversal = aliased(LedgerEntry)
    # A completion counts unless a correction reversed it.
    completed = func.max(case((
        (e.kind == EntryKind.COURSE_COMPLETED)
        & ~exists().where(reversal.reverses_id == e.id), 1), else_=0))
    g = filter_entries(
        select(e.learner_id, e.course_id, e.institution_id,
               func.count(e.id).label("entries"), func.sum(e.hours).label("credited_hours"),
               func.sum(e.verified_seconds).label("verified_seconds"),
               func.min(e.occurred_at).label("started_at"),
               func.max(e.occurred_at).label("occurred_at"),
               completed.label("completed"),
               func.max(type_coerce(e.training_type, String)).label("training_type"),
               func.max(type_coerce(e.skill_level, String)).label("skill_level"))
        .group_by(e.learner_id, e.course_id, e.institution_id), f, e).subquery()
    return (select(
        g.c.learner_id.label("learner_ref"), User.real_name.label("learner_name"),
        User.resident_id_masked.label("id_number"), User.resident_id_cipher.label("id_cipher"),
        Institution.code.label("institution_code"),
        labels.name(Institution, "name").label("institution"),
        labels.coded(Institution.prefecture, PREFECTURES, prefix_code=True).label("region"),
        Course.code.label("course_code"), labels.name(Course, "title").label("course"),
        Course.occupation_code,
        labels.coded(g.c.skill_level, SKILL_LEVEL_LABELS).label("skill_level"),
        labels.coded(g.c.training_type, TRAINING_TYPE_LABELS).label("training_type"),
        g.c.entries, g.c.credited_hours, g.c.verified_seconds,
        _plain_time(g.c.started_at).label("started_at"),
        _plain_time(g.c.occurred_at).label("occurred_at"),
        case((g.c.completed == 1, str(_l("yes"))), else_=str(_l("no"))).label("completed"),
        g.c.completed.label("is_completed"),
        _certificate(Certificate).label("certificate"),
        # For xAPI statements.
        case((g.c.course_id.is_not(None), labels.url("/courses/", g.c.course_id)),
             else_=labels.url("/records/learners/", g.c.learner_id)).label("activity_url"),
        literal("course").label("activity_type"),
        *(getattr(Course, f"title_{lang}").label(f"activity_name_{lang}")
          for lang in ("bo", "zh", "en")))
        .join(User, User.id == g.c.learner_id)
        .outerjoin(Institution, Institution.id == g.c.institution_id)
        .outerjoin(Course, Course.id == g.c.course_id)
        .outerjoin(Certificate, (Certificate.learner_id == g.c.learner_id)
                   & (Certificate.course_id == g.c.course_id))
        .order_by(g.c.learner_id, g.c.course_id, g.c.institution_id))


SOURCE_LABELS = {"system": _l("System"), "admin": _l("Administrator")}


#: What an xAPI statement reads besides the columns (see ``XapiExporter``).
XAPI_KEYS = ("learner_ref", "entry_id", "activity_url", "activity_type", "activity_name_bo",
             "activity_name_zh", "activity_name_en", "institution", "training_type",
             "credited_hours", "verified_seconds", "occurred_at", "reverses", "is_completed")


def export_statement(shape: ExportShape, f: ExportFilters, labels: Labels | None = None, *,
                     keys: Iterable[str] | None = None) -> Select:
    """The export's query; with ``keys``, exactly those columns in that order."""
    build = entries_stmt if shape == ExportShape.ENTRIES else learner_course_stmt
    stmt = build(f, labels)
    if keys is not None:
        by_key = {c.key: c for c in stmt.selected_columns}
        stmt = stmt.with_only_columns(*(by_key[k] for k in keys))
    return stmt


def stream_rows(shape: ExportShape, f: ExportFilters, *, fmt: str = "csv",
                include_full_ids: bool = False, locale: str = "zh_Hans",
                batch: int | None = None) -> Iterable[Any]:
    """Export rows for ``fmt``, read from the database a batch at a time.

    Ledger entries come as ``KeyedRows`` (facts plus names looked up once
    per key), other rows as the database's rows with the columns of
    ``shape`` in order; either way iterating gives each row's values in the
    columns' order, which the exporters read fastest. xAPI statements need
    named fields, so for them rows are dicts. Labels are in the current
    gettext language (callers wrap this in ``force_locale``); names of
    courses and institutions follow ``locale``.
    """
    labels = Labels(locale, current_app.config["PUBLIC_URL"].rstrip("/"))
    if shape == ExportShape.ENTRIES and fmt != "xapi":
        return keyed_entries(f, labels, include_full_ids=include_full_ids, batch=batch or 500)
    return _statement_rows(shape, f, labels, named=fmt == "xapi",
                           include_full_ids=include_full_ids, batch=batch or 2000)


def _statement_rows(shape: ExportShape, f: ExportFilters, labels: Labels, *, named: bool,
                    include_full_ids: bool, batch: int) -> Iterator[Any]:
    keys = [c.key for c in columns_for(shape)]
    named = named or include_full_ids
    if named:
        available = {c.key for c in export_statement(shape, f, labels).selected_columns}
        keys += [k for k in (*XAPI_KEYS, "id_cipher") if k not in keys and k in available]
    stmt = export_statement(shape, f, labels, keys=keys)
    # Options on the statement, not the connection: they must not outlive this query.
    result = db.session.connection().execute(stmt.execution_options(yield_per=batch))
    for part in result.partitions():
        if not named:
            yield from part
            continue
        rows = map(dict, map(zip, repeat(keys), part))
        if include_full_ids:
            rows = map(_with_full_id, rows)
        yield from rows


def _with_full_id(row: dict[str, Any]) -> dict[str, Any]:
    if row["id_cipher"]:
        row["id_number"] = _full_id(row["id_cipher"])
    return row


def _full_id(cipher: str) -> str | None:
    return resident_id_of(SimpleNamespace(resident_id_cipher=cipher))


def count_rows(shape: ExportShape, f: ExportFilters) -> int:
    """How many rows an export will have (for its progress bar)."""
    return db.count(export_statement(shape, f))


def write_export(out: BinaryIO, fmt: str, shape: ExportShape, f: ExportFilters, *,
                 include_full_ids: bool = False, locale: str = "zh_Hans",
                 progress: Callable[[int], None] | None = None) -> int:
    """Write an export to ``out``; return the number of rows. ``progress(rows)`` is optional."""
    options = {"homepage": current_app.config["PUBLIC_URL"]} if fmt == "xapi" else {}
    exporter = get_exporter(fmt, **options)
    rows = stream_rows(shape, f, fmt=fmt, include_full_ids=include_full_ids, locale=locale)
    if progress is not None:
        rows = _counting(rows, progress)
    return exporter.write(rows, columns_for(shape), out)


def _counting(rows: Iterable[Any], progress: Callable[[int], None],
              every: int = 5000) -> Iterable[Any]:
    if isinstance(rows, KeyedRows):
        return replace(rows, facts=_counting_batches(rows.facts, progress, every))
    return _counting_rows(rows, progress, every)


def _counting_rows(rows: Iterable[Any], progress: Callable[[int], None],
                   every: int) -> Iterator[Any]:
    for n, row in enumerate(rows, start=1):
        if n % every == 0:
            progress(n)
        yield row


def _counting_batches(batches: Iterable[Sequence[Any]], progress: Callable[[int], None],
                      every: int) -> Iterator[Sequence[Any]]:
    done = reported = 0
    for batch in batches:
        yield batch
        done += len(batch)
        if done - reported >= every:
            progress(reported := done)
