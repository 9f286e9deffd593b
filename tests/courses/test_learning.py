"""Learners over HTTP: catalogue, course pages, enrolment, lessons, files, my learning."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image

from lms.core.db import utcnow
from lms.courses.models import Attachment
from lms.courses.util import PER_PAGE
from lms.extensions import db as database
from tests.factories import PASSWORD


def lessons_of(course):
    return [x for s in course.sections for x in s.lessons]


def test_the_catalogue_lists_published_courses_only(client, make):
    shown = make.course(title_en="Carving basics")
    hidden = make.course(published=False, title_en="Secret draft")
    page = client.get("/courses/?language=en", headers={"Accept-Language": "en"}).text
    assert shown.title_en in page and hidden.title_en not in page


def test_the_catalogue_filters_by_type_level_region_and_subsidy(client, make):
    shigatse = make.institution(prefecture="540200")
    a = make.course(training_type="upgrading", skill_level="level3", subsidised=False,
                    title_en="Upgrading course")
    b = make.course(institution=shigatse, title_en="Shigatse course")
    en = {"Accept-Language": "en"}
    assert a.title_en in client.get("/courses/?training_type=upgrading", headers=en).text
    assert b.title_en not in client.get("/courses/?training_type=upgrading", headers=en).text
    assert a.title_en in client.get("/courses/?level=level3", headers=en).text
    page = client.get("/courses/?prefecture=540200", headers=en).text
    assert b.title_en in page and a.title_en not in page
    page = client.get("/courses/?subsidised=1", headers=en).text
    assert b.title_en in page and a.title_en not in page


def test_the_catalogue_filters_by_content_language_and_occupation(client, make):
    zh_only = make.course(title_bo=None, title_en=None, title_zh="只有中文的课程",
                          occupation_code="4-13-02-03")
    both = make.course()
    page = client.get("/courses/?language=bo").text
    assert zh_only.title_zh not in page and both.title_en in page
    page = client.get("/courses/?occupation=4-13").text
    assert "只有中文的课程" in page and both.title_en not in page


def test_unknown_filter_values_are_ignored_not_errors(client, make):
    make.course()
    response = client.get("/courses/?level=level99&sort=evil&page=-3&institution=abc")
    assert response.status_code == 200


def test_the_catalogue_paginates(client, make):
    institution = make.institution()
    for _ in range(PER_PAGE + 1):
        make.course(institution=institution, lessons=1)
    first = client.get(f"/courses/?institution={institution.id}").text
    second = client.get(f"/courses/?institution={institution.id}&page=2").text
    assert 'rel="next"' in first and 'rel="prev"' in second


def test_titles_fall_back_along_the_readers_languages(client, make):
    course = make.course(title_bo=None, title_zh="唐卡", title_en="Thangka")
    client.set_cookie("lms_lang", "bo", domain="localhost")
    assert "唐卡" in client.get(f"/courses/{course.id}").text  # bo reader: Chinese before English
    client.set_cookie("lms_lang", "en", domain="localhost")
    assert "Thangka" in client.get(f"/courses/{course.id}").text


def test_the_subsidised_catalogue_and_institution_catalogue_are_public(client, make):
    course = make.course(subsidised=True)
    page = client.get("/courses/subsidised").text
    assert course.title_en in page and course.occupation_code in page
    assert course.institution.name_en in client.get("/institutions/").text



def test_an_institution_switched_off_or_no_longer_approved_leaves_the_catalogues(
        client, make, login_as, db):
    closed, withdrawn = make.course(title_en="Closed school"), make.course(title_en="Lapsed")
    closed.institution.is_active = False
    withdrawn.institution.subsidy_approved = False
    db.session.commit()
    listed = client.get("/courses/?language=en", headers={"Accept-Language": "en"}).text
    assert "Closed school" not in listed and "Lapsed" in listed
    subsidised = client.get("/courses/subsidised").text
    assert "Closed school" not in subsidised and "Lapsed" not in subsidised
    refused = login_as(make.learner()).post(f"/courses/{closed.id}/enrol",
                                            follow_redirects=True)
    assert "not open for enrolment" in refused.text


def test_only_an_approved_institution_offers_subsidised_courses(make):
    from lms.core.errors import UserError

    school = make.institution(subsidy_approved=False)
    with pytest.raises(UserError, match="approved for government-subsidised"):
        make.course(institution=school, subsidised=True)
    assert not make.course(institution=school, subsidised=False).subsidised


def test_a_learner_enrols_studies_and_completes_a_course(login_as, make):
    learner, course = make.learner(), make.course(lessons=2)
    client = login_as(learner)
    response = client.post(f"/courses/{course.id}/enrol")
    first, second = lessons_of(course)
    assert response.headers["Location"].endswith(f"/courses/{course.id}/continue")
    assert client.get(response.headers["Location"]).headers["Location"].endswith(
        f"/lessons/{first.id}")
    client.get(f"/courses/{course.id}/lessons/{first.id}")
    client.post(f"/courses/{course.id}/lessons/{first.id}/reading")
    page = client.get(f"/courses/{course.id}/lessons/{first.id}").text
    assert 'id="lesson-done"' in page
    assert client.get(f"/courses/{course.id}/continue").headers["Location"].endswith(
        f"/lessons/{second.id}")
    client.get(f"/courses/{course.id}/lessons/{second.id}")
    client.post(f"/courses/{course.id}/lessons/{second.id}/reading")
    assert "100%" in client.get("/learning/").text


def reading_course(make, login_as, monkeypatch, *, lessons: int, seconds: int):
    """An enrolled learner's client, and text lessons of ``seconds`` minimum reading time,
    under a server clock the test moves (``clock[0]``)."""
    learner, course = make.learner(), make.course(lessons=lessons)
    for lesson in lessons_of(course):
        lesson.min_reading_seconds = seconds
    database.session.commit()
    make.enrolment(learner, course)
    clock = [utcnow()]
    monkeypatch.setattr("lms.courses.controllers.learning.utcnow", lambda: clock[0])
    return login_as(learner), course, lessons_of(course), clock


def test_finishing_too_early_says_how_long_to_keep_reading(login_as, make, monkeypatch):
    client, course, (lesson,), clock = reading_course(make, login_as, monkeypatch,
                                                      lessons=1, seconds=120)
    client.get(f"/courses/{course.id}/lessons/{lesson.id}")
    clock[0] += timedelta(seconds=30)
    response = client.post(f"/courses/{course.id}/lessons/{lesson.id}/reading",
                           follow_redirects=True)
    assert "90 more seconds" in response.text
    clock[0] += timedelta(seconds=95)
    response = client.post(f"/courses/{course.id}/lessons/{lesson.id}/reading",
                           headers={"Accept": "application/json"})
    assert response.json == {"remaining": 0, "complete": True}


def test_a_button_alone_does_not_complete_a_text_lesson(login_as, make):
    learner, course = make.learner(), make.course(lessons=1)
    lesson = lessons_of(course)[0]
    lesson.min_reading_seconds = 60
    database.session.commit()
    make.enrolment(learner, course)
    client = login_as(learner)
    response = client.post(f"/courses/{course.id}/lessons/{lesson.id}/reading",
                           headers={"Accept": "application/json"})
    assert response.json["complete"] is False and response.json["remaining"] == 60


def test_locked_lessons_cannot_be_opened_or_completed(login_as, make):
    learner, course = make.learner(), make.course(lessons=2, sequential=True)
    make.enrolment(learner, course)
    client = login_as(learner)
    second = lessons_of(course)[1]
    assert client.get(f"/courses/{course.id}/lessons/{second.id}").status_code == 403
    assert client.post(f"/courses/{course.id}/lessons/{second.id}/reading").status_code == 403


def test_a_learner_opening_an_unpublished_course_or_draft_lesson_gets_404(login_as, make):
    learner = make.learner()
    draft = make.course(published=False)
    course = make.course(lessons=2)
    hidden = lessons_of(course)[1]
    hidden.is_published = False
    database.session.commit()
    make.enrolment(learner, course)
    client = login_as(learner)
    assert client.get(f"/courses/{draft.id}").status_code == 404
    assert client.post(f"/courses/{draft.id}/enrol").status_code == 404
    assert client.get(f"/courses/{course.id}/lessons/{hidden.id}").status_code == 404
    assert client.get(f"/courses/{course.id}/lessons/999999").status_code == 404


def test_a_lesson_of_another_course_is_not_reachable_through_this_one(login_as, make):
    learner, mine, other = make.learner(), make.course(), make.course()
    make.enrolment(learner, mine)
    client = login_as(learner)
    foreign = lessons_of(other)[0]
    assert client.get(f"/courses/{mine.id}/lessons/{foreign.id}").status_code == 404


def test_visitors_who_are_not_enrolled_are_sent_to_the_course_page(login_as, make):
    course = make.course()
    client = login_as(make.learner())
    response = client.get(f"/courses/{course.id}/lessons/{lessons_of(course)[0].id}")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/courses/{course.id}")


def test_enrolling_twice_over_http_is_harmless(login_as, make):
    learner, course = make.learner(), make.course()
    client = login_as(learner)
    assert client.post(f"/courses/{course.id}/enrol").status_code == 302
    assert client.post(f"/courses/{course.id}/enrol").status_code == 302
    assert client.get("/learning/").text.count(course.title_en) == 1


def test_a_learner_leaves_a_course_after_being_told_what_is_kept_and_comes_back(
        login_as, make):
    learner, course = make.learner(locale="zh_Hans"), make.course(lessons=2)
    client = login_as(learner)
    client.post(f"/courses/{course.id}/enrol")
    first = lessons_of(course)[0]
    client.get(f"/courses/{course.id}/lessons/{first.id}")
    client.post(f"/courses/{course.id}/lessons/{first.id}/reading")
    page = client.get(f"/courses/{course.id}").text
    # Leaving is behind a second tap that says what is kept.
    assert "<details class=\"confirm leave\"><summary>退出课程</summary>" in page
    assert "已完成的课节和已计入的学时都会保留" in page
    assert client.post(f"/courses/{course.id}/withdraw").status_code == 302
    assert course.title_zh not in client.get("/learning/").text
    assert client.get(f"/courses/{course.id}/lessons/{first.id}").status_code == 302
    client.post(f"/courses/{course.id}/enrol")
    assert "50%" in client.get("/learning/").text  # the completed lesson is still there


@pytest.mark.parametrize("enrolled", [False, True], ids=["not-enrolled", "enrolled"])
def test_staff_preview_a_hidden_lesson_between_its_neighbours(login_as, make, enrolled):
    """"Preview as a learner" on a hidden lesson, also for staff enrolled to try the course."""
    teacher = make.instructor()
    course = make.course(instructor=teacher, lessons=3)
    first, hidden, last = lessons_of(course)
    hidden.is_published = False
    database.session.commit()
    if enrolled:
        make.enrolment(teacher, course)
    client = login_as(teacher)
    response = client.get(f"/courses/{course.id}/lessons/{hidden.id}")
    assert response.status_code == 200
    page = response.text
    assert "Your visit is not recorded" in page
    assert f"/lessons/{first.id}" in page and f"/lessons/{last.id}" in page  # previous, next
    from lms.courses.models import LessonProgress

    assert database.session.query(LessonProgress).filter_by(lesson_id=hidden.id).count() == 0
    # The published lessons an enrolled teacher opens are their own study, not a preview.
    page = client.get(f"/courses/{course.id}/lessons/{first.id}").text
    assert ("Your visit is not recorded" in page) is not enrolled


def test_courses_to_complete_first_are_listed_one_a_line_in_the_readers_language(
        login_as, make):
    from lms.courses import operations

    basics, tools = make.course(title_zh="唐卡基础"), make.course(title_zh="颜料制作")
    advanced = make.course()
    operations.set_prerequisites(make.author, advanced, [basics, tools])
    database.session.commit()
    client = login_as(make.learner(locale="zh_Hans"))
    page = client.get(f"/courses/{advanced.id}").text
    for course in (basics, tools):
        link = f'<li><a href="/courses/{course.id}" lang="zh-Hans">{course.title_zh}</a></li>'
        assert page.count(link) == 2  # among the facts, and in the warning before "Enrol"
    refused = client.post(f"/courses/{advanced.id}/enrol", follow_redirects=True).text
    assert "请先完成 唐卡基础、颜料制作。" in refused


def _attachment_course(make, data: bytes, content_type: str, filename: str):
    course = make.course(lessons=1, published=False)
    section = course.sections[0]
    from lms.core.storage import storage
    from lms.courses import operations

    lesson = operations.save_lesson(make.author, section, None, kind="attachment",
                                    title_en="Pattern sheets", required=True, is_published=True)
    key = storage().new_key("attachments", ".bin")
    storage().save_bytes(key, data)
    database.session.add(Attachment(lesson_id=lesson.id, key=key, filename=filename,
                                    content_type=content_type, size=len(data)))
    operations.publish_course(make.author, course)
    database.session.commit()
    return course, lesson


def test_opening_every_file_completes_an_attachment_lesson(login_as, make):
    learner = make.learner()
    course, lesson = _attachment_course(make, b"%PDF-1.4\n%%EOF\n", "application/pdf",
                                        "ཐང་ཀ་ grid.pdf")
    make.enrolment(learner, course)
    client = login_as(learner)
    file = lesson.attachments[0]
    response = client.get(f"/courses/{course.id}/lessons/{lesson.id}/files/{file.id}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "sandbox" in response.headers["Content-Security-Policy"]
    page = client.get(f"/courses/{course.id}/lessons/{lesson.id}").text
    assert 'id="lesson-done"' in page


def test_a_file_fetched_through_another_sites_link_is_not_counted_as_opened(login_as, make):
    learner = make.learner()
    course, lesson = _attachment_course(make, b"%PDF-1.4\n%%EOF\n", "application/pdf", "a.pdf")
    make.enrolment(learner, course)
    client = login_as(learner)
    url = f"/courses/{course.id}/lessons/{lesson.id}/files/{lesson.attachments[0].id}"
    assert client.get(url, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 200
    assert 'id="lesson-done"' not in client.get(f"/courses/{course.id}/lessons/{lesson.id}").text
    client.get(url, headers={"Sec-Fetch-Site": "same-origin"})
    assert 'id="lesson-done"' in client.get(f"/courses/{course.id}/lessons/{lesson.id}").text


def test_pdfs_are_never_shown_inline_only_images_are(login_as, make):
    learner = make.learner()
    course, lesson = _attachment_course(make, b"%PDF-1.4\n%%EOF\n", "application/pdf", "a.pdf")
    make.enrolment(learner, course)
    client = login_as(learner)
    file = lesson.attachments[0]
    response = client.get(f"/courses/{course.id}/lessons/{lesson.id}/files/{file.id}?inline=1")
    assert response.headers["Content-Disposition"].startswith("attachment")


def test_strangers_cannot_download_a_courses_files(login_as, make):
    course, lesson = _attachment_course(make, b"%PDF-1.4\n%%EOF\n", "application/pdf", "a.pdf")
    client = login_as(make.learner())
    file = lesson.attachments[0]
    url = f"/courses/{course.id}/lessons/{lesson.id}/files/{file.id}"
    assert client.get(url).status_code == 403


def test_images_uploaded_by_instructors_lose_their_metadata(login_as, make):
    instructor = make.instructor()
    course = make.course(instructor=instructor, institution=instructor.institution)
    client = login_as(instructor)
    from lms.courses import operations

    lesson = operations.save_lesson(make.author, course.sections[0], None, kind="attachment",
                                    title_en="Photos", required=True, is_published=True)
    database.session.commit()
    image = Image.new("RGB", (64, 48), "red")
    exif = Image.Exif()
    exif[0x010F] = "Secret camera"  # Make
    buf = io.BytesIO()
    image.save(buf, "JPEG", exif=exif)
    assert b"Secret camera" in buf.getvalue()
    client.post(f"/teach/lessons/{lesson.id}/files",
                data={"file": (io.BytesIO(buf.getvalue()), "photo.jpg")},
                content_type="multipart/form-data")
    database.session.refresh(lesson)
    from lms.core.storage import storage

    stored = storage().path(lesson.attachments[0].key).read_bytes()
    assert stored.startswith(b"\xff\xd8") and b"Secret camera" not in stored


@pytest.mark.parametrize("payload, name", [
    (b"<html><script>alert(1)</script></html>", "evil.pdf"),
    (b"%PDF-1.4\n1 0 obj << /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>\n%%EOF",
     "scripted.pdf"),
    (b"MZ\x90\x00" + b"\x00" * 100, "tool.exe"),
    (b"PK\x03\x04" + b"\x00" * 100, "archive.zip"),
    (b"", "empty.pdf"),
])
def test_files_that_are_not_clean_pdfs_or_images_are_refused(login_as, make, payload, name):
    instructor = make.instructor()
    course = make.course(instructor=instructor, institution=instructor.institution)
    client = login_as(instructor)
    from lms.courses import operations

    lesson = operations.save_lesson(make.author, course.sections[0], None, kind="attachment",
                                    title_en="Files", required=True, is_published=True)
    database.session.commit()
    response = client.post(f"/teach/lessons/{lesson.id}/files",
                           data={"file": (io.BytesIO(payload), name)},
                           content_type="multipart/form-data", follow_redirects=True)
    assert response.status_code == 200
    database.session.refresh(lesson)
    assert lesson.attachments == []


def test_a_visitor_sees_a_newly_published_course_at_once_despite_the_page_cache(
        app, client, make):
    first = make.course(title_en="First course")
    assert first.title_en in client.get("/courses/").text
    assert client.get_cookie("yonten_session") is None  # a visitor: the cached path
    second = make.course(title_en="Second course")
    assert second.title_en in client.get("/courses/").text
    from lms.courses import operations

    operations.unpublish_course(make.author, first)
    database.session.commit()
    assert first.title_en not in client.get("/courses/").text


def test_visitors_are_served_the_catalogue_from_memory(app, make, monkeypatch):
    make.course(title_en="Open course")
    database.session.commit()
    first = app.test_client().get("/courses/")

    def not_again(*args, **kwargs):
        raise AssertionError("the page was rendered again")

    monkeypatch.setattr("lms.courses.controllers.learning.render_template", not_again)
    again = app.test_client().get("/courses/")
    assert again.status_code == 200 and again.data == first.data


def test_a_page_rendered_for_a_remembered_login_is_never_served_to_visitors(app, make):
    # The browser lost its session cookie but kept "keep me logged in": the page is
    # rendered for the learner, so it must not become every visitor's page.
    make.course(title_en="Open course")
    learner = make.user(real_name="Tenzin Remembered")
    database.session.commit()
    returning = app.test_client()
    returning.post("/account/login", data={"contact": learner.email, "password": PASSWORD,
                                           "remember": "y"})
    returning.delete_cookie("yonten_session")
    assert returning.get_cookie("remember_token") is not None
    page = returning.get("/courses/")
    assert learner.real_name in page.text and "Cookie" in page.headers["Vary"]
    for _ in range(2):  # the second visit would come from the cache
        assert learner.real_name not in app.test_client().get("/courses/").text


def test_reading_reports_for_pages_never_opened_credit_nothing(login_as, make, monkeypatch):
    client, course, (first, second), clock = reading_course(make, login_as, monkeypatch,
                                                            lessons=2, seconds=60)
    for _ in range(2):  # two reports, 290 s apart, for lessons never opened
        for lesson in (first, second):
            response = client.post(f"/courses/{course.id}/lessons/{lesson.id}/reading",
                                   headers={"Accept": "application/json"})
            assert response.json == {"remaining": 60, "complete": False}
        clock[0] += timedelta(seconds=290)


def test_reports_for_two_lessons_at_once_share_one_reading_clock(login_as, make, monkeypatch):
    client, course, (first, second), clock = reading_course(make, login_as, monkeypatch,
                                                            lessons=2, seconds=600)
    client.get(f"/courses/{course.id}/lessons/{first.id}")
    client.get(f"/courses/{course.id}/lessons/{second.id}")  # the learner moved on
    clock[0] += timedelta(seconds=120)
    reports = [client.post(f"/courses/{course.id}/lessons/{lesson.id}/reading",
                           headers={"Accept": "application/json"}).json
               for lesson in (first, second)]
    earned = [600 - r["remaining"] for r in reports]
    assert earned == [0, 120]  # only the page the learner is on earns the two minutes
