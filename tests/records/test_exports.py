"""Exports of completion records: formats, filters, scope, ID numbers, jobs, links and audit."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from types import GeneratorType

import pytest
from sqlalchemy import select

from lms.core.audit import AuditEntry
from lms.core.db import utcnow
from lms.core.jobs import run_queued_jobs
from lms.core.storage import storage
from lms.records import reports
from lms.records.models import Export, ExportShape
from lms.users.target_groups import LearnerTargetGroup, TargetGroup
from tests.records.test_exporters import xlsx_sheets


@pytest.fixture
def world(make, db):
    """Two institutions; a tagged learner finished a course at the first, another studied at
    the second."""
    first, second = make.institution(prefecture="540100"), make.institution(prefecture="540200")
    alice = make.learner(real_name="卓玛", resident_id="540102199001011233")
    bob = make.learner(real_name="=cmd|' /C calc'!A0")
    make.completed_course(alice, institution=first, lessons=2, title_zh="藏香制作工艺")
    make.completed_course(bob, institution=second, lessons=1, training_type="upgrading")
    db.session.add(LearnerTargetGroup(user_id=alice.id, group=TargetGroup.DISABILITY))
    db.session.commit()
    return {"first": first, "second": second, "alice": alice, "bob": bob}


def read_csv(data: bytes) -> list[dict]:
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def export(fmt="csv", shape=ExportShape.ENTRIES, **filters) -> bytes:
    out = io.BytesIO()
    reports.write_export(out, fmt, shape, reports.ExportFilters(**filters), locale="en")
    return out.getvalue()


def test_one_row_per_ledger_entry_with_masked_id_numbers(world):
    rows = read_csv(export())
    assert len(rows) == 3 + 2
    alice = [r for r in rows if r["Real name"] == "卓玛"]
    assert {r["Resident ID number"] for r in alice} == {"5401**********1233"}
    assert {r["Kind"] for r in alice} == {"Lesson completed", "Course completed"}
    assert alice[0]["Course"] == "Thangka painting " + alice[0]["Course"].split()[-1]


def test_formula_cells_are_neutralised(world):
    rows = read_csv(export())
    assert {r["Real name"] for r in rows if "calc" in r["Real name"]} == {"'=cmd|' /C calc'!A0"}


def test_one_row_per_learner_and_course(world):
    rows = read_csv(export(shape=ExportShape.LEARNER_COURSE))
    assert len(rows) == 2
    alice = next(r for r in rows if r["Real name"] == "卓玛")
    assert alice["Hours"] == "2.00" and alice["Entries"] == "3"
    assert alice["Course completed"] == "yes" and alice["Certificate number"].startswith("YT-")



def test_a_revoked_certificate_is_exported_as_revoked(world, make, db):
    from flask_babel import force_locale

    from lms.records.certificates import revoke_certificate
    from lms.records.models import Certificate

    cert = db.session.scalar(select(Certificate).where(
        Certificate.learner_id == world["alice"].id))
    revoke_certificate(make.regional_admin(), cert, "Issued for the wrong course.")
    db.session.commit()
    rows = read_csv(export(shape=ExportShape.LEARNER_COURSE))
    alice = next(r for r in rows if r["Real name"] == "卓玛")
    assert alice["Certificate number"] == f"{cert.serial} (revoked)"
    out = io.BytesIO()
    with force_locale("zh_Hans"):  # as the export job writes a Chinese administrator's file
        reports.write_export(out, "csv", ExportShape.LEARNER_COURSE, reports.ExportFilters(),
                             locale="zh_Hans")
    assert f"{cert.serial}（已撤销）" in out.getvalue().decode("utf-8-sig")

@pytest.mark.parametrize("filters, names", [
    ({"institution_id": "first"}, {"卓玛"}),
    ({"prefecture": "540200"}, {"'=cmd|' /C calc'!A0"}),
    ({"training_type": "upgrading"}, {"'=cmd|' /C calc'!A0"}),
    ({"target_group": "disability"}, {"卓玛"}),
    ({"skill_level": "level5"}, {"卓玛", "'=cmd|' /C calc'!A0"}),
    ({"skill_level": "level1"}, set()),
])
def test_filters_select_the_matching_entries(world, filters, names):
    filters = {k: (world[v].id if k == "institution_id" else v) for k, v in filters.items()}
    rows = read_csv(export(**filters))
    assert {r["Real name"] for r in rows} == names


def test_date_and_course_filters(world, db):
    today = utcnow().date()
    assert read_csv(export(date_from=today - timedelta(days=1), date_to=today + timedelta(1)))
    assert read_csv(export(date_to=today - timedelta(days=2))) == []
    course_id = db.session.scalar(select(reports.Course.id).where(
        reports.Course.institution_id == world["first"].id))
    assert {r["Real name"] for r in read_csv(export(course_id=course_id))} == {"卓玛"}


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "jsonl", "xapi"])
def test_an_export_matching_nothing_is_a_valid_empty_file(world, fmt):
    data = export(fmt, skill_level="level1")
    if fmt == "csv":
        assert read_csv(data) == [] and b"Real name" in data
    elif fmt == "xlsx":
        (rows,) = xlsx_sheets(data).values()
        assert len(rows) == 1 and rows[0][3] == "Real name"
    else:
        assert data == b""


def test_xlsx_jsonl_and_xapi_exports(world):
    (rows,) = xlsx_sheets(export("xlsx")).values()
    assert len(rows) == 1 + 5
    lines = [json.loads(x) for x in export("jsonl").splitlines()]
    assert len(lines) == 5 and lines[0]["credited_hours"] == 1.0
    statements = [json.loads(x) for x in export("xapi").splitlines()]
    assert statements[0]["verb"]["id"].endswith("/completed")
    assert statements[0]["actor"]["account"]["name"] == str(world["alice"].id)
    assert "卓玛" not in json.dumps(statements, ensure_ascii=False)


def test_rows_are_streamed_not_collected(world):
    rows = reports.stream_rows(ExportShape.ENTRIES, reports.ExportFilters())
    assert isinstance(rows, reports.KeyedRows) and isinstance(rows.facts, GeneratorType)
    first = next(iter(rows))
    assert len(first) == len(reports.ENTRY_COLUMNS) and first[0]  # the entry number


def test_full_id_numbers_only_when_asked(world):
    out = io.BytesIO()
    reports.write_export(out, "csv", ExportShape.ENTRIES, reports.ExportFilters(),
                         include_full_ids=True, locale="en")
    assert "540102199001011233" in out.getvalue().decode("utf-8-sig")


# --- the command line ---------------------------------------------------------------------

def test_cli_exports_with_filters_and_audits(world, lms_cli, tmp_path, db):
    out = tmp_path / "records.csv"
    result = lms_cli("records", "export", "--format", "csv", "--out", str(out),
                     "--institution", str(world["first"].id), "--locale", "en")
    assert result.exit_code == 0, result.output
    assert len(read_csv(out.read_bytes())) == 3
    assert out.stat().st_mode & 0o777 == 0o600  # names and ID numbers: the owner's only
    logged = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "records.exported"))
    assert logged.details["rows"] == 3 and logged.details["format"] == "csv"
    assert logged.details["filters"] == {"institution_id": world["first"].id}


def test_a_cli_export_that_cannot_be_audited_leaves_no_file(world, lms_cli, tmp_path,
                                                            monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the audit log is unavailable")

    monkeypatch.setattr("lms.records.cli.audit", broken)
    with pytest.raises(RuntimeError):
        lms_cli("records", "export", "--format", "csv", "--out", str(tmp_path / "ids.csv"),
                "--full-ids")
    assert list(tmp_path.iterdir()) == []


def test_an_export_job_that_cannot_be_recorded_leaves_no_file(world, make, login_as, db,
                                                              monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    def files() -> set:
        # The media root is shared by a worker's tests: count only what this test adds.
        return {p for p in storage().path("exports").rglob("*") if p.is_file()}

    monkeypatch.setattr("lms.records.operations.finish_export", broken)
    before = files()
    ask(login_as(make.regional_admin()))
    run_queued_jobs()
    assert files() == before


def test_cli_refuses_an_unknown_filter_value(world, lms_cli, tmp_path):
    result = lms_cli("records", "export", "--format", "csv", "--out", str(tmp_path / "x"),
                     "--training-type", "nonsense")
    assert result.exit_code == 2


# --- from the web ---------------------------------------------------------------------------

def ask(client, **fields):
    data = {"format": "csv", "shape": "entries", "institution_id": "0", "prefecture": "",
            "course_id": "0", "training_type": "", "skill_level": "", "target_group": ""}
    data.update(fields)
    return client.post("/records/exports/", data=data)


def test_a_regional_admin_exports_in_the_background_and_downloads(world, make, login_as, db):
    admin = make.regional_admin()
    client = login_as(admin)
    assert client.get("/records/exports/").status_code == 200
    response = ask(client, target_group="disability")
    assert response.status_code == 302
    status_url = response.headers["Location"]
    page = client.get(status_url).get_data(as_text=True)
    assert "<progress" in page and 'http-equiv="refresh"' in page
    run_queued_jobs()
    export = db.session.scalar(select(Export).where(Export.requested_by_id == admin.id))
    db.session.refresh(export)
    assert client.get(status_url + "/status.json").json["ready"] is True
    page = client.get(status_url).get_data(as_text=True)
    assert "3 rows exported" in page
    download = client.get(f"/records/exports/{export.id}/download")
    assert download.status_code == 200
    assert {r["Real name"] for r in read_csv(download.data)} == {"卓玛"}
    logged = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "records.exported"))
    assert logged.actor_id == admin.id and logged.details["rows"] == 3
    assert logged.details["filters"] == {"target_group": "disability"}
    assert "disability" not in status_url


def test_an_export_for_an_institution_that_does_not_exist_is_refused(world, make, login_as,
                                                                    db):
    client = login_as(make.regional_admin())
    response = ask(client, institution_id="999999")
    assert response.status_code == 200
    assert "Choose an institution from the list." in response.text
    assert db.session.scalar(select(Export)) is None


def test_only_the_requesting_admin_may_download(world, make, login_as, db):
    admin, other = make.regional_admin(), make.regional_admin()
    client = login_as(admin)
    ask(client)
    run_queued_jobs()
    export = db.session.scalar(select(Export).where(Export.requested_by_id == admin.id))
    client = login_as(other)
    assert client.get(f"/records/exports/{export.id}/download").status_code == 403
    assert client.get(f"/records/exports/{export.id}").status_code == 403


def test_a_download_link_expires_after_a_day(world, make, login_as, db, app):
    admin = make.regional_admin()
    client = login_as(admin)
    ask(client)
    run_queued_jobs()
    export = db.session.scalar(select(Export).where(Export.requested_by_id == admin.id))
    assert export.expires_at - export.finished_at == timedelta(
        hours=app.config["EXPORT_LINK_HOURS"])
    export.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert client.get(f"/records/exports/{export.id}/download").status_code == 410


def test_an_institution_admin_exporting_another_institution_gets_403(world, make, login_as,
                                                                    db):
    admin = make.institution_admin(institution=world["first"])
    response = ask(login_as(admin), institution_id=str(world["second"].id))
    assert response.status_code == 403
    assert db.session.scalar(select(Export).where(Export.requested_by_id == admin.id)) is None


def test_an_institution_admin_exports_only_their_institutions_learners(world, make, login_as,
                                                                        db):
    admin = make.institution_admin(institution=world["first"])
    client = login_as(admin)
    ask(client, institution_id=str(world["first"].id))
    run_queued_jobs()
    export = db.session.scalar(select(Export).where(Export.requested_by_id == admin.id))
    rows = read_csv(client.get(f"/records/exports/{export.id}/download").data)
    assert {r["Real name"] for r in rows} == {"卓玛"}


def test_only_regional_admins_may_include_full_id_numbers(world, make, login_as, db):
    from werkzeug.exceptions import Forbidden

    from lms.records import operations

    admin = make.institution_admin(institution=world["first"])
    page = login_as(admin).get("/records/exports/").get_data(as_text=True)
    assert "Include full ID numbers" not in page
    with pytest.raises(Forbidden):
        operations.request_export(admin, fmt="csv", shape="entries",
                                  filters=reports.ExportFilters(), include_full_ids=True)


def test_a_learner_cannot_export(make, login_as):
    assert login_as(make.learner()).get("/records/exports/").status_code == 403


def test_what_the_exports_say_of_a_course_follows_its_corrections(world, make, db):
    from lms.courses import operations as course_ops
    from lms.records import operations
    from lms.records.models import EntryKind, LedgerEntry

    # A third learner is one lesson into two: begun, not finished.
    dawa = make.learner(real_name="达瓦")
    course = make.course(institution=world["first"], lessons=2)
    enrolment = make.enrolment(dawa, course)
    course_ops.complete_lesson(course_ops.progress_for(enrolment, course.sections[0].lessons[0]))
    db.session.commit()
    statements = [json.loads(line) for line in export("xapi", ExportShape.LEARNER_COURSE)
                  .decode().splitlines()]
    verbs = {s["actor"]["account"]["name"]: (s["verb"]["id"].rsplit("/", 1)[1],
                                             s["result"]["completion"]) for s in statements}
    assert verbs[str(dawa.id)] == ("progressed", False)
    assert verbs[str(world["alice"].id)] == ("completed", True)
    # An administrator reverses Alice's course completion: the exports take it back.
    completion = db.session.scalar(select(LedgerEntry).where(
        LedgerEntry.learner_id == world["alice"].id,
        LedgerEntry.kind == EntryKind.COURSE_COMPLETED))
    operations.reverse_entry(make.regional_admin(), completion.id, "Wrong course.")
    db.session.commit()
    alice = next(r for r in read_csv(export(shape=ExportShape.LEARNER_COURSE))
                 if r["Real name"] == "卓玛")
    assert alice["Course completed"] == "no"
    lines = [json.loads(line) for line in export("xapi").decode().splitlines()]
    by_id = {s.get("id"): s for s in lines}
    voiding = next(s for s in lines if s["verb"]["id"].endswith("/voided"))
    assert voiding["object"]["objectType"] == "StatementRef"
    assert by_id[voiding["object"]["id"]]["verb"]["id"].endswith("/completed")
    assert sum(s["verb"]["id"].endswith("/voided") for s in lines) == 1
