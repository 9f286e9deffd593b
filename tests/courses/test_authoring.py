"""Authors over HTTP: building, ordering, publishing, staff, progress; who may do it; XSS."""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from lms.courses.models import Course, CourseStatus
from lms.extensions import db as database
from tests.conftest import form_errors

COURSE_FORM = dict(code="thangka-9", title_bo="ཐང་ཀ།", title_zh="唐卡", title_en="",
                   summary_bo="", summary_zh="", summary_en="", occupation_code="6-01-02-01",
                   occupation_name_bo="", occupation_name_zh="唐卡画师", occupation_name_en="",
                   skill_level="level5", training_type="employment", nominal_hours="24")


def test_an_instructor_creates_a_course_and_is_assigned_to_it(login_as, make, db):
    instructor = make.instructor()
    client = login_as(instructor)
    response = client.post("/teach/courses/new", data=COURSE_FORM)
    assert response.status_code == 302
    course = db.session.scalar(select(Course).where(Course.code == "THANGKA-9"))
    assert course.institution_id == instructor.institution_id
    assert instructor in course.instructors and course.status == CourseStatus.DRAFT


def test_a_wrong_occupation_code_is_explained_in_the_users_language(login_as, make):
    client = login_as(make.instructor(locale="zh_Hans"))
    response = client.post("/teach/courses/new", data={**COURSE_FORM, "occupation_code": "601"})
    assert response.status_code == 200
    errors = " ".join(form_errors(response.text))
    assert "6-01-02-01" in errors
    assert re.search(r"[\u4e00-\u9fff]", errors), errors  # the message is in Chinese


def test_an_instructor_editing_another_institutions_course_gets_403(login_as, make):
    course = make.course()
    client = login_as(make.instructor())
    for path in (f"/teach/courses/{course.id}", f"/teach/courses/{course.id}/outline",
                 f"/teach/courses/{course.id}/progress",
                 f"/teach/sections/{course.sections[0].id}",
                 f"/teach/lessons/{course.sections[0].lessons[0].id}"):
        assert client.get(path).status_code == 403, path
    assert client.post(f"/teach/courses/{course.id}", data=COURSE_FORM).status_code == 403
    assert client.post(f"/teach/courses/{course.id}/unpublish").status_code == 403
    assert course.status == CourseStatus.PUBLISHED


def test_an_unassigned_instructor_of_the_same_institution_cannot_edit(login_as, make):
    instructor = make.instructor()
    course = make.course(institution=instructor.institution)
    assert login_as(instructor).get(f"/teach/courses/{course.id}/outline").status_code == 403


def test_the_institution_admin_assigns_instructors(login_as, make, db):
    admin = make.institution_admin()
    teacher = make.instructor(institution=admin.institution)
    course = make.course(institution=admin.institution)
    client = login_as(admin)
    response = client.post(f"/teach/courses/{course.id}/instructors",
                           data={"instructors": [str(teacher.id)]})
    assert response.status_code == 302
    assert teacher in course.instructors
    assert login_as(teacher).get(f"/teach/courses/{course.id}/outline").status_code == 200


def test_instructors_cannot_assign_instructors(login_as, make):
    teacher = make.instructor()
    course = make.course(instructor=teacher)
    response = login_as(teacher).post(f"/teach/courses/{course.id}/instructors",
                                      data={"instructors": [str(teacher.id)]})
    assert response.status_code == 403


def test_learners_cannot_reach_authoring_at_all(login_as, make):
    course = make.course()
    client = login_as(make.learner())
    assert client.get("/teach/").status_code == 403
    assert client.get(f"/teach/courses/{course.id}/outline").status_code == 403


def test_an_author_builds_orders_and_publishes_a_course(login_as, make, db):
    instructor = make.instructor()
    course = make.course(instructor=instructor, institution=instructor.institution,
                         published=False, lessons=0, sections=0)
    client = login_as(instructor)
    client.post(f"/teach/courses/{course.id}/sections/new", data={"title_en": "Tools",
                                                                  "title_bo": "ལག་ཆ།"})
    section = course.sections[0]
    for title in ("Brushes", "Pigments"):
        client.post(f"/teach/sections/{section.id}/lessons/new", data={
            "kind": "text", "title_en": title, "body_en": "Use *fine* brushes.",
            "credit_hours": "1", "min_reading_minutes": "1", "required": "y",
            "is_published": "y"})
    database.session.refresh(section)
    brushes, pigments = section.lessons
    outline = client.get(f"/teach/courses/{course.id}/outline").text
    # The "move down" button of the first lesson carries the whole new order.
    new_order = f"s{section.id},l{pigments.id},l{brushes.id}"
    shown = f"s{section.id},l{brushes.id},l{pigments.id}"
    assert f'value="{new_order}"><input type="hidden" name="shown" value="{shown}">' in outline
    client.post(f"/teach/courses/{course.id}/order", data={"order": new_order, "shown": shown})
    database.session.refresh(section)
    assert [x.title_en for x in section.lessons] == ["Pigments", "Brushes"]
    response = client.post(f"/teach/courses/{course.id}/publish")
    assert response.status_code == 302 and course.status == CourseStatus.PUBLISHED



