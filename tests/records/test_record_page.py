"""The learner's record page and downloads: their own, or an admin's within scope."""

from __future__ import annotations

import json
import shutil
import subprocess
from urllib.parse import quote

import pytest

from lms.core.jobs import run_queued_jobs


@pytest.fixture
def learner_with_record(make):
    """A learner who completed one course (2 h) and has an offline session (2 h) elsewhere."""
    learner = make.learner(real_name="བཀྲ་ཤིས་ལྷ་མོ།")
    enrolment = make.completed_course(learner, lessons=2)
    make.ledger_entry(learner, hours="2", institution_id=make.institution().id,
                      training_type="upgrading", reason="Pigments workshop")
    return learner, enrolment.course


def test_a_learner_sees_their_totals_entries_and_certificates(learner_with_record, login_as):
    learner, course = learner_with_record
    page = login_as(learner).get(f"/records/learners/{learner.id}").get_data(as_text=True)
    assert "Lifelong training record" in page and "བཀྲ་ཤིས་ལྷ་མོ།" in page
    assert "Employment skills training" in page and "On-the-job skills upgrading" in page
    assert "Pigments workshop" in page and "Lesson 1.1" in page
    assert course.title_en in page and "Being prepared" in page
    assert ">4<" in page  # total hours


def test_my_record_leads_a_learner_to_their_own_record(make, login_as):
    learner = make.learner()
    response = login_as(learner).get("/records/")
    assert response.headers["Location"].endswith(f"/records/learners/{learner.id}")


def test_a_learner_opening_another_learners_record_gets_403(learner_with_record, make,
                                                             login_as):
    learner, _course = learner_with_record
    client = login_as(make.learner())
    for suffix in ("", "/record.pdf", "/record.json"):
        assert client.get(f"/records/learners/{learner.id}{suffix}").status_code == 403


def test_an_instructor_cannot_open_a_learners_record(learner_with_record, make, login_as):
    learner, _course = learner_with_record
    assert login_as(make.instructor()).get(f"/records/learners/{learner.id}").status_code == 403


def test_an_institution_admin_opens_the_records_of_learners_they_train(learner_with_record,
                                                                       make, login_as):
    learner, course = learner_with_record
    ours = make.institution_admin(institution=course.institution)
    assert login_as(ours).get(f"/records/learners/{learner.id}").status_code == 200


def test_an_institution_admin_cannot_open_other_learners_records(learner_with_record, make,
                                                                  login_as):
    learner, _course = learner_with_record
    stranger = make.institution_admin()
    assert login_as(stranger).get(f"/records/learners/{learner.id}").status_code == 403


def test_a_regional_admin_opens_any_record(learner_with_record, make, login_as):
    learner, _course = learner_with_record
    assert login_as(make.regional_admin()).get(f"/records/learners/{learner.id}") \
        .status_code == 200


def test_the_record_downloads_as_json_with_its_chain(learner_with_record, login_as):
    learner, _course = learner_with_record
    response = login_as(learner).get(f"/records/learners/{learner.id}/record.json")
    assert response.status_code == 200 and "attachment" in response.headers[
        "Content-Disposition"]
    record = json.loads(response.data)
    assert record["total_hours"] == "4.00"
    assert record["totals"]["by_training_type"] == {"employment": "2.00", "upgrading": "2.00"}
    assert [e["seq"] for e in record["entries"]] == [1, 2, 3, 4]
    assert record["entries"][1]["prev_hash"] == record["entries"][0]["hash"]
    assert record["certificates"][0]["verify_url"].endswith(record["certificates"][0]["serial"])


def test_the_record_downloads_as_a_bilingual_pdf(learner_with_record, login_as, tmp_path):
    learner, _course = learner_with_record
    run_queued_jobs()
    response = login_as(learner).get(f"/records/learners/{learner.id}/record.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF-")
    if shutil.which("pdftotext") is None:
        return
    path = tmp_path / "record.pdf"
    path.write_bytes(response.data)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "终身职业技能培训电子档案" in text and "就业技能培训" in text


def test_the_learners_dashboard_has_a_record_panel(learner_with_record, login_as):
    learner, _course = learner_with_record
    page = login_as(learner).get("/dashboard").get_data(as_text=True)
    assert "My training record" in page and "Hours credited" in page
    assert "My record" in page  # the header link


