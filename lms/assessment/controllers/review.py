"""Reviewers' queue and reviews; apprenticeship pairings and an apprentice's review history."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from lms.assessment import util
from lms.assessment.controllers.loaders import load_submission
from lms.assessment.forms import PairingForm, ReviewForm
from lms.assessment.models import (
    EVIDENCE_KINDS,
    Pairing,
    PracticalStage,
    PracticalTask,
    ReviewDecision,
    SubmissionState,
)
from lms.assessment.operations import apprenticeship, practical
from lms.assessment.permissions import (
    can_pair,
    can_review_submission,
    can_view_apprenticeship,
    is_apprenticeship,
)
from lms.core.access import login_required, roles_required
from lms.core.db import utcnow
from lms.core.errors import UserError
from lms.core.forms import EmptyForm
from lms.courses.controllers.loaders import load_course
from lms.courses.models import Course, Enrolment, EnrolmentStatus, Lesson
from lms.courses.util import courses_taught_by
from lms.extensions import db
from lms.users.models import STAFF_ROLES, Role, User
from lms.web.menus import dashboard_panel


@roles_required(*STAFF_ROLES)
def queue() -> str:
    course_id = request.args.get("course", type=int)
    stage_id = request.args.get("stage", type=int)
    page = db.paginate(util.review_queue(current_user, course_id=course_id, stage_id=stage_id),
                       request.args.get("page", 1, type=int))
    courses = util.review_queue_courses(current_user)
    stages = []
    if course_id in {c.id for c in courses}:  # never the stages of a course one does not review
        stages = db.session.scalars(
            select(PracticalStage).join(PracticalTask, PracticalTask.id == PracticalStage.task_id)
            .where(PracticalTask.course_id == course_id)
            .order_by(PracticalStage.task_id, PracticalStage.position)).all()
    return render_template("assessment/review_queue.html", page=page, courses=courses,
                           stages=stages, course_id=course_id, stage_id=stage_id)


@login_required
def submission(submission_id: int) -> str | Response:
    sub, course = load_submission(submission_id)
    may_review = can_review_submission(current_user, sub, course)
    if sub.state == SubmissionState.DRAFT and sub.user_id != current_user.id:
        abort(403)
    form = ReviewForm()
    criteria = practical.criteria_for(sub.stage)
    if request.method == "POST":
        if not may_review:
            abort(403)
        if form.validate_on_submit():
            decision = (ReviewDecision.APPROVED if request.form.get("decision") == "approve"
                        else ReviewDecision.REVISION)
            levels = {c.id: request.form.get(f"c{c.id}", type=int) for c in criteria}
            try:
                practical.review_submission(current_user, sub, levels=levels,
                                            feedback=form.feedback.data, decision=decision,
                                            now=utcnow())
            except UserError as err:
                db.session.rollback()
                err.attach_to(form)
            else:
                db.session.commit()
                flash(_("The work is approved.") if decision == ReviewDecision.APPROVED
                      else _("A revision is requested."), "success")
                return redirect(url_for("assessment.review_queue"))
    history = practical.submissions_of(sub.user, sub.stage)
    lesson = db.session.get(Lesson, sub.task.lesson_id)
    return render_template("assessment/submission.html", sub=sub, course=course, lesson=lesson,
                           criteria=criteria, form=form, may_review=may_review, history=history,
                           kinds=EVIDENCE_KINDS,
                           chosen={c.id: request.form.get(f"c{c.id}", type=int)
                                   for c in criteria})


# --- apprenticeship --------------------------------------------------------------------

def _pairable_course(course_id: int) -> Course:
    course = db.get_or_404(Course, course_id)
    if not is_apprenticeship(course):
        abort(404)
    if not can_pair(current_user, course):
        abort(403)
    return course


def _pairing_form(course: Course) -> PairingForm:
    form = PairingForm()
    learners = db.session.scalars(select(User).join(Enrolment, Enrolment.user_id == User.id).where(
        Enrolment.course_id == course.id, Enrolment.status != EnrolmentStatus.WITHDRAWN)
        .order_by(User.real_name)).all()
    masters = db.session.scalars(select(User).where(
        User.role == Role.INSTRUCTOR, User.institution_id == course.institution_id,
        User.is_active.is_(True)).order_by(User.real_name)).all()
    form.apprentice.choices = [(u.id, u.real_name) for u in learners]
    form.master.choices = [(u.id, u.real_name) for u in masters]
    return form


@roles_required(Role.INSTITUTION_ADMIN, Role.REGIONAL_ADMIN)
def pairings(course_id: int) -> str | Response:
    course = _pairable_course(course_id)
    form = _pairing_form(course)
    if form.validate_on_submit():
        try:
            apprenticeship.pair(current_user, course, db.session.get(User, form.apprentice.data),
                                db.session.get(User, form.master.data), now=utcnow())
        except UserError as err:
            db.session.rollback()
            err.attach_to(form)
        else:
            db.session.commit()
            flash(_("The apprentice and the master are paired."), "success")
            return redirect(url_for("assessment.pairings", course_id=course.id))
    rows = db.session.scalars(select(Pairing).where(Pairing.course_id == course.id)
                              .order_by(Pairing.ended_at.is_not(None), Pairing.started_at.desc())
                              ).all()
    return render_template("assessment/pairings.html", course=course, form=form, rows=rows,
                           end_form=EmptyForm())


@roles_required(Role.INSTITUTION_ADMIN, Role.REGIONAL_ADMIN)
def end_pairing(pairing_id: int) -> Response:
    pairing = db.get_or_404(Pairing, pairing_id)
    _pairable_course(pairing.course_id)
    if EmptyForm().validate_on_submit():
        apprenticeship.end_pairing(current_user, pairing, now=utcnow())
        db.session.commit()
        flash(_("The pairing has ended."), "success")
    return redirect(url_for("assessment.pairings", course_id=pairing.course_id))


def _history(course: Course, apprentice: User) -> str:
    if not is_apprenticeship(course):
        abort(404)
    if not can_view_apprenticeship(current_user, course, apprentice):
        # Whether an account exists, or learns elsewhere, is nobody's business here.
        abort(404)
    pairs, months = util.apprenticeship_history(course, apprentice)
    return render_template("assessment/apprenticeship.html", course=course,
                           apprentice=apprentice, pairings=pairs, months=months)


@login_required
def my_apprenticeship(course_id: int) -> str:
    course = load_course(course_id).course
    return _history(course, current_user)


@roles_required(*STAFF_ROLES)
def apprentice(course_id: int, user_id: int) -> str:
    course = db.get_or_404(Course, course_id)
    return _history(course, db.get_or_404(User, user_id))


# --- what assessment adds to the dashboard ----------------------------------------------------

@dashboard_panel(*STAFF_ROLES, order=30)
def _teaching_panel(user: User) -> dict | None:
    reviews = db.count(util.review_queue(user))
    grading = db.count(util.grading_queue(user))
    courses = db.session.scalars(courses_taught_by(user).limit(8)).all()
    return {"template": "assessment/panel_teaching.html", "reviews": reviews,
            "grading": grading, "pairings": util.apprenticeships_of(user), "courses": courses}


@dashboard_panel(Role.LEARNER, order=20)
def _apprentice_panel(user: User) -> dict | None:
    pairs = [p for p in util.apprenticeships_of(user) if p.apprentice_id == user.id]
    return {"template": "assessment/panel_apprentice.html", "pairings": pairs} if pairs else None

