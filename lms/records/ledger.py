"""The ledger's integrity: entry hashes, the per-learner chain lock, and the chain walk.

Each learner's entries form a chain: entry n stores the hash of entry n-1,
and its own hash covers that and its whole content. A writer first locks the
learner's ``LedgerChain`` row (``SELECT ... FOR UPDATE`` on PostgreSQL; on
SQLite the database's single write lock does the same), reads the head, and
appends; the unique ``(learner_id, seq)`` pair refuses a fork even if a
writer somehow skipped the lock. Entry and head change in one transaction,
so an interrupted write leaves neither.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from lms.core.db import utcnow
from lms.extensions import db
from lms.records.models import GENESIS_HASH, LedgerChain, LedgerEntry
from lms.records.signing import canonical_json

HOURS_QUANTUM = Decimal("0.01")


def evidence_text(evidence: dict[str, Any] | None) -> str:
    """Evidence as stable JSON text (floats such as watched seconds included)."""
    return json.dumps(evidence or {}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, allow_nan=False)


def _value(v: Any) -> Any:
    return getattr(v, "value", v)


def entry_content(entry: LedgerEntry) -> dict[str, Any]:
    """Everything an entry says, as hashed: all columns but ``id`` and the two hashes."""
    return {
        "learner": entry.learner_id,
        "seq": entry.seq,
        "institution": entry.institution_id,
        "course": entry.course_id,
        "lesson": entry.lesson_id,
        "training_type": _value(entry.training_type),
        "skill_level": _value(entry.skill_level),
        "kind": _value(entry.kind),
        "hours": Decimal(entry.hours).quantize(HOURS_QUANTUM),
        "verified_seconds": int(entry.verified_seconds),
        "occurred_at": entry.occurred_at,
        "recorded_at": entry.recorded_at,
        "evidence": evidence_text(entry.evidence),
        "source": _value(entry.source),
        "entered_by": entry.entered_by_id,
        "reason": entry.reason,
        "reverses": entry.reverses_id,
        "credit_key": entry.credit_key,
    }


def entry_hash(prev_hash: str, content: dict[str, Any]) -> str:
    """``sha256(prev_hash + canonical_json(content))`` as hex."""
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_json(content)).hexdigest()


def lock_chain(learner_id: int) -> LedgerChain:
    """The learner's chain head, created if new, locked until the transaction ends."""
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(
        insert(LedgerChain.__table__)
        .values(learner_id=learner_id, length=0, head_hash=GENESIS_HASH, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["learner_id"]))
    return db.session.scalars(
        select(LedgerChain).where(LedgerChain.learner_id == learner_id).with_for_update()
        .execution_options(populate_existing=True)).one()


def append(chain: LedgerChain, entry: LedgerEntry) -> LedgerEntry:
    """Put ``entry`` at the end of the locked ``chain``: number it, hash it, move the head."""
    entry.learner_id = chain.learner_id
    entry.seq = chain.length + 1
    entry.prev_hash = chain.head_hash
    entry.recorded_at = entry.recorded_at or utcnow()
    entry.hours = Decimal(entry.hours).quantize(HOURS_QUANTUM)
    entry.hash = entry_hash(entry.prev_hash, entry_content(entry))
    db.session.add(entry)
    chain.length, chain.head_hash, chain.updated_at = entry.seq, entry.hash, utcnow()
    db.session.flush()
    return entry


# --- verification ------------------------------------------------------------------

@dataclass(frozen=True)
class ChainProblem:
    """The first broken place in a learner's chain, said plainly."""

    learner_id: int
    seq: int | None
    entry_id: int | None
    problem: str

    def __str__(self) -> str:
        where = f"learner {self.learner_id}"
        if self.seq is not None:
            where += f", entry #{self.seq}"
        if self.entry_id is not None:
            where += f" (id {self.entry_id})"
        return f"{where}: {self.problem}"


@dataclass
class VerifyReport:
    """The outcome of walking every chain."""

    chains: int = 0
    entries: int = 0
    problems: list[ChainProblem] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def _entries_by_learner() -> Iterator[tuple[int, list[LedgerEntry]]]:
    # One learner's chain at a time, streamed, so memory follows the longest chain.
    rows = db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.learner_id,
                                                           LedgerEntry.seq)
                              .execution_options(yield_per=2000))
    current: int | None = None
    chain: list[LedgerEntry] = []
    for entry in rows:
        if entry.learner_id != current:
            if chain:
                yield current, chain
            current, chain = entry.learner_id, []
        chain.append(entry)
    if chain:
        yield current, chain


def check_chain(learner_id: int, entries: list[LedgerEntry],
                head: LedgerChain | None) -> ChainProblem | None:
    """The first problem in one learner's entries (ordered by ``seq``), or None."""
    prev_hash, prev_id = GENESIS_HASH, 0
    for expected_seq, entry in enumerate(entries, start=1):
        def problem(text: str, e: LedgerEntry = entry) -> ChainProblem:
            return ChainProblem(learner_id, e.seq, e.id, text)

        if entry.seq != expected_seq:
            return problem(f"expected entry #{expected_seq} here; an entry was deleted "
                           "or renumbered")
        if entry.prev_hash != prev_hash:
            return problem("does not follow the entry before it (deleted, inserted or "
                           "reordered entries)")
        if entry.id <= prev_id:
            return problem("is out of order (entries were reordered)")
        if entry_hash(entry.prev_hash, entry_content(entry)) != entry.hash:
            return problem("its content does not match its hash (the entry was edited)")
        prev_hash, prev_id = entry.hash, entry.id
    length = len(entries)
    if head is None:
        return ChainProblem(learner_id, None, None, "has entries but no chain head "
                            "(entries were inserted behind the application's back)")
    if head.length != length or head.head_hash != prev_hash:
        last = entries[-1] if entries else None
        return ChainProblem(learner_id, last.seq if last else None, last.id if last else None,
                            f"the chain should have {head.length} entries ending in "
                            f"{head.head_hash[:12]}…, but it has {length} (entries were "
                            "deleted or inserted at the end)")
    return None


def verify_chains() -> VerifyReport:
    """Walk every learner's chain; report the first problem of each broken one."""
    heads = {h.learner_id: h for h in db.session.scalars(select(LedgerChain))}
    report = VerifyReport(problems=[])
    seen: set[int] = set()
    for learner_id, entries in _entries_by_learner():
        seen.add(learner_id)
        report.chains += 1
        report.entries += len(entries)
        found = check_chain(learner_id, entries, heads.get(learner_id))
        if found:
            report.problems.append(found)
    for learner_id, head in heads.items():
        if learner_id not in seen and head.length:
            report.chains += 1
            report.problems.append(ChainProblem(
                learner_id, 1, None, f"the chain should have {head.length} entries but has "
                "none (entries were deleted)"))
    report.problems.sort(key=lambda p: (p.learner_id, p.seq or 0))
    return report
