"""Administration of people and institutions, and who may do it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lms.users.models import Institution, Role, User
from tests.factories import PASSWORD


def test_learner_opening_an_admin_page_gets_403_not_500(login_as, make):
    client = login_as(make.learner())
    for path in ("/admin/users/", "/admin/users/new", "/admin/institutions/",
                 "/admin/institutions/new"):
        assert client.get(path).status_code == 403


def test_instructor_cannot_open_admin_pages(login_as, make):
    client = login_as(make.instructor())
    assert client.get("/admin/users/").status_code == 403


def test_anonymous_visitor_is_sent_to_log_in(client):
    response = client.get("/admin/users/")
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]


def test_institution_admin_creates_an_instructor_in_their_own_institution(login_as, make, db):
    admin = make.institution_admin()
    client = login_as(admin)
    response = client.post("/admin/users/new", data={
        "real_name": "ཚེ་བརྟན་", "contact": "13711112222", "role": "instructor",
        "institution_id": admin.institution_id, "password": PASSWORD, "locale": "bo"})
    assert response.status_code == 302
    created = db.session.scalar(select(User).where(User.phone == "13711112222"))
    assert created.role == Role.INSTRUCTOR and created.institution_id == admin.institution_id


def test_institution_admin_cannot_create_a_regional_admin(login_as, make, db):
    admin = make.institution_admin()
    client = login_as(admin)
    response = client.post("/admin/users/new", data={
        "real_name": "x", "contact": "13711113333", "role": "regional_admin",
        "institution_id": admin.institution_id, "password": PASSWORD, "locale": "bo"})
    assert response.status_code == 200  # "not a valid choice": the role is not offered
    assert db.session.scalar(select(User).where(User.phone == "13711113333")) is None


def test_institution_admin_cannot_place_an_instructor_in_another_institution(login_as, make, db):
    admin = make.institution_admin()
    other = make.institution()
    client = login_as(admin)
    client.post("/admin/users/new", data={
        "real_name": "x", "contact": "13711114444", "role": "instructor",
        "institution_id": other.id, "password": PASSWORD, "locale": "bo"})
    assert db.session.scalar(select(User).where(User.phone == "13711114444")) is None


def test_institution_admin_sees_and_manages_only_their_own_people(login_as, make):
    admin = make.institution_admin()
    mine = make.instructor(institution=admin.institution, real_name="ང་ཚོའི་སློབ་ཁྲིད་པ")
    theirs = make.instructor(real_name="其他机构讲师")
    client = login_as(admin)
    page = client.get("/admin/users/").text
    assert mine.real_name in page and theirs.real_name not in page
    assert client.post(f"/admin/users/{theirs.id}/active", data={"active": "0"}).status_code == 403
    assert theirs.is_active
    assert client.post(f"/admin/users/{mine.id}/active", data={"active": "0"}).status_code == 302
    assert not mine.is_active


def test_regional_admin_adds_an_institution_named_in_three_languages(login_as, make, db):
    client = login_as(make.regional_admin(locale="bo"))
    response = client.post("/admin/institutions/new", data={
        "code": "nq-01", "name_bo": "ནག་ཆུ་ལག་རྩལ་སློབ་གྲྭ།", "name_zh": "那曲职业技术学校",
        "name_en": "Nagqu Vocational School", "kind": "vocational_school",
        "prefecture": "540600", "county_bo": "སེར་ཉི་ཆུས།", "county_zh": "色尼区",
        "subsidy_approved": "y", "is_active": "y"})
    assert response.status_code == 302
    inst = db.session.scalar(select(Institution).where(Institution.code == "NQ-01"))
    assert inst.name_zh == "那曲职业技术学校" and inst.subsidy_approved
    page = client.get("/admin/institutions/").text
    assert "ནག་ཆུ་ལག་རྩལ་སློབ་གྲྭ།" in page and "སེར་ཉི་ཆུས།" in page and "色尼区" not in page


def test_an_institution_needs_a_name_and_a_unique_code(login_as, make):
    existing = make.institution(code="DUP-1")
    client = login_as(make.regional_admin())
    base = {"kind": "enterprise", "prefecture": "540100", "is_active": "y"}
    response = client.post("/admin/institutions/new", data={**base, "code": "x"})
    assert "at least one language" in response.text
    response = client.post("/admin/institutions/new",
                           data={**base, "code": existing.code, "name_en": "Copy"})
    assert "already uses this code" in response.text


def test_institution_admin_cannot_edit_the_catalogue(login_as, make):
    admin = make.institution_admin()
    client = login_as(admin)
    assert client.get(f"/admin/institutions/{admin.institution_id}").status_code == 403


def test_an_admin_sets_a_new_password_for_someone_who_forgot_it(app, login_as, make):
    admin = make.institution_admin()
    teacher = make.instructor(institution=admin.institution)
    client = login_as(admin)
    response = client.post(f"/admin/users/{teacher.id}/password",
                           data={"password": "fresh-password-1", "confirm": "fresh-password-1"})
    assert response.status_code == 302
    fresh = app.test_client()
    response = fresh.post("/account/login", data={"contact": teacher.email,
                                                   "password": "fresh-password-1"})
    assert response.headers["Location"].endswith("/dashboard")


def test_an_institution_admin_cannot_reset_a_password_elsewhere(login_as, make):
    admin = make.institution_admin()
    stranger = make.instructor()
    response = login_as(admin).post(f"/admin/users/{stranger.id}/password",
                                    data={"password": "fresh-password-1",
                                          "confirm": "fresh-password-1"})
    assert response.status_code == 403


@pytest.mark.parametrize("contact, masked", [
    ("13912345678", "139****5678"), ("dawa@yonten.example", "d***@yonten.example"),
    ("12345", "1****"), ("", ""),
])
def test_contacts_are_masked_for_staff(contact, masked):
    from lms.core.security import mask_contact

    assert mask_contact(contact) == masked


def test_switching_off_asks_first_and_is_not_offered_for_oneself(login_as, make):
    admin = make.institution_admin(locale="zh_Hans")
    mine = make.instructor(institution=admin.institution, real_name="卓玛")
    page = login_as(admin).get("/admin/users/").text
    actions = {row.split("</td>", 1)[0]: row for row in page.split("<tr><td>")[1:]}
    ours = next(row for name, row in actions.items() if "卓玛" in name)
    own = next(row for name, row in actions.items() if admin.real_name in name)
    # Switching off sits behind a summary that says what it does; switching on does not.
    assert '<details class="confirm"><summary>停用</summary>' in ours
    assert "该账号将无法登录" in ours
    assert f"/admin/users/{admin.id}/active" not in own
    assert f"/admin/users/{mine.id}/active" in ours
