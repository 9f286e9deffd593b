"""Administrators: find a learner, enter offline training, correct entries, revoke, audit."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from lms.core.access import roles_required
from lms.core.audit import audit_visible_to
from lms.core.errors import UserError
from lms.core.i18n import one_line
from lms.extensions import db
from lms.records import certificates, operations, permissions, util
from lms.records.controllers.loaders import (
    load_certificate,
    load_entry_to_correct,
    load_learner,
)
from lms.records.forms import OfflineEntryForm, ReasonForm
from lms.users.models import ADMIN_ROLES, Institution, User
from lms.users.target_groups import can_tag
from lms.users.util import institutions_visible_to
from lms.web.menus import dashboard_panel

#: What the audit log's action codes mean, for people reading it.
AUDIT_ACTIONS = {
    "records.exported": _l("Completion records exported"),
    "target_groups.changed": _l("Target groups changed"),
    "ledger.reversed": _l("Ledger entry corrected"),
    "ledger.offline_entered": _l("Offline training entered"),
    "certificate.revoked": _l("Certificate revoked"),
    "records.record_downloaded": _l("A learner's training record downloaded"),
    "courses.progress_downloaded": _l("A course's progress table downloaded"),
    "assessment.gradebook_downloaded": _l("A course's gradebook downloaded"),
}


@roles_required(*ADMIN_ROLES)
def learners() -> str:
    q = request.args.get("q", "")[:100]
    page = db.paginate(util.learners_visible_to(current_user, q),
                       request.args.get("page", 1, type=int), 30)
    return render_template("records/learners.html", page=page, q=q,
                           can_tag=lambda u: can_tag(current_user, u))


@roles_required(*ADMIN_ROLES)
def offline_entry(user_id: int) -> str | Response:
    learner = load_learner(user_id)
    form = OfflineEntryForm()
    institutions = db.session.scalars(institutions_visible_to(current_user)).all()
    form.prepare(institutions, fixed=not permissions.is_regional(current_user))
    if form.validate_on_submit():
        institution = db.session.get(Institution, form.institution_id.data or 0)
        upload = form.evidence.data
        try:
            operations.enter_offline(
                current_user, learner, kind=form.kind.data,
                training_type=form.training_type.data, institution=institution,
                hours=form.hours.data, occurred_on=form.occurred_on.data,
                description=form.description.data, evidence_data=upload.read(),
                evidence_filename=one_line(upload.filename), skill_level=form.skill_level.data,
                token=form.token.data)
        except UserError as err:
            db.session.rollback()
            err.attach_to(form)
        else:
            db.session.commit()
            flash(_("The training is entered in %(name)s's record.", name=learner.real_name),
                  "success")
            return redirect(url_for("records.learner_record", user_id=learner.id))
    return render_template("records/offline_form.html", form=form, learner=learner)


@roles_required(*ADMIN_ROLES)
def reverse_entry(entry_id: int) -> Response:
    entry = load_entry_to_correct(entry_id)
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            operations.reverse_entry(current_user, entry.id, form.reason.data)
        except UserError as err:
            db.session.rollback()
            flash(str(err.message), "error")
        else:
            db.session.commit()
            flash(_("The entry is corrected; the correction is in the record."), "success")
    else:
        flash(_("Say why this entry is being corrected."), "error")
    return redirect(url_for("records.learner_record", user_id=entry.learner_id))


@roles_required(*ADMIN_ROLES)
def revoke_certificate(serial: str) -> Response:
    cert = load_certificate(serial)
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            certificates.revoke_certificate(current_user, cert, form.reason.data)
        except UserError as err:
            db.session.rollback()
            flash(str(err.message), "error")
        else:
            db.session.commit()
            flash(_("Certificate %(serial)s is revoked.", serial=cert.serial), "success")
    else:
        flash(_("Say why the certificate is revoked."), "error")
    return redirect(url_for("records.learner_record", user_id=cert.learner_id))


@roles_required(*ADMIN_ROLES)
def audit_log() -> str:
    page = db.paginate(audit_visible_to(current_user), request.args.get("page", 1, type=int),
                       50)
    return render_template("records/audit_log.html", page=page, labels=AUDIT_ACTIONS,
                           details=util.audit_details(page.items, current_user))


@dashboard_panel(*ADMIN_ROLES, order=30)
def _records_panel(user: User) -> dict:
    return {"template": "records/panel_admin.html",
            "learners": db.count(util.learners_visible_to(user))}
