"""Completed lessons and courses reach the ledger by the signals; courses never import records."""

from __future__ import annotations

import ast
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from lms.core.db import utcnow
from lms.core.jobs import Job, run_queued_jobs
from lms.courses import operations as course_ops
from lms.records.models import Certificate, EntryKind, LedgerEntry


def entries_of(db, learner):
    return db.session.scalars(select(LedgerEntry).where(LedgerEntry.learner_id == learner.id)
                              .order_by(LedgerEntry.seq)).all()


def test_a_completed_lesson_credits_its_hours_and_verified_time(make, db):
    learner = make.learner()
    course = make.course(lessons=2)
    enrolment = make.enrolment(learner, course)
    lesson = course.lessons[0]
    progress = course_ops.progress_for(enrolment, lesson)
    course_ops.complete_lesson(progress, evidence={"reading_seconds": 75}, verified_seconds=75)
    db.session.commit()
    [entry] = entries_of(db, learner)
    assert entry.kind == EntryKind.LESSON_COMPLETED
    assert entry.hours == Decimal("1.00") and entry.verified_seconds == 75
    assert (entry.course_id, entry.lesson_id, entry.institution_id) == (
        course.id, lesson.id, course.institution_id)
    assert entry.training_type == course.training_type and entry.skill_level == course.skill_level
    assert entry.evidence["reading_seconds"] == 75
    assert entry.evidence["progress_id"] == progress.id
    assert entry.entered_by_id is None and entry.source == "system"


def test_an_approved_practical_lesson_is_credited_as_practical_work(make, db):
    learner = make.learner()
    course = make.course(lessons=2)
    lesson = course.lessons[0]
    lesson.kind = "practical"
    db.session.commit()
    enrolment = make.enrolment(learner, course)
    course_ops.complete_lesson(course_ops.progress_for(enrolment, lesson),
                               evidence={"submission": 7, "review": 3}, verified_seconds=0)
    db.session.commit()
    [entry] = entries_of(db, learner)
    assert entry.kind == EntryKind.PRACTICAL_APPROVED
    assert entry.evidence["submission"] == 7


def test_completing_a_course_records_it_and_issues_a_certificate(make, db):
    learner = make.learner(real_name="卓玛")
    enrolment = make.completed_course(learner, lessons=3)
    kinds = [e.kind for e in entries_of(db, learner)]
    assert kinds == [EntryKind.LESSON_COMPLETED] * 3 + [EntryKind.COURSE_COMPLETED]
    assert entries_of(db, learner)[-1].hours == 0
    cert = db.session.scalar(select(Certificate).where(Certificate.learner_id == learner.id))
    assert cert.course_id == enrolment.course_id and cert.hours == Decimal("3.00")
    assert cert.serial.startswith(f"YT-{utcnow().year}-") and not cert.is_ready
    job = db.session.scalar(select(Job).where(Job.subject == f"certificate:{cert.id}"))
    assert job.name == "records.issue_certificate"


def test_the_same_completion_signalled_twice_is_credited_once(make, db):
    from lms.core import signals

    learner = make.learner()
    enrolment = make.completed_course(learner, lessons=1)
    lesson = enrolment.course.lessons[0]
    progress = course_ops.progress_for(enrolment, lesson)
    signals.lesson_completed.send(lesson, enrolment=enrolment, lesson=lesson, progress=progress)
    signals.course_completed.send(enrolment.course, enrolment=enrolment)
    db.session.commit()
    assert len(entries_of(db, learner)) == 2
    assert len(db.session.scalars(select(Certificate)
                                  .where(Certificate.learner_id == learner.id)).all()) == 1


def test_the_certificate_job_renders_and_signs_the_pdf(make, db, app):
    learner = make.learner()
    make.completed_course(learner, lessons=1)
    run_queued_jobs()
    cert = db.session.scalar(select(Certificate).where(Certificate.learner_id == learner.id))
    db.session.refresh(cert)
    assert cert.is_ready and cert.key_fingerprint
    from lms.core.storage import storage
    from lms.records import certificates

    data = storage().path(cert.pdf_key).read_bytes()
    assert certificates.check_certificate_file(data).valid


def test_courses_never_import_records():
    courses = Path(__file__).resolve().parents[2] / "lms" / "courses"
    for path in courses.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n.startswith("lms.records") for n in names), path


def test_the_certificate_job_keeps_nothing_if_the_certificate_changed_meanwhile(make, db,
                                                                                monkeypatch):
    from sqlalchemy import update

    from lms.core.jobs import JobState
    from lms.records import certificates

    learner = make.learner()
    make.completed_course(learner, lessons=1)
    cert = db.session.scalar(select(Certificate).where(Certificate.learner_id == learner.id))
    render = certificates.signed_certificate_pdf

    def render_while_the_row_is_replaced(c):
        data = render(c)
        db.session.execute(update(Certificate).where(Certificate.id == c.id)
                           .values(serial="YT-2000-OTHER-00000"))
        return data

    monkeypatch.setattr(certificates, "signed_certificate_pdf", render_while_the_row_is_replaced)
    run_queued_jobs()
    job = db.session.scalar(select(Job).where(Job.subject == f"certificate:{cert.id}"))
    db.session.refresh(job)
    db.session.refresh(cert)
    assert job.state == JobState.FAILED and cert.pdf_key is None


def test_my_learning_and_the_progress_table_show_the_hours_the_record_credits(make, db,
                                                                            login_as):
    from lms.courses import util as course_util
    from lms.records import operations

    learner, course = make.learner(), make.course(lessons=3)
    enrolment = make.enrolment(learner, course)
    first, second, _third = course.sections[0].lessons
    for lesson in (first, second):
        course_ops.complete_lesson(course_ops.progress_for(enrolment, lesson))
    db.session.commit()
    # The author raises a lesson's hours afterwards: what was credited stays what it was.
    course_ops.save_lesson(make.author, first.section, first, title_en=first.title_en,
                           credit_hours=5, required=True, is_published=True)
    db.session.commit()
    assert course_util.outline(course, enrolment).hours_credited == Decimal("2.00")
    _headers, rows = course_util.progress_table(course)
    assert [r.hours for r in rows] == [Decimal("2.00")]
    page = login_as(learner).get("/learning/", headers={"Accept-Language": "en"}).text
    assert "2 of 3 required lessons · 2 hours credited" in page
    # A correction takes its hours off the page too.
    entry = db.session.scalar(select(LedgerEntry).where(
        LedgerEntry.learner_id == learner.id, LedgerEntry.lesson_id == second.id))
    operations.reverse_entry(make.regional_admin(), entry.id, "Counted by mistake.")
    db.session.commit()
    assert course_util.outline(course, enrolment).hours_credited == Decimal("1.00")
