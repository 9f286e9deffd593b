"""Instructors' question banks: categories, import with a preview, editing, export."""

from __future__ import annotations

import json
import random
import time

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from lms.assessment.controllers.loaders import load_bank, load_category, load_question
from lms.assessment.forms import CategoryForm, ImportConfirmForm, ImportForm, QuestionForm
from lms.assessment.models import QuestionCategory
from lms.assessment.operations import banks
from lms.assessment.questions import QUESTION_TYPES, qtype_of
from lms.assessment.util import bank_questions, categories_with_counts
from lms.core.access import roles_required
from lms.core.errors import UserError
from lms.core.forms import EmptyForm, form_values
from lms.core.i18n import CONTENT_LANGS
from lms.core.storage import storage
from lms.courses.models import Course
from lms.extensions import db
from lms.users.models import STAFF_ROLES

#: The session key naming the import file kept between preview and confirmation.
IMPORT_SESSION_KEY = "assessment_import"
#: Import files left behind by abandoned previews are removed after this long.
IMPORT_KEEP_SECONDS = 24 * 3600


@roles_required(*STAFF_ROLES)
def bank(course_id: int) -> str:
    course = load_bank(course_id)
    category_id = request.args.get("category", type=int)
    page = db.paginate(bank_questions(course, category_id), request.args.get("page", 1, type=int),
                       50)
    return render_template("assessment/bank.html", course=course, page=page,
                           categories=categories_with_counts(course), category_id=category_id,
                           category_form=CategoryForm(), form=EmptyForm(), qtypes=QUESTION_TYPES,
                           langs=CONTENT_LANGS)


@roles_required(*STAFF_ROLES)
def save_category(course_id: int) -> Response:
    course = load_bank(course_id)
    form = CategoryForm()
    valid = form.validate_on_submit()
    if form.category_id.errors:  # not a number: not sent by our page
        abort(400)
    if valid:
        category = None
        if form.category_id.data:
            category = db.session.get(QuestionCategory, form.category_id.data)
            if category is None or category.course_id != course.id:
                abort(404)
        try:
            banks.save_category(current_user, course, category, form.name.data)
        except UserError as err:
            err.report()
        else:
            db.session.commit()
            flash(_("The category is saved."), "success")
    else:
        for error in form.name.errors:
            flash(str(error), "error")
    return redirect(url_for("assessment.bank", course_id=course_id))


@roles_required(*STAFF_ROLES)
def delete_category(category_id: int) -> Response:
    category = load_category(category_id)
    course_id = category.course_id
    if EmptyForm().validate_on_submit():
        try:
            banks.delete_category(current_user, category)
        except UserError as err:
            err.report()
        else:
            db.session.commit()
            flash(_("The category is deleted."), "success")
    return redirect(url_for("assessment.bank", course_id=course_id))


# --- import: upload, preview, confirm ----------------------------------------------------

def _prune_old_imports() -> None:
    root = storage().path("imports")
    if not root.is_dir():
        return
    cutoff = time.time() - IMPORT_KEEP_SECONDS
    for path in root.rglob("*"):
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)


def _stash(course: Course, data: bytes, options: dict) -> None:
    """Keep the uploaded file on the server until it is confirmed; the session names it."""
    _drop_stash()
    _prune_old_imports()
    key = storage().new_key("imports", ".txt")
    storage().save_bytes(key, data)
    meta = {"user_id": current_user.id, "course_id": course.id, **options}
    storage().save_bytes(key + ".json", json.dumps(meta).encode())
    session[IMPORT_SESSION_KEY] = key


def _stashed(course: Course) -> tuple[bytes, dict] | None:
    """The kept import of this user for this course, if any."""
    key = session.get(IMPORT_SESSION_KEY)
    if not key:
        return None
    try:
        meta = json.loads(storage().path(key + ".json").read_bytes())
        data = storage().path(key).read_bytes()
    except (OSError, ValueError):
        return None
    if meta.get("user_id") != current_user.id or meta.get("course_id") != course.id:
        return None
    return data, meta


def _drop_stash() -> None:
    key = session.pop(IMPORT_SESSION_KEY, None)
    if key:
        try:
            storage().delete(key)
            storage().delete(key + ".json")
        except ValueError:
            pass


def _max_bytes() -> int:
    return current_app.config["QUIZ_IMPORT_MAX_BYTES"]


