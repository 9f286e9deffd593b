"""Practical tasks: instructors set evidence, stages and rubric; learners send their work."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lms.assessment.controllers.loaders import (
    load_editable_lesson,
    load_evidence,
    load_learner_stage,
)
from lms.assessment.forms import (
    CriterionForm,
    EvidenceForm,
    PracticalTaskForm,
    StageForm,
    SubmitWorkForm,
)
from lms.assessment.models import PracticalStage, RubricCriterion
from lms.assessment.operations import evidence as evidence_ops
from lms.assessment.operations import practical
from lms.core.access import login_required, roles_required
from lms.core.db import utcnow, writes_later
from lms.core.errors import UserError
from lms.core.forms import EmptyForm
from lms.core.i18n import CONTENT_LANGS, labelled
from lms.core.storage import send_media
from lms.courses.models import Lesson
from lms.extensions import db
from lms.uploads import operations as uploads
from lms.users.models import STAFF_ROLES


def _editor(lesson_id: int) -> Response:
    return redirect(url_for("courses.edit_lesson", lesson_id=lesson_id) + "#practical")


def _form_errors(form) -> None:
    for field in form:
        for error in field.errors:
            flash(labelled(field.label.text, error) if hasattr(field, "label") else str(error),
                  "error")


def _run(action, lesson_id: int, message: str) -> Response:
    try:
        action()
    except UserError as err:
        db.session.rollback()
        flash(str(err.message), "error")
    else:
        db.session.commit()
        flash(message, "success")
    return _editor(lesson_id)


# --- instructors ----------------------------------------------------------------------

@roles_required(*STAFF_ROLES)
def save_task(lesson_id: int) -> Response:
    lesson = load_editable_lesson(lesson_id, "practical")
    form = PracticalTaskForm()
    if not form.validate_on_submit():
        _form_errors(form)
        return _editor(lesson_id)
    return _run(lambda: practical.save_task(
        current_user, lesson, evidence_kinds=form.evidence_kinds.data or [],
        pass_percent=form.pass_percent.data or 0), lesson_id, _("The practical task is saved."))


def _titles(form) -> dict:
    return {f"title_{lang}": getattr(form, f"title_{lang}").data for lang in CONTENT_LANGS}


def _part(lesson: Lesson, model, ident: int | None):
    """The lesson's task and, when ``ident`` is given, its stage or criterion (else 404)."""
    task = practical.task_for(lesson)
    if task is None:
        abort(404)
    part = None
    if ident is not None:
        part = db.get_or_404(model, ident)
        if part.task_id != task.id:
            abort(404)
    return task, part


@roles_required(*STAFF_ROLES)
def save_stage(lesson_id: int, stage_id: int | None = None) -> Response:
    lesson = load_editable_lesson(lesson_id, "practical")
    task, stage = _part(lesson, PracticalStage, stage_id)
    form = StageForm(prefix=f"s{stage_id}" if stage_id else "stage")
    if not form.validate_on_submit():
        _form_errors(form)
        return _editor(lesson_id)
    return _run(lambda: practical.save_stage(current_user, task, stage, **_titles(form)),
                lesson_id, _("The stage is saved."))


