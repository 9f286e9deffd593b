"""``lms records ...``: verify the ledger and certificates, export, and the demo record."""

from __future__ import annotations

import io
import sys
from datetime import date
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from lms.config import LOCALES
from lms.core.audit import audit
from lms.core.db import utcnow
from lms.core.storage import atomic_file
from lms.courses import operations as course_ops
from lms.courses.models import Course, Lesson, SkillLevel, TrainingType
from lms.extensions import db
from lms.records import certificates, ledger, operations, reports, signing
from lms.records.exporters import EXPORTERS
from lms.records.models import EntryKind, ExportShape, LedgerEntry
from lms.users.cli import demo_user
from lms.users.models import Role


@click.group()
def cli() -> None:
    """The lifelong training record."""


cli.name = "records"


@cli.command("verify")
@with_appcontext
def verify() -> None:
    """Walk every learner's chain; exit 1 naming the first broken entry of each broken one."""
    report = ledger.verify_chains()
    if report.ok:
        click.echo(f"The ledger is intact: {report.entries} entries in {report.chains} "
                   "chains.")
        return
    for problem in report.problems:
        click.echo(f"BROKEN {problem}", err=True)
    click.echo(f"{len(report.problems)} of {report.chains} chains are broken.", err=True)
    sys.exit(1)


@cli.command("verify-certificate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--public-key", "public_key_file",
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="PEM public key to check against (default: this installation's key).")
@with_appcontext
def verify_certificate(file: Path, public_key_file: Path | None) -> None:
    """Check a certificate PDF's signature and, when the database answers, its serial."""
    data = file.read_bytes()
    if public_key_file is not None:
        try:
            key = signing.load_public_key(public_key_file.read_bytes())
        except ValueError as exc:
            raise click.ClickException(f"{public_key_file}: {exc}") from None
    else:
        key_path = Path(current_app.config["CERTIFICATE_KEY_PATH"])
        if not key_path.exists():
            raise click.ClickException(
                f"This installation has no certificate key at {key_path}; "
                "pass --public-key with the issuer's public key.")
        key = certificates.installation_public_key()
    result = certificates.check_certificate_file(data, key, lookup=False)
    if not result.valid:
        click.echo(f"INVALID ({result.reason}): {result.message}", err=True)
        sys.exit(1)
    try:
        check = certificates.check_certificate_file(data, key)
    except SQLAlchemyError as exc:
        db.session.rollback()
        click.echo(f"VALID signature, certificate {result.serial}. The register could not "
                   f"be reached to check for revocation ({type(exc).__name__}).")
        return
    if not check.valid:
        click.echo(f"INVALID ({check.reason}): {check.message} [{result.serial}]", err=True)
        sys.exit(1)
    click.echo(f"VALID: certificate {check.serial}. {check.message}")


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-01-31") from None


@cli.command("export")
@click.option("--format", "fmt", type=click.Choice(sorted(EXPORTERS)), required=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="File to write ('-' for standard output).")
@click.option("--shape", type=click.Choice([s.value for s in ExportShape]),
              default=ExportShape.ENTRIES.value, show_default=True)
@click.option("--from", "date_from", help="First day (YYYY-MM-DD).")
@click.option("--to", "date_to", help="Last day (YYYY-MM-DD).")
@click.option("--institution", "institution_id", type=int, help="Institution id.")
@click.option("--region", "prefecture", help="Prefecture code, e.g. 540100.")
@click.option("--course", "course_id", type=int, help="Course id.")
@click.option("--training-type")
@click.option("--target-group")
@click.option("--skill-level")
@click.option("--full-ids", is_flag=True, help="Full ID numbers instead of masked ones.")
@click.option("--locale", type=click.Choice(LOCALES), default="zh_Hans", show_default=True,
              help="Language of the headers and labels.")
