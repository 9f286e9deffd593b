"""URL table of resumable uploads."""

from flask import Blueprint

from lms.uploads import controllers as c

bp = Blueprint("uploads", __name__)

bp.add_url_rule("/uploads/", "start", c.start, methods=["POST"])
bp.add_url_rule("/uploads/<upload_id>", "status", c.status)
bp.add_url_rule("/uploads/<upload_id>", "chunk", c.chunk, methods=["PUT"])
bp.add_url_rule("/uploads/<upload_id>/complete", "complete", c.complete, methods=["POST"])
bp.add_url_rule("/uploads/<upload_id>/abort", "abort", c.abort, methods=["POST"])
