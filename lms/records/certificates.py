"""Certificate operations: issue on completion, render and sign, revoke, and check a file.

A certificate row (with its serial) exists as soon as the course is
completed; the ``records.issue_certificate`` job renders the PDF, signs it
with the installation's Ed25519 key (``LMS_CERTIFICATE_KEY_PATH``, created on
first use) and stores it. Serials are random rather than counted, so the
public verification page cannot be walked to list everyone's certificates.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from werkzeug.exceptions import Forbidden

from lms.core.audit import audit
from lms.core.db import utcnow
from lms.core.errors import UserError
from lms.core.i18n import normalize_text
from lms.core.jobs import enqueue
from lms.core.storage import storage
from lms.courses.models import Enrolment, SkillLevel, TrainingType
from lms.extensions import db
from lms.records import documents, permissions, signing
from lms.records.models import Certificate, LedgerEntry
from lms.records.pdf import CERTIFICATE_KEYWORD, render_certificate
from lms.users.models import User

#: Crockford's base 32: no I, L, O or U to misread.
SERIAL_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_SERIAL_IN_PDF = re.compile(rb"/Keywords \(" + re.escape(CERTIFICATE_KEYWORD.encode()) +
                            rb"([A-Z0-9-]{6,40})\)")


# --- the installation key ----------------------------------------------------------

def installation_key() -> Ed25519PrivateKey:
    """The installation's signing key, created on first use and kept outside the repository."""
    app = current_app._get_current_object()
    key = app.extensions.get("lms_certificate_key")
    if key is None:
        key = signing.load_or_create_key(Path(app.config["CERTIFICATE_KEY_PATH"]))
        app.extensions["lms_certificate_key"] = key
    return key


def installation_public_key() -> Ed25519PublicKey:
    """The public half, which anyone may have to check certificates offline."""
    return installation_key().public_key()


# --- issuing -----------------------------------------------------------------------------

def new_serial(year: int) -> str:
    """A fresh serial such as ``YT-2026-K7M3Q-9X2DP`` (50 random bits)."""
    while True:
        token = "".join(secrets.choice(SERIAL_ALPHABET) for _ in range(10))
        serial = f"YT-{year}-{token[:5]}-{token[5:]}"
        if db.session.scalar(select(Certificate.id).where(Certificate.serial == serial)) is None:
            return serial


def _names(obj, field: str) -> dict[str, str]:
    return {lang: getattr(obj, f"{field}_{lang}") or "" for lang in ("bo", "zh", "en")}


def issue_certificate(enrolment: Enrolment) -> Certificate:
    """The certificate for a completed course (made once), its PDF queued for rendering."""
    existing = db.session.scalar(select(Certificate).where(
        Certificate.learner_id == enrolment.user_id,
        Certificate.course_id == enrolment.course_id))
    if existing is not None:
        return existing
    course, learner = enrolment.course, enrolment.user
    now = utcnow()
    hours = db.session.scalar(select(func.coalesce(func.sum(LedgerEntry.hours), 0)).where(
        LedgerEntry.learner_id == learner.id, LedgerEntry.course_id == course.id))
    cert = Certificate(
        serial=new_serial(documents.local_date(now).year), learner_id=learner.id,
        course_id=course.id, institution_id=course.institution_id,
        hours=Decimal(str(hours or 0)), started_on=documents.local_date(enrolment.enrolled_at),
        completed_on=documents.local_date(enrolment.completed_at or now), issued_at=now,
        data={"learner_name": learner.real_name, "masked_id": learner.resident_id_masked or "",
              "course_code": course.code, "course_title": _names(course, "title"),
              "occupation_name": _names(course, "occupation_name"),
              "occupation_code": course.occupation_code,
              "skill_level": SkillLevel(course.skill_level).value,
              "training_type": TrainingType(course.training_type).value,
              "institution_name": _names(course.institution, "name")})
    db.session.add(cert)
    db.session.flush()
    enqueue("records.issue_certificate", subject=f"certificate:{cert.id}",
            owner_id=learner.id, certificate_id=cert.id)
    return cert


def signed_certificate_pdf(cert: Certificate) -> bytes:
    """The certificate as a signed PDF (about a second of work: call it from a job)."""
    pdf = render_certificate(documents.certificate_data(cert),
                             verify_url=documents.verify_url(cert.serial))
    return signing.sign_pdf(pdf, installation_key())


def store_certificate_pdf(cert: Certificate, signed: bytes) -> bool:
    """Keep the signed PDF; False if another worker already stored one."""
    if cert.pdf_key:
        return False
    key = storage().new_key("certificates", ".pdf")
    storage().save_bytes(key, signed)
    cert.pdf_key = key
    cert.key_fingerprint = signing.key_fingerprint(installation_key())
    db.session.flush()
    return True


def revoke_certificate(actor: User, cert: Certificate, reason: str) -> None:
    """Withdraw a certificate; the verification page then says it is revoked, and why not."""
    if not permissions.can_revoke(actor, cert):
        raise Forbidden()
    reason = normalize_text(reason)
    if not reason:
        raise UserError(_l("Say why the certificate is revoked."), "reason")
    if cert.is_revoked:
        raise UserError(_l("This certificate is already revoked."), "reason")
    cert.revoked_at, cert.revoked_by_id, cert.revocation_reason = utcnow(), actor.id, reason
    db.session.flush()
    audit(actor, "certificate.revoked", cert, {"serial": cert.serial, "reason": reason},
          institution_id=cert.institution_id)


# --- checking ----------------------------------------------------------------------------

def serial_from_pdf(data: bytes) -> str | None:
    """The serial a certificate PDF carries in its metadata, if any."""
    found = _SERIAL_IN_PDF.findall(data)
    return found[-1].decode("ascii") if found else None


@dataclass(frozen=True)
class CertificateCheck:
    """The verdict on an uploaded certificate: valid or not, a code and a sentence."""

    valid: bool
    reason: str
    message: str
    certificate: Certificate | None = None
    serial: str | None = None


UNKNOWN_SERIAL = _l("The signature is genuine, but this certificate number is not in the "
                    "register.")
REVOKED = _l("This certificate was revoked.")
VALID = _l("This certificate is valid: it was issued here and has not been changed.")
NO_SERIAL = _l("This file is signed but carries no certificate number.")


def check_certificate_file(data: bytes, public_key: Ed25519PublicKey | None = None, *,
                           lookup: bool = True) -> CertificateCheck:
    """Check a certificate PDF's signature, then (with ``lookup``) its serial in the register."""
    result = signing.verify_pdf(data, public_key or installation_public_key())
    if not result.valid:
        return CertificateCheck(False, result.reason.value, result.message)
    serial = serial_from_pdf(data)
    if serial is None:
        return CertificateCheck(False, "malformed", str(NO_SERIAL))
    if not lookup:
        return CertificateCheck(True, "ok", result.message, serial=serial)
    cert = db.session.scalar(select(Certificate).where(Certificate.serial == serial))
    if cert is None:
        return CertificateCheck(False, "unknown", str(UNKNOWN_SERIAL), serial=serial)
    if cert.is_revoked:
        return CertificateCheck(False, "revoked", str(REVOKED), cert, serial)
    return CertificateCheck(True, "ok", str(VALID), cert, serial)
