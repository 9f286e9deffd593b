"""Administrators' dashboards: server-side SVG charts with tables, limited to their scope."""

from __future__ import annotations

import pytest

from lms.users.target_groups import LearnerTargetGroup, TargetGroup


@pytest.fixture
def activity(make, db):
    """Two institutions with a completed course each, and an enrolled learner who has not
    finished."""
    first = make.institution(name_en="Lhasa Training Base", prefecture="540100")
    second = make.institution(name_en="Shigatse Thangka School", prefecture="540200")
    alice, bob, carol = make.learner(), make.learner(), make.learner()
    make.completed_course(alice, institution=first, lessons=3, code="LHASA-1")
    course = make.course(institution=second, lessons=2, training_type="upgrading",
                         code="SHIGATSE-1")
    make.completed_course(bob, course)
    make.enrolment(carol, course)
    db.session.add(LearnerTargetGroup(user_id=alice.id, group=TargetGroup.MIGRANT_WORKER))
    db.session.commit()
    return first, second


def test_a_regional_admin_sees_hours_and_completion_everywhere(activity, make, login_as):
    page = login_as(make.regional_admin()).get("/records/dashboard").get_data(as_text=True)
    for title in ("Hours credited by month", "Hours by training type",
                  "Hours by training institution", "Hours by prefecture",
                  "Hours by target group", "Completion rate by course",
                  "Completion rate by institution"):
        assert title in page
    # Each chart twice: for wider screens and for phones (the CSS shows one of them).
    assert page.count("chart-wide") == page.count("chart-narrow") == 7
    assert page.count("<svg") == 14 and page.count("<table") >= 7
    # Each table names what its rows are, and folds under its chart ("The numbers").
    for heading in ("Month", "Training type", "Training institution", "Prefecture",
                    "Target group", "Course"):
        assert f'<th scope="col">{heading}</th>' in page
    assert page.count('<details class="chart-data">') == 7
    assert "Lhasa Training Base" in page and "Shigatse Thangka School" in page
    assert "Rural and herder migrant workers" in page
    assert "50.0" in page  # one of two learners finished the Shigatse course
    assert "learners active this month" in page
    assert "<script" not in page.split("<main", 1)[1]


def test_an_institution_admin_sees_their_institution_only(activity, make, login_as):
    first, _second = activity
    page = login_as(make.institution_admin(institution=first)).get("/records/dashboard") \
        .get_data(as_text=True)
    assert "Lhasa Training Base" in page and "Shigatse Thangka School" not in page
    assert "SHIGATSE-1" not in page and "LHASA-1" in page


def test_learners_have_no_admin_dashboard(make, login_as):
    assert login_as(make.learner()).get("/records/dashboard").status_code == 403
