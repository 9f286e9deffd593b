"""URL table of the training record: learners' records, certificates, verification, admin."""

from flask import Blueprint

from lms.records.controllers import admin as a
from lms.records.controllers import dashboards as d
from lms.records.controllers import exports as x
from lms.records.controllers import record as r
from lms.records.controllers import verify as v

bp = Blueprint("records", __name__, template_folder="templates")
bp.record_once(r.install)

# A learner's record and certificates (the learner, or an admin in scope).
bp.add_url_rule("/records/", "my_record", r.my_record)
bp.add_url_rule("/records/learners/<int:user_id>", "learner_record", r.learner_record)
bp.add_url_rule("/records/learners/<int:user_id>/record.pdf", "record_pdf", r.record_pdf)
bp.add_url_rule("/records/learners/<int:user_id>/record.json", "record_json", r.record_json)
bp.add_url_rule("/records/certificates/<serial>.pdf", "certificate_pdf", r.certificate_pdf)
bp.add_url_rule("/records/entries/<int:entry_id>/evidence", "evidence", r.evidence)

# Anyone: verify a certificate, fetch the installation's public key.
bp.add_url_rule("/verify/", "verify_form", v.verify_form, methods=["GET", "POST"])
bp.add_url_rule("/verify/public-key", "public_key", v.public_key)
bp.add_url_rule("/verify/public-key.pem", "public_key_pem", v.public_key_pem)
bp.add_url_rule("/verify/<serial>", "verify", v.verify)

# Administrators.
bp.add_url_rule("/records/learners/", "learners", a.learners)
bp.add_url_rule("/records/learners/<int:user_id>/offline", "offline_entry", a.offline_entry,
                methods=["GET", "POST"])
bp.add_url_rule("/records/entries/<int:entry_id>/reverse", "reverse_entry", a.reverse_entry,
                methods=["POST"])
bp.add_url_rule("/records/certificates/<serial>/revoke", "revoke_certificate",
                a.revoke_certificate, methods=["POST"])
bp.add_url_rule("/records/dashboard", "dashboard", d.dashboard)
bp.add_url_rule("/records/exports/", "exports", x.exports, methods=["GET", "POST"])
bp.add_url_rule("/records/exports/<int:export_id>", "export_status", x.export_status)
bp.add_url_rule("/records/exports/<int:export_id>/status.json", "export_status_json",
                x.export_status_json)
bp.add_url_rule("/records/exports/<int:export_id>/download", "export_download",
                x.export_download)
bp.add_url_rule("/admin/audit", "audit_log", a.audit_log)
