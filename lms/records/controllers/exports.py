"""Exports from the web: choose filters, follow the job, download (requester only, for a day)."""

from __future__ import annotations

from flask import abort, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from lms.core.access import roles_required
from lms.core.db import utcnow
from lms.core.errors import UserError
from lms.core.storage import send_media
from lms.courses.models import Course
from lms.extensions import db
from lms.records import operations, permissions
from lms.records.controllers.loaders import load_export
from lms.records.exporters import EXPORTERS
from lms.records.forms import ExportForm
from lms.records.models import Export
from lms.records.reports import ExportFilters
from lms.users.models import ADMIN_ROLES
from lms.users.util import institutions_visible_to


def _export_form() -> ExportForm:
    form = ExportForm()
    regional = permissions.is_regional(current_user)
    courses = select(Course).order_by(Course.code)
    if not regional:
        courses = courses.where(Course.institution_id == current_user.institution_id)
    form.prepare(db.session.scalars(institutions_visible_to(current_user)).all(),
                 db.session.scalars(courses).all(), regional=regional)
    return form


@roles_required(*ADMIN_ROLES)
def exports() -> str | Response:
    form = _export_form()
    if form.validate_on_submit():
        try:
            filters = ExportFilters(
                date_from=form.date_from.data, date_to=form.date_to.data,
                institution_id=form.institution_id.data or None,
                prefecture=form.prefecture.data or None, course_id=form.course_id.data or None,
                training_type=form.training_type.data or None,
                target_group=form.target_group.data or None,
                skill_level=form.skill_level.data or None)
        except ValueError:
            abort(400)
        if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
            form.date_to.errors = [_("The end date is before the start date.")]
        else:
            full_ids = bool(getattr(form, "include_full_ids", None) and
                            form.include_full_ids.data)
            try:
                export = operations.request_export(
                    current_user, fmt=form.format.data, shape=form.shape.data,
                    filters=filters, include_full_ids=full_ids)
            except UserError as err:
                db.session.rollback()
                err.attach_to(form)
            else:
                db.session.commit()
                return redirect(url_for("records.export_status", export_id=export.id))
    recent = db.session.scalars(select(Export).where(Export.requested_by_id == current_user.id)
                                .order_by(Export.id.desc()).limit(10)).all()
    return render_template("records/exports.html", form=form, recent=recent, now=utcnow(),
                           exporters=EXPORTERS)


@roles_required(*ADMIN_ROLES)
def export_status(export_id: int) -> str:
    export = load_export(export_id)
    return render_template("records/export_status.html", export=export, job=export.job,
                           now=utcnow(), exporter=EXPORTERS[export.format])


@roles_required(*ADMIN_ROLES)
def export_status_json(export_id: int) -> dict:
    export = load_export(export_id)
    job = export.job
    ready = export.file_key is not None and export.expires_at > utcnow()
    return {"state": job.state.value if job else "unknown", "percent": job.percent if job else 0,
            "rows": export.row_count, "ready": ready,
            "download": url_for("records.export_download", export_id=export.id) if ready
            else None}


@roles_required(*ADMIN_ROLES)
def export_download(export_id: int) -> Response | tuple[str, int]:
    export = load_export(export_id)
    if export.expires_at <= utcnow():
        return render_template("web/error.html", code=410, message=_(
            "This download link has expired. Ask for the export again.")), 410
    if export.file_key is None:
        abort(404)
    exporter = EXPORTERS[export.format]
    name = f"yonten-{export.shape.value}-{export.created_at:%Y%m%d}-{export.id}" \
           f".{exporter.extension}"
    return send_media(export.file_key, mimetype=exporter.content_type.split(";")[0],
                      download_name=name)
