"""What reaches the index from the database: published catalogue content and nothing personal."""

from __future__ import annotations

import pytest
from whoosh import index as windex

from lms.courses import operations as course_ops
from lms.search import documents
from lms.search.documents import course_documents
from lms.search.operations import rebuild_index
from lms.search.util import search_index
from lms.users.target_groups import TargetGroup, set_target_groups

VALID_ID = "540102199001011233"


def found(text: str, **kwargs) -> list[str]:
    return [hit.doc_id for hit in search_index().search(text, **kwargs).hits]


def stored_documents() -> list[dict]:
    index = search_index()
    generation = (index.path / "CURRENT").read_text().strip()
    with windex.open_dir(str(index.path / generation)).searcher() as searcher:
        return list(searcher.all_stored_fields())


def test_a_course_and_its_published_lessons_become_documents(make):
    course = make.thangka_course()
    docs = course_documents(course)
    assert [d["kind"] for d in docs] == ["course", "lesson", "lesson"]
    course_doc, lesson_doc = docs[0], docs[1]
    assert course_doc["title_zh"] == "唐卡绘画基础"
    assert course_doc["occupation_code"] == "4-13-02-03"
    assert "唐卡画师" in course_doc["occupation_name"]
    assert course_doc["institution"] and course_doc["region"] == "540100"
    assert course_doc["training_type"] == "employment" and course_doc["skill_level"] == "level5"
    assert lesson_doc["course_title_en"] == "Thangka Painting: Foundations"
    assert sorted(lesson_doc["language"]) == ["bo", "en", "zh"]


def test_lesson_markdown_is_indexed_as_plain_text(make):
    course = make.thangka_course()
    section = course.sections[0]
    course_ops.save_lesson(make.author, section, None, kind="text", title_en="Markup",
                           body_en="# Heading\n\n**Bold** [link](https://example.org) `code`",
                           is_published=True, required=True)
    body = course_documents(course)[-1]["body"]
    assert body == "Heading Bold link code"


@pytest.mark.parametrize("status", ["draft", "archived"])
def test_drafts_and_archived_courses_have_no_documents(make, status):
    course = make.thangka_course(published=status != "draft")
    if status == "archived":
        course_ops.unpublish_course(make.author, course, archive=True)
    assert course_documents(course) == []


def test_an_unpublished_lesson_has_no_document(make):
    course = make.thangka_course()
    hidden = course.sections[0].lessons[0]
    values = {f: getattr(hidden, f) for f in ("title_bo", "title_zh", "title_en", "body_bo",
                                             "body_zh", "body_en")}
    course_ops.save_lesson(make.author, hidden.section, hidden, is_published=False,
                           required=True, **values)
    assert f"lesson:{hidden.id}" not in {d["doc_id"] for d in course_documents(course)}


def test_other_domains_add_lesson_text_through_providers(make, monkeypatch):
    make.thangka_course()
    monkeypatch.setattr(documents, "LESSON_TEXT_PROVIDERS", [
        lambda lesson: "ཞལ་ཐང་ཆེན་མོ།" if "ལོ་རྒྱུས" in (lesson.title_bo or "") else "",
        lambda lesson: 1 / 0,  # a broken provider costs its own text, not the course
    ])
    rebuild_index()
    [hit] = search_index().search("ཞལ་ཐང").hits
    assert hit.kind == "lesson" and "ཞལ་ཐང" in hit.fields["subtitles"]


def test_nothing_personal_is_indexed(make, db):
    course = make.thangka_course()
    admin = make.regional_admin()
    learner = make.learner(real_name="ཚེ་རིང་དབང་མོ་སྒྲོལ་དཀར།", resident_id=VALID_ID,
                           contact="13900139000")
    set_target_groups(admin, learner, [TargetGroup.DISABILITY, TargetGroup.POOR_HOUSEHOLD])
    make.enrolment(learner, course)
    db.session.commit()
    rebuild_index()
    everything = repr(stored_documents())
    for secret in ("ཚེ་རིང་དབང་མོ", "སྒྲོལ་དཀར", VALID_ID, "13900139000", "disability",
                   "poor_household", learner.login_name):
        assert secret not in everything
    for typed in ("སྒྲོལ་དཀར", VALID_ID, "13900139000", "disability"):
        assert found(typed) == []


def test_a_draft_never_appears_even_after_a_rebuild(make, index_jobs):
    make.thangka_course(published=False, title_en="Secret appliqué thangka")
    index_jobs()
    rebuild_index()
    assert found("appliqué") == []
    assert all(d["kind"] != "course" or "appliqué" not in d.get("title_en", "")
               for d in stored_documents())
