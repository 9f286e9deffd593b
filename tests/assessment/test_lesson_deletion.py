"""A lesson that holds learners' work (a quiz attempt, practical evidence) is never deleted
with it: the author is told to unpublish it instead."""

from __future__ import annotations

import io

from sqlalchemy import select

from lms.assessment.models import Attempt, Evidence
from lms.courses.models import Lesson
from lms.extensions import db as database
from tests.assessment.quizzing import start

JPEG_NAME = "work.jpg"


def delete(make, login_as, lesson):
    return login_as(make.author).post(f"/teach/lessons/{lesson.id}/delete",
                                      follow_redirects=True)


def test_a_quiz_lesson_with_an_attempt_is_not_deleted(make, login_as, learner_in_quiz):
    client, _learner, course, lesson = learner_in_quiz()
    start(client, course, lesson)
    page = delete(make, login_as, lesson)
    assert "unpublish it instead" in page.text
    database.session.expire_all()
    assert database.session.get(Lesson, lesson.id) is not None
    assert database.session.scalar(select(Attempt.id)) is not None


def test_a_practical_lesson_with_a_learners_files_is_not_deleted(make, login_as, jpeg):
    course, _quiz, lesson = make.assessed_course()
    learner = make.learner()
    make.enrolment(learner, course)
    from lms.assessment.operations import practical

    stage = practical.task_for(lesson).stages[0]
    login_as(learner).post(f"/practical/stages/{stage.id}/evidence",
                           data={"file": (io.BytesIO(jpeg), JPEG_NAME)},
                           content_type="multipart/form-data")
    assert database.session.scalar(select(Evidence.id)) is not None
    page = delete(make, login_as, lesson)
    assert "unpublish it instead" in page.text
    database.session.expire_all()
    assert database.session.get(Lesson, lesson.id) is not None
    assert database.session.scalar(select(Evidence.id)) is not None


def test_a_lesson_nobody_has_touched_is_deleted(make, login_as):
    course, quiz_lesson, _practical = make.assessed_course()
    page = delete(make, login_as, quiz_lesson)
    assert page.status_code == 200
    database.session.expire_all()
    assert database.session.get(Lesson, quiz_lesson.id) is None
