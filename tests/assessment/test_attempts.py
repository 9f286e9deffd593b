"""Attempts and timing: the server's clock and its grace, attempt limits, double submits,
grading methods and random draws (the clock is injected)."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from lms.assessment.models import Attempt, AttemptSlot, AttemptState, Question
from lms.assessment.operations import quizzes
from lms.core import signals
from lms.core.db import utcnow
from lms.core.errors import UserError
from lms.courses import operations as course_ops
from lms.extensions import db as database
from lms.users.models import User
from tests.assessment.quizzing import (
    answers,
    progress,
    quiz_of,
    start,
)

# --- the server's clock -------------------------------------------------------------------

@pytest.fixture
def clock(monkeypatch):
    """The time the quiz pages see: ``clock.now``, moved with ``clock.now += ...``."""

    class Clock:
        now = utcnow()

    monkeypatch.setattr("lms.assessment.controllers.quizzes.utcnow", lambda: Clock.now)
    return Clock


def test_answers_saved_after_the_deadline_and_grace_do_not_count(learner_in_quiz, clock, app):
    client, _learner, course, lesson = learner_in_quiz(time_limit_minutes=10)
    grace = app.config["QUIZ_GRACE_SECONDS"]
    attempt_id = start(client, course, lesson)
    clock.now += timedelta(minutes=5)
    client.post(f"/quiz/attempts/{attempt_id}/save", data=answers(lesson, blue=None,
                                                                   painter=None))
    clock.now += timedelta(minutes=5, seconds=grace + 1)
    late = client.post(f"/quiz/attempts/{attempt_id}/save", data=answers(lesson),
                       headers={"Accept": "application/json"})
    assert late.status_code == 409 and "Time is up" in late.json["error"]
    client.post(f"/quiz/attempts/{attempt_id}/submit", data=answers(lesson))
    attempt = database.session.get(Attempt, attempt_id)
    assert attempt.state == AttemptState.FINISHED
    assert attempt.score == 1  # only the answer saved in time
    assert quizzes.attempt_seconds(attempt) == 600


def test_answers_sent_within_the_grace_still_count(learner_in_quiz, clock, app):
    client, _learner, course, lesson = learner_in_quiz(time_limit_minutes=10)
    attempt_id = start(client, course, lesson)
    clock.now += timedelta(minutes=10, seconds=app.config["QUIZ_GRACE_SECONDS"] - 1)
    client.post(f"/quiz/attempts/{attempt_id}/submit", data=answers(lesson))
    assert database.session.get(Attempt, attempt_id).score == 3


def test_an_attempt_whose_time_ran_out_is_submitted_when_the_learner_returns(learner_in_quiz,
                                                                             clock):
    client, learner, course, lesson = learner_in_quiz(time_limit_minutes=1)
    attempt_id = start(client, course, lesson)
    client.post(f"/quiz/attempts/{attempt_id}/save", data=answers(lesson))
    clock.now += timedelta(hours=2)
    page = client.get(f"/quiz/attempts/{attempt_id}", follow_redirects=True).text
    assert "Time ran out" in page and "Score: 3 of 3" in page
    assert progress(learner, course, lesson).completed_at is not None


def test_the_lesson_page_only_reads_and_points_to_an_attempt_out_of_time(learner_in_quiz,
                                                                         clock, monkeypatch):
    client, _learner, course, lesson = learner_in_quiz(time_limit_minutes=1)
    attempt_id = start(client, course, lesson)
    monkeypatch.setattr("lms.courses.controllers.learning.utcnow",
                        lambda: clock.now + timedelta(hours=1))
    page = client.get(f"/courses/{course.id}/lessons/{lesson.id}").text
    assert "Time is up: see your result" in page
    assert database.session.get(Attempt, attempt_id).is_open  # handed in when opened


def test_timing_is_decided_by_the_clock_given_to_the_operations(make, db):
    course, lesson, _p = make.assessed_course(quiz={"time_limit_minutes": 2})
    learner = make.learner()
    enrolment = make.enrolment(learner, course)
    t0 = utcnow()
    attempt = quizzes.start_attempt(learner, enrolment, quiz_of(lesson), now=t0)
    assert attempt.deadline_at == t0 + timedelta(minutes=2)
    quizzes.save_answers(attempt, MultiDict(answers(lesson)), now=t0 + timedelta(minutes=2))
    assert not quizzes.is_overdue(attempt, t0 + timedelta(minutes=2, seconds=30))
    assert quizzes.is_overdue(attempt, t0 + timedelta(minutes=2, seconds=31))
    with pytest.raises(UserError):
        quizzes.save_answers(attempt, MultiDict(answers(lesson)),
                             now=t0 + timedelta(minutes=3))
    assert quizzes.close_if_overdue(attempt, t0 + timedelta(minutes=3))
    assert attempt.percent == 100 and quizzes.attempt_seconds(attempt) == 120



# --- study time ---------------------------------------------------------------------------

def quiz_taker(make, **settings):
    course, lesson, _p = make.assessed_course(quiz=settings)
    learner = make.learner()
    return learner, make.enrolment(learner, course), lesson


def test_an_untimed_attempt_left_open_for_days_earns_one_capped_gap(make, db):
    learner, enrolment, lesson = quiz_taker(make)
    t0 = utcnow()
    attempt = quizzes.start_attempt(learner, enrolment, quiz_of(lesson), now=t0)
    quizzes.save_answers(attempt, MultiDict(answers(lesson)), now=t0 + timedelta(days=4))
    quizzes.submit_attempt(attempt, now=t0 + timedelta(days=4, seconds=20))
    assert attempt.studied_s == quizzes.QUIZ_GAP_CAP_SECONDS + 20
    assert progress(learner, enrolment.course, lesson).verified_seconds == attempt.studied_s


def test_steady_work_on_an_attempt_earns_all_its_time(make, db):
    learner, enrolment, lesson = quiz_taker(make)
    t0 = utcnow()
    attempt = quizzes.start_attempt(learner, enrolment, quiz_of(lesson), now=t0)
    for minute in range(2, 21, 2):  # a save every two minutes for twenty minutes
        quizzes.save_answers(attempt, MultiDict(answers(lesson, blue=None if minute % 4
                                                            else "Azurite")),
                             now=t0 + timedelta(minutes=minute))
    quizzes.submit_attempt(attempt, now=t0 + timedelta(minutes=21))
    assert quizzes.attempt_seconds(attempt) == 21 * 60


def test_time_already_credited_to_reading_is_not_credited_to_the_quiz_again(make, db):
    course = make.course(lessons=1, published=False)
    lesson = make.quiz_lesson(course)
    course_ops.publish_course(make.author, course)
    learner = make.learner()
    enrolment = make.enrolment(learner, course)
    t0 = utcnow()
    attempt = quizzes.start_attempt(learner, enrolment, quiz_of(lesson), now=t0)
    # The learner reads a text lesson in another tab, which reports five minutes later.
    reading = course_ops.progress_for(enrolment, course.sections[0].lessons[0])
    reading.viewed_at = t0
    assert course_ops.record_reading(reading, t0 + timedelta(minutes=5)) == 5 * 60
    quizzes.submit_attempt(attempt, now=t0 + timedelta(minutes=8))
    assert attempt.studied_s == 3 * 60  # eight minutes passed: five read, three on the quiz
    assert course_ops.study_clock(learner.id).last_report_at == (
        t0 + timedelta(minutes=8)).timestamp()


def test_a_timed_attempt_earns_nothing_after_its_deadline(make, db):
    learner, enrolment, lesson = quiz_taker(make, time_limit_minutes=5)
    t0 = utcnow()
    attempt = quizzes.start_attempt(learner, enrolment, quiz_of(lesson), now=t0)
    quizzes.save_answers(attempt, MultiDict(answers(lesson)), now=t0 + timedelta(minutes=4))
    quizzes.submit_attempt(attempt, now=t0 + timedelta(minutes=5, seconds=20))  # in the grace
    assert attempt.studied_s == 5 * 60


def test_the_time_of_failed_attempts_counts_with_the_passing_one(make, db):
    learner, enrolment, lesson = quiz_taker(make)
    t0 = utcnow()
    failed = quizzes.start_attempt(learner, enrolment, quiz_of(lesson), now=t0)
    quizzes.submit_attempt(failed, now=t0 + timedelta(minutes=3))
    assert failed.passed is False
    t1 = t0 + timedelta(minutes=10)
    passed = quizzes.start_attempt(learner, enrolment, quiz_of(lesson), now=t1)
    quizzes.save_answers(passed, MultiDict(answers(lesson)), now=t1 + timedelta(minutes=4))
    quizzes.submit_attempt(passed, now=t1 + timedelta(minutes=5))
    assert passed.passed
    assert progress(learner, enrolment.course, lesson).verified_seconds == (3 + 5) * 60


# --- attempts -----------------------------------------------------------------------------

def test_a_third_attempt_when_two_are_allowed_is_refused(learner_in_quiz):
    client, learner, course, lesson = learner_in_quiz(max_attempts=2)
    for _ in range(2):
        attempt_id = start(client, course, lesson)
        client.post(f"/quiz/attempts/{attempt_id}/submit", data={})
    response = client.post(f"/courses/{course.id}/lessons/{lesson.id}/quiz/start",
                           follow_redirects=True)
    assert "used all 2 attempts" in response.text
    assert database.session.scalar(select(func.count(Attempt.id)).where(
        Attempt.user_id == learner.id)) == 2


def test_a_double_submit_grades_once(learner_in_quiz):
    client, learner, course, lesson = learner_in_quiz()
    completions = []
    signals.lesson_completed.connect(on := lambda sender, **kw: completions.append(sender))
    try:
        attempt_id = start(client, course, lesson)
        first = client.post(f"/quiz/attempts/{attempt_id}/submit", data=answers(lesson))
        second = client.post(f"/quiz/attempts/{attempt_id}/submit",
                             data=answers(lesson, blue="Cinnabar"))
    finally:
        signals.lesson_completed.disconnect(on)
    assert first.status_code == second.status_code == 302
    attempt = database.session.get(Attempt, attempt_id)
    assert attempt.score == 3 and len(completions) == 1


def test_two_tabs_submitting_at_the_same_moment_grade_once(app, committed_make):
    course, lesson, _p = committed_make.assessed_course()
    learner = committed_make.learner()
    enrolment = committed_make.enrolment(learner, course)
    attempt = quizzes.start_attempt(learner, enrolment, quiz_of(lesson), now=utcnow())
    quizzes.save_answers(attempt, MultiDict(answers(lesson)), now=utcnow())
    database.session.commit()
    attempt_id = attempt.id
    database.session.remove()
    graded, errors = [], []
    barrier = threading.Barrier(3)

    def tab() -> None:
        try:
            with app.app_context():
                barrier.wait()
                row = database.session.get(Attempt, attempt_id)
                graded.append(quizzes.submit_attempt(row, now=utcnow()))
                database.session.commit()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=tab) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sorted(graded) == [False, False, True]


def test_the_highest_or_the_last_attempt_counts(make, db):
    for method, expected in (("highest", 100), ("last", 0)):
        course, lesson, _p = make.assessed_course(quiz={"grading": method})
        learner = make.learner()
        enrolment = make.enrolment(learner, course)
        quiz = quiz_of(lesson)
        for form in (answers(lesson), {}):
            attempt = quizzes.start_attempt(learner, enrolment, quiz, now=utcnow())
            quizzes.save_answers(attempt, MultiDict(form), now=utcnow())
            quizzes.submit_attempt(attempt, now=utcnow())
        result = quizzes.quiz_result(quiz, quizzes.attempts_of(quiz, learner))
        assert result.percent == expected, method


def test_random_quizzes_draw_the_number_asked_from_the_chosen_categories(make, db):
    course = make.course()
    make.questions(course, "\n\n".join(f"::p{n}::Pigment {n}?{{T}}" for n in range(6)),
                   category="Pigments")
    make.questions(course, "::other::Elsewhere?{T}", category="Other")
    pigments = database.session.scalar(select(Question).where(Question.name == "p0")).category
    lesson = course_ops.save_lesson(make.author, course.sections[0], None, kind="quiz",
                                    title_en="Random", required=False, is_published=True)
    quiz = quizzes.save_quiz_settings(make.author, lesson, selection="random",
                                      categories=[pigments.id], question_count=4,
                                      pass_percent=50)
    drawn = quizzes.draw_questions(quiz, random.Random(5))
    assert len(drawn) == 4 and {q.category_id for q in drawn} == {pigments.id}




TWO_ESSAYS = "::how::How is the canvas primed?{}\n\n::why::Why is the canvas burnished?{}"


def test_two_graders_scoring_the_last_two_essays_at_once_finish_the_attempt(app,
                                                                           committed_make):
    course = committed_make.course(lessons=0, published=False)
    lesson = committed_make.quiz_lesson(course, gift=TWO_ESSAYS)
    course_ops.publish_course(committed_make.author, course)
    learner = committed_make.learner()
    enrolment = committed_make.enrolment(learner, course)
    graders = [committed_make.instructor(institution=course.institution) for _ in range(2)]
    course.instructors.extend(graders)
    attempt = quizzes.start_attempt(learner, enrolment, quiz_of(lesson), now=utcnow())
    quizzes.save_answers(attempt, MultiDict({f"q{slot.question_id}": "With glue and clay."
                                             for slot in attempt.slots}), now=utcnow())
    quizzes.submit_attempt(attempt, now=utcnow())
    database.session.commit()
    assert attempt.state == AttemptState.GRADING
    jobs = list(zip([g.id for g in graders], [s.id for s in attempt.slots], strict=True))
    attempt_id = attempt.id
    database.session.remove()
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def grade(grader_id: int, slot_id: int) -> None:
        try:
            with app.app_context():
                barrier.wait(30)
                grader = database.session.get(User, grader_id)
                slot = database.session.get(AttemptSlot, slot_id)
                quizzes.grade_essay(grader, slot, points="1", feedback=None, now=utcnow())
                database.session.commit()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=grade, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    with app.app_context():
        finished = database.session.get(Attempt, attempt_id)
        assert finished.state == AttemptState.FINISHED and finished.percent == 100
