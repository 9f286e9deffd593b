"""Target groups: sensitive tags that only administrators see and change, every change audited."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from lms.core.audit import AuditEntry
from lms.users.target_groups import TargetGroup, groups_of


@pytest.fixture
def scene(make):
    """An institution admin, a learner enrolled in their course, and a learner elsewhere."""
    admin = make.institution_admin()
    ours, stranger = make.learner(), make.learner()
    make.enrolment(ours, make.course(institution=admin.institution))
    return admin, ours, stranger


def tag(client, learner, *groups):
    return client.post(f"/admin/learners/{learner.id}/target-groups",
                       data={"groups": list(groups)})


def test_a_regional_admin_tags_a_learner_and_the_change_is_audited(scene, make, login_as, db):
    _admin, learner, _stranger = scene
    regional = make.regional_admin()
    client = login_as(regional)
    assert client.get(f"/admin/learners/{learner.id}/target-groups").status_code == 200
    response = tag(client, learner, "disability", "poor_household")
    assert response.status_code == 302
    assert groups_of(learner) == {TargetGroup.DISABILITY, TargetGroup.POOR_HOUSEHOLD}
    tag(client, learner, "poor_household")
    assert groups_of(learner) == {TargetGroup.POOR_HOUSEHOLD}
    logged = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "target_groups.changed").order_by(AuditEntry.id)).all()
    assert [e.details for e in logged] == [
        {"added": ["disability", "poor_household"], "removed": []},
        {"added": [], "removed": ["disability"]}]
    assert logged[0].actor_id == regional.id and logged[0].target_id == str(learner.id)


def test_an_institution_admin_tags_the_learners_their_institution_trains(scene, login_as):
    admin, learner, _stranger = scene
    assert tag(login_as(admin), learner, "unemployed").status_code == 302
    assert groups_of(learner) == {TargetGroup.UNEMPLOYED}


def test_an_institution_admin_cannot_tag_other_learners(scene, login_as):
    admin, _learner, stranger = scene
    client = login_as(admin)
    assert client.get(f"/admin/learners/{stranger.id}/target-groups").status_code == 403
    assert tag(client, stranger, "disability").status_code == 403
    assert groups_of(stranger) == set()


def test_learners_and_instructors_cannot_see_or_change_tags(scene, make, login_as):
    _admin, learner, _stranger = scene
    for user in (learner, make.instructor()):
        client = login_as(user)
        assert client.get(f"/admin/learners/{learner.id}/target-groups").status_code == 403
        assert tag(client, learner, "disability").status_code == 403


def test_tags_stay_out_of_urls_and_logs(scene, make, login_as, caplog):
    _admin, learner, _stranger = scene
    client = login_as(make.regional_admin())
    with caplog.at_level(logging.DEBUG):
        response = tag(client, learner, "serving_sentence")
    assert "serving" not in response.headers["Location"]
    assert "serving_sentence" not in caplog.text
    # The learner's own pages do not show them either.
    page = login_as(learner).get(f"/records/learners/{learner.id}").get_data(as_text=True)
    assert "serving sentences" not in page


def test_the_tagging_form_needs_its_csrf_token(scene, make, login_as):
    _admin, learner, _stranger = scene
    response = login_as(make.regional_admin()).post(
        f"/admin/learners/{learner.id}/target-groups", data={"groups": ["disability"]},
        csrf=False)
    assert response.status_code == 400
    assert groups_of(learner) == set()


def test_an_unknown_group_is_refused(scene, make, login_as):
    _admin, learner, _stranger = scene
    response = tag(login_as(make.regional_admin()), learner, "vip")
    assert response.status_code == 200 and groups_of(learner) == set()
