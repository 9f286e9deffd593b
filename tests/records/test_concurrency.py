"""Concurrent credits for one learner never fork the chain or lose an entry, on either backend."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from lms.core.db import utcnow
from lms.courses import operations as course_ops
from lms.courses.models import LessonProgress
from lms.extensions import db
from lms.records import ledger, operations
from lms.records.models import Certificate, EntryKind, LedgerChain, LedgerEntry


def run_together(app, work, n: int) -> list[BaseException]:
    """Run ``work(i)`` in ``n`` threads released at the same moment; return their errors."""
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def target(i: int) -> None:
        try:
            with app.app_context():
                barrier.wait()
                work(i)
        except BaseException as exc:  # surfaced by the caller
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return errors


def test_eight_workers_crediting_one_learner_at_once_keep_one_whole_chain(app, committed_make):
    learner_id = committed_make.learner().id
    db.session.remove()

    def work(i: int) -> None:
        for k in range(5):
            operations.credit(learner_id, kind=EntryKind.OFFLINE_SESSION,
                              training_type="employment", hours="0.5", occurred_at=utcnow(),
                              credit_key=f"worker-{i}-{k}", reason=f"worker {i}")
            db.session.commit()
        # Every worker also credits the same thing: it must land once.
        operations.credit(learner_id, kind=EntryKind.COMPETITION, training_type="employment",
                          hours="1", occurred_at=utcnow(), credit_key="shared",
                          reason="the same competition")
        db.session.commit()

    errors = run_together(app, work, 8)
    assert not errors, errors
    with app.app_context():
        seqs = db.session.scalars(select(LedgerEntry.seq).where(
            LedgerEntry.learner_id == learner_id).order_by(LedgerEntry.seq)).all()
        assert seqs == list(range(1, 8 * 5 + 2))
        assert db.session.scalar(select(func.count()).where(
            LedgerEntry.credit_key == "shared")) == 1
        assert db.session.get(LedgerChain, learner_id).length == 41
        assert ledger.verify_chains().ok


def test_two_tabs_completing_lessons_at_once_credit_every_lesson_once(app, committed_make):
    learner = committed_make.learner()
    course = committed_make.course(lessons=6)
    enrolment = committed_make.enrolment(learner, course)
    progress_ids = [course_ops.progress_for(enrolment, lesson).id for lesson in course.lessons]
    db.session.commit()
    learner_id = learner.id
    db.session.remove()

    def work(i: int) -> None:
        # Each lesson is completed by two tabs at the same moment.
        progress = db.session.get(LessonProgress, progress_ids[i // 2])
        course_ops.complete_lesson(progress, evidence={"tab": i}, verified_seconds=120)
        db.session.commit()

    errors = run_together(app, work, 12)
    assert not errors, errors
    with app.app_context():
        kinds = db.session.scalars(select(LedgerEntry.kind).where(
            LedgerEntry.learner_id == learner_id).order_by(LedgerEntry.seq)).all()
        assert kinds.count(EntryKind.LESSON_COMPLETED) == 6
        assert kinds.count(EntryKind.COURSE_COMPLETED) == 1
        assert db.session.scalar(select(func.count(Certificate.id)).where(
            Certificate.learner_id == learner_id)) == 1
        assert ledger.verify_chains().ok
