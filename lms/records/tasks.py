"""Background work of the record: rendering certificates and writing exports."""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from lms.core.jobs import JobContext, JobFailed, job
from lms.core.storage import delete_after_rollback, storage
from lms.extensions import db
from lms.records import certificates, operations, reports
from lms.records.exporters import EXPORTERS
from lms.records.models import Certificate, Export


@job("records.issue_certificate", lease_seconds=120)
def issue_certificate(ctx: JobContext, *, certificate_id: int) -> dict:
    """Render, sign and store a certificate's PDF (once, however often the job runs)."""
    cert = db.session.get(Certificate, certificate_id)
    if cert is None:
        raise JobFailed(_l("The certificate no longer exists."))
    if cert.is_ready:
        return {"serial": cert.serial}
    serial = cert.serial
    signed = certificates.signed_certificate_pdf(cert)
    ctx.progress(0.9, force=True)
    ctx.begin_write()
    cert = db.session.get(Certificate, certificate_id, populate_existing=True)
    if cert is None or cert.serial != serial:
        # The row is not the one rendered (it was replaced while we worked): keep nothing.
        raise JobFailed(_l("The certificate changed while its document was being made."))
    certificates.store_certificate_pdf(cert, signed)
    return {"serial": cert.serial}


@job("records.export", lease_seconds=600)
def export(ctx: JobContext, *, export_id: int) -> dict:
    """Write an export file in the background, reporting progress, then audit it."""
    row = db.session.get(Export, export_id)
    if row is None:
        raise JobFailed(_l("The export no longer exists."))
    shape = row.shape
    filters = reports.ExportFilters.from_json(row.filters)
    db.begin_snapshot()  # the count, the entries and their names agree with each other
    total = max(reports.count_rows(shape, filters), 1)
    extension = EXPORTERS[row.format].extension
    key = storage().new_key("exports", f".{extension}")
    with force_locale(row.requested_by.locale), storage().atomic_writer(key) as out:
        count = reports.write_export(
            out, row.format, shape, filters, include_full_ids=row.include_full_ids,
            locale=row.requested_by.locale,
            progress=lambda n: ctx.progress(min(n / total, 0.99)))
    ctx.begin_write()
    delete_after_rollback(key)  # no file outlives a failure to record and audit it
    row = db.session.get(Export, export_id)
    db.session.refresh(row)
    operations.finish_export(row, file_key=key, row_count=count)
    operations.purge_expired_exports()
    return {"rows": count}
