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