def test_admins_find_learners_in_their_scope(learner_with_record, make, login_as):
    learner, course = learner_with_record
    ours = make.institution_admin(institution=course.institution)
    make.learner(real_name="Somebody Else")
    page = login_as(ours).get("/records/learners/").get_data(as_text=True)
    assert learner.real_name in page and "Somebody Else" not in page


def test_admins_see_learners_phone_numbers_masked_but_can_search_by_them(make, login_as):
    learner = make.learner(real_name="ཚེ་རིང་", contact="13912345678")
    make.completed_course(learner, lessons=1)
    client = login_as(make.regional_admin())
    for page in (client.get("/records/learners/").text,
                 client.get("/records/learners/?q=13912345678").text,
                 client.get("/admin/users/?role=learner").text):
        echoed = page.count("q=13912345678") + page.count('value="13912345678"')  # the search
        assert "139****5678" in page and page.count("13912345678") == echoed


def test_a_masked_phone_number_cannot_be_recovered_by_searching_for_part_of_it(make, login_as):
    learner = make.learner(real_name="ཚེ་རིང་", contact="13912345678")
    make.completed_course(learner, lessons=1)
    client = login_as(make.regional_admin())
    for part in ("1391", "139_2345678", "%5678", "12345"):
        assert "ཚེ་རིང་" not in client.get(f"/records/learners/?q={quote(part)}").text, part
    for whole in ("13912345678", "139 1234 5678", "ཚེ་"):
        assert "ཚེ་རིང་" in client.get(f"/records/learners/?q={quote(whole)}").text, whole


@pytest.mark.parametrize("locale, seconds, shown", [
    ("zh_Hans", 3900, "1 小时 05 分钟"), ("bo", 120, "སྐར་མ་ 2"), ("en", 59, "59 s"),
    ("zh_Hans", 8, "8 秒"), ("bo", 8, "སྐར་ཆ་ 8"), ("en", 0, "0 min"),
])
def test_study_time_is_written_in_the_readers_language(app, locale, seconds, shown):
    from flask_babel import force_locale

    from lms.records.controllers.record import study_time

    with app.test_request_context(), force_locale(locale):
        assert study_time(seconds) == shown


def test_personal_data_downloaded_one_file_at_a_time_is_in_the_audit_log(
        learner_with_record, make, login_as, db):
    """A record, a progress table and a gradebook carry names: each download is logged, before
    the file is sent, as bulk exports are; a learner's own copy is theirs alone."""
    from sqlalchemy import select

    from lms.core.audit import AuditEntry

    learner, course = learner_with_record
    admin = make.institution_admin(institution=course.institution, locale="zh_Hans")
    teacher = make.instructor(institution=course.institution)
    course.instructors.append(teacher)
    db.session.commit()

    def logged():
        return [(e.actor_id, e.action, e.target_type, e.target_id, e.details,
                 e.institution_id) for e in db.session.scalars(
                    select(AuditEntry).order_by(AuditEntry.id))]

    own = login_as(learner)
    assert own.get(f"/records/learners/{learner.id}/record.pdf").status_code == 200
    assert logged() == []
    client = login_as(admin)
    assert client.get(f"/records/learners/{learner.id}/record.pdf").status_code == 200
    assert client.get(f"/records/learners/{learner.id}/record.json").status_code == 200
    client = login_as(teacher)
    assert client.get(f"/teach/courses/{course.id}/progress?format=csv").status_code == 200
    assert client.get(f"/teach/courses/{course.id}/gradebook?format=csv").status_code == 200
    where = course.institution_id
    assert logged() == [
        (admin.id, "records.record_downloaded", "users", str(learner.id), {"format": "pdf"},
         where),
        (admin.id, "records.record_downloaded", "users", str(learner.id), {"format": "json"},
         where),
        (teacher.id, "courses.progress_downloaded", "courses", str(course.id),
         {"format": "csv", "rows": 1}, where),
        (teacher.id, "assessment.gradebook_downloaded", "courses", str(course.id),
         {"format": "csv", "rows": 1}, where)]
    # The institution's admin reads them in the log, in words.
    page = login_as(admin).get("/admin/audit").get_data(as_text=True)
    assert page.count("下载学员的培训档案") == 2 and "下载课程学习进度表" in page
    assert "下载课程成绩册" in page
    assert f"{learner.real_name} ({learner.id})" in page and course.code in page