@with_appcontext
def export(fmt: str, out: Path, shape: str, date_from: str | None, date_to: str | None,
           full_ids: bool, locale: str, **filters: object) -> None:
    """Export completion records, streaming; the export is written to the audit log."""
    try:
        f = reports.ExportFilters(date_from=_date(date_from), date_to=_date(date_to),
                                  **filters)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    shape_ = ExportShape(shape)

    def audited(rows: int) -> None:
        audit(None, "records.exported", ("file", str(out)[-64:]),
              {"format": fmt, "shape": shape, "filters": f.to_json(),
               "include_full_ids": full_ids, "rows": rows, "via": "command line"},
              institution_id=f.institution_id)
        db.session.commit()

    db.begin_snapshot()  # the entries and the names they point to agree with each other
    with force_locale(locale):
        if str(out) == "-":
            # What reaches standard output cannot be called back: it is audited before it goes.
            audited(reports.count_rows(shape_, f))
            stream = io.BufferedWriter(io.FileIO(sys.stdout.fileno(), "w", closefd=False))
            count = reports.write_export(stream, fmt, shape_, f, include_full_ids=full_ids,
                                         locale=locale)
            stream.flush()
        else:
            # A file appears under its name only once its audit entry has committed, and
            # it is readable by its owner only: it holds people's names and ID numbers.
            with atomic_file(out, mode=0o600) as stream:
                count = reports.write_export(stream, fmt, shape_, f, include_full_ids=full_ids,
                                             locale=locale)
                audited(count)
    click.echo(f"Exported {count} row(s) to {out}.", err=True)


@cli.command("purge-exports")
@with_appcontext
def purge_exports() -> None:
    """Delete export files whose download link has expired."""
    n = operations.purge_expired_exports()
    db.session.commit()
    click.echo(f"Deleted {n} expired export file(s).")


# --- demo -------------------------------------------------------------------------------

DEMO_WORKSHOP_ID = "demo-pigments-workshop"


def _demo_evidence() -> bytes:
    """A small attendance-sheet image, made on the spot."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (480, 300), (250, 246, 238))
    draw = ImageDraw.Draw(image)
    draw.rectangle((10, 10, 470, 290), outline=(122, 30, 30), width=4)
    for i, line in enumerate(("Attendance sheet", "Mineral pigments workshop",
                              "Lhasa Public Vocational Skills Training Base", "4 hours")):
        draw.text((30, 40 + 50 * i), line, fill=(34, 34, 34))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def load_demo() -> list[str]:
    """The demo learner completes the incense course (ledger entries and a certificate through
    the real signals) and gets one offline entry from the institution admin."""
    learner = demo_user(Role.LEARNER)
    admin = demo_user(Role.INSTITUTION_ADMIN)
    incense = db.session.scalar(select(Course).where(Course.code == "INCENSE-201"))
    if incense is None:
        return ["Demo record: the INCENSE-201 course is missing; load the courses demo first."]
    enrolment = course_ops.find_enrolment(learner, incense) or course_ops.enrol(learner, incense)
    lessons = db.session.scalars(select(Lesson).where(Lesson.course_id == incense.id)
                                 .order_by(Lesson.section_position, Lesson.position)).all()
    for lesson in lessons:
        progress = course_ops.progress_for(enrolment, lesson)
        if progress.completed_at is None:
            seconds = max(lesson.min_reading_seconds, 60)
            course_ops.complete_lesson(progress, evidence={"reading_seconds": seconds},
                                       verified_seconds=seconds, now=utcnow())
    exists = db.session.scalar(select(LedgerEntry.id).where(
        LedgerEntry.learner_id == learner.id,
        LedgerEntry.credit_key == f"offline:{DEMO_WORKSHOP_ID}"))
    if exists is None:
        operations.enter_offline(
            admin, learner, kind=EntryKind.OFFLINE_SESSION,
            training_type=TrainingType.EMPLOYMENT, institution=admin.institution, hours="4",
            occurred_on=utcnow().date(), skill_level=SkillLevel.LEVEL5,
            description="矿物颜料研磨实操课（线下） · ཚོན་རྩི་སྦྱོར་སྟངས་ངོ་ཐུག་སྦྱོང་བརྡར།",
            evidence_data=_demo_evidence(), evidence_filename="attendance.png",
            token=DEMO_WORKSHOP_ID)
    db.session.flush()
    return ["Demo record: the demo learner completed INCENSE-201 (certificate issued) and has "
            "an offline workshop entered by the institution admin."]
