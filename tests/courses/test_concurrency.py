"""Two tabs or two workers completing the same lesson at the same moment complete it once."""

from __future__ import annotations

import threading

from lms.core import signals
from lms.courses import operations
from lms.courses.models import Enrolment, LessonProgress
from lms.extensions import db


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