def test_a_published_course_keeps_a_required_lesson_its_learners_can_see(login_as, make, db):
    from lms.core import signals
    from lms.courses import operations

    instructor = make.instructor()
    course = make.course(instructor=instructor, institution=instructor.institution, lessons=2)
    required, optional = course.sections[0].lessons
    client = login_as(instructor)
    lesson_form = dict(kind="text", title_en="Reading", body_en="x", credit_hours="1",
                       min_reading_minutes="0")
    made_optional = client.post(f"/teach/lessons/{optional.id}",
                                data=lesson_form | {"is_published": "y"})
    assert made_optional.status_code == 302  # the first lesson is still required and shown
    hidden = client.post(f"/teach/lessons/{required.id}", data=lesson_form | {"required": "y"})
    assert hidden.status_code == 200
    assert "needs at least one required lesson" in " ".join(form_errors(hidden.text))
    deleted = client.post(f"/teach/lessons/{required.id}/delete", follow_redirects=True)
    assert "needs at least one required lesson" in deleted.text
    database.session.expire_all()
    assert required.is_published and required.required and required.id is not None
    # Even were the rule broken, one optional lesson would not complete the course.
    required.is_published = False
    learner = make.learner()
    enrolment = make.enrolment(learner, course)
    completed = []
    signals.course_completed.connect(on := lambda sender, **kw: completed.append(sender))
    try:
        operations.complete_lesson(operations.progress_for(enrolment, optional))
    finally:
        signals.course_completed.disconnect(on)
    assert completed == [] and enrolment.completed_at is None


def test_deleting_a_lesson_deletes_its_files(login_as, make, db):
    from lms.core.storage import storage
    from lms.courses import operations
    from lms.courses.models import Attachment

    course = make.course(lessons=1)
    lesson = operations.save_lesson(make.author, course.sections[0], None, kind="attachment",
                                    title_en="Grid", required=False, is_published=False)
    key = storage().new_key("attachments", ".pdf")
    storage().save_bytes(key, b"%PDF-1.4\n%%EOF\n")
    database.session.add(Attachment(lesson_id=lesson.id, key=key, filename="grid.pdf",
                                    content_type="application/pdf", size=15))
    database.session.commit()
    response = login_as(make.author).post(f"/teach/lessons/{lesson.id}/delete")
    assert response.status_code == 302
    assert not storage().path(key).exists()

def test_a_stale_order_form_is_refused_with_a_message(login_as, make):
    instructor = make.instructor()
    course = make.course(instructor=instructor, institution=instructor.institution, lessons=2)
    section = course.sections[0]
    first = section.lessons[0]
    client = login_as(instructor)
    response = client.post(f"/teach/courses/{course.id}/order",
                           data={"order": f"s{section.id},l{first.id}",
                                 "shown": f"s{section.id},l{first.id}"}, follow_redirects=True)
    assert "changed while you were arranging it" in response.text
    huge = "s" + "9" * 5000  # int() refuses 5,000 digits: a 400, not a 500
    assert client.post(f"/teach/courses/{course.id}/order",
                       data={"order": huge, "shown": huge}).status_code in (302, 400)


def test_a_move_made_from_an_outline_a_colleague_has_since_rearranged_is_refused(
        login_as, make):
    """The same lessons in an older order would silently undo the colleague's move."""
    instructor = make.instructor()
    course = make.course(instructor=instructor, institution=instructor.institution, lessons=3)
    section = course.sections[0]
    a, b, c = section.lessons
    mine = login_as(instructor)
    outline = mine.get(f"/teach/courses/{course.id}/outline").text
    down_a = f"s{section.id},l{b.id},l{a.id},l{c.id}"
    shown = f"s{section.id},l{a.id},l{b.id},l{c.id}"
    assert f'value="{down_a}"><input type="hidden" name="shown" value="{shown}">' in outline
    # Meanwhile a colleague moves C to the top: the same ids, a new order.
    from lms.courses import operations

    operations.reorder(make.author, course,
                       [("section", section.id), ("lesson", c.id), ("lesson", a.id),
                        ("lesson", b.id)])
    database.session.commit()
    response = mine.post(f"/teach/courses/{course.id}/order",
                         data={"order": down_a, "shown": shown}, follow_redirects=True)
    assert "changed while you were arranging it" in response.text
    database.session.refresh(section)
    assert [x.id for x in section.lessons] == [c.id, a.id, b.id]
    # From the reloaded page the move works.
    mine.post(f"/teach/courses/{course.id}/order",
              data={"order": f"s{section.id},l{a.id},l{c.id},l{b.id}",
                    "shown": f"s{section.id},l{c.id},l{a.id},l{b.id}"})
    database.session.refresh(section)
    assert [x.id for x in section.lessons] == [a.id, c.id, b.id]


