"""The audit log: written with the action, readable by admins in scope, editable by nobody."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, update

from lms.core.audit import AuditEntry, ImmutableRowError, audit


def test_an_audit_entry_records_who_what_and_the_particulars(make, db):
    admin, learner = make.regional_admin(), make.learner()
    entry = audit(admin, "records.exported", learner, {"rows": 3, "filters": {"a": 1}})
    assert (entry.actor_id, entry.action, entry.target_type, entry.target_id) == (
        admin.id, "records.exported", "users", str(learner.id))
    assert entry.details == {"rows": 3, "filters": {"a": 1}} and entry.at is not None


def test_nobody_can_change_or_delete_an_audit_entry(make, db):
    entry = audit(make.regional_admin(), "x")
    db.session.commit()
    entry.action = "y"
    with pytest.raises(ImmutableRowError):
        db.session.flush()
    db.session.rollback()
    db.session.delete(entry)
    with pytest.raises(ImmutableRowError):
        db.session.flush()
    db.session.rollback()
    for statement in (update(AuditEntry).values(action="y"), delete(AuditEntry)):
        with pytest.raises(ImmutableRowError):
            db.session.execute(statement)


def test_regional_admins_read_the_whole_log(make, login_as, db):
    someone = make.institution_admin()
    audit(someone, "records.exported", None, {"rows": 1})
    db.session.commit()
    page = login_as(make.regional_admin()).get("/admin/audit").get_data(as_text=True)
    assert "Completion records exported" in page and someone.real_name in page


def test_institution_admins_read_their_own_and_their_institutions_entries(make, login_as, db):
    admin = make.institution_admin()
    colleague = make.institution_admin(institution=admin.institution)
    outsider = make.institution_admin()
    audit(colleague, "certificate.revoked", None, {"serial": "YT-1"})
    audit(outsider, "certificate.revoked", None, {"serial": "YT-2"})
    db.session.commit()
    page = login_as(admin).get("/admin/audit").get_data(as_text=True)
    assert "YT-1" in page and "YT-2" not in page


def test_learners_cannot_read_the_log(make, login_as):
    assert login_as(make.learner()).get("/admin/audit").status_code == 403


def test_the_log_offers_no_way_to_edit(make, login_as, db):
    audit(None, "records.exported")
    db.session.commit()
    page = login_as(make.regional_admin()).get("/admin/audit").get_data(as_text=True)
    assert "<form method=\"post\"" not in page.split("<main", 1)[1].split("</main>")[0]
    assert db.session.scalar(select(AuditEntry.id)) is not None


def test_the_log_shows_particulars_in_the_readers_language(make, login_as, db):
    institution = make.institution(name_zh="拉萨市职业技能培训中心", prefecture="540100")
    learner = make.learner(real_name="次仁卓玛")
    admin = make.regional_admin(locale="zh_Hans")
    audit(admin, "records.exported", None, {
        "format": "xlsx", "shape": "entries", "include_full_ids": False, "rows": 12,
        "filters": {"institution_id": institution.id, "prefecture": "540100",
                    "training_type": "upgrading", "target_group": "disability"}})
    audit(admin, "ledger.offline_entered", learner,
          {"learner_id": learner.id, "kind": "competition", "hours": "4.00"})
    audit(admin, "target_groups.changed", learner,
          {"added": ["disability", "graduate"], "removed": []})
    audit(admin, "certificate.revoked", None, {"serial": "YT-9", "mystery": "kept as is"})
    audit(admin, "ledger.reversed", ("ledger_entries", 42), {"reason": "重复录入"})
    db.session.commit()
    page = login_as(admin).get("/admin/audit").get_data(as_text=True)
    for shown in ("文件格式：Excel 工作簿（XLSX）", "包含完整身份证号码：否", "数据行数：12",
                  "培训机构：拉萨市职业技能培训中心", "市（地区）：540100 拉萨",
                  "培训类型：岗位技能提升培训", "重点群体：残疾人", "学员：次仁卓玛",
                  "类别：职业技能竞赛成绩", "新增的重点群体：残疾人、graduate", "移除的重点群体：—",
                  "证书编号：YT-9", "mystery：kept as is", "记录编号：42", "原因：重复录入"):
        assert shown in page, shown
    assert "include_full_ids" not in page and "learner_id" not in page
    # Actions and what they were done to read as words, not as codes and table names.
    for code in ("records.exported", "ledger.reversed", "ledger_entries", "users "):
        assert code not in page, code
    # A target the particulars already name is not named twice.
    assert page.count("学员：次仁卓玛") == 2  # the offline entry and the target groups


def test_the_log_names_only_what_its_reader_may_see_elsewhere(make, login_as, db):
    admin = make.institution_admin(locale="en")
    elsewhere = make.institution()
    draft = make.course(institution=elsewhere, published=False, title_en="Secret draft")
    published = make.course(institution=elsewhere, title_en="Open course")
    stranger = make.learner(real_name="Somebody elsewhere")
    regional = make.regional_admin(locale="en")
    for details in ({"filters": {"institution_id": admin.institution_id, "course_id": draft.id}},
                    {"filters": {"course_id": published.id}},
                    {"learner_id": stranger.id}):
        audit(regional, "records.exported", None, details, institution_id=admin.institution_id)
    db.session.commit()
    page = login_as(admin).get("/admin/audit").get_data(as_text=True)
    assert "Open course" in page and f"Course: {draft.id}" in page
    assert "Secret draft" not in page and "Somebody elsewhere" not in page
    page = login_as(regional).get("/admin/audit").get_data(as_text=True)
    assert "Secret draft" in page and "Somebody elsewhere" in page


@pytest.mark.parametrize("details", [
    {"learner_id": "²"}, {"learner_id": "༡༢"}, {"learner_id": 10**30}, {"course_id": -1},
    {"format": {"nested": [1, {"x": None}]}}, {"kind": ["a", ["b"]]}, {"rows": None},
    ["not", "a", "dict"], "text", 7, None, {"filters": "not a dict"}, {"": "<b>x</b>"},
])
def test_odd_particulars_are_shown_as_recorded_not_a_crash(make, login_as, db, details):
    regional = make.regional_admin(locale="en")
    audit(regional, "records.exported", None, details)
    db.session.commit()
    response = login_as(regional).get("/admin/audit")
    assert response.status_code == 200
    assert "<b>x</b>" not in response.get_data(as_text=True)
