"""Ledger operations: credit hours, correct an entry, enter offline training.

They flush and never commit; the listener's sender, the controller, the task
or the command that called them commits once. Every write to a learner's
chain goes through ``credit``, which locks the chain first.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.exceptions import Forbidden

from lms.core.audit import audit
from lms.core.db import utcnow
from lms.core.errors import UserError
from lms.core.files import clean_document
from lms.core.forms import typed_number
from lms.core.i18n import DISPLAY_TZ, normalize_text
from lms.core.jobs import enqueue
from lms.core.storage import delete_after_rollback, storage
from lms.courses.models import Enrolment, Lesson, LessonProgress, SkillLevel, TrainingType
from lms.extensions import db
from lms.records import ledger, permissions
from lms.records.exporters import EXPORTERS
from lms.records.models import (
    OFFLINE_KINDS,
    EntryKind,
    EntrySource,
    Export,
    ExportShape,
    LedgerEntry,
)
from lms.records.reports import ExportFilters
from lms.users.models import Institution, User

MAX_OFFLINE_HOURS = Decimal("1000")


def credit(learner_id: int, *, kind: EntryKind, training_type: TrainingType | str,
           hours: Decimal | int | str, occurred_at: datetime, credit_key: str | None = None,
           verified_seconds: int = 0, institution_id: int | None = None,
           course_id: int | None = None, lesson_id: int | None = None,
           skill_level: SkillLevel | str | None = None, evidence: dict[str, Any] | None = None,
           source: EntrySource = EntrySource.SYSTEM, entered_by_id: int | None = None,
           reason: str | None = None, reverses_id: int | None = None
           ) -> tuple[LedgerEntry, bool]:
    """Append one entry to a learner's record; the same ``credit_key`` twice gives one entry.

    Returns the entry and whether it is new.
    """
    chain = ledger.lock_chain(learner_id)
    # Checked under the chain lock, so two workers crediting the same thing agree.
    if credit_key is not None:
        existing = db.session.scalar(select(LedgerEntry).where(
            LedgerEntry.learner_id == learner_id, LedgerEntry.credit_key == credit_key))
        if existing is not None:
            return existing, False
    entry = LedgerEntry(
        kind=EntryKind(kind), training_type=TrainingType(training_type),
        skill_level=SkillLevel(skill_level) if skill_level else None,
        hours=Decimal(str(hours)), verified_seconds=int(verified_seconds or 0),
        occurred_at=occurred_at, credit_key=credit_key, institution_id=institution_id,
        course_id=course_id, lesson_id=lesson_id, evidence=dict(evidence or {}), source=source,
        entered_by_id=entered_by_id, reason=reason, reverses_id=reverses_id)
    return ledger.append(chain, entry), True


# --- from verified events ------------------------------------------------------------

def credit_lesson(enrolment: Enrolment, lesson: Lesson, progress: LessonProgress) -> LedgerEntry:
    """Credit a completed lesson: its hours and the study time the server verified."""
    course = enrolment.course
    kind = EntryKind.PRACTICAL_APPROVED if lesson.kind == "practical" \
        else EntryKind.LESSON_COMPLETED
    evidence = {**(progress.evidence or {}), "enrolment_id": enrolment.id,
                "progress_id": progress.id, "lesson_id": lesson.id}
    entry, _new = credit(
        enrolment.user_id, kind=kind, credit_key=f"lesson:{lesson.id}",
        training_type=course.training_type, skill_level=course.skill_level,
        hours=lesson.credit_hours or 0, verified_seconds=progress.verified_seconds or 0,
        occurred_at=progress.completed_at or utcnow(), institution_id=course.institution_id,
        course_id=course.id, lesson_id=lesson.id, evidence=evidence)
    return entry


def credit_course(enrolment: Enrolment) -> LedgerEntry:
    """Record a completed course (no extra hours: its lessons carried them)."""
    course = enrolment.course
    entry, _new = credit(
        enrolment.user_id, kind=EntryKind.COURSE_COMPLETED, credit_key=f"course:{course.id}",
        training_type=course.training_type, skill_level=course.skill_level, hours=0,
        occurred_at=enrolment.completed_at or utcnow(), institution_id=course.institution_id,
        course_id=course.id, evidence={"enrolment_id": enrolment.id})
    return entry


# --- corrections ----------------------------------------------------------------------

def reverse_entry(actor: User, entry_id: int, reason: str) -> LedgerEntry:
    """Cancel an entry with a reversing entry that says why; each entry is reversed at most once.

    The reversal is dated when the training it cancels took place (it is
    recorded now), so a year's or a period's totals and exports come out net
    of the correction instead of taking the hours off the month it was made in.
    """
    entry = db.session.get(LedgerEntry, entry_id)
    if entry is None:
        raise UserError(_l("There is no ledger entry with this number."), "entry_id")
    if not permissions.can_correct(actor, entry):
        raise Forbidden()
    reason = normalize_text(reason)
    if not reason:
        raise UserError(_l("Say why this entry is being corrected."), "reason")
    if entry.kind == EntryKind.REVERSAL:
        raise UserError(_l("A correction cannot itself be reversed; enter the training again "
                           "instead."), "entry_id")
    reversal, new = credit(
        entry.learner_id, kind=EntryKind.REVERSAL, credit_key=f"reversal:{entry.id}",
        training_type=entry.training_type, skill_level=entry.skill_level,
        hours=-entry.hours, verified_seconds=-entry.verified_seconds,
        occurred_at=entry.occurred_at,
        institution_id=entry.institution_id, course_id=entry.course_id,
        lesson_id=entry.lesson_id, evidence={"reverses_hash": entry.hash},
        source=EntrySource.ADMIN, entered_by_id=actor.id, reason=reason,
        reverses_id=entry.id)
    if not new:
        raise UserError(_l("This entry has already been reversed."), "entry_id")
    audit(actor, "ledger.reversed", reversal,
          {"learner_id": entry.learner_id, "reverses": entry.id, "hours": reversal.hours,
           "reason": reason}, institution_id=entry.institution_id)
    return reversal


# --- offline training ---------------------------------------------------------------------

#: Training recorded from paper goes back decades, but not to year 1.
EARLIEST_OFFLINE_DATE = date(1950, 1, 1)


def parse_hours(raw: Any, *, field: str = "hours") -> Decimal:
    """Hours as typed by an admin: 0 to 1000, at most two decimal places."""
    try:
        hours = typed_number(raw)
    except ValueError:
        raise UserError(_l("Enter the hours as a number, e.g. 4 or 1.5."), field) from None
    if hours < 0 or hours > MAX_OFFLINE_HOURS:
        raise UserError(_l("Hours must be between 0 and 1000."), field)
    if hours != hours.quantize(ledger.HOURS_QUANTUM):
        raise UserError(_l("Hours have at most two decimal places."), field)
    return hours


def enter_offline(actor: User, learner: User, *, kind: EntryKind | str,
                  training_type: TrainingType | str, institution: Institution | None,
                  hours: Any, occurred_on: date, description: str,
                  evidence_data: bytes, evidence_filename: str,
                  skill_level: SkillLevel | str | None = None,
                  token: str | None = None) -> LedgerEntry:
    """An admin records in-person training, a competition or a certificate, with evidence.

    ``token`` (from the form) makes a double-submitted form credit once.
    """
    kind = EntryKind(kind)
    if kind not in OFFLINE_KINDS:
        raise UserError(_l("Choose what kind of training this was."), "kind")
    if not permissions.can_enter_offline(actor, learner, institution):
        raise Forbidden()
    hours = parse_hours(hours)
    description = normalize_text(description)
    if not description:
        raise UserError(_l("Describe the training (what, where, with whom)."), "description")
    if occurred_on > datetime.now(DISPLAY_TZ).date():
        raise UserError(_l("The date cannot be in the future."), "occurred_on")
    if occurred_on < EARLIEST_OFFLINE_DATE:
        raise UserError(_l("Enter a date on or after %(date)s.",
                           date=EARLIEST_OFFLINE_DATE.isoformat()), "occurred_on")
    clean = clean_document(evidence_data,
                           max_bytes=current_app.config["OFFLINE_EVIDENCE_MAX_BYTES"])
    key = storage().new_key("records/evidence", clean.extension)
    storage().save_bytes(key, clean.data)
    delete_after_rollback(key)  # whatever fails after this, no file is left without its entry
    evidence = {"file_key": key, "filename": (evidence_filename or "evidence")[-120:],
                "content_type": clean.content_type, "size": len(clean.data),
                "description": description}
    occurred_at = datetime.combine(occurred_on, time(12), DISPLAY_TZ)
    entry, new = credit(
        learner.id, kind=kind, credit_key=f"offline:{token}" if token else None,
        training_type=training_type, skill_level=skill_level or None, hours=hours,
        occurred_at=occurred_at, institution_id=institution.id if institution else None,
        evidence=evidence, source=EntrySource.ADMIN, entered_by_id=actor.id,
        reason=description)
    if not new:
        storage().delete(key)  # the form was sent twice; the first one's file stays
        return entry
    audit(actor, "ledger.offline_entered", entry,
          {"learner_id": learner.id, "kind": kind, "hours": hours},
          institution_id=entry.institution_id)
    return entry


# --- exports ------------------------------------------------------------------------------

def request_export(actor: User, *, fmt: str, shape: ExportShape | str, filters: ExportFilters,
                   include_full_ids: bool = False) -> Export:
    """Queue an export for an administrator; only they will be able to download it."""
    if fmt not in EXPORTERS:
        raise UserError(_l("Choose a file format."), "format")
    try:
        filters.institution_id = permissions.export_institution(actor, filters.institution_id)
    except PermissionError:
        raise Forbidden() from None
    if filters.institution_id and db.session.get(Institution, filters.institution_id) is None:
        raise UserError(_l("Choose an institution from the list."), "institution_id")
    if include_full_ids and not permissions.can_include_full_ids(actor):
        raise Forbidden()
    now = utcnow()
    export = Export(requested_by_id=actor.id, format=fmt, shape=ExportShape(shape),
                    filters=filters.to_json(), include_full_ids=include_full_ids,
                    created_at=now, expires_at=now + _link_lifetime())
    db.session.add(export)
    db.session.flush()
    job = enqueue("records.export", subject=f"export:{export.id}", owner_id=actor.id,
                  export_id=export.id)
    export.job_id = job.id
    db.session.flush()
    return export


def finish_export(export: Export, *, file_key: str, row_count: int) -> None:
    """Record a written export and put it in the audit log (who, when, filters, format, rows).

    The download link lives ``EXPORT_LINK_HOURS`` from the moment the file is ready.
    """
    export.file_key, export.row_count, export.finished_at = file_key, row_count, utcnow()
    export.expires_at = export.finished_at + _link_lifetime()
    db.session.flush()
    audit(export.requested_by, "records.exported", export, export_details(export),
          institution_id=export.filters.get("institution_id"))


def _link_lifetime() -> timedelta:
    return timedelta(hours=current_app.config["EXPORT_LINK_HOURS"])


def export_details(export: Export) -> dict[str, Any]:
    """What the audit log keeps about an export."""
    return {"format": export.format, "shape": export.shape, "filters": export.filters,
            "include_full_ids": export.include_full_ids, "rows": export.row_count}


def purge_expired_exports(now: datetime | None = None) -> int:
    """Delete the files of exports whose download link has expired; return how many."""
    now = now or utcnow()
    expired = db.session.scalars(select(Export).where(Export.expires_at < now,
                                                      Export.file_key.is_not(None))).all()
    for export in expired:
        storage().delete(export.file_key)
        export.file_key = None
    db.session.flush()
    return len(expired)
