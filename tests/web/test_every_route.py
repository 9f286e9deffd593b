"""Every page, opened by every kind of user, answers without a server error.

The test walks the URL map, so a new route is covered the day it is added; a
route whose URL arguments it cannot fill makes the test fail until the
argument is added to ``sample_arguments``.
"""

from __future__ import annotations

import pytest

from lms.core.storage import storage
from lms.courses.models import Attachment

ROLES = ("anonymous", "learner", "enrolled", "outsider_instructor", "instructor",
         "institution_admin", "regional_admin", "colleague")


@pytest.fixture
def world(make, db):
    """A small installation: one course with an attachment and an enrolled learner's practical
    work sent for review (an evidence video), people in every role."""
    teacher = make.instructor()
    course = make.course(instructor=teacher, institution=teacher.institution, lessons=2)
    lesson = course.sections[0].lessons[0]
    key = storage().new_key("attachments", ".pdf")
    storage().save_bytes(key, b"%PDF-1.4\n%%EOF\n")
    attachment = Attachment(lesson_id=lesson.id, key=key, filename="a.pdf",
                            content_type="application/pdf", size=15)
    db.session.add(attachment)
    db.session.commit()
    enrolled = make.learner()
    make.enrolment(enrolled, course)
    evidence, video = make.evidence_video(course=course, learner=enrolled)
    people = {
        "learner": make.learner(),
        "enrolled": enrolled,
        "outsider_instructor": make.instructor(),
        "instructor": teacher,
        "institution_admin": make.institution_admin(institution=teacher.institution),
        "regional_admin": make.regional_admin(),
        # An instructor of the same institution who does not teach the course.
        "colleague": make.instructor(institution=teacher.institution),
    }
    return {"course": course, "lesson": lesson, "attachment": attachment, "people": people,
            "institution": teacher.institution, "evidence": evidence, "video": video}


def sample_arguments(world) -> dict:
    """A real value for every URL argument the app uses."""
    return {
        "course_id": world["course"].id,
        "lesson_id": world["lesson"].id,
        "section_id": world["course"].sections[0].id,
        "attachment_id": world["attachment"].id,
        "institution_id": world["institution"].id,
        "user_id": world["people"]["learner"].id,
        "action": "publish",
        "upload_id": "0" * 32,
        "question_id": 1, "attempt_id": 1,  # assessment
        "category_id": 1, "criterion_id": 1, "pairing_id": 1, "stage_id": 1,
        "submission_id": world["evidence"].submission_id, "evidence_id": world["evidence"].id,
        "locale": "bo",
        "video_id": world["video"].id,  # a learner's evidence video: not library material
        "name": "master.m3u8",
        "language": "bo",
        "serial": "YT-2026-AAAAA-AAAAA", "entry_id": 1, "export_id": 1,  # records
    }


def get_routes(app):
    return [rule for rule in app.url_map.iter_rules()
            if "GET" in rule.methods and rule.endpoint != "static"]


@pytest.mark.parametrize("role", ROLES)
def test_no_page_fails_with_a_server_error_for_any_role(app, world, login_as, client, role):
    if role != "anonymous":
        login_as(world["people"][role])
    args = sample_arguments(world)
    for rule in get_routes(app):
        missing = set(rule.arguments) - set(args)
        assert not missing, f"add sample values for {missing} (route {rule.rule})"
        values = {name: args[name] for name in rule.arguments}
        url = app.url_map.bind("localhost").build(rule.endpoint, values)
        response = client.get(url)
        assert response.status_code < 500, (role, url, response.status_code)


EXPECTED = {
    # route endpoint: {role: status}, for the statuses that matter most.
    "courses.outline": {"anonymous": 302, "learner": 403, "enrolled": 403,
                        "outsider_instructor": 403, "instructor": 200,
                        "institution_admin": 200, "regional_admin": 200},
    "courses.progress": {"learner": 403, "outsider_instructor": 403, "instructor": 200,
                         "institution_admin": 200, "regional_admin": 200},
    "courses.lesson": {"anonymous": 302, "learner": 302, "enrolled": 200, "instructor": 200},
    "courses.attachment": {"learner": 403, "enrolled": 200, "outsider_instructor": 403,
                           "instructor": 200},
    "courses.display": {"anonymous": 200, "learner": 200, "enrolled": 200},
    "users.admin_users": {"learner": 403, "instructor": 403, "institution_admin": 200,
                          "regional_admin": 200},
    # A learner's evidence video is nobody's library video: the library's routes do not know
    # it, even for the staff of its institution ...
    "video.detail": {"anonymous": 302, "enrolled": 403, "colleague": 404, "instructor": 404,
                     "institution_admin": 404, "regional_admin": 404},
    "video.status": {"colleague": 404, "instructor": 404, "institution_admin": 404},
    "video.preview": {"enrolled": 403, "colleague": 404, "instructor": 404,
                      "institution_admin": 404, "regional_admin": 404},
    # ... it plays only through the evidence's route: its learner and the course's reviewers.
    "assessment.evidence_media": {"anonymous": 302, "learner": 403, "enrolled": 200,
                                  "outsider_instructor": 403, "colleague": 403,
                                  "instructor": 200, "institution_admin": 200},
    "assessment.evidence": {"learner": 403, "enrolled": 200, "colleague": 403,
                            "instructor": 200},
    "assessment.submission": {"learner": 403, "enrolled": 200, "colleague": 403,
                              "instructor": 200, "institution_admin": 200},
}


@pytest.mark.parametrize("endpoint", sorted(EXPECTED))
def test_who_may_open_what(app, world, login_as, client, endpoint):
    args = sample_arguments(world)
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    url = app.url_map.bind("localhost").build(endpoint, {a: args[a] for a in rule.arguments})
    for role, status in EXPECTED[endpoint].items():
        with client.session_transaction() as sess:
            sess.clear()
        if role != "anonymous":
            login_as(world["people"][role])
        assert client.get(url).status_code == status, (role, url)


@pytest.mark.parametrize("url", [
    "/courses/99999999999999999999",
    "/courses/?institution=99999999999999999999",
    "/courses/?page=99999999999999999999",
    "/teach/courses/new?institution=99999999999999999999",
])
def test_numbers_too_large_for_the_database_are_bad_input_not_a_crash(login_as, make, url):
    client = login_as(make.regional_admin())
    assert client.get(url).status_code in (200, 400, 404)


DEEP = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize("role", ["anonymous", "enrolled", "instructor", "regional_admin"])
def test_no_post_fails_with_a_server_error_on_a_body_that_is_not_a_form(
        app, world, login_as, client, role):
    # Nothing at all, or JSON that is a list or nested too deep to read, sent where a form
    # or an object is expected (with a valid CSRF token, as a page's script would send it).
    if role != "anonymous":
        login_as(world["people"][role])
    args = sample_arguments(world)
    bodies = [{}, {"json": [1, 2]}, {"data": DEEP, "content_type": "application/json"},
              {"data": {"segments": DEEP, "position": "1"}}]
    for rule in app.url_map.iter_rules():
        methods = rule.methods & {"POST", "PUT"}
        if not methods or rule.endpoint in ("users.logout", "web.set_language"):
            continue
        url = app.url_map.bind("localhost").build(
            rule.endpoint, {name: args[name] for name in rule.arguments})
        for body in bodies:
            headers = {"X-CSRFToken": client.csrf_token()}
            for method in methods:
                response = client.open(url, method=method, headers=headers, **body)
                assert response.status_code < 500, (role, method, url, body.keys())
