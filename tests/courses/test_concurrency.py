"""Two tabs or two workers completing the same lesson at the same moment complete it once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import event

from lms.core import signals
from lms.core.db import utcnow
from lms.courses import operations
from lms.courses.models import Enrolment, Lesson, LessonProgress
from lms.courses.operations.learning import BEFORE_CLOCK_READ
from lms.extensions import db
from lms.users.models import User


def test_two_tabs_completing_the_last_lesson_at_once_send_each_signal_once(app, committed_make):
    learner, course = committed_make.learner(), committed_make.course(lessons=1)
    enrolment = committed_make.enrolment(learner, course)
    lesson = course.sections[0].lessons[0]
    progress_id = operations.progress_for(enrolment, lesson).id
    db.session.commit()
    enrolment_id = enrolment.id
    db.session.remove()

    sent: list[str] = []
    lock = threading.Lock()

    def on_lesson(sender, **kw):
        with lock:
            sent.append("lesson")

    def on_course(sender, **kw):
        with lock:
            sent.append("course")

    signals.lesson_completed.connect(on_lesson)
    signals.course_completed.connect(on_course)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def tab() -> None:
        try:
            with app.app_context():
                barrier.wait()
                progress = db.session.get(LessonProgress, progress_id)
                operations.complete_lesson(progress)
                db.session.commit()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    try:
        threads = [threading.Thread(target=tab) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        signals.lesson_completed.disconnect(on_lesson)
        signals.course_completed.disconnect(on_course)
    assert not errors, errors
    assert sorted(sent) == ["course", "lesson"]
    with app.app_context():
        assert db.session.get(Enrolment, enrolment_id).completed_at is not None


def _run(*targets) -> list[BaseException]:
    """Run each target in a thread of its own; what they raised."""
    errors: list[BaseException] = []

    def wrap(fn):
        def run():
            try:
                fn()
            except BaseException as exc:  # surfaced below
                errors.append(exc)
        return run

    threads = [threading.Thread(target=wrap(t)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return errors


def test_a_learners_report_and_an_edit_completing_them_never_deadlock(app, committed_make):
    """A reading report locks the learner's progress and then their enrolment; an edit that
    makes the last missing lesson optional completes waiting learners, locking enrolments.
    Whatever moves on the learner's progress version must take no lock the two take in
    opposite orders. Each side waits for the other at the point that used to deadlock on
    PostgreSQL (SQLite takes one writer at a time: nothing there waits in a cycle)."""
    if db.is_sqlite:
        pytest.skip("PostgreSQL's row locks; SQLite takes one writer at a time")
    learner, course = committed_make.learner(), committed_make.course(lessons=3)
    enrolment = committed_make.enrolment(learner, course)
    first, second, third = [x for s in course.sections for x in s.lessons]
    for lesson in (first, second):
        operations.complete_lesson(operations.progress_for(enrolment, lesson))
    reading = operations.progress_for(enrolment, third)
    reading.viewed_at = utcnow() - timedelta(seconds=60)
    db.session.commit()
    ids = dict(author=committed_make.author.id, third=third.id, progress=reading.id,
               enrolment=enrolment.id)
    db.session.remove()
    report_moved_progress, edit_locked_enrolment = threading.Event(), threading.Event()
    editor: list[int] = []

    def note(_conn, _cursor, statement, *_args):
        if threading.get_ident() in editor and statement.lstrip().upper().startswith(
                "UPDATE ENROLMENTS"):
            edit_locked_enrolment.set()

    def report() -> None:
        with app.app_context():
            progress = db.session.get(LessonProgress, ids["progress"])
            operations.record_reading(progress, utcnow())
            operations.touch(db.session.get(Enrolment, ids["enrolment"]), utcnow())
            report_moved_progress.set()
            edit_locked_enrolment.wait(3)
            db.session.commit()

    def edit() -> None:
        editor.append(threading.get_ident())
        with app.app_context():
            report_moved_progress.wait(10)
            lesson = db.session.get(Lesson, ids["third"])
            operations.save_lesson(db.session.get(User, ids["author"]), lesson.section,
                                   lesson, kind="text", title_en="Lesson 1.3",
                                   body_en="Stretch.", credit_hours=1, min_reading_minutes=0,
                                   required=False, is_published=True)
            db.session.commit()

    event.listen(db.engine, "after_cursor_execute", note)
    try:
        errors = _run(report, edit)
    finally:
        event.remove(db.engine, "after_cursor_execute", note)
    assert not errors, errors
    db.session.remove()
    assert db.session.get(Enrolment, ids["enrolment"]).completed_at is not None


def test_first_report_on_a_lesson_and_another_tabs_report_never_deadlock(app, committed_make):
    """A first report on a lesson makes the learner's progress row before it takes their
    study clock; meanwhile another tab holds the clock and moves the enrolment's progress
    version. Making an empty progress row must not lock the enrolment, or the two wait for
    each other."""
    if db.is_sqlite:
        pytest.skip("PostgreSQL's row locks; SQLite takes one writer at a time")
    learner, course = committed_make.learner(), committed_make.course(lessons=2)
    enrolment = committed_make.enrolment(learner, course)
    first, second = [x for s in course.sections for x in s.lessons]
    started = operations.progress_for(enrolment, second)
    started.viewed_at = utcnow() - timedelta(seconds=60)
    operations.study_clock(learner.id)  # the learner has studied before
    db.session.commit()
    ids = dict(enrolment=enrolment.id, first=first.id, started=started.id)
    db.session.remove()
    tab1_holds_enrolment, tab2_holds_clock = threading.Event(), threading.Event()

    def tab1() -> None:  # first heartbeat on lesson 1: POST /courses/<c>/lessons/<first>/reading
        with app.app_context():
            enrolment = db.session.get(Enrolment, ids["enrolment"])
            progress = operations.progress_for(enrolment, db.session.get(Lesson, ids["first"]))
            tab1_holds_enrolment.set()
            tab2_holds_clock.wait(5)
            operations.record_reading(progress, utcnow())
            operations.touch(enrolment, utcnow())
            db.session.commit()

    def tab2() -> None:  # a report on lesson 2 in another tab
        with app.app_context():
            tab1_holds_enrolment.wait(5)
            BEFORE_CLOCK_READ.append(_signal)
            try:
                operations.record_reading(db.session.get(LessonProgress, ids["started"]),
                                          utcnow())
            finally:
                BEFORE_CLOCK_READ.remove(_signal)
            operations.touch(db.session.get(Enrolment, ids["enrolment"]), utcnow())
            db.session.commit()

    def _signal(_user_id: int) -> None:
        tab2_holds_clock.set()

    errors = _run(tab1, tab2)
    assert not errors, errors


def test_deleting_a_lesson_and_a_learner_first_opening_it_never_deadlock(app, committed_make):
    """Deleting a lesson locks it, then completes the learners now done (their enrolments).
    A learner's first report on that lesson makes a progress row, whose foreign key waits
    for the deleted lesson: it must not hold the learner's enrolment meanwhile."""
    if db.is_sqlite:
        pytest.skip("PostgreSQL's row locks; SQLite takes one writer at a time")

    learner, course = committed_make.learner(), committed_make.course(lessons=2)
    enrolment = committed_make.enrolment(learner, course)
    first, second = [x for s in course.sections for x in s.lessons]
    operations.complete_lesson(operations.progress_for(enrolment, first))
    db.session.commit()
    ids = dict(author=committed_make.author.id, enrolment=enrolment.id, second=second.id)
    db.session.remove()
    staff_deleted, learner_locked_enrolment = threading.Event(), threading.Event()
    who: dict[int, str] = {}

    def note(_conn, _cursor, statement, *_args):
        s = statement.lstrip().upper()
        if who.get(threading.get_ident()) == "staff" and s.startswith("DELETE FROM LESSONS"):
            staff_deleted.set()
            learner_locked_enrolment.wait(5)
        if who.get(threading.get_ident()) == "learner" and s.startswith("UPDATE ENROLMENTS"):
            learner_locked_enrolment.set()

    def staff() -> None:  # POST /courses/lessons/<second>/delete
        who[threading.get_ident()] = "staff"
        with app.app_context():
            operations.delete_lesson(db.session.get(User, ids["author"]),
                                     db.session.get(Lesson, ids["second"]))
            db.session.commit()

    def learner_tab() -> None:  # the first report on the lesson, at the same moment
        who[threading.get_ident()] = "learner"
        with app.app_context():
            staff_deleted.wait(5)
            enrolment = db.session.get(Enrolment, ids["enrolment"])
            operations.progress_for(enrolment, db.session.get(Lesson, ids["second"]))
            db.session.commit()

    event.listen(db.engine, "after_cursor_execute", note)
    try:
        errors = _run(staff, learner_tab)
    finally:
        event.remove(db.engine, "after_cursor_execute", note)
    deadlocks = [e for e in errors if "deadlock" in str(e).lower()]
    assert not deadlocks, deadlocks