def test_the_progress_table_downloads_as_excel_ready_csv(login_as, make):
    learner = make.learner(real_name="=HYPERLINK(\"http://evil\")")
    other = make.learner(real_name="ཚེ་རིང་卓玛")
    course = make.course(lessons=2)
    for who in (learner, other):
        make.enrolment(who, course)
    client = login_as(make.author)
    response = client.get(f"/teach/courses/{course.id}/progress?format=csv")
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    names = [r[0] for r in rows[1:]]
    assert "ཚེ་རིང་卓玛" in names
    assert "'=HYPERLINK(\"http://evil\")" in names


def test_the_progress_page_lists_learners(login_as, make):
    course = make.course()
    learner = make.learner(real_name="བཀྲ་ཤིས་")
    make.enrolment(learner, course)
    assert "བཀྲ་ཤིས་" in login_as(make.author).get(f"/teach/courses/{course.id}/progress").text


# --- XSS: every classic payload must render inert -----------------------------------------

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<iframe src=javascript:alert(1)>",
    "<body onload=alert(1)>",
    "<a href=\"javascript:alert(1)\">x</a>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](javascript:alert(1))",
    "![x](https://evil.example/track.png)",
    "\"><script>alert(1)</script>",
    "'><img src=x onerror=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<div style=\"background:url(javascript:alert(1))\">x</div>",
    "<object data=javascript:alert(1)>",
    "<embed src=javascript:alert(1)>",
    "<form action=javascript:alert(1)><button>x</button></form>",
    "<input autofocus onfocus=alert(1)>",
    "<meta http-equiv=refresh content=\"0;url=javascript:alert(1)\">",
    "<base href=\"javascript:alert(1)//\">",
    "<link rel=stylesheet href=javascript:alert(1)>",
    "[x](vbscript:msgbox(1))",
    "<a href=\"&#106;avascript:alert(1)\">x</a>",
]


class _Inspector(HTMLParser):
    """Collects anything in a page that could run script."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "iframe", "object", "embed", "base", "meta", "svg", "math"):
            src = dict(attrs).get("src") or ""
            if not (tag == "script" and src.startswith("/static/")) and tag != "meta" or (
                    tag == "meta" and dict(attrs).get("http-equiv")):
                self.problems.append(f"<{tag}>")
        for name, value in attrs:
            value = (value or "").strip().lower()
            if name.startswith("on"):
                self.problems.append(f"{tag} {name}")
            if name in ("href", "src", "action", "data", "formaction") and (
                    value.startswith(("javascript:", "vbscript:", "data:"))
                    or "evil.example" in value):
                self.problems.append(f"{tag} {name}={value}")
            if name == "style":
                self.problems.append(f"{tag} style")


def assert_inert(html: str) -> None:
    inspector = _Inspector()
    inspector.feed(html)
    assert not inspector.problems, inspector.problems


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payloads_in_titles_summaries_and_lessons_render_inert(login_as, make, db, payload):
    learner = make.learner()
    course = make.course(title_bo=payload, title_zh=payload, title_en=payload,
                         summary_bo=payload, summary_zh=payload, summary_en=payload,
                         occupation_name_zh=payload, lessons=1)
    lesson = course.sections[0].lessons[0]
    lesson.title_bo = lesson.title_zh = lesson.title_en = payload
    lesson.body_bo = lesson.body_zh = lesson.body_en = payload
    course.sections[0].title_bo = payload
    db.session.commit()
    make.enrolment(learner, course)
    client = login_as(learner)
    for path in ("/courses/", f"/courses/{course.id}", "/courses/subsidised", "/learning/",
                 f"/courses/{course.id}/lessons/{lesson.id}", "/dashboard"):
        assert_inert(client.get(path).text)
    staff = login_as(make.author)
    for path in (f"/teach/courses/{course.id}/outline", f"/teach/lessons/{lesson.id}",
                 f"/teach/courses/{course.id}/progress", "/teach/"):
        assert_inert(staff.get(path).text)
