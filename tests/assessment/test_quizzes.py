"""Quizzes: taking one, what the browser sees, bad answers, essays, reviews, who sees what."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from lms.assessment.models import Attempt, AttemptState
from lms.extensions import db as database
from tests.assessment.quizzing import (
    answers,
    by_name,
    progress,
    quiz_of,
    start,
)

# --- taking a quiz ------------------------------------------------------------------------

def test_a_learner_passes_a_quiz_and_the_lesson_completes_with_the_attempt(learner_in_quiz):
    client, learner, course, lesson = learner_in_quiz()
    attempt_id = start(client, course, lesson)
    page = client.get(f"/quiz/attempts/{attempt_id}").text
    assert 'id="submit-attempt"' in page
    response = client.post(f"/quiz/attempts/{attempt_id}/submit", data=answers(lesson),
                           follow_redirects=True)
    assert "Score: 3 of 3 (100%)" in response.text
    done = progress(learner, course, lesson)
    assert done.completed_at is not None
    assert done.evidence == {"attempt": attempt_id, "score": 100.0}
    assert 'id="lesson-done"' in client.get(f"/courses/{course.id}/lessons/{lesson.id}").text


def test_a_learner_below_the_pass_mark_does_not_complete_the_lesson(learner_in_quiz):
    client, learner, course, lesson = learner_in_quiz()
    attempt_id = start(client, course, lesson)
    client.post(f"/quiz/attempts/{attempt_id}/submit",
                data=answers(lesson, blue="Cinnabar", painter="ri mo mkhan"))
    attempt = database.session.get(Attempt, attempt_id)
    assert attempt.percent == 50 and attempt.passed is False
    assert progress(learner, course, lesson).completed_at is None


def test_correct_answers_never_reach_the_browser_before_submission(learner_in_quiz):
    client, _learner, course, lesson = learner_in_quiz(shuffle_options=True)
    attempt_id = start(client, course, lesson)
    page = client.get(f"/quiz/attempts/{attempt_id}").text
    for secret in ("lha bris pa", "ri mo mkhan", "Yes: azurite", "Cinnabar gives red",
                   "Right.", "Close.", "fraction", "correct"):
        assert secret not in page, secret
    assert "Azurite" in page and "Cinnabar" in page  # the options themselves are shown


def test_answers_are_autosaved_and_a_reload_shows_them(learner_in_quiz):
    client, _learner, course, lesson = learner_in_quiz()
    attempt_id = start(client, course, lesson)
    response = client.post(f"/quiz/attempts/{attempt_id}/save",
                           data=answers(lesson, canvas=None, blue=None),
                           headers={"Accept": "application/json"})
    assert response.status_code == 200 and response.json["saved"] == 1
    page = client.get(f"/quiz/attempts/{attempt_id}").text
    assert 'value="lha bris pa"' in page
    client.post(f"/quiz/attempts/{attempt_id}/save", data=answers(lesson))  # the plain button
    page = client.get(f"/quiz/attempts/{attempt_id}").text
    assert re.search(r'value="true" checked', page)


def test_an_autosave_with_an_expired_form_gets_the_reason_as_json(learner_in_quiz):
    client, _learner, course, lesson = learner_in_quiz()
    attempt_id = start(client, course, lesson)
    response = client.post(f"/quiz/attempts/{attempt_id}/save", csrf=False,
                           data={**answers(lesson), "csrf_token": "stale"},
                           headers={"Accept": "application/json"})
    assert response.status_code == 400 and "expired" in response.json["error"]


def test_an_answer_field_for_an_absurd_question_number_is_ignored(learner_in_quiz):
    client, _learner, course, lesson = learner_in_quiz()
    attempt_id = start(client, course, lesson)
    response = client.post(f"/quiz/attempts/{attempt_id}/save",
                           data={**answers(lesson), "q" + "1" * 5000: "x"},
                           headers={"Accept": "application/json"})
    assert response.status_code == 200


def test_the_option_order_is_shuffled_once_per_attempt_and_kept(learner_in_quiz):
    client, _learner, course, lesson = learner_in_quiz(shuffle_options=True)
    attempt_id = start(client, course, lesson)
    order = lambda: re.findall(r'type="radio" name="q\d+" value="(\d+)"',  # noqa: E731
                               client.get(f"/quiz/attempts/{attempt_id}").text)
    first = order()
    assert first and all(order() == first for _ in range(3))
    blue = by_name(lesson)["blue"]
    layout = next(s.layout for s in database.session.get(Attempt, attempt_id).slots
                  if s.question_id == blue.id)
    assert sorted(layout["order"]) == sorted(o.id for o in blue.options)


def test_reloading_the_start_button_resumes_the_attempt_in_progress(learner_in_quiz):
    client, learner, course, lesson = learner_in_quiz()
    assert start(client, course, lesson) == start(client, course, lesson)
    assert database.session.scalar(select(func.count(Attempt.id)).where(
        Attempt.user_id == learner.id)) == 1



# --- bad answers --------------------------------------------------------------------------

def test_an_answer_naming_an_option_not_in_the_question_is_refused(learner_in_quiz):
    client, _learner, course, lesson = learner_in_quiz()
    attempt_id = start(client, course, lesson)
    blue = by_name(lesson)["blue"]
    foreign = answers(lesson, canvas=None, painter=None) | {f"q{blue.id}": "999999"}
    response = client.post(f"/quiz/attempts/{attempt_id}/save", data=foreign,
                           headers={"Accept": "application/json"})
    assert response.status_code == 400 and "not one of the question's options" in \
        response.json["error"]
    response = client.post(f"/quiz/attempts/{attempt_id}/save", data=foreign,
                           follow_redirects=True)
    assert "not one of the question" in response.text
    attempt = database.session.get(Attempt, attempt_id)
    assert all(slot.response is None for slot in attempt.slots)


def test_an_answer_for_a_question_not_in_the_attempt_is_refused(learner_in_quiz, make):
    client, _learner, course, lesson = learner_in_quiz()
    other = make.questions(course, "::other::Another question?{T}")[0]
    attempt_id = start(client, course, lesson)
    response = client.post(f"/quiz/attempts/{attempt_id}/submit",
                           data=answers(lesson) | {f"q{other.id}": "true"},
                           follow_redirects=True)
    assert "not in this attempt" in response.text
    attempt = database.session.get(Attempt, attempt_id)
    assert attempt.is_open and all(slot.response is None for slot in attempt.slots)



# --- essays and review --------------------------------------------------------------------

ESSAY_GIFT = "::canvas::A canvas is primed with glue.{T}\n\n::why::Why is the canvas burnished?{}"


def test_essays_wait_in_the_grading_queue_and_grading_finishes_the_attempt(learner_in_quiz,
                                                                          make, login_as):
    client, learner, course, lesson = learner_in_quiz(gift=ESSAY_GIFT)
    questions = by_name(lesson)
    attempt_id = start(client, course, lesson)
    client.post(f"/quiz/attempts/{attempt_id}/submit", data={
        f"q{questions['canvas'].id}": "true", f"q{questions['why'].id}": "So the paint flows."})
    attempt = database.session.get(Attempt, attempt_id)
    assert attempt.state == AttemptState.GRADING and attempt.percent is None
    teacher = make.instructor(institution=course.institution)
    course.instructors.append(teacher)
    database.session.commit()
    staff = login_as(teacher)
    assert f"/teach/attempts/{attempt_id}/grade" in staff.get("/teach/grading/").text
    slot = next(s for s in attempt.slots if s.question_id == questions["why"].id)
    too_many = staff.post(f"/teach/attempts/{attempt_id}/grade",
                          data={"slot_id": slot.id, "points": "5"}, follow_redirects=True)
    assert "between 0 and 1" in too_many.text
    staff.post(f"/teach/attempts/{attempt_id}/grade",
               data={"slot_id": slot.id, "points": "1", "feedback": "ལེགས་སོ།"})
    database.session.refresh(attempt)
    assert attempt.state == AttemptState.FINISHED and attempt.percent == 100
    assert progress(learner, course, lesson).completed_at is not None
    assert f"/teach/attempts/{attempt_id}/grade" not in staff.get("/teach/grading/").text


def test_grading_with_a_forged_slot_or_points_that_are_not_a_number_never_fails(
        learner_in_quiz, make, login_as):
    client, _learner, course, lesson = learner_in_quiz(gift=ESSAY_GIFT)
    questions = by_name(lesson)
    attempt_id = start(client, course, lesson)
    client.post(f"/quiz/attempts/{attempt_id}/submit", data={
        f"q{questions['canvas'].id}": "true", f"q{questions['why'].id}": "So the paint flows."})
    teacher = make.instructor(institution=course.institution)
    course.instructors.append(teacher)
    database.session.commit()
    staff = login_as(teacher)
    address = f"/teach/attempts/{attempt_id}/grade"
    assert staff.post(address, data={"slot_id": "abc", "points": "1"}).status_code == 400
    assert staff.post(address, data={"points": "1"}).status_code == 400
    slot = next(s for s in database.session.get(Attempt, attempt_id).slots
                if s.question_id == questions["why"].id)
    refused = staff.post(address, data={"slot_id": slot.id, "points": "sNaN"})
    assert refused.status_code == 200 and "Not a valid decimal value." in refused.text
    assert database.session.get(Attempt, attempt_id).state == AttemptState.GRADING


def test_score_only_quizzes_never_show_the_answers(learner_in_quiz):
    client, _learner, course, lesson = learner_in_quiz(review="score_only")
    attempt_id = start(client, course, lesson)
    page = client.post(f"/quiz/attempts/{attempt_id}/submit", data={},
                       follow_redirects=True).text
    assert "Score: 0 of 3" in page and "lha bris pa" not in page and "Correct answer" not in page


def test_answers_after_the_last_attempt_appear_only_when_no_attempt_is_left(learner_in_quiz):
    client, _learner, course, lesson = learner_in_quiz(review="after_last_attempt",
                                                       max_attempts=2)
    first = start(client, course, lesson)
    client.post(f"/quiz/attempts/{first}/submit", data={})
    assert "lha bris pa" not in client.get(f"/quiz/attempts/{first}").text
    second = start(client, course, lesson)
    assert "lha bris pa" not in client.get(f"/quiz/attempts/{first}").text
    client.post(f"/quiz/attempts/{second}/submit", data={})
    page = client.get(f"/quiz/attempts/{first}").text
    assert "lha bris pa" in page and "Yes: azurite is ground into blue." not in page
    assert "Correct answer" in page



# --- who may see what ---------------------------------------------------------------------

def test_a_learner_fetching_another_learners_attempt_gets_403(learner_in_quiz, make, login_as):
    client, _learner, course, lesson = learner_in_quiz()
    attempt_id = start(client, course, lesson)
    other = make.learner()
    make.enrolment(other, course)
    intruder = login_as(other)
    assert intruder.get(f"/quiz/attempts/{attempt_id}").status_code == 403
    assert intruder.post(f"/quiz/attempts/{attempt_id}/save",
                         data=answers(lesson)).status_code == 403
    assert intruder.post(f"/quiz/attempts/{attempt_id}/submit").status_code == 403
    assert login_as(make.instructor()).get(f"/quiz/attempts/{attempt_id}").status_code == 403
    teacher = make.instructor(institution=course.institution)
    course.instructors.append(teacher)
    database.session.commit()
    assert login_as(teacher).get(f"/quiz/attempts/{attempt_id}").status_code == 200


def test_a_learner_not_enrolled_cannot_start_the_quiz(make, login_as):
    course, lesson, _p = make.assessed_course()
    client = login_as(make.learner())
    assert client.post(f"/courses/{course.id}/lessons/{lesson.id}/quiz/start").status_code \
        == 403


def test_a_learner_takes_the_quiz_in_tibetan(make, login_as):
    gift = "::ཐང་ཀ::ཐང་ཀའི་རས་གཞི་ལ་སྤྱིན་བྱུགས་དགོས།{T}"
    course, lesson, _p = make.assessed_course(quiz={"gift": gift})
    learner = make.learner(locale="bo")
    make.enrolment(learner, course)
    client = login_as(learner)
    attempt_id = start(client, course, lesson)
    page = client.get(f"/quiz/attempts/{attempt_id}").text
    assert '<html lang="bo">' in page and 'lang="bo"' in page and "ཐང་ཀའི་རས་གཞི་" in page


def test_instructors_configure_the_quiz_from_the_lesson_editor(make, login_as):
    course, lesson, _p = make.assessed_course()
    page = login_as(make.author).get(f"/teach/lessons/{lesson.id}").text
    assert f'action="/teach/lessons/{lesson.id}/quiz"' in page
    questions = list(by_name(lesson).values())
    response = login_as(make.author).post(f"/teach/lessons/{lesson.id}/quiz", data={
        "selection": "fixed", "questions": [q.id for q in questions[:2]], "question_count": "5",
        "pass_percent": "80", "time_limit_minutes": "20", "max_attempts": "3",
        "grading": "last", "review": "score_only", "shuffle_options": "y"})
    assert response.status_code == 302
    quiz = quiz_of(lesson)
    assert quiz.time_limit_seconds == 1200 and quiz.max_attempts == 3
    assert quiz.pass_percent == 80 and quiz.shuffle_options and not quiz.shuffle_questions
    assert len(quiz.fixed_questions) == 2
    refused = login_as(make.author).post(f"/teach/lessons/{lesson.id}/quiz", data={
        "selection": "random", "question_count": "5", "pass_percent": "60",
        "grading": "highest", "review": "score_only"})
    assert refused.status_code == 200 and "Choose the categories" in refused.text


def test_the_grading_method_is_not_called_grade(make, login_as):
    # "Grade" is the verb of the grading queue; the setting has a name of its own.
    course, lesson, _p = make.assessed_course()
    editor = login_as(make.author).get(f"/teach/lessons/{lesson.id}").text
    assert '<label for="grading">Grading method</label>' in editor
    learner = make.learner()
    make.enrolment(learner, course)
    page = login_as(learner).get(f"/courses/{course.id}/lessons/{lesson.id}").text
    assert "<dt>Grading method</dt>" in page and "<dt>Grade</dt>" not in page


def test_the_lesson_editor_shows_the_saved_quiz_even_when_the_lesson_form_is_refused(make,
                                                                                     login_as):
    course, lesson, _p = make.assessed_course(quiz={"pass_percent": 75, "shuffle_options": True})
    page = login_as(make.author).post(f"/teach/lessons/{lesson.id}", data={
        "kind": "quiz", "credit_hours": "1", "title_bo": "", "title_zh": "",
        "title_en": ""}).text  # no title in any language: refused
    assert "Give the title in at least one language." in page
    assert re.search(r'id="pass_percent"[^>]*value="75"', page)
    assert "checked" in re.search(r'<input[^>]*id="shuffle_options"[^>]*>', page)[0]
    assert "checked" not in re.search(r'<input[^>]*id="shuffle_questions"[^>]*>', page)[0]
