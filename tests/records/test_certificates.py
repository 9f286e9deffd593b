"""Certificates: issued on completion, downloadable by their holder, verifiable by anyone."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from lms.core.audit import AuditEntry
from lms.core.jobs import run_queued_jobs
from lms.core.storage import storage
from lms.records import certificates, signing
from lms.records.models import Certificate
from lms.records.util import mask_name


@pytest.fixture
def issued(make, db):
    """A learner with a completed course and its rendered, signed certificate."""
    learner = make.learner(real_name="卓玛", resident_id="540102199001011233")
    make.completed_course(learner, lessons=2, title_zh="藏香制作工艺")
    run_queued_jobs()
    cert = db.session.scalar(select(Certificate).where(Certificate.learner_id == learner.id))
    db.session.refresh(cert)
    return learner, cert


def pdf_of(cert) -> bytes:
    return storage().path(cert.pdf_key).read_bytes()


def test_the_certificate_holds_what_the_policy_asks_for(issued):
    learner, cert = issued
    data = cert.data
    assert data["learner_name"] == "卓玛" and data["masked_id"] == "5401**********1233"
    assert data["course_title"]["zh"] == "藏香制作工艺"
    assert data["occupation_code"] and data["skill_level"] == "level5"
    assert data["institution_name"]["zh"]
    assert cert.started_on <= cert.completed_on and cert.issued_at
    assert certificates.serial_from_pdf(pdf_of(cert)) == cert.serial


def test_the_holder_downloads_their_certificate(issued, login_as):
    learner, cert = issued
    response = login_as(learner).get(f"/records/certificates/{cert.serial}.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF-")
    assert "attachment" in response.headers["Content-Disposition"]


def test_a_learner_opening_another_learners_certificate_gets_403(issued, make, login_as):
    _learner, cert = issued
    response = login_as(make.learner()).get(f"/records/certificates/{cert.serial}.pdf")
    assert response.status_code == 403


def test_a_certificate_being_prepared_says_so(make, login_as, db):
    learner = make.learner()
    make.completed_course(learner, lessons=1)
    cert = db.session.scalar(select(Certificate).where(Certificate.learner_id == learner.id))
    client = login_as(learner)
    assert client.get(f"/records/certificates/{cert.serial}.pdf").status_code == 202
    page = client.get(f"/records/learners/{learner.id}").get_data(as_text=True)
    assert "Being prepared" in page and cert.serial in page


# --- the public verification page ------------------------------------------------------------

def test_the_verification_page_shows_validity_and_minimal_personal_data(issued, client):
    learner, cert = issued
    page = client.get(f"/verify/{cert.serial}").get_data(as_text=True)
    assert "Valid" in page and "卓*" in page and "卓玛" not in page
    assert "1233" not in page  # no part of the ID number
    assert cert.data["course_title"]["en"] in page


def test_an_unknown_or_forged_serial_is_not_valid(issued, client):
    _learner, cert = issued
    forged = cert.serial[:-1] + ("0" if cert.serial[-1] != "0" else "1")
    response = client.get(f"/verify/{forged}")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Not a certificate of this platform" in page
    assert f'name="serial" value="{forged}"' in page  # to correct a mistyped number at once


def test_a_revoked_certificate_is_shown_as_revoked(issued, make, login_as, client, db):
    learner, cert = issued
    admin = make.institution_admin(institution=cert.institution)
    response = login_as(admin).post(f"/records/certificates/{cert.serial}/revoke",
                                    data={"reason": "Hours were entered in error."})
    assert response.status_code == 302
    db.session.refresh(cert)
    assert cert.is_revoked and cert.revocation_reason == "Hours were entered in error."
    page = client.get(f"/verify/{cert.serial}").get_data(as_text=True)
    assert "Revoked" in page and "no longer valid" in page
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "certificate.revoked"))


def test_only_the_issuing_institution_or_region_may_revoke(issued, make, login_as):
    _learner, cert = issued
    other = make.institution_admin()
    response = login_as(other).post(f"/records/certificates/{cert.serial}/revoke",
                                    data={"reason": "no"})
    assert response.status_code == 403


def upload(client, data: bytes):
    return client.post("/verify/", data={"file": (io.BytesIO(data), "certificate.pdf")},
                       content_type="multipart/form-data")


def test_uploading_a_genuine_certificate_says_valid(issued, client):
    _learner, cert = issued
    page = upload(client, pdf_of(cert)).get_data(as_text=True)
    assert "This certificate is valid" in page and cert.serial in page


def test_uploading_an_altered_certificate_says_invalid(issued, client):
    _learner, cert = issued
    altered = pdf_of(cert).replace(b"/Keywords (yonten-certificate:YT", b"/Keywords (yonten-"
                                   b"certificate:YX")
    page = upload(client, altered).get_data(as_text=True)
    assert "Not valid" in page and "changed after it was signed" in page


def test_uploading_a_certificate_forged_with_another_key_says_invalid(issued, client):
    _learner, cert = issued
    body = pdf_of(cert)
    unsigned = body[:body.rfind(signing.SIGNATURE_TAG)].rstrip(b"\n") + b"\n"
    forged = signing.sign_pdf(unsigned.rstrip(b"\n"), Ed25519PrivateKey.generate())
    page = upload(client, forged).get_data(as_text=True)
    assert "Not valid" in page and "another installation" in page


def test_uploading_something_else_says_invalid(client):
    page = upload(client, b"%PDF-1.7\nnot a certificate\n%%EOF").get_data(as_text=True)
    assert "Not valid" in page and "no signature" in page


def test_the_upload_form_needs_its_csrf_token(issued, client):
    _learner, cert = issued
    response = client.post("/verify/", data={"file": (io.BytesIO(pdf_of(cert)), "c.pdf")},
                           content_type="multipart/form-data", csrf=False)
    assert response.status_code == 400


def test_looking_up_a_number_leads_to_its_page(issued, client):
    _learner, cert = issued
    response = client.get("/verify/", query_string={"serial": cert.serial.lower()})
    assert response.status_code == 302 and response.headers["Location"].endswith(cert.serial)


def test_the_public_key_page_offers_pem_and_fingerprint(client, app):
    page = client.get("/verify/public-key").get_data(as_text=True)
    key = certificates.installation_public_key()
    assert signing.key_fingerprint(key) in page and "BEGIN PUBLIC KEY" in page
    pem = client.get("/verify/public-key.pem")
    assert signing.load_public_key(pem.data)


def test_the_key_is_created_on_first_use_outside_the_repository(app, tmp_path):
    path = Path(app.config["CERTIFICATE_KEY_PATH"])
    certificates.installation_key()
    assert path.exists() and path.stat().st_mode & 0o777 == 0o600
    assert Path(app.instance_path) in path.parents


# --- lms records verify-certificate --------------------------------------------------------

def write(tmp_path: Path, data: bytes, name: str = "c.pdf") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_cli_accepts_a_valid_untampered_certificate(issued, lms_cli, tmp_path):
    _learner, cert = issued
    result = lms_cli("records", "verify-certificate", write(tmp_path, pdf_of(cert)))
    assert result.exit_code == 0, result.output
    assert cert.serial in result.output


def test_cli_checks_offline_with_a_published_public_key(issued, lms_cli, tmp_path):
    _learner, cert = issued
    pem = write(tmp_path, signing.public_key_pem(certificates.installation_key()).encode(),
                "key.pem")
    result = lms_cli("records", "verify-certificate", write(tmp_path, pdf_of(cert)),
                     "--public-key", pem)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("change, reason", [
    (lambda b: b.replace(b"yonten-certificate:YT", b"yonten-certificate:YX"), "altered"),
    (lambda b: b[:b.rfind(b"%YONTEN-SIGNATURE")], "unsigned"),
    (lambda b: signing.sign_pdf(b[:b.rfind(b"\n%YONTEN-SIGNATURE")],
                                Ed25519PrivateKey.generate()), "wrong_key"),
])
def test_cli_refuses_forged_and_altered_certificates(issued, lms_cli, tmp_path, change, reason):
    _learner, cert = issued
    result = lms_cli("records", "verify-certificate", write(tmp_path, change(pdf_of(cert))))
    assert result.exit_code == 1 and reason in result.output


def test_cli_refuses_a_certificate_checked_against_the_wrong_key(issued, lms_cli, tmp_path):
    _learner, cert = issued
    other = write(tmp_path, signing.public_key_pem(Ed25519PrivateKey.generate()).encode(),
                  "other.pem")
    result = lms_cli("records", "verify-certificate", write(tmp_path, pdf_of(cert)),
                     "--public-key", other)
    assert result.exit_code == 1 and "wrong_key" in result.output


def test_cli_refuses_a_revoked_certificate(issued, make, lms_cli, tmp_path, db):
    _learner, cert = issued
    certificates.revoke_certificate(make.regional_admin(), cert, "issued in error")
    db.session.commit()
    result = lms_cli("records", "verify-certificate", write(tmp_path, pdf_of(cert)))
    assert result.exit_code == 1 and "revoked" in result.output


def test_cli_refuses_a_genuine_signature_on_an_unknown_serial(issued, lms_cli, tmp_path, db):
    _learner, cert = issued
    data = pdf_of(cert)
    cert.serial = "YT-2000-AAAAA-AAAAA"
    db.session.commit()
    result = lms_cli("records", "verify-certificate", write(tmp_path, data))
    assert result.exit_code == 1 and "unknown" in result.output


@pytest.mark.parametrize("name, masked", [
    ("卓玛", "卓*"), ("次仁顿珠", "次***"), ("བཀྲ་ཤིས་ལྷ་མོ།", "བཀྲ་*"),
    ("Drolma Tsering", "D*"), ("", "*"),
])
def test_names_are_masked_for_the_public(name, masked):
    assert mask_name(name) == masked