@roles_required(*STAFF_ROLES)
def delete_stage(lesson_id: int, stage_id: int) -> Response:
    _task, stage = _part(load_editable_lesson(lesson_id, "practical"), PracticalStage, stage_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    return _run(lambda: practical.delete_stage(current_user, stage), lesson_id,
                _("The stage is removed."))


@roles_required(*STAFF_ROLES)
def save_criterion(lesson_id: int, criterion_id: int | None = None) -> Response:
    lesson = load_editable_lesson(lesson_id, "practical")
    task, criterion = _part(lesson, RubricCriterion, criterion_id)
    form = CriterionForm.for_task(task, criterion)
    if not form.validate_on_submit():
        _form_errors(form)
        return _editor(lesson_id)
    levels = [{"points": entry.form.points.data, **_titles(entry.form)}
              for entry in form.levels.entries]
    return _run(lambda: practical.save_criterion(
        current_user, task, criterion, stage_id=form.stage_id.data, levels=levels,
        **_titles(form)), lesson_id, _("The rubric is saved."))


@roles_required(*STAFF_ROLES)
def delete_criterion(lesson_id: int, criterion_id: int) -> Response:
    _task, criterion = _part(load_editable_lesson(lesson_id, "practical"), RubricCriterion,
                             criterion_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    return _run(lambda: practical.delete_criterion(current_user, criterion), lesson_id,
                _("The criterion is removed."))


# --- learners --------------------------------------------------------------------------

def _lesson_url(place, stage: PracticalStage) -> str:
    return url_for("courses.lesson", course_id=place.access.course.id,
                   lesson_id=place.lesson.id) + f"#stage-{stage.id}"


@writes_later
@login_required
def add_evidence(stage_id: int) -> Response:
    """A file for the learner's draft: an ``upload_id`` from the resumable upload, or the
    file itself posted by the plain form (without JavaScript)."""
    stage, place = load_learner_stage(stage_id)
    back = _lesson_url(place, stage)
    db.session.commit()  # end the read before the file's bytes are taken in
    form = EvidenceForm()
    if not form.validate_on_submit():
        abort(400)
    upload_id = request.form.get("upload_id", "")
    file = form.file.data
    if not upload_id and not (file and file.filename):
        flash(_("Choose a file."), "error")
        return redirect(back)
    db.begin_write()
    stage, place = load_learner_stage(stage_id)
    try:
        if upload_id:
            upload = uploads.claim_upload(upload_id, current_user, "evidence")
        else:
            file.stream.seek(0, 2)
            size = file.stream.tell()
            file.stream.seek(0)
            upload = uploads.store_file(current_user, purpose="evidence",
                                        filename=file.filename, stream=file.stream, size=size)
            upload = uploads.claim_upload(upload.id, current_user, "evidence")
        evidence_ops.add_evidence(current_user, place.enrolment, stage, upload)
    except UserError as err:
        db.session.rollback()
        flash(str(err.message), "error")
        return redirect(back)
    db.session.commit()
    flash(_("The file is added to your work."), "success")
    return redirect(back)


@login_required
def remove_evidence(evidence_id: int) -> Response:
    evidence = load_evidence(evidence_id)
    submission = evidence.submission
    lesson = db.session.get(Lesson, submission.task.lesson_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        evidence_ops.remove_evidence(current_user, evidence)
    except UserError as err:
        db.session.rollback()
        flash(str(err.message), "error")
    else:
        db.session.commit()
    return redirect(url_for("courses.lesson", course_id=lesson.course_id, lesson_id=lesson.id)
                    + f"#stage-{submission.stage_id}")


@login_required
def submit_work(stage_id: int) -> Response:
    stage, place = load_learner_stage(stage_id)
    form = SubmitWorkForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        practical.submit_work(current_user, place.enrolment, stage, text=form.text.data,
                              now=utcnow())
    except UserError as err:
        db.session.rollback()
        flash(str(err.message), "error")
    else:
        db.session.commit()
        flash(_("Your work is sent for review."), "success")
    return redirect(_lesson_url(place, stage))


@login_required
def evidence_file(evidence_id: int) -> Response:
    """A submitted file: photos may be shown inline (sandboxed); everything else downloads."""
    evidence = load_evidence(evidence_id)
    inline = request.args.get("inline") == "1" and evidence.kind == "photo"
    return send_media(evidence.key, mimetype=evidence.content_type,
                      download_name=evidence.filename, inline=inline)


@login_required
def evidence_media(evidence_id: int, name: str) -> Response:
    """A file of an evidence video made playable (playlists, segments, download, poster), to
    whoever may see the evidence; playlists name their segments relative to this address."""
    evidence = load_evidence(evidence_id)
    if evidence.kind != "video":
        abort(404)
    media = next((m for m in (h.media(evidence, name) for h in evidence_ops.EVIDENCE_VIDEO_HANDLERS)
                  if m is not None), None)
    if media is None:
        abort(404)
    download_name = None
    if name == "download.mp4" and request.args.get("download") == "1":
        download_name = evidence.filename.rsplit(".", 1)[0] + ".mp4"
    return send_media(media.key, mimetype=media.mimetype, download_name=download_name,
                      max_age=media.max_age)
