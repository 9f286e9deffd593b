"""A learner's lesson page is kept and shown again until something it shows changes.

Each test signs in through the login form, as a browser does, so the session carries
what a real one carries (the browser identifier, a form secret after the first page).
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event

from lms.core.db import utcnow
from lms.courses import operations
from lms.courses.controllers.learning import LESSON_PAGES
from lms.courses.models import CourseStatus
from lms.extensions import db as database
from tests.factories import PASSWORD


def lessons_of(course):
    return [x for s in course.sections for x in s.lessons]


def signed_in(app, user):
    client = app.test_client()
    response = client.post("/account/login", data={"contact": user.email, "password": PASSWORD},
                           follow_redirects=True)
    assert response.status_code == 200 and user.real_name in response.text
    return client


@contextmanager
def statements():
    """The SQL statements run inside the block (transaction control left out)."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        if not statement.lstrip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE",
                                                       "ROLLBACK", "COMMIT")):
            seen.append(statement)

    event.listen(database.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(database.engine, "before_cursor_execute", note)


def without_tokens(html: str) -> str:
    """A page with its form tokens blanked (a token carries the time it was signed)."""
    return re.sub(r'(name="csrf_token"[^>]*value=")[^"]+"', r'\1"', html)


@pytest.fixture
def studying(app, client, make):
    """A learner enrolled in a two-lesson course, signed in, who has opened the first lesson."""
    learner = make.learner(real_name="Tenzin Dolma", locale="bo")
    course = make.course(lessons=2)
    make.enrolment(learner, course)
    browser = signed_in(app, learner)
    first = lessons_of(course)[0]
    url = f"/courses/{course.id}/lessons/{first.id}"
    assert browser.get(url).status_code == 200
    return browser, learner, course, first, url


def test_a_second_view_is_the_page_the_first_rendered_drawn_with_one_query(studying):
    browser, _learner, _course, _lesson, url = studying
    first = browser.get(url)
    with statements() as run:
        again = browser.get(url)
    assert again.status_code == 200 and again.text == first.text
    assert len(run) == 1 and run[0].lstrip().upper().startswith("SELECT")
    for header in ("Cache-Control", "Content-Security-Policy", "Content-Type", "Vary"):
        assert again.headers[header] == first.headers[header]
    LESSON_PAGES.clear()
    assert without_tokens(browser.get(url).text) == without_tokens(first.text)


def test_a_kept_view_still_starts_the_reading_clock(studying, monkeypatch):
    browser, _learner, _course, lesson, url = studying
    later = utcnow() + timedelta(minutes=2)
    monkeypatch.setattr("lms.courses.controllers.learning.utcnow", lambda: later)
    with statements() as run:
        browser.get(url)
    assert len(run) == 1  # served from memory
    with browser.session_transaction() as sess:
        assert sess["lms_viewing"] == [lesson.id, int(later.timestamp())]


def test_a_view_after_a_pause_refreshes_last_activity(studying, monkeypatch):
    browser, learner, course, _lesson, url = studying
    enrolment = operations.find_enrolment(learner, course)
    later = utcnow() + timedelta(minutes=30)
    monkeypatch.setattr("lms.courses.controllers.learning.utcnow", lambda: later)
    assert browser.get(url).status_code == 200
    database.session.refresh(enrolment)
    assert enrolment.last_activity_at == later


def test_completion_and_reading_time_show_at_once(studying):
    browser, learner, course, lesson, url = studying
    lesson.min_reading_seconds = 600
    database.session.commit()
    assert 'data-remaining="600"' in browser.get(url).text
    progress = operations.progress_for(operations.find_enrolment(learner, course), lesson)
    progress.verified_seconds = 300
    database.session.commit()
    assert 'data-remaining="300"' in browser.get(url).text
    operations.complete_lesson(progress)
    database.session.commit()
    page = browser.get(url).text
    assert 'id="lesson-done"' in page and "50%" in page


def test_a_lesson_completed_elsewhere_is_marked_in_the_outline(studying):
    browser, learner, course, _lesson, url = studying
    second = lessons_of(course)[1]
    assert "50%" not in browser.get(url).text
    progress = operations.progress_for(operations.find_enrolment(learner, course), second)
    operations.complete_lesson(progress)
    database.session.commit()
    assert "50%" in browser.get(url).text


def test_an_instructors_edits_show_at_once(studying, make):
    browser, _learner, course, lesson, url = studying
    browser.get(url)
    lesson.title_bo = "རི་མོའི་གཞི་འགོད།"
    database.session.commit()
    assert "རི་མོའི་གཞི་འགོད།" in browser.get(url).text
    course.sections[0].title_bo = "ལེའུ་དང་པོ།"  # sections have no timestamp of their own
    database.session.commit()
    assert "ལེའུ་དང་པོ།" in browser.get(url).text
    operations.save_lesson(make.author, course.sections[0], None, kind="text",
                           title_bo="ཚོན་རྩི་སྦྱོར་སྟངས།", body_bo="ཚོན།", credit_hours=1,
                           min_reading_minutes=0, required=True, is_published=True)
    database.session.commit()
    assert "ཚོན་རྩི་སྦྱོར་སྟངས།" in browser.get(url).text


def test_an_unpublished_lesson_or_course_is_gone_at_once(studying):
    browser, _learner, course, lesson, url = studying
    lesson.is_published = False
    database.session.commit()
    assert browser.get(url).status_code == 404
    lesson.is_published = True
    course.status = CourseStatus.DRAFT
    database.session.commit()
    assert browser.get(url).status_code == 404


def test_a_learner_who_left_the_course_is_not_shown_its_lessons(studying, app):
    browser, learner, course, _lesson, url = studying
    operations.withdraw(learner, course)
    database.session.commit()
    response = browser.get(url)
    assert response.status_code == 302 and response.location.endswith(f"/courses/{course.id}")


@pytest.mark.parametrize("change", ["signed out everywhere", "account switched off"])
def test_a_session_that_no_longer_signs_in_gets_the_login_page(studying, change):
    browser, learner, _course, _lesson, url = studying
    if change == "signed out everywhere":
        learner.session_version += 1
    else:
        learner.is_active = False
    database.session.commit()
    response = browser.get(url)
    assert response.status_code == 302 and "/account/login" in response.location


def test_a_new_language_setting_shows_at_once(studying):
    browser, learner, _course, _lesson, url = studying
    assert '<html lang="bo"' in browser.get(url).text
    learner.locale = "zh_Hans"
    database.session.commit()
    assert '<html lang="zh-Hans"' in browser.get(url).text


def test_a_message_is_shown_once_and_never_kept(app, client, make):
    learner, course = make.learner(), make.course(lessons=1)
    browser = signed_in(app, learner)
    browser.get(f"/courses/{course.id}")
    response = browser.post(f"/courses/{course.id}/enrol", follow_redirects=True)
    welcome = "Welcome to the course"
    browser.set_cookie("lms_lang", "en", domain="localhost")
    learner.locale = "en"
    database.session.commit()
    assert response.status_code == 200
    url = f"/courses/{course.id}/lessons/{lessons_of(course)[0].id}"
    assert welcome not in browser.get(url).text
    assert welcome not in browser.get(url).text


def test_learners_never_see_each_others_pages(app, client, make):
    course = make.course(lessons=1)
    url = f"/courses/{course.id}/lessons/{lessons_of(course)[0].id}"
    names = ["Tenzin Dolma", "Pema Yangzom"]
    browsers = []
    for name in names:
        learner = make.learner(real_name=name)
        make.enrolment(learner, course)
        browsers.append(signed_in(app, learner))
    for _ in range(2):
        for browser, name, other in zip(browsers, names, reversed(names), strict=True):
            page = browser.get(url).text
            assert name in page and other not in page


def test_previews_addresses_with_queries_and_other_kinds_are_rendered_each_time(
        app, client, make):
    instructor = make.instructor()
    course = make.course(lessons=1, instructor=instructor)
    url = f"/courses/{course.id}/lessons/{lessons_of(course)[0].id}"
    staff = signed_in(app, instructor)
    for _ in range(2):
        assert "Preview" in staff.get(url).text
    assert not LESSON_PAGES._items
    learner = make.learner()
    make.enrolment(learner, course)
    browser = signed_in(app, learner)
    browser.get(url)
    for _ in range(2):
        with statements() as run:
            assert browser.get(url + "?from=search").status_code == 200
        assert len(run) > 1
    quiz = make.quiz_lesson(course)
    database.session.commit()
    quiz_url = f"/courses/{course.id}/lessons/{quiz.id}"
    browser.get(quiz_url)
    with statements() as run:
        browser.get(quiz_url)
    assert len(run) > 1


def test_no_page_is_kept_when_the_cache_is_off(app, client, make, studying):
    browser, _learner, _course, _lesson, url = studying
    app.config["PAGE_CACHE_MB"] = 0
    LESSON_PAGES.clear()
    for _ in range(2):
        with statements() as run:
            assert browser.get(url).status_code == 200
        assert len(run) > 1
    assert not LESSON_PAGES._items


def test_one_page_is_kept_once_whatever_a_browser_sends(studying):
    browser, _learner, course, lesson, url = studying
    for n in range(20):
        response = browser.get(url, headers={"Accept-Language": f"en;q=0.{n:02d}," + "x" * 400})
        assert '<html lang="bo"' in response.text  # the learner's setting decides
    browser.get(f"/courses/0{course.id}/lessons/00{lesson.id}")
    assert len(LESSON_PAGES._items) == 1


def test_the_fingerprint_is_read_on_a_pooled_connection_of_its_own(app, committed_make):
    # Outside the rolled-back test transaction: the app's engine, as in production, where
    # the fingerprint is read on the driver's connection, past SQLAlchemy's events.
    learner, course = committed_make.learner(locale="bo"), committed_make.course(lessons=1)
    committed_make.enrolment(learner, course)
    lesson = lessons_of(course)[0]
    browser = signed_in(app, learner)
    url = f"/courses/{course.id}/lessons/{lesson.id}"
    first = browser.get(url).text
    with statements() as run:
        assert browser.get(url).text == first
    assert run == []  # no user loaded, nothing else read
    lesson.title_bo = "ཐང་ཀའི་རས་གཞི།"
    database.session.commit()
    assert "ཐང་ཀའི་རས་གཞི།" in browser.get(url).text


def test_a_row_read_apart_is_the_row_sqlalchemy_reads(app, committed_make):
    from lms.courses.listeners import course_revision
    from lms.courses.util import _LESSON_PAGE_VERSIONS

    learner, course = committed_make.learner(locale="bo"), committed_make.course(lessons=1)
    enrolment = committed_make.enrolment(learner, course)
    operations.touch(enrolment)
    database.session.commit()
    params = {"user_id": learner.id, "course_id": course.id,
              "lesson_id": lessons_of(course)[0].id, "course_revision": course_revision(course.id)}
    apart = database.first_apart(_LESSON_PAGE_VERSIONS, params)
    with database.engine.connect() as connection:
        assert apart == tuple(connection.execute(_LESSON_PAGE_VERSIONS, params).first())
    assert apart[-1] == enrolment.last_activity_at  # a UTC datetime, as the ORM gives it
    assert database.first_apart(_LESSON_PAGE_VERSIONS, {**params, "user_id": 0}) is None
