"""What the quiz tests share: the factory quiz's answers, starting attempts, progress rows."""

from __future__ import annotations

from lms.assessment.models import Question
from lms.assessment.operations import quizzes
from lms.courses import operations as course_ops
from lms.courses.models import LessonProgress


def quiz_of(lesson):
    return quizzes.quiz_for(lesson)


def by_name(lesson) -> dict[str, Question]:
    return {fq.question.name: fq.question for fq in quiz_of(lesson).fixed_questions}


def answers(lesson, *, canvas="true", blue="Azurite", painter="lha bris pa") -> dict:
    """The form of an attempt at the factory quiz (all right by default)."""
    q = by_name(lesson)
    form = {}
    if canvas is not None:
        form[f"q{q['canvas'].id}"] = canvas
    if blue is not None:
        form[f"q{q['blue'].id}"] = str(next(o.id for o in q["blue"].options if o.text_en == blue))
    if painter is not None:
        form[f"q{q['painter'].id}"] = painter
    return form


def start(client, course, lesson) -> int:
    response = client.post(f"/courses/{course.id}/lessons/{lesson.id}/quiz/start")
    assert response.status_code == 302, response.text
    return int(response.headers["Location"].rsplit("/", 1)[1])


def progress(learner, course, lesson) -> LessonProgress:
    return course_ops.progress_for(course_ops.find_enrolment(learner, course), lesson)
