"""Quizzes: instructors set them up and grade essays; learners start, answer and submit."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lms.assessment.controllers.loaders import (
    load_attempt,
    load_editable_lesson,
    load_learner_lesson,
)
from lms.assessment.forms import EssayGradeForm, QuizSettingsForm
from lms.assessment.models import AttemptSlot, AttemptState
from lms.assessment.operations import quizzes
from lms.assessment.permissions import can_grade_attempt
from lms.assessment.questions import qtype_of
from lms.assessment.util import grading_queue as grading_queue_query
from lms.core.access import login_required, roles_required
from lms.core.db import utcnow
from lms.core.errors import UserError
from lms.core.forms import EmptyForm, form_values
from lms.courses.models import Course, Lesson
from lms.extensions import db
from lms.users.models import STAFF_ROLES


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


# --- instructors ---------------------------------------------------------------------

@roles_required(*STAFF_ROLES)
def settings(lesson_id: int) -> str | Response:
    lesson = load_editable_lesson(lesson_id, "quiz")
    course = db.session.get(Course, lesson.course_id)
    quiz = quizzes.quiz_for(lesson)
    form = QuizSettingsForm.for_quiz(course, quiz)
    if form.validate_on_submit():
        values = form_values(form)
        try:
            quizzes.save_quiz_settings(current_user, lesson, **values)
        except UserError as err:
            db.session.rollback()
            err.attach_to(form)
        else:
            db.session.commit()
            flash(_("The quiz settings are saved."), "success")
            return redirect(url_for("courses.edit_lesson", lesson_id=lesson.id) + "#quiz")
    return render_template("assessment/quiz_settings.html", lesson=lesson, course=course,
                           quiz=quiz, settings_form=form)


@roles_required(*STAFF_ROLES)
def grading_queue() -> str:
    page = db.paginate(grading_queue_query(current_user), request.args.get("page", 1, type=int))
    return render_template("assessment/grading_queue.html", page=page)


@roles_required(*STAFF_ROLES)
def grade(attempt_id: int) -> str | Response:
    attempt, course = load_attempt(attempt_id)
    if not can_grade_attempt(current_user, attempt, course):
        abort(403)
    form = EssayGradeForm()
    valid = form.validate_on_submit()
    if form.is_submitted() and form.slot_id.errors:  # missing or not a number: forged
        abort(400)
    if valid:
        slot = db.session.get(AttemptSlot, form.slot_id.data)
        if slot is None or slot.attempt_id != attempt.id:
            abort(404)
        try:
            quizzes.grade_essay(current_user, slot, points=form.points.data,
                                feedback=form.feedback.data, now=utcnow())
        except UserError as err:
            db.session.rollback()
            flash(str(err.message), "error")
        else:
            db.session.commit()
            flash(_("The answer is graded."), "success")
            if attempt.state == AttemptState.FINISHED:
                return redirect(url_for("assessment.grading_queue"))
        return redirect(url_for("assessment.grade", attempt_id=attempt.id))
    for error in form.points.errors:
        flash(str(error), "error")
    return render_template("assessment/grade.html", attempt=attempt, course=course,
                           lesson=attempt.quiz.lesson, qtype_of=qtype_of,
                           essays=[s for s in attempt.slots if qtype_of(s.question).graded_by_hand],
                           form_for=lambda slot: EssayGradeForm(slot_id=slot.id, formdata=None))


# --- learners --------------------------------------------------------------------------

@login_required
def start(course_id: int, lesson_id: int) -> Response:
    place = load_learner_lesson(course_id, lesson_id, "quiz")
    back = url_for("courses.lesson", course_id=course_id, lesson_id=lesson_id)
    quiz = quizzes.quiz_for(place.lesson)
    if quiz is None or not EmptyForm().validate_on_submit():
        abort(400 if quiz is not None else 404)
    try:
        attempt = quizzes.start_attempt(current_user, place.enrolment, quiz, now=utcnow())
    except UserError as err:
        db.session.rollback()
        flash(str(err.message), "error")
        return redirect(back)
    db.session.commit()
    return redirect(url_for("assessment.attempt", attempt_id=attempt.id))


@login_required
def attempt(attempt_id: int) -> str:
    attempt, course = load_attempt(attempt_id)
    quiz = attempt.quiz
    lesson = db.session.get(Lesson, quiz.lesson_id)
    owner = attempt.user_id == current_user.id
    now = utcnow()
    if owner and attempt.is_open and quizzes.is_overdue(attempt, now):
        with db.write_phase():  # the page reads, except to hand in an attempt out of time
            if quizzes.close_if_overdue(attempt, now):
                flash(_("Time ran out; the answers saved in time were submitted."), "warning")
    attempts = quizzes.attempts_of(quiz, attempt.user)
    if owner and attempt.is_open:
        return render_template("assessment/attempt.html", attempt=attempt, quiz=quiz,
                               lesson=lesson, course=course, qtype_of=qtype_of, now=now,
                               form=EmptyForm())
    show = (not owner) or quizzes.shows_answers(quiz, attempt, attempts)
    return render_template("assessment/review.html", attempt=attempt, quiz=quiz, lesson=lesson,
                           course=course, qtype_of=qtype_of, show_answers=show, owner=owner,
                           result=quizzes.quiz_result(quiz, attempts))


def _own_open_attempt(attempt_id: int):
    attempt, course = load_attempt(attempt_id)
    if attempt.user_id != current_user.id:
        abort(403)
    return attempt, course


@login_required
def save(attempt_id: int) -> Response | tuple[dict, int]:
    attempt, _course = _own_open_attempt(attempt_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    now = utcnow()
    try:
        changed = quizzes.save_answers(attempt, request.form, now=now)
    except UserError as err:
        db.session.rollback()
        late = not attempt.is_open or quizzes.is_overdue(attempt, now)
        if _wants_json():
            return {"error": str(err.message)}, 409 if late else 400
        flash(str(err.message), "error")
        return redirect(url_for("assessment.attempt", attempt_id=attempt.id))
    db.session.commit()
    if _wants_json():
        return {"saved": changed, "saved_at": now.isoformat()}, 200
    flash(_("Your answers are saved."), "success")
    return redirect(url_for("assessment.attempt", attempt_id=attempt.id))


@login_required
def submit(attempt_id: int) -> Response:
    attempt, _course = _own_open_attempt(attempt_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    now = utcnow()
    if attempt.is_open and not quizzes.is_overdue(attempt, now):
        try:
            quizzes.save_answers(attempt, request.form, now=now)
        except UserError as err:
            db.session.rollback()
            flash(str(err.message), "error")
            return redirect(url_for("assessment.attempt", attempt_id=attempt.id))
    graded = quizzes.submit_attempt(attempt, now=now)
    db.session.commit()
    if graded and attempt.state == AttemptState.GRADING:
        flash(_("Submitted. Your written answers will be graded by the instructor."), "success")
    elif graded:
        flash(_("Submitted."), "success")
    return redirect(url_for("assessment.attempt", attempt_id=attempt.id))
