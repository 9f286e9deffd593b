"""The ledger: hash-chained, idempotent, append-only, and checked by `lms records verify`."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import delete, event, func, select, text, update
from sqlalchemy.exc import DBAPIError

from lms.core.audit import AuditEntry, ImmutableRowError, audit
from lms.core.db import utcnow
from lms.core.errors import UserError
from lms.records import ledger, operations
from lms.records.models import GENESIS_HASH, EntryKind, LedgerChain, LedgerEntry
from tests.records.conftest import tamper


def entries_of(db, learner):
    return db.session.scalars(select(LedgerEntry).where(LedgerEntry.learner_id == learner.id)
                              .order_by(LedgerEntry.seq)).all()


def test_entries_form_a_hash_chain_per_learner(make, db):
    learner, other = make.learner(), make.learner()
    first = make.ledger_entry(learner, hours="1.5")
    make.ledger_entry(other)
    second = make.ledger_entry(learner, hours="2")
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == GENESIS_HASH and second.prev_hash == first.hash
    content = ledger.entry_content(second)
    assert second.hash == ledger.entry_hash(first.hash, content)
    head = db.session.get(LedgerChain, learner.id)
    assert (head.length, head.head_hash) == (2, second.hash)
    assert ledger.verify_chains().ok


def test_the_hash_is_sha256_of_the_previous_hash_and_the_canonical_entry(make):
    import hashlib

    from lms.records.signing import canonical_json

    entry = make.ledger_entry(make.learner(), hours="3.25")
    expected = hashlib.sha256(GENESIS_HASH.encode() + canonical_json(
        ledger.entry_content(entry))).hexdigest()
    assert entry.hash == expected


def test_crediting_the_same_completion_twice_yields_one_entry(make, db):
    learner = make.learner()
    enrolment = make.completed_course(learner, lessons=2)
    lesson = enrolment.course.lessons[0]
    before = len(entries_of(db, learner))
    entry, new = operations.credit(
        learner.id, kind=EntryKind.LESSON_COMPLETED, credit_key=f"lesson:{lesson.id}",
        training_type=enrolment.course.training_type, hours=1, occurred_at=utcnow())
    assert not new and entry.lesson_id == lesson.id
    assert len(entries_of(db, learner)) == before


def test_an_entry_cannot_be_changed_through_the_orm(make, db):
    entry = make.ledger_entry(make.learner())
    entry.hours = Decimal("99")
    with pytest.raises(ImmutableRowError):
        db.session.flush()
    db.session.rollback()


def test_an_entry_cannot_be_deleted_through_the_orm(make, db):
    entry = make.ledger_entry(make.learner())
    db.session.delete(entry)
    with pytest.raises(ImmutableRowError):
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize("statement", [
    lambda: update(LedgerEntry).values(hours=99),
    lambda: delete(LedgerEntry),
    lambda: update(LedgerEntry.__table__).values(hours=99),
    lambda: delete(AuditEntry),
])
def test_bulk_updates_and_deletes_of_append_only_tables_are_refused(make, db, statement):
    make.ledger_entry(make.learner())
    with pytest.raises(ImmutableRowError):
        db.session.execute(statement())


def test_postgresql_itself_refuses_updates_and_deletes_of_entries(make, db):
    if db.is_sqlite:
        pytest.skip("the database-level triggers are PostgreSQL's")
    entry = make.ledger_entry(make.learner())
    logged = audit(None, "test.action")
    for sql, ident in (("UPDATE ledger_entries SET hours = 99 WHERE id = :id", entry.id),
                       ("DELETE FROM ledger_entries WHERE id = :id", entry.id),
                       ("UPDATE audit_log SET action = 'x' WHERE id = :id", logged.id),
                       ("DELETE FROM audit_log WHERE id = :id", logged.id)):
        with pytest.raises(DBAPIError, match="append-only"), db.session.begin_nested():
            db.session.execute(text(sql), {"id": ident})


def test_an_interrupted_write_leaves_no_partial_entry(make, db):
    learner = make.learner()
    make.ledger_entry(learner)

    def crash(*args, **kwargs):
        raise RuntimeError("power cut")

    # The write fails half-way through its flush: the entry may be in, the head is not.
    event.listen(LedgerChain, "before_update", crash)
    try:
        with pytest.raises(RuntimeError), db.session.begin_nested():
            operations.credit(learner.id, kind=EntryKind.OFFLINE_SESSION,
                              training_type="employment", hours=1, occurred_at=utcnow(),
                              reason="interrupted")
    finally:
        event.remove(LedgerChain, "before_update", crash)
    # The process dies after the write, before the commit.
    with pytest.raises(RuntimeError), db.session.begin_nested():
        operations.credit(learner.id, kind=EntryKind.OFFLINE_SESSION,
                          training_type="employment", hours=1, occurred_at=utcnow(),
                          reason="interrupted")
        crash()
    db.session.expire_all()
    assert len(entries_of(db, learner)) == 1
    assert db.session.get(LedgerChain, learner.id).length == 1
    assert ledger.verify_chains().ok


# --- corrections -----------------------------------------------------------------------

def test_an_admin_reverses_an_entry_with_a_reason(make, db):
    learner, admin = make.learner(), make.regional_admin()
    entry = make.ledger_entry(learner, hours="4")
    reversal = operations.reverse_entry(admin, entry.id, "Entered for the wrong learner.")
    db.session.commit()
    assert reversal.kind == EntryKind.REVERSAL and reversal.reverses_id == entry.id
    assert reversal.hours == Decimal("-4.00") and reversal.entered_by_id == admin.id
    assert reversal.reason == "Entered for the wrong learner."
    total = db.session.scalar(select(func.sum(LedgerEntry.hours))
                              .where(LedgerEntry.learner_id == learner.id))
    assert Decimal(total) == 0
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "ledger.reversed"))
    assert ledger.verify_chains().ok


def test_a_reversal_takes_the_hours_off_the_year_of_the_training_it_cancels(make, db):
    from datetime import datetime, timedelta

    from lms.core.i18n import DISPLAY_TZ
    from lms.records.util import record_summary

    learner, admin = make.learner(), make.regional_admin()
    this_year = datetime.now(DISPLAY_TZ).year
    last_year = datetime(this_year - 1, 6, 1, 12, tzinfo=DISPLAY_TZ)
    make.ledger_entry(learner, hours="6", occurred_at=last_year)
    wrong = make.ledger_entry(learner, hours="4", occurred_at=last_year + timedelta(days=1))
    make.ledger_entry(learner, hours="3")
    reversal = operations.reverse_entry(admin, wrong.id, "Counted twice.")
    db.session.commit()
    assert reversal.occurred_at == wrong.occurred_at
    assert reversal.recorded_at > wrong.recorded_at
    assert dict(record_summary(learner).by_year) == {last_year.year: Decimal("6.00"),
                                                     this_year: Decimal("3.00")}
    assert ledger.verify_chains().ok


def test_reversing_an_entry_that_does_not_exist_is_refused(make):
    with pytest.raises(UserError, match="no ledger entry"):
        operations.reverse_entry(make.regional_admin(), 987654, "typo")


def test_reversing_an_entry_twice_is_refused(make, db):
    admin = make.regional_admin()
    entry = make.ledger_entry(make.learner())
    operations.reverse_entry(admin, entry.id, "duplicate")
    db.session.commit()
    with pytest.raises(UserError, match="already been reversed"):
        operations.reverse_entry(admin, entry.id, "again")


def test_a_correction_cannot_itself_be_reversed(make, db):
    admin = make.regional_admin()
    entry = make.ledger_entry(make.learner())
    reversal = operations.reverse_entry(admin, entry.id, "duplicate")
    with pytest.raises(UserError, match="cannot itself be reversed"):
        operations.reverse_entry(admin, reversal.id, "undo")


def test_a_reversal_needs_a_reason(make):
    entry = make.ledger_entry(make.learner())
    with pytest.raises(UserError, match="why"):
        operations.reverse_entry(make.regional_admin(), entry.id, "   ")


def test_an_institution_admin_corrects_only_their_institutions_entries(make, login_as, db):
    admin = make.institution_admin()
    learner = make.learner()
    ours = make.ledger_entry(learner, institution_id=admin.institution_id)
    theirs = make.ledger_entry(learner, institution_id=make.institution().id)
    client = login_as(admin)
    response = client.post(f"/records/entries/{theirs.id}/reverse", data={"reason": "x"})
    assert response.status_code == 403
    response = client.post(f"/records/entries/{ours.id}/reverse", data={"reason": "Wrong day"})
    assert response.status_code == 302
    assert db.session.scalar(select(LedgerEntry).where(LedgerEntry.reverses_id == ours.id))


def test_reversing_a_missing_entry_from_the_web_is_404(make, login_as):
    client = login_as(make.regional_admin())
    assert client.post("/records/entries/987654/reverse", data={"reason": "x"}) \
        .status_code == 404


def test_a_learner_cannot_correct_entries(make, login_as):
    learner = make.learner()
    entry = make.ledger_entry(learner)
    response = login_as(learner).post(f"/records/entries/{entry.id}/reverse",
                                      data={"reason": "I want more hours"})
    assert response.status_code == 403


# --- lms records verify ----------------------------------------------------------------------

@pytest.fixture
def chains(make):
    """Two learners with three entries each."""
    alice, bob = make.learner(), make.learner()
    made = {}
    for learner in (alice, bob):
        made[learner.id] = [make.ledger_entry(learner, hours=str(n)) for n in (1, 2, 3)]
    return alice, made[alice.id]


def test_verify_exits_zero_on_an_intact_ledger(chains, lms_cli):
    result = lms_cli("records", "verify")
    assert result.exit_code == 0, result.output
    assert "intact" in result.output and "6 entries in 2 chains" in result.output


def test_verify_names_an_edited_entry(chains, db, lms_cli):
    learner, entries = chains
    tamper(db, "UPDATE ledger_entries SET hours = 20 WHERE id = :id", id=entries[1].id)
    result = lms_cli("records", "verify")
    assert result.exit_code == 1
    assert f"learner {learner.id}, entry #2 (id {entries[1].id})" in result.output
    assert "edited" in result.output


def test_verify_names_the_gap_a_deleted_entry_leaves(chains, db, lms_cli):
    learner, entries = chains
    tamper(db, "DELETE FROM ledger_entries WHERE id = :id", id=entries[1].id)
    result = lms_cli("records", "verify")
    assert result.exit_code == 1
    assert f"learner {learner.id}, entry #3 (id {entries[2].id})" in result.output
    assert "deleted" in result.output


def test_verify_notices_the_last_entry_deleted(chains, db, lms_cli):
    learner, entries = chains
    tamper(db, "DELETE FROM ledger_entries WHERE id = :id", id=entries[2].id)
    result = lms_cli("records", "verify")
    assert result.exit_code == 1 and f"learner {learner.id}" in result.output
    assert "should have 3 entries" in result.output


def test_verify_names_an_inserted_entry_even_with_a_correct_hash(chains, db, lms_cli):
    learner, entries = chains
    now = utcnow()
    forged = LedgerEntry(learner_id=learner.id, seq=4, kind=EntryKind.OFFLINE_SESSION,
                         training_type="employment", hours=Decimal("100.00"),
                         verified_seconds=0, occurred_at=now, recorded_at=now,
                         evidence={}, source="admin", prev_hash=entries[2].hash)
    content = ledger.entry_content(forged)
    tamper(db, "INSERT INTO ledger_entries (learner_id, seq, training_type, kind, hours, "
               "verified_seconds, occurred_at, recorded_at, evidence, source, prev_hash, hash) "
               "VALUES (:learner, 4, 'employment', 'offline_session', 100, 0, :at, :at, '{}', "
               "'admin', :prev, :hash)",
           learner=learner.id, at=forged.occurred_at.replace(tzinfo=None), prev=entries[2].hash,
           hash=ledger.entry_hash(entries[2].hash, content))
    result = lms_cli("records", "verify")
    assert result.exit_code == 1
    assert f"learner {learner.id}, entry #4" in result.output


def test_verify_names_reordered_entries(chains, db, lms_cli):
    learner, entries = chains
    a, b = entries[0].id, entries[1].id
    tamper(db, "UPDATE ledger_entries SET seq = -1 WHERE id = :a", a=a)
    tamper(db, "UPDATE ledger_entries SET seq = 1 WHERE id = :b", b=b)
    tamper(db, "UPDATE ledger_entries SET seq = 2 WHERE id = :a", a=a)
    result = lms_cli("records", "verify")
    assert result.exit_code == 1
    assert f"learner {learner.id}, entry #1 (id {b})" in result.output
