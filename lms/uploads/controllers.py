"""The resumable-upload endpoints: JSON in, JSON out, used by lms/web/static/js/upload.js."""

from __future__ import annotations

from flask import current_app, request
from flask_login import current_user
from werkzeug.exceptions import BadRequest

from lms.core.access import login_required
from lms.core.db import writes_later
from lms.core.errors import UserError
from lms.extensions import db
from lms.uploads import operations
from lms.uploads.models import Upload


def _state(upload: Upload) -> dict:
    return {"id": upload.id, "offset": upload.received, "size": upload.size,
            "state": upload.state.value, "filename": upload.filename}


def _error(err: UserError, status: int = 400) -> tuple[dict, int]:
    return {"error": str(err.message)}, status


@login_required
def start() -> tuple[dict, int]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("size"), int) \
            or isinstance(data.get("size"), bool):
        raise BadRequest()
    size = data["size"]
    purpose, filename = str(data.get("purpose", "")), str(data.get("filename", ""))[:1000]
    try:
        upload = operations.start_upload(current_user, purpose=purpose, filename=filename,
                                         size=size)
    except UserError as err:
        db.session.rollback()
        return _error(err, 413 if size > 0 else 400)
    db.session.commit()
    return {**_state(upload), "chunk_size": _chunk_size()}, 201


def _chunk_size() -> int:
    return current_app.config["UPLOAD_CHUNK_BYTES"]


@login_required
def status(upload_id: str) -> dict:
    return {**_state(operations.get_upload(upload_id, current_user)), "chunk_size": _chunk_size()}


@writes_later
@login_required
def chunk(upload_id: str) -> tuple[dict, int]:
    offset = request.args.get("offset", type=int)
    length = request.content_length
    if offset is None or offset < 0 or length is None:
        return {"error": "offset and Content-Length are required"}, 400
    upload = operations.get_upload(upload_id, current_user)
    if offset != upload.received:  # refuse at once, before receiving the bytes
        return {**_state(upload), "error": "offset"}, 409
    db.session.commit()  # end the read; the body may take a while on a weak network
    try:
        spooled, digest = operations.spool_chunk(request.stream, length, upload)
    except UserError as err:
        return _error(err)
    db.begin_write()
    upload = operations.get_upload(upload_id, current_user)
    try:
        operations.receive_chunk(upload, offset, spooled, digest,
                                 request.headers.get("X-Chunk-SHA256"))
    except operations.ChunkConflict:
        db.session.rollback()
        return {**_state(operations.get_upload(upload_id, current_user)), "error": "offset"}, 409
    except operations.ContentRejected as err:
        db.session.rollback()
        operations.abort_upload(operations.get_upload(upload_id, current_user))
        db.session.commit()
        return _error(err, 415)
    except UserError as err:
        db.session.rollback()
        return _error(err)
    db.session.commit()
    return _state(upload), 200


@login_required
def complete(upload_id: str) -> tuple[dict, int]:
    upload = operations.get_upload(upload_id, current_user)
    try:
        operations.complete_upload(upload)
    except UserError as err:
        db.session.rollback()
        return {**_state(upload), "error": str(err.message)}, 409
    db.session.commit()
    return _state(upload), 200


@login_required
def abort(upload_id: str) -> tuple[dict, int]:
    try:
        operations.abort_upload(operations.get_upload(upload_id, current_user))
    except UserError as err:
        db.session.rollback()
        return _error(err, 409)
    db.session.commit()
    return {"state": "aborted"}, 200
