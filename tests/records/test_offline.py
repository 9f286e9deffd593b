"""Administrators enter training that happened off the site, with evidence and their name."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from PIL import Image
from sqlalchemy import select

from lms.core.audit import AuditEntry
from lms.core.storage import storage
from lms.records import ledger
from lms.records.models import EntryKind, LedgerEntry
from tests.conftest import form_errors


def photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 120, 40)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def setting(make):
    """An institution admin and a learner enrolled in one of their institution's courses."""
    admin = make.institution_admin()
    learner = make.learner()
    make.enrolment(learner, make.course(institution=admin.institution))
    return admin, learner


def form(**changes):
    data = {"kind": "offline_session", "description": "Mineral pigments workshop, Lhasa",
            "occurred_on": date.today().isoformat(), "hours": "4", "training_type": "employment",
            "skill_level": "", "token": "form-1",
            "evidence": (io.BytesIO(photo()), "attendance.jpg")}
    data.update(changes)
    return data


def post(client, learner, data):
    return client.post(f"/records/learners/{learner.id}/offline", data=data,
                       content_type="multipart/form-data")


def test_an_institution_admin_enters_an_offline_session_with_evidence(setting, login_as, db):
    admin, learner = setting
    client = login_as(admin)
    assert client.get(f"/records/learners/{learner.id}/offline").status_code == 200
    response = post(client, learner, form(institution_id=str(admin.institution_id)))
    assert response.status_code == 302, form_errors(response.get_data(as_text=True))
    entry = db.session.scalar(select(LedgerEntry).where(LedgerEntry.learner_id == learner.id))
    assert entry.kind == EntryKind.OFFLINE_SESSION and entry.hours == Decimal("4.00")
    assert entry.entered_by_id == admin.id and entry.source == "admin"
    assert entry.institution_id == admin.institution_id
    assert entry.evidence["content_type"] == "image/jpeg"
    assert storage().exists(entry.evidence["file_key"])
    assert db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "ledger.offline_entered", AuditEntry.actor_id == admin.id))
    page = client.get(f"/records/learners/{learner.id}").get_data(as_text=True)
    assert "Mineral pigments workshop" in page and admin.real_name in page
    evidence = client.get(f"/records/entries/{entry.id}/evidence")
    assert evidence.status_code == 200 and evidence.mimetype == "image/jpeg"
    assert ledger.verify_chains().ok


def test_a_competition_and_a_skill_certificate_can_be_entered(setting, login_as, db):
    admin, learner = setting
    client = login_as(admin)
    for n, kind in enumerate(("competition", "skill_certificate")):
        response = post(client, learner, form(kind=kind, token=f"t{n}", skill_level="level4",
                                              institution_id=str(admin.institution_id)))
        assert response.status_code == 302
    kinds = db.session.scalars(select(LedgerEntry.kind).where(
        LedgerEntry.learner_id == learner.id)).all()
    assert sorted(kinds) == [EntryKind.COMPETITION, EntryKind.SKILL_CERTIFICATE]


def test_a_form_sent_twice_credits_once(setting, login_as, db):
    admin, learner = setting
    client = login_as(admin)
    for _ in range(2):
        post(client, learner, form(institution_id=str(admin.institution_id)))
    assert len(db.session.scalars(select(LedgerEntry).where(
        LedgerEntry.learner_id == learner.id)).all()) == 1


def test_an_institution_admin_cannot_enter_training_for_another_institution(setting, make,
                                                                            login_as, db):
    admin, learner = setting
    other = make.institution()
    response = post(login_as(admin), learner, form(institution_id=str(other.id)))
    # The other institution is not even offered.
    assert response.status_code == 200 and "Not a valid choice" in response.get_data(
        as_text=True)
    assert db.session.scalar(select(LedgerEntry).where(LedgerEntry.learner_id == learner.id)) \
        is None


def test_an_institution_admin_cannot_enter_training_for_a_learner_they_do_not_train(make,
                                                                                    login_as):
    admin = make.institution_admin()
    stranger = make.learner()
    response = post(login_as(admin), stranger, form(institution_id=str(admin.institution_id)))
    assert response.status_code == 403


def test_a_learner_cannot_enter_offline_training(setting, login_as):
    _admin, learner = setting
    assert post(login_as(learner), learner, form()).status_code == 403


def test_a_regional_admin_enters_a_certificate_obtained_elsewhere(setting, make, login_as, db):
    _admin, learner = setting
    response = post(login_as(make.regional_admin()), learner,
                    form(kind="skill_certificate", institution_id="0", hours="0",
                         skill_level="level3"))
    assert response.status_code == 302
    entry = db.session.scalar(select(LedgerEntry).where(LedgerEntry.learner_id == learner.id))
    assert entry.institution_id is None and entry.skill_level == "level3"


@pytest.mark.parametrize("changes, message", [
    ({"evidence": (io.BytesIO(b"MZ\x90\x00 not a document"), "virus.exe")},
     "not a JPEG, PNG or WebP image"),
    ({"hours": "1.234"}, "at most two decimal places"),
    ({"hours": "-3"}, "between 0 and 1000"),
    ({"hours": "lots"}, "as a number"),
    ({"hours": "1_0"}, "as a number"),
    ({"hours": "NaN"}, "as a number"),
    ({"hours": "1e2"}, "as a number"),
    ({"occurred_on": "0001-01-01"}, "Enter a date on or after 1950-01-01."),
    ({"occurred_on": (date.today() + timedelta(days=3)).isoformat()}, "future"),
])
def test_bad_offline_entries_are_explained(setting, login_as, db, changes, message):
    admin, learner = setting
    response = post(login_as(admin), learner, form(institution_id=str(admin.institution_id),
                                                   **changes))
    assert response.status_code == 200
    assert any(message in e for e in form_errors(response.get_data(as_text=True)))
    assert db.session.scalar(select(LedgerEntry).where(LedgerEntry.learner_id == learner.id)) \
        is None


def test_hours_may_be_typed_in_tibetan_digits(setting, login_as, db):
    admin, learner = setting
    response = post(login_as(admin), learner, form(institution_id=str(admin.institution_id),
                                                   hours="༡.༥"))
    assert response.status_code == 302
    entry = db.session.scalar(select(LedgerEntry).where(LedgerEntry.learner_id == learner.id))
    assert entry.hours == Decimal("1.50")


def test_an_entry_that_fails_after_its_evidence_is_stored_leaves_no_file(setting, login_as,
                                                                         monkeypatch, db):
    from lms.records import operations

    admin, learner = setting

    def broken_credit(*args, **kwargs):
        raise RuntimeError("the ledger could not be written")

    monkeypatch.setattr(operations, "credit", broken_credit)
    evidence_dir = storage().root / "records" / "evidence"
    before = sorted(evidence_dir.rglob("*")) if evidence_dir.exists() else []
    with pytest.raises(RuntimeError):
        post(login_as(admin), learner, form(institution_id=str(admin.institution_id)))
    db.session.close()  # the request's unit of work ends undone, as its 500 page leaves it
    after = sorted(evidence_dir.rglob("*")) if evidence_dir.exists() else []
    assert [p for p in after if p.is_file()] == [p for p in before if p.is_file()]


def test_a_forged_form_token_is_replaced_by_a_fresh_one(setting, login_as, db):
    admin, learner = setting
    response = post(login_as(admin), learner,
                    form(institution_id=str(admin.institution_id), token="x" * 100))
    assert response.status_code == 302
    entry = db.session.scalar(select(LedgerEntry).where(LedgerEntry.learner_id == learner.id))
    assert entry.credit_key.startswith("offline:") and "x" * 100 not in entry.credit_key
