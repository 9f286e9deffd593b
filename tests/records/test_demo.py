"""`lms demo` gives the demo learner a record that is never empty."""

from __future__ import annotations

from sqlalchemy import select

from lms.core.jobs import run_queued_jobs
from lms.courses import operations as course_ops
from lms.courses.cli import load_demo as load_courses
from lms.courses.models import Course
from lms.records import ledger
from lms.records.cli import load_demo as load_record
from lms.records.models import Certificate, EntryKind, LedgerEntry
from lms.users.cli import demo_user
from lms.users.cli import load_demo as load_users
from lms.users.models import Role


def test_the_demo_learner_has_a_completed_course_a_course_in_progress_and_an_offline_entry(db):
    for loader in (load_users, load_courses, load_record, load_record):  # twice: idempotent
        loader()
        db.session.commit()
    run_queued_jobs()
    learner, admin = demo_user(Role.LEARNER), demo_user(Role.INSTITUTION_ADMIN)
    incense = db.session.scalar(select(Course).where(Course.code == "INCENSE-201"))
    thangka = db.session.scalar(select(Course).where(Course.code == "THANGKA-101"))
    assert course_ops.is_course_completed(learner, incense)
    assert not course_ops.is_course_completed(learner, thangka)
    assert course_ops.find_enrolment(learner, thangka) is not None
    entries = db.session.scalars(select(LedgerEntry).where(LedgerEntry.learner_id == learner.id)
                                 .order_by(LedgerEntry.seq)).all()
    kinds = [e.kind for e in entries]
    assert kinds.count(EntryKind.LESSON_COMPLETED) == len(incense.lessons)
    assert kinds.count(EntryKind.COURSE_COMPLETED) == 1
    offline = [e for e in entries if e.kind == EntryKind.OFFLINE_SESSION]
    assert len(offline) == 1 and offline[0].entered_by_id == admin.id
    cert = db.session.scalar(select(Certificate).where(Certificate.learner_id == learner.id))
    db.session.refresh(cert)
    assert cert.course_id == incense.id and cert.is_ready
    assert ledger.verify_chains().ok
