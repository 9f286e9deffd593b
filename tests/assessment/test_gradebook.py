"""The gradebook: learners × quizzes and practical tasks, on screen and as CSV; the demo."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from lms.assessment import formats
from lms.assessment.cli import load_demo
from lms.assessment.models import PracticalTask, Question, Quiz
from lms.assessment.operations import practical, quizzes
from lms.core.db import utcnow
from lms.courses.cli import load_demo as load_course_demo
from lms.courses.models import Course, Lesson
from lms.courses.operations import find_enrolment
from lms.extensions import db as database
from lms.users.cli import demo_user
from lms.users.cli import load_demo as load_user_demo
from lms.users.models import Role


def quiz_form(lesson) -> MultiDict:
    questions = {fq.question.name: fq.question for fq in quizzes.quiz_for(lesson).fixed_questions}
    blue = next(o.id for o in questions["blue"].options if o.text_en == "Azurite")
    return MultiDict({f"q{questions['canvas'].id}": "true", f"q{questions['blue'].id}": str(blue)})



def test_the_gradebook_shows_scores_attempts_and_status_and_downloads_as_csv(make, login_as,
                                                                           jpeg):
    course, quiz_lesson, task_lesson = make.assessed_course()
    quiz = quizzes.quiz_for(quiz_lesson)
    passed, waiting = make.learner(real_name="=HYPERLINK(\"http://evil\")"), make.learner()
    for learner in (passed, waiting):
        make.enrolment(learner, course)
    enrolment = make.enrolment(passed, course)
    for _ in range(2):
        attempt = quizzes.start_attempt(passed, enrolment, quiz, now=utcnow())
        quizzes.save_answers(attempt, quiz_form(quiz_lesson), now=utcnow())
        quizzes.submit_attempt(attempt, now=utcnow())
    stage = practical.task_for(task_lesson).stages[0]
    sender = login_as(waiting)
    sender.post(f"/practical/stages/{stage.id}/evidence", content_type="multipart/form-data",
                data={"file": (io.BytesIO(jpeg), "eyes.jpg")})
    sender.post(f"/practical/stages/{stage.id}/submit", data={"text": ""})

    teacher = make.instructor(institution=course.institution)
    course.instructors.append(teacher)
    database.session.commit()
    client = login_as(teacher)
    page = client.get(f"/teach/courses/{course.id}/gradebook").text
    assert "66.67%" in page and "2 attempts" in page and "Passed" in page
    assert "Waiting for review" in page and "Not started" in page

    response = client.get(f"/teach/courses/{course.id}/gradebook?format=csv")
    assert response.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][0] == "Learner" and rows[0][1].startswith("Materials quiz")
    by_name = {row[0]: row for row in rows[1:]}
    assert "'=HYPERLINK(\"http://evil\")" in by_name
    assert by_name["'=HYPERLINK(\"http://evil\")"][1:4] == ["66.67%", "2 attempts", "Passed"]

    progress = client.get(f"/teach/courses/{course.id}/progress").text
    assert "Waiting for an instructor" in progress


def test_the_gradebook_is_for_the_courses_teachers_only(make, login_as):
    course, _quiz, _task = make.assessed_course()
    for outsider in (make.instructor(), make.learner()):
        assert login_as(outsider).get(f"/teach/courses/{course.id}/gradebook").status_code \
            == 403
    assert login_as(make.author).get(f"/teach/courses/{course.id}/gradebook").status_code == 200


def test_the_demo_adds_a_quiz_and_a_staged_practical_task_to_the_thangka_course(db):
    load_user_demo()
    load_course_demo()
    assert load_demo()[0].startswith("Demo quiz")
    assert "already" in load_demo()[0]  # safe to run again
    course = db.session.scalar(select(Course).where(Course.code == "THANGKA-101"))
    kinds = db.session.scalars(select(Lesson.kind).where(Lesson.course_id == course.id)).all()
    assert kinds.count("quiz") == 1 and kinds.count("practical") == 1
    quiz = db.session.scalar(select(Quiz).where(Quiz.course_id == course.id))
    assert quizzes.quiz_problems(quiz) == [] and quiz.time_limit_seconds == 900
    task = db.session.scalar(select(PracticalTask).where(PracticalTask.course_id == course.id))
    assert len(task.stages) == 3 and len(task.criteria) == 3
    assert practical.task_problems(task) == []
    assert find_enrolment(demo_user(Role.LEARNER), course).completed_at is None  # in progress
    # A Tibetan and a Chinese reader can each take the whole quiz in their language.
    questions = db.session.scalars(select(Question).where(Question.course_id == course.id))
    for question in questions:
        assert {"bo", "zh"} <= set(question.languages), question.name
        for option in question.options:  # the options a learner sees (not accepted answers)
            if question.qtype != formats.SHORT_ANSWER and (option.text_zh or option.text_bo):
                assert option.text_bo and option.text_zh, (question.name, option.id)
            if option.feedback_bo or option.feedback_zh:  # and reads its feedback there too
                assert option.feedback_bo and option.feedback_zh, (question.name, option.id)
    assert all(level.title_bo for criterion in task.criteria for level in criterion.levels)
