"""A learner's record: the page, its PDF and JSON downloads, and certificate downloads."""

from __future__ import annotations

import json

from flask import Response, abort, redirect, render_template, url_for
from flask.blueprints import BlueprintSetupState
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from lms.core.access import login_required
from lms.core.audit import audit_download
from lms.core.storage import send_media
from lms.extensions import db
from lms.records import documents, permissions, util
from lms.records.controllers.loaders import load_certificate, load_learner
from lms.records.forms import ReasonForm
from lms.records.models import LedgerEntry
from lms.records.pdf import render_record
from lms.users.models import Role, User
from lms.web.menus import dashboard_panel, nav_link


@login_required
def my_record() -> Response:
    if current_user.role != Role.LEARNER:
        if current_user.is_admin:
            return redirect(url_for("records.learners"))
        return redirect(url_for("web.dashboard"))
    return redirect(url_for("records.learner_record", user_id=current_user.id))


@login_required
def learner_record(user_id: int) -> str:
    learner = load_learner(user_id)
    summary = util.record_summary(learner)
    is_admin = current_user.is_admin
    return render_template(
        "records/record.html", summary=summary, learner=learner, is_admin=is_admin,
        own=current_user.id == learner.id,
        entries=list(reversed(summary.entries)), reason_form=ReasonForm(),
        can_correct=lambda e: is_admin and permissions.can_correct(current_user, e),
        can_revoke=lambda c: is_admin and permissions.can_revoke(current_user, c),
        can_enter=is_admin and (permissions.is_regional(current_user)
                                or permissions.trains(current_user.institution_id,
                                                      learner.id)))


def _download_name(learner: User, extension: str) -> str:
    return f"training-record-{learner.id}.{extension}"


def _audit_download(learner: User, file_format: str) -> None:
    # A learner's own copy is theirs; anyone else's is a disclosure the log keeps.
    if current_user.id != learner.id:
        audit_download(current_user, "records.record_downloaded", learner,
                       {"format": file_format})


@login_required
def record_pdf(user_id: int) -> Response:
    learner = load_learner(user_id)
    _audit_download(learner, "pdf")
    pdf = render_record(documents.record_data(util.record_summary(learner)))
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{_download_name(learner, "pdf")}"')
    return response


@login_required
def record_json(user_id: int) -> Response:
    learner = load_learner(user_id)
    _audit_download(learner, "json")
    body = json.dumps(documents.record_json(util.record_summary(learner)), ensure_ascii=False,
                      indent=1)
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{_download_name(learner, "json")}"')
    return response


@login_required
def certificate_pdf(serial: str) -> Response | tuple[str, int]:
    cert = load_certificate(serial)
    if not cert.is_ready:
        return render_template("records/certificate_pending.html", cert=cert), 202
    return send_media(cert.pdf_key, mimetype="application/pdf",
                      download_name=f"certificate-{cert.serial}.pdf")


@login_required
def evidence(entry_id: int) -> Response:
    """The evidence file an administrator attached to an offline entry."""
    entry = db.get_or_404(LedgerEntry, entry_id)
    load_learner(entry.learner_id)
    key = (entry.evidence or {}).get("file_key")
    if not key:
        abort(404)
    return send_media(key, mimetype=entry.evidence.get("content_type", "application/pdf"),
                      download_name=entry.evidence.get("filename") or "evidence")


def study_time(seconds: int | None) -> str:
    """Verified study time as hours and minutes (1 h 05 min); under a minute, in seconds
    (a short video watched through is not "0 min")."""
    seconds = max(int(seconds or 0), 0)
    if 0 < seconds < 60:
        return _("%(seconds)s s", seconds=seconds)
    hours, minutes = divmod(seconds // 60, 60)
    if hours:
        return _("%(hours)s h %(minutes)s min", hours=hours, minutes=f"{minutes:02d}")
    return _("%(minutes)s min", minutes=minutes)


def install(state: BlueprintSetupState) -> None:
    """Template helpers of the record."""
    state.app.jinja_env.filters["study_time"] = study_time


# --- what the record adds to the site's frame -------------------------------------------

nav_link("records.my_record", _l("My record"), order=20)


@dashboard_panel(Role.LEARNER, order=15)
def _record_panel(user: User) -> dict:
    summary = util.record_summary(user)
    return {"template": "records/panel_record.html", "summary": summary}
