"""Authoring: instructors and administrators build, order, publish and follow courses."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from lms.core.access import roles_required
from lms.core.audit import audit_download
from lms.core.errors import UserError
from lms.core.files import clean_document, clean_image
from lms.core.forms import EmptyForm, form_values
from lms.core.i18n import one_line
from lms.core.spreadsheets import csv_download
from lms.core.storage import storage
from lms.courses import operations, permissions, util
from lms.courses.controllers.loaders import (
    load_editable_course,
    load_editable_lesson,
    load_editable_section,
)
from lms.courses.forms import (
    AttachmentForm,
    CourseForm,
    CoverForm,
    InstructorsForm,
    LessonForm,
    OrderForm,
    PrerequisitesForm,
    SectionForm,
)
from lms.courses.kinds import LESSON_KINDS, kind_of
from lms.courses.models import Attachment, Course, CourseStatus
from lms.extensions import db
from lms.users.models import STAFF_ROLES, Institution, Role, User
from lms.web.controllers import format_datetime

ATTACHMENT_MAX_BYTES = 50 * 2**20
COVER_MAX_BYTES = 10 * 2**20


@roles_required(*STAFF_ROLES)
def index() -> str:
    page = db.paginate(util.courses_taught_by(current_user), request.args.get("page", 1, type=int))
    return render_template("courses/teach_index.html", page=page)


def _institution_for_new_course() -> Institution:
    if current_user.role == Role.REGIONAL_ADMIN:
        institution = db.session.get(Institution, request.args.get("institution", 0, type=int))
        if institution is None:
            institution = db.session.scalar(select(Institution).order_by(Institution.id))
        if institution is None:
            abort(404)
        return institution
    return current_user.institution


@roles_required(*STAFF_ROLES)
def edit_course(course_id: int | None = None) -> str | Response:
    course = load_editable_course(course_id) if course_id else None
    institution = course.institution if course else _institution_for_new_course()
    form = CourseForm(obj=course)
    if form.validate_on_submit():
        try:
            course = operations.save_course(current_user, course, institution=institution,
                                            **form_values(form))
        except UserError as err:
            err.report(form)
        else:
            db.session.commit()
            flash(_("The course is saved."), "success")
            return redirect(url_for("courses.outline", course_id=course.id))
    return render_template("courses/course_form.html", form=form, course=course,
                           institution=institution)


@roles_required(*STAFF_ROLES)
def outline(course_id: int) -> str:
    course = load_editable_course(course_id)
    others = db.session.scalars(select(Course).where(
        Course.id != course.id, Course.status == CourseStatus.PUBLISHED)
        .order_by(Course.code)).all()
    prereq_form = PrerequisitesForm(prerequisites=[c.id for c in course.prerequisites])
    prereq_form.prerequisites.choices = [(c.id, f"{c.code} · {c.title}") for c in others]
    staff_form = None
    if permissions.can_manage_course_staff(current_user, course):
        teachers = db.session.scalars(select(User).where(
            User.role == Role.INSTRUCTOR, User.institution_id == course.institution_id)).all()
        staff_form = InstructorsForm(instructors=[u.id for u in course.instructors])
        staff_form.instructors.choices = [(u.id, u.real_name) for u in teachers]
    return render_template(
        "courses/outline.html", course=course, moves=_moves(course), form=EmptyForm(),
        order_form=OrderForm(), prereq_form=prereq_form, staff_form=staff_form,
        cover_form=CoverForm(), kinds=LESSON_KINDS, kind_of=kind_of,
        problems=operations.publish_problems(course))


def _moves(course: Course) -> dict[str, str]:
    """For each up/down button, the whole order it submits (so the form works without JS);
    under ``"shown"``, the order the page shows."""
    blocks = [[f"s{s.id}"] + [f"l{x.id}" for x in s.lessons] for s in course.sections]
    flat = [i for b in blocks for i in b]
    moves: dict[str, str] = {}
    for b, block in enumerate(blocks):
        if b > 0:
            swapped = blocks[:b - 1] + [block, blocks[b - 1]] + blocks[b + 1:]
            moves[f"{block[0]}:up"] = ",".join(i for blk in swapped for i in blk)
        if b + 1 < len(blocks):
            swapped = blocks[:b] + [blocks[b + 1], block] + blocks[b + 2:]
            moves[f"{block[0]}:down"] = ",".join(i for blk in swapped for i in blk)
    for at, item in enumerate(flat):
        if not item.startswith("l"):
            continue
        if at > 1:  # never above the first section
            order = flat[:at - 1] + [item, flat[at - 1]] + flat[at + 1:]
            moves[f"{item}:up"] = ",".join(order)
        if at + 1 < len(flat):
            order = flat[:at] + [flat[at + 1], item] + flat[at + 2:]
            moves[f"{item}:down"] = ",".join(order)
    moves["shown"] = ",".join(flat)
    return moves


def _order_items(tokens: str) -> list[tuple[str, int]]:
    return [("section" if token[0] == "s" else "lesson", int(token[1:]))
            for token in tokens.split(",")]


@roles_required(*STAFF_ROLES)
def reorder(course_id: int) -> Response:
    course = load_editable_course(course_id)
    form = OrderForm()
    if not form.validate_on_submit():
        flash(_("The new order could not be read. Reload the page and try again."), "error")
        return redirect(url_for("courses.outline", course_id=course_id))
    try:
        operations.reorder(current_user, course, _order_items(form.order.data),
                           shown=_order_items(form.shown.data))
    except UserError as err:
        err.report()
    else:
        db.session.commit()
    return redirect(url_for("courses.outline", course_id=course_id))


@roles_required(*STAFF_ROLES)
def change_status(course_id: int, action: str) -> Response:
    course = load_editable_course(course_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        if action == "publish":
            operations.publish_course(current_user, course)
            message = _("The course is published.")
        elif action in ("unpublish", "archive"):
            operations.unpublish_course(current_user, course, archive=action == "archive")
            message = _("The course is archived.") if action == "archive" else \
                _("The course is back to draft.")
        else:
            abort(404)
    except UserError as err:
        err.report()
    else:
        db.session.commit()
        flash(message, "success")
    return redirect(url_for("courses.outline", course_id=course_id))


@roles_required(*STAFF_ROLES)
def prerequisites(course_id: int) -> Response:
    course = load_editable_course(course_id)
    form = PrerequisitesForm()
    form.prerequisites.choices = [(c.id, c.code) for c in db.session.scalars(
        select(Course).where(Course.status == CourseStatus.PUBLISHED, Course.id != course.id))]
    if form.validate_on_submit():
        required = [db.session.get(Course, i) for i in form.prerequisites.data]
        try:
            operations.set_prerequisites(current_user, course, required)
        except UserError as err:
            err.report()
        else:
            db.session.commit()
            flash(_("Prerequisites saved."), "success")
    return redirect(url_for("courses.outline", course_id=course_id))


@roles_required(Role.INSTITUTION_ADMIN, Role.REGIONAL_ADMIN)
def instructors(course_id: int) -> Response:
    course = load_editable_course(course_id)
    if not permissions.can_manage_course_staff(current_user, course):
        abort(403)
    form = InstructorsForm()
    form.instructors.choices = [(u.id, u.real_name) for u in db.session.scalars(
        select(User).where(User.role == Role.INSTRUCTOR))]
    if form.validate_on_submit():
        try:
            operations.set_instructors(current_user, course,
                                       [db.session.get(User, i) for i in form.instructors.data])
        except UserError as err:
            err.report()
        else:
            db.session.commit()
            flash(_("Instructors saved."), "success")
    return redirect(url_for("courses.outline", course_id=course_id))


@roles_required(*STAFF_ROLES)
def upload_cover(course_id: int) -> Response:
    course = load_editable_course(course_id)
    form = CoverForm()
    if form.validate_on_submit():
        try:
            data = form.file.data.read(COVER_MAX_BYTES + 1)
            if len(data) > COVER_MAX_BYTES:
                raise UserError(_("The image is larger than 10 MB."), "file")
            clean = clean_image(data, max_side=1280)
        except UserError as err:
            flash(str(err.message), "error")
        else:
            key = storage().new_key("covers", clean.extension)
            storage().save_bytes(key, clean.data)
            old, course.cover_key = course.cover_key, key
            db.session.commit()
            if old:
                storage().delete(old)
            flash(_("The cover image is saved."), "success")
    return redirect(url_for("courses.outline", course_id=course_id))


@roles_required(*STAFF_ROLES)
def edit_section(course_id: int | None = None, section_id: int | None = None) -> str | Response:
    section = load_editable_section(section_id) if section_id else None
    course = section.course if section else load_editable_course(course_id)
    form = SectionForm(obj=section)
    if form.validate_on_submit():
        try:
            operations.save_section(current_user, course, section, **form_values(form))
        except UserError as err:
            err.report(form)
        else:
            db.session.commit()
            return redirect(url_for("courses.outline", course_id=course.id))
    return render_template("courses/section_form.html", form=form, course=course,
                           section=section)


@roles_required(*STAFF_ROLES)
def edit_lesson(section_id: int | None = None, lesson_id: int | None = None) -> str | Response:
    lesson = load_editable_lesson(lesson_id) if lesson_id else None
    section = lesson.section if lesson else load_editable_section(section_id)
    form = LessonForm(obj=lesson)
    if lesson is not None:
        form.kind.data = lesson.kind
        if request.method == "GET":
            form.min_reading_minutes.data = lesson.min_reading_seconds // 60
    elif request.method == "GET" and request.args.get("kind") in LESSON_KINDS:
        form.kind.data = request.args["kind"]
    if form.validate_on_submit():
        try:
            lesson = operations.save_lesson(current_user, section, lesson, **form_values(form))
        except UserError as err:
            err.report(form)
        else:
            db.session.commit()
            flash(_("The lesson is saved."), "success")
            return redirect(url_for("courses.edit_lesson", lesson_id=lesson.id))
    kind = kind_of(lesson) if lesson else LESSON_KINDS.get(form.kind.data or "text")
    return render_template("courses/lesson_form.html", form=form, lesson=lesson,
                           section=section, course=section.course, kind=kind,
                           attachment_form=AttachmentForm(), delete_form=EmptyForm())


@roles_required(*STAFF_ROLES)
def delete_lesson(lesson_id: int) -> Response:
    lesson = load_editable_lesson(lesson_id)
    course_id = lesson.course_id
    if EmptyForm().validate_on_submit():
        try:
            operations.delete_lesson(current_user, lesson)
        except UserError as err:
            err.report()
            return redirect(url_for("courses.edit_lesson", lesson_id=lesson_id))
        db.session.commit()
        flash(_("The lesson is deleted."), "success")
    return redirect(url_for("courses.outline", course_id=course_id))


@roles_required(*STAFF_ROLES)
def add_attachment(lesson_id: int) -> Response:
    lesson = load_editable_lesson(lesson_id)
    form = AttachmentForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            clean = clean_document(upload.read(ATTACHMENT_MAX_BYTES + 1),
                                   max_bytes=ATTACHMENT_MAX_BYTES)
        except UserError as err:
            flash(str(err.message), "error")
        else:
            key = storage().new_key("attachments", clean.extension)
            storage().save_bytes(key, clean.data)
            name = one_line((upload.filename or "").rsplit("/", 1)[-1])[:200] or "file"
            if not name.lower().endswith(clean.extension):
                name = name.rsplit(".", 1)[0] + clean.extension
            db.session.add(Attachment(lesson_id=lesson.id, key=key, filename=name,
                                      content_type=clean.content_type, size=len(clean.data)))
            db.session.commit()
            flash(_("The file is added."), "success")
    else:
        for error in form.file.errors:
            flash(str(error), "error")
    return redirect(url_for("courses.edit_lesson", lesson_id=lesson_id))


@roles_required(*STAFF_ROLES)
def delete_attachment(attachment_id: int) -> Response:
    attachment = db.get_or_404(Attachment, attachment_id)
    lesson_id = attachment.lesson_id
    load_editable_lesson(lesson_id)
    if EmptyForm().validate_on_submit():
        try:
            operations.delete_attachment(current_user, attachment)
        except UserError as err:
            err.report()
        else:
            db.session.commit()
    return redirect(url_for("courses.edit_lesson", lesson_id=lesson_id))


@roles_required(*STAFF_ROLES)
def progress(course_id: int) -> str | Response:
    course = load_editable_course(course_id)
    headers, rows = util.progress_table(course)
    if request.args.get("format") == "csv":
        return _progress_csv(course, headers, rows)
    total = sum(1 for x in util.outline(course, None).items if x.lesson.required)
    return render_template("courses/progress.html", course=course, headers=headers, rows=rows,
                           total=total)


def _progress_csv(course: Course, headers: list, rows: list) -> Response:
    audit_download(current_user, "courses.progress_downloaded", course,
                   {"format": "csv", "rows": len(rows)}, institution_id=course.institution_id)
    return csv_download(
        f"progress-{course.code}.csv",
        [_("Learner"), _("Enrolled at"), _("Lessons completed"), _("Hours credited"),
         _("Last activity"), *headers],
        ([row.learner.real_name, format_datetime(row.enrolment.enrolled_at), row.completed,
          row.hours, format_datetime(row.enrolment.last_activity_at), *row.extra]
         for row in rows))
