"""Apprenticeship (以师带徒): admins pair apprentices with masters; masters review their work."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from lms.assessment.models import Pairing, ReviewDecision, Submission, SubmissionState
from lms.assessment.operations import apprenticeship, practical
from lms.core.db import utcnow
from lms.extensions import db as database
from lms.web.controllers import DISPLAY_TZ


@pytest.fixture
def workshop(make, login_as, jpeg):
    """An apprenticeship course, its institution's admin, two instructors and an apprentice
    who has sent work for review."""
    admin = make.institution_admin()
    course, _quiz, lesson = make.assessed_course(institution=admin.institution,
                                                 training_type="apprenticeship")
    master, other = (make.instructor(institution=admin.institution) for _ in range(2))
    course.instructors.append(other)
    apprentice = make.learner(real_name="བསྟན་འཛིན།")
    make.enrolment(apprentice, course)
    database.session.commit()
    stage = practical.task_for(lesson).stages[0]
    client = login_as(apprentice)
    client.post(f"/practical/stages/{stage.id}/evidence",
                data={"file": (io.BytesIO(jpeg), "sketch.jpg")},
                content_type="multipart/form-data")
    client.post(f"/practical/stages/{stage.id}/submit", data={"text": "My first sketch."})
    submission = database.session.scalar(select(Submission).where(
        Submission.user_id == apprentice.id))
    return dict(admin=admin, course=course, lesson=lesson, master=master, other=other,
                apprentice=apprentice, stage=stage, submission=submission)


def pair(client, w, master):
    return client.post(f"/teach/courses/{w['course'].id}/apprentices",
                       data={"apprentice": w["apprentice"].id, "master": master.id})


def review_form(submission, decision="approve"):
    criterion = submission.task.criteria[0]
    return {f"c{criterion.id}": criterion.levels[-1].id, "decision": decision,
            "feedback": "Good line work."}


def test_an_institution_admin_pairs_an_apprentice_with_a_master(workshop, login_as):
    w = workshop
    client = login_as(w["admin"])
    assert pair(client, w, w["master"]).status_code == 302
    page = client.get(f"/teach/courses/{w['course'].id}/apprentices").text
    assert "བསྟན་འཛིན།" in page and w["master"].real_name in page
    pairing = database.session.scalar(select(Pairing))
    assert pairing.master_id == w["master"].id and pairing.ended_at is None


def test_only_the_paired_master_and_the_admins_review_in_an_apprenticeship(workshop, login_as):
    w = workshop
    pair(login_as(w["admin"]), w, w["master"])
    url = f"/review/submissions/{w['submission'].id}"
    # An instructor of the course who is not the apprentice's master may not review.
    assert login_as(w["other"]).post(url, data=review_form(w["submission"])).status_code == 403
    assert "My first sketch" not in login_as(w["other"]).get("/review/").text
    master = login_as(w["master"])
    assert "བསྟན་འཛིན།" in master.get("/review/").text
    assert master.post(url, data=review_form(w["submission"])).status_code == 302
    database.session.refresh(w["submission"])
    assert w["submission"].state == SubmissionState.APPROVED


def test_the_institution_admin_may_review_too(workshop, login_as):
    w = workshop
    admin = login_as(w["admin"])
    assert "བསྟན་འཛིན།" in admin.get("/review/").text
    url = f"/review/submissions/{w['submission'].id}"
    assert admin.post(url, data=review_form(w["submission"], "revision")).status_code == 302


def test_a_new_master_takes_over_and_the_history_keeps_both(workshop, login_as):
    w = workshop
    admin = login_as(w["admin"])
    pair(admin, w, w["master"])
    pair(admin, w, w["other"])
    pairings = database.session.scalars(select(Pairing).order_by(Pairing.id)).all()
    assert [p.master_id for p in pairings] == [w["master"].id, w["other"].id]
    assert pairings[0].ended_at is not None and pairings[1].ended_at is None
    url = f"/review/submissions/{w['submission'].id}"
    assert login_as(w["master"]).post(url, data=review_form(w["submission"])).status_code == 403


def test_pairing_is_for_admins_apprenticeship_courses_and_the_institutions_instructors(
        workshop, make, login_as):
    w = workshop
    assert pair(login_as(w["master"]), w, w["master"]).status_code == 403
    outsider = make.instructor()
    page = pair(login_as(w["admin"]), w, outsider)
    assert page.status_code == 200 and database.session.scalar(select(Pairing)) is None
    plain = make.course(institution=w["admin"].institution)
    assert login_as(w["admin"]).get(f"/teach/courses/{plain.id}/apprentices").status_code == 404


def test_the_apprentices_page_shows_the_reviews_month_by_month(workshop, make, login_as, jpeg):
    w = workshop
    start = utcnow() - timedelta(days=70)
    apprenticeship.pair(w["admin"], w["course"], w["apprentice"], w["master"], now=start)
    first = w["submission"]
    criterion = first.task.criteria[0]
    practical.review_submission(w["master"], first, levels={criterion.id: criterion.levels[0].id},
                                feedback="Redo the proportions.",
                                decision=ReviewDecision.REVISION, now=start + timedelta(days=3))
    database.session.commit()
    client = login_as(w["apprentice"])
    client.post(f"/practical/stages/{w['stage'].id}/evidence",
                data={"file": (io.BytesIO(jpeg), "sketch2.jpg")},
                content_type="multipart/form-data")
    client.post(f"/practical/stages/{w['stage'].id}/submit", data={"text": "Second sketch."})
    second = database.session.scalars(select(Submission).order_by(Submission.id.desc())).first()
    practical.review_submission(w["master"], second,
                                levels={criterion.id: criterion.levels[-1].id},
                                feedback="Now it is right.", decision=ReviewDecision.APPROVED,
                                now=utcnow())
    database.session.commit()
    page = client.get(f"/courses/{w['course'].id}/apprenticeship").text
    earlier, now = ((start + timedelta(days=3)).astimezone(DISPLAY_TZ).strftime("%Y-%m"),
                    utcnow().astimezone(DISPLAY_TZ).strftime("%Y-%m"))
    assert earlier != now
    assert page.index(f"<h3>{now}</h3>") < page.index(f"<h3>{earlier}</h3>")  # newest first
    assert "Redo the proportions." in page and "Now it is right." in page
    assert w["master"].real_name in page
    # The master sees the same page; another learner of the course does not.
    staff_url = f"/teach/courses/{w['course'].id}/apprentices/{w['apprentice'].id}"
    assert login_as(w["master"]).get(staff_url).status_code == 200
    stranger = make.learner()
    make.enrolment(stranger, w["course"])
    assert login_as(stranger).get(staff_url).status_code == 403
    assert login_as(stranger).get(f"/courses/{w['course'].id}/apprenticeship").status_code \
        == 200  # their own (empty) page


def test_staff_see_only_their_courses_apprentices_not_any_account_by_id(workshop, make,
                                                                         login_as):
    """An instructor's own apprenticeship course is no window onto every account's name."""
    w = workshop
    elsewhere = make.learner(real_name="Stranger Dolkar")
    make.enrolment(elsewhere, make.course())  # learns at another institution
    url = f"/teach/courses/{w['course'].id}/apprentices/%s"
    for who in (w["other"], w["admin"]):  # the course's instructor, its institution's admin
        client = login_as(who)
        assert client.get(url % w["apprentice"].id).status_code == 200
        for account in (elsewhere, w["master"], w["other"] if who is w["admin"] else w["admin"]):
            response = client.get(url % account.id)
            assert response.status_code == 404
            assert account.real_name not in response.text
