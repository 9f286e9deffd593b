"""Ledger exports read names once per key: the same files as reading them with every row."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from lms.records import reports
from lms.records.cells import Column, KeyedRows, Lookup, csv_quote
from lms.records.exporters import get_exporter
from lms.records.models import EntryKind, EntrySource, ExportShape, LedgerEntry
from lms.records.operations import credit, reverse_entry
from tests.records.test_exporters import xlsx_sheets

AWKWARD = ["", " ", "a,b", 'say "hi"', "two\nlines", "cr\rhere", "\t", "=1+1", "-2", "@x",
           "+", "'", "ཐང་ཀ།", "唐卡，绘画", "ends with comma,", '"', '""', "a\r\nb"]


@pytest.mark.parametrize("text", AWKWARD)
def test_a_cell_is_quoted_as_the_csv_module_quotes_it(text):
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(["x", text])
    assert out.getvalue() == f"x,{csv_quote(text)}\r\n"


@pytest.fixture
def ledger(make, db):
    """Names that need quoting or neutralising, a reversal, an entry without a course or an
    institution, and an institution named in Tibetan only."""
    first = make.institution(prefecture="540100", name_zh='培训,"机构"', name_en="=1+1")
    tibetan = make.institution(prefecture="542500", name_zh=None, name_en=None)
    alice = make.learner(real_name='卓玛, "拉姆"', resident_id="540102199001011233")
    bob = make.learner(real_name="-2+3\nབཀྲ་ཤིས།")
    make.completed_course(alice, institution=first, lessons=2, title_zh="藏香制作工艺,一")
    make.completed_course(bob, institution=tibetan, lessons=1, training_type="upgrading",
                          skill_level="level3")
    admin = make.regional_admin()
    lesson_entry = db.session.scalar(select(LedgerEntry).where(
        LedgerEntry.learner_id == alice.id, LedgerEntry.lesson_id.is_not(None)))
    reverse_entry(admin, lesson_entry.id, 'wrong "course", sorry\nsecond line')
    credit(bob.id, kind=EntryKind.COMPETITION, training_type="employment",
           hours=Decimal("3.25"), occurred_at=datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC),
           source=EntrySource.ADMIN, entered_by_id=admin.id, reason="=HYPERLINK(\"x\")")
    # A mistyped year: SQLite stores it as 0999, which is not how the file writes it.
    credit(alice.id, kind=EntryKind.SKILL_CERTIFICATE, training_type="employment",
           hours=Decimal("0.5"), occurred_at=datetime(999, 6, 1, 12, tzinfo=UTC),
           source=EntrySource.ADMIN, entered_by_id=admin.id, reason="typo")
    db.session.commit()
    return {"alice": alice, "bob": bob}


def written(fmt: str, rows) -> bytes:
    out = io.BytesIO()
    get_exporter(fmt).write(rows, reports.ENTRY_COLUMNS, out)
    return out.getvalue()


def by_statement(locale: str, *, include_full_ids: bool = False) -> list:
    """The rows as one query gives them, names and labels joined in for every row."""
    labels = reports.Labels(locale, "https://yonten.example")
    return list(reports._statement_rows(ExportShape.ENTRIES, reports.ExportFilters(), labels,
                                        named=False, include_full_ids=include_full_ids,
                                        batch=2))


def keyed(locale: str, *, include_full_ids: bool = False, keep: int = 20_000) -> KeyedRows:
    labels = reports.Labels(locale, "https://yonten.example")
    rows = reports.keyed_entries(reports.ExportFilters(), labels,
                                 include_full_ids=include_full_ids, batch=2)
    rows.keep = keep
    return rows


@pytest.mark.parametrize("locale", ["bo", "zh_Hans", "en"])
def test_csv_of_keyed_rows_is_the_csv_of_joined_rows(ledger, app, locale):
    with force_locale(locale):
        expected = by_statement(locale)
        assert len(expected) == 3 + 2 + 1 + 1 + 1
        assert written("csv", keyed(locale)) == written("csv", expected)
        # Every key looked up again after each batch of two rows: still the same file.
        assert written("csv", keyed(locale, keep=1)) == written("csv", expected)


def test_keyed_rows_give_every_exporter_the_joined_rows(ledger, app):
    with force_locale("zh_Hans"):
        expected = by_statement("zh_Hans")
        assert [len(row) for row in keyed("zh_Hans")] == [22] * len(expected)
        assert xlsx_sheets(written("xlsx", keyed("zh_Hans"))) == \
            xlsx_sheets(written("xlsx", expected))
        assert written("jsonl", keyed("zh_Hans")) == written("jsonl", expected)


def test_full_id_numbers_are_decrypted_once_per_learner_the_same(ledger, app):
    with force_locale("en"):
        full = written("csv", keyed("en", include_full_ids=True))
        assert full == written("csv", by_statement("en", include_full_ids=True))
    text = full.decode("utf-8-sig")
    assert text.count("540102199001011233") == 3 + 1 + 1  # her entries, reversal, typo
    assert "5401**********1233" not in text


def test_what_the_keyed_csv_says(ledger, app):
    with force_locale("en"):
        rows = list(csv.DictReader(io.StringIO(
            written("csv", keyed("en")).decode("utf-8-sig"))))
    reversal = next(r for r in rows if r["Kind"] == "Correction")
    assert reversal["Hours"] == "-1.00" and reversal["Reason"].startswith('wrong "course"')
    assert reversal["Real name"] == '卓玛, "拉姆"' and reversal["Institution code"]
    competition = next(r for r in rows if r["Reason"].startswith("'=HYPERLINK"))
    assert competition["Real name"] == "'-2+3\nབཀྲ་ཤིས།"
    assert competition["Training institution"] == competition["Course"] == ""
    assert competition["Lesson"] == ""
    assert competition["Date and time (UTC)"] == "1999-12-31 23:59:59"
    assert competition["Hours"] == "3.25"
    tibetan = next(r for r in rows if r["Training type"] == "On-the-job skills upgrading")
    assert tibetan["Training institution"].startswith("སྦྱོང་བརྡར་")
    assert tibetan["Prefecture"] == "542500 Ngari"


def test_a_plan_that_does_not_fit_the_columns_is_refused():
    rows = KeyedRows([0, Lookup(0, 2, lambda keys: {})], iter([[(1,)]]), [None])
    with pytest.raises(ValueError):
        get_exporter("csv").write(rows, [Column("a", "A", "int"), Column("b", "B")],
                                  io.BytesIO())


def test_lookups_read_each_key_once_and_keep_a_bounded_number():
    reads: list[set] = []

    def load(keys):
        reads.append(set(keys))
        return {k: (f"name {k}",) for k in keys if k != 3}

    facts = [[(1,), (2,), (1,)], [(2,), (3,), (None,)], [(4,), (5,), (6,)]]
    rows = KeyedRows([0, Lookup(0, 1, load)], iter(facts), [None], keep=4)
    assert list(rows) == [(1, "name 1"), (2, "name 2"), (1, "name 1"), (2, "name 2"),
                          (3, None), (None, None), (4, "name 4"), (5, "name 5"),
                          (6, "name 6")]
    # 1 and 2 once; then 3; then the cache is full, so it starts again for 4, 5 and 6.
    assert reads == [{1, 2}, {3}, {4, 5, 6}]
    assert len(rows._known[0]) <= 4


def test_an_export_reads_names_from_the_snapshot_its_entries_come_from(committed_make,
                                                                       committed_db, app):
    """On PostgreSQL each statement would see the data as of its own start: a learner
    renamed while an export runs must not appear beside entries read before."""
    if committed_db.is_sqlite:
        pytest.skip("SQLite's transactions are snapshots already")
    from sqlalchemy import update

    from lms.users.models import User

    first_learner, renamed = committed_make.learner(), committed_make.learner(real_name="卓玛")
    committed_make.ledger_entry(first_learner)
    committed_make.ledger_entry(renamed)
    committed_db.begin_snapshot()
    with force_locale("en"):
        rows = iter(reports.keyed_entries(reports.ExportFilters(),
                                          reports.Labels("en", ""), batch=1))
        first = next(rows)  # the first learner's entry; the second's name is not read yet
        with committed_db.engine.begin() as other:
            other.execute(update(User).where(User.id == renamed.id)
                          .values(real_name="Renamed meanwhile"))
        names = [first[3], *(row[3] for row in rows)]
    committed_db.session.rollback()
    assert names == [first_learner.real_name, "卓玛"]