@roles_required(*STAFF_ROLES)
def import_questions(course_id: int) -> str | Response:
    course = load_bank(course_id)
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        data, size = b"", 0
        if upload and upload.filename:
            upload.stream.seek(0, 2)
            size = upload.stream.tell()
            upload.stream.seek(0)
            data = upload.read(_max_bytes() + 1)  # enough to know it is too large
        if not data and form.text.data:
            data = form.text.data.encode("utf-8")
            size = len(data)
        if not data:
            form.file.errors.append(_("Choose a file or paste the questions."))
        else:
            _stash(course, data, {"format": form.format.data, "language": form.language.data,
                                  "category": form.category.data or "", "size": size,
                                  "filename": (upload.filename if upload else "") or ""})
            return redirect(url_for("assessment.import_preview", course_id=course.id))
    return render_template("assessment/import.html", course=course, form=form,
                           max_mb=_max_bytes() / 2**20)


@roles_required(*STAFF_ROLES)
def import_preview(course_id: int) -> str | Response:
    course = load_bank(course_id)
    stashed = _stashed(course)
    if stashed is None:
        flash(_("Choose the file to import."), "warning")
        return redirect(url_for("assessment.import_questions", course_id=course.id))
    data, meta = stashed
    result = banks.parse_file(data, meta["format"], max_bytes=_max_bytes(), size=meta["size"])
    return render_template("assessment/import_preview.html", course=course, result=result,
                           meta=meta, counts=banks.count_label(result.counts()),
                           form=ImportConfirmForm(), type_label=lambda k: QUESTION_TYPES[k].label)


@roles_required(*STAFF_ROLES)
def import_confirm(course_id: int) -> Response:
    course = load_bank(course_id)
    form = ImportConfirmForm()
    stashed = _stashed(course)
    if not form.validate_on_submit() or stashed is None:
        flash(_("The file to import was not found; choose it again."), "error")
        return redirect(url_for("assessment.import_questions", course_id=course.id))
    data, meta = stashed
    result = banks.parse_file(data, meta["format"], max_bytes=_max_bytes(), size=meta["size"])
    if result.errors and not form.import_valid.data:
        flash(_("Nothing was imported: the file has errors. Correct them, or choose to import "
                "the valid questions only."), "error")
        return redirect(url_for("assessment.import_preview", course_id=course.id))
    try:
        created = banks.import_questions(current_user, course, result.questions,
                                         category=meta.get("category") or None,
                                         language=meta.get("language") or None)
    except UserError as err:
        err.report()
        return redirect(url_for("assessment.import_preview", course_id=course.id))
    db.session.commit()
    _drop_stash()
    flash(ngettext("%(num)d question imported.", "%(num)d questions imported.", len(created)),
          "success")
    return redirect(url_for("assessment.bank", course_id=course.id))


@roles_required(*STAFF_ROLES)
def export(course_id: int) -> Response:
    course = load_bank(course_id)
    category_id = request.args.get("category", type=int)
    lang = request.args.get("language")
    questions = db.session.scalars(bank_questions(course, category_id)).all()
    text = banks.export_questions(questions, lang if lang in CONTENT_LANGS else None)
    name = f"{course.code}-questions.gift.txt"
    return Response(text.encode("utf-8"), mimetype="text/plain; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{name}"'})


# --- one question ----------------------------------------------------------------------------

def _option_values(question) -> dict[int, dict]:
    fields = [f"{field}_{lang}" for field in ("text", "feedback", "match")
              for lang in CONTENT_LANGS] + ["percent"]
    return {option.id: {name: request.form[f"o{option.id}-{name}"] for name in fields
                        if f"o{option.id}-{name}" in request.form}
            for option in question.options}


@roles_required(*STAFF_ROLES)
def edit_question(question_id: int) -> str | Response:
    question = load_question(question_id)
    course = db.session.get(Course, question.course_id)
    form = QuestionForm(obj=question, course=course)
    if request.method == "GET":
        form.category.data = question.category_id
    if form.validate_on_submit():
        category = db.session.get(QuestionCategory, form.category.data)
        values = form_values(form)
        try:
            banks.save_question(current_user, question, category=category, values=values,
                                options=_option_values(question))
        except UserError as err:
            err.report(form)
            question = load_question(question_id)
        else:
            db.session.commit()
            flash(_("The question is saved."), "success")
            return redirect(url_for("assessment.edit_question", question_id=question.id))
    qtype = qtype_of(question)
    return render_template("assessment/question.html", course=course, question=question,
                           qtype=qtype, layout=qtype.layout(question, random.Random(0), False),  # noqa: S311
                           form=form, delete_form=EmptyForm(), langs=CONTENT_LANGS)


@roles_required(*STAFF_ROLES)
def delete_question(question_id: int) -> Response:
    question = load_question(question_id)
    course_id = question.course_id
    if EmptyForm().validate_on_submit():
        deleted = banks.delete_question(current_user, question)
        db.session.commit()
        flash(_("The question is deleted.") if deleted else
              _("The question is retired: past attempts used it, so it is kept for them but no "
                "longer offered."), "success")
    return redirect(url_for("assessment.bank", course_id=course_id))
