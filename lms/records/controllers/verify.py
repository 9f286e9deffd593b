"""Public certificate verification: by number (the QR code's target), by file, and the key."""

from __future__ import annotations

from flask import Response, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from lms.core.access import public
from lms.records import certificates, signing, util
from lms.records.forms import SerialForm, VerifyUploadForm
from lms.web.menus import footer_link

#: A certificate PDF is a few hundred kilobytes; anything much bigger is not one.
MAX_CERTIFICATE_BYTES = 5 * 2**20


def _public_view(cert) -> dict:
    """What the public may see of a certificate: no ID number, the name masked."""
    data = cert.data
    return {"serial": cert.serial, "name": util.mask_name(data["learner_name"]),
            "course": data["course_title"], "institution": data["institution_name"],
            "started_on": cert.started_on, "completed_on": cert.completed_on,
            "hours": cert.hours, "issued_at": cert.issued_at, "revoked": cert.is_revoked,
            "revoked_at": cert.revoked_at, "ready": cert.is_ready,
            "skill_level": data["skill_level"]}


@public
def verify(serial: str) -> tuple[str, int] | str:
    cert = util.certificate_by_serial(serial)
    if cert is None:
        return render_template("records/verify.html", serial=serial, found=None,
                               form=VerifyUploadForm()), 404
    return render_template("records/verify.html", serial=cert.serial, found=_public_view(cert),
                           form=VerifyUploadForm())


@public
def verify_form() -> str | Response:
    lookup = SerialForm(request.args)
    if request.args.get("serial") and lookup.validate():
        return redirect(url_for("records.verify", serial="".join(lookup.serial.data.split())
                                .upper()))
    form = VerifyUploadForm()
    check = None
    if form.validate_on_submit():
        data = form.file.data.read(MAX_CERTIFICATE_BYTES + 1)
        if len(data) > MAX_CERTIFICATE_BYTES:
            form.file.errors = [_l("This file is too large to be a certificate.")]
        else:
            check = certificates.check_certificate_file(data)
    return render_template("records/verify_form.html", form=form, lookup=lookup, check=check,
                           found=_public_view(check.certificate)
                           if check and check.certificate else None)


@public
def public_key() -> str:
    key = certificates.installation_public_key()
    return render_template("records/public_key.html", pem=signing.public_key_pem(key),
                           fingerprint=signing.key_fingerprint(key))


@public
def public_key_pem() -> Response:
    response = Response(signing.public_key_pem(certificates.installation_public_key()),
                        mimetype="application/x-pem-file")
    response.headers["Content-Disposition"] = 'attachment; filename="yonten-certificates.pem"'
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response


footer_link("records.verify_form", _l("Verify a certificate"), order=30)
