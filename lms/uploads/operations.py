"""Resumable uploads: start, receive a chunk at an offset, complete, claim, abort.

The protocol is deliberately small. The browser announces a file (purpose,
name, size) and gets an id; it sends chunks with the offset each starts at;
the server accepts a chunk only at the offset it has stored up to, so a chunk
sent twice or out of order is refused with the offset to continue from, and
nothing beyond the announced size is ever written. Chunks stream to disk and
are never held whole in memory. After a reload the browser asks for the
offset and carries on. The domain that asked for the file (video, evidence)
then *claims* it and moves it where it belongs.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from werkzeug.exceptions import Forbidden, NotFound

from lms.core.db import utcnow
from lms.core.errors import UserError
from lms.core.files import sniff
from lms.core.i18n import one_line
from lms.core.storage import delete_after_commit, storage
from lms.extensions import db
from lms.uploads.models import Upload, UploadState
from lms.users.models import User

COPY_BLOCK = 64 * 1024


@dataclass(frozen=True)
class Purpose:
    """What an upload is for: who may send it, how big it may be, which contents it may hold."""

    key: str
    max_bytes: Callable[[], int]
    allowed_types: frozenset[str]
    may_upload: Callable[[User], bool] = lambda user: True


PURPOSES: dict[str, Purpose] = {}


def register_purpose(purpose: Purpose) -> Purpose:
    """Let a domain accept uploads for ``purpose.key`` (video, evidence ...)."""
    PURPOSES[purpose.key] = purpose
    return purpose


#: How long a completely uploaded file waits for the form that uses it.
COMPLETE_UPLOAD_WAIT = timedelta(hours=6)
#: Uploads whose bytes are still the upload's own.
_UNCLAIMED = (UploadState.RECEIVING, UploadState.COMPLETE)


class ChunkConflict(Exception):
    """A chunk that does not start where the stored bytes end; carries the right offset."""

    def __init__(self, offset: int) -> None:
        super().__init__(f"expected offset {offset}")
        self.offset = offset


def start_upload(owner: User, *, purpose: str, filename: str, size: int) -> Upload:
    """Announce a file; returns the upload to send chunks to."""
    spec = PURPOSES.get(purpose)
    if spec is None or not spec.may_upload(owner):
        raise Forbidden()
    if size <= 0:
        raise UserError(_l("The file is empty."), "file")
    limit = spec.max_bytes()
    _forget_expired(owner)
    # Finished but never used files count too: each holds its bytes until it expires.
    open_uploads = db.session.scalar(select(func.count(Upload.id)).where(
        Upload.owner_id == owner.id, Upload.state.in_(_UNCLAIMED),
        Upload.expires_at >= utcnow()))
    if open_uploads >= current_app.config["UPLOAD_MAX_OPEN"]:
        raise UserError(_l("You have too many unfinished uploads. Finish or cancel one "
                           "before starting another."), "file")
    if size > limit:
        raise UserError(_l("The file is larger than the limit of %(mb)s MB.",
                           mb=limit // 2**20), "file")
    _forget_expired()
    token = secrets.token_hex(16)
    name = one_line(os.path.basename(filename.replace("\\", "/"))) or "file"
    upload = Upload(id=token, owner_id=owner.id, purpose=purpose, filename=name[:255],
                    size=size, key=f"uploads/{token[:2]}/{token}.part",
                    expires_at=utcnow() + timedelta(
                        hours=current_app.config["UPLOAD_EXPIRE_HOURS"]))
    path = storage().path(upload.key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    db.session.add(upload)
    db.session.flush()
    return upload


def get_upload(upload_id: str, owner: User) -> Upload:
    """The caller's own upload (anyone else's is as good as missing)."""
    upload = db.session.get(Upload, upload_id) if len(upload_id) == 32 else None
    if upload is None or upload.owner_id != owner.id or upload.state == UploadState.ABORTED:
        raise NotFound()
    return upload


def spool_chunk(stream: IO[bytes], length: int, upload: Upload) -> tuple[Path, str]:
    """Receive a chunk's bytes into a temporary file beside the upload, before any lock.

    The network is the slow part; nothing is locked or written to the upload
    while a learner's phone trickles a chunk in. Returns the file and its SHA-256.
    """
    if length <= 0 or length > current_app.config["UPLOAD_CHUNK_BYTES"]:
        raise UserError(_l("A chunk must hold between 1 byte and %(kb)s KB.",
                           kb=current_app.config["UPLOAD_CHUNK_BYTES"] // 1024))
    final = storage().path(upload.key)
    tmp = final.with_name(f"{final.name}.{secrets.token_hex(4)}.chunk")
    digest = hashlib.sha256()
    written = 0
    try:
        with open(tmp, "wb") as fh:
            while written < length:
                block = stream.read(min(COPY_BLOCK, length - written))
                if not block:
                    break
                digest.update(block)
                fh.write(block)
                written += len(block)
    except BaseException:  # the connection dropped mid-chunk (ClientDisconnected), a full disk
        tmp.unlink(missing_ok=True)
        raise
    if written != length:
        tmp.unlink(missing_ok=True)
        raise UserError(_l("The chunk arrived incomplete; send it again."))
    return tmp, digest.hexdigest()


def receive_chunk(upload: Upload, offset: int, chunk: Path, sha256: str,
                  expected_sha256: str | None = None) -> int:
    """Append a spooled chunk at ``offset``; returns the new stored offset.

    Refuses (``ChunkConflict``) a chunk that does not start where the stored
    bytes end: a repeat, an out-of-order chunk, or one another tab stored first.
    """
    try:
        length = chunk.stat().st_size
        if upload.state != UploadState.RECEIVING or offset != upload.received:
            raise ChunkConflict(upload.received)
        if offset + length > upload.size:
            raise UserError(_l("This chunk goes beyond the size announced for the file."))
        if expected_sha256 and sha256 != expected_sha256.lower():
            raise UserError(_l("The chunk was damaged on the way; send it again."))
        if offset == 0:
            with open(chunk, "rb") as fh:
                _check_first_bytes(upload, fh.read(16))
        # Compare-and-set first: if another request stored this offset, it won.
        result = db.session.execute(
            update(Upload).where(Upload.id == upload.id, Upload.received == offset)
            .values(received=offset + length, updated_at=utcnow())
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:
            db.session.refresh(upload)
            raise ChunkConflict(upload.received)
        with open(storage().path(upload.key), "r+b") as out, open(chunk, "rb") as src:
            out.seek(offset)
            shutil.copyfileobj(src, out, COPY_BLOCK)
            out.truncate(offset + length)
            out.flush()
            os.fsync(out.fileno())
        db.session.refresh(upload)
        return upload.received
    finally:
        chunk.unlink(missing_ok=True)


class ContentRejected(UserError):
    """The first bytes show a kind of file this upload may not hold."""


def _check_first_bytes(upload: Upload, head: bytes) -> None:
    kind = sniff(head)
    if kind not in PURPOSES[upload.purpose].allowed_types:
        raise ContentRejected(_l("This kind of file cannot be uploaded here."), "file")
    upload.content_type = kind


def complete_upload(upload: Upload) -> Upload:
    """Mark an upload whole once every announced byte is stored."""
    if upload.state == UploadState.COMPLETE:
        return upload
    if upload.state != UploadState.RECEIVING or upload.received != upload.size:
        raise UserError(_l("The file is not completely uploaded yet."), "file")
    upload.state = UploadState.COMPLETE
    # A whole file waits a while for the form that uses it (a refused form can be sent
    # again without uploading again), not days: it counts against its owner's limit.
    upload.expires_at = min(upload.expires_at, utcnow() + COMPLETE_UPLOAD_WAIT)
    db.session.flush()
    return upload


def store_file(owner: User, *, purpose: str, filename: str, stream: IO[bytes],
               size: int) -> Upload:
    """A whole file posted by a plain form (no JavaScript): the same checks, in one go.

    The form's body was already received by the time the view runs.
    """
    upload = start_upload(owner, purpose=purpose, filename=filename, size=size)
    offset, chunk_bytes = 0, current_app.config["UPLOAD_CHUNK_BYTES"]
    try:
        while offset < size:
            chunk, digest = spool_chunk(stream, min(chunk_bytes, size - offset), upload)
            offset = receive_chunk(upload, offset, chunk, digest)
        return complete_upload(upload)
    except BaseException:
        # The caller rolls the row back; the bytes must not outlive it.
        storage().delete(upload.key)
        raise


def claim_upload(upload_id: str, owner: User, purpose: str) -> Upload:
    """The domain that asked for the file takes it over (once)."""
    upload = get_upload(upload_id, owner)
    if upload.purpose != purpose:
        raise NotFound()
    if not _move(upload, (UploadState.COMPLETE,), UploadState.CLAIMED):
        raise UserError(_l("The file is not completely uploaded yet."), "file")
    return upload


def abort_upload(upload: Upload) -> None:
    """Give up an upload and delete its bytes (once the caller commits).

    A claimed upload's bytes belong to what claimed it (a video's source, say)
    and are not the upload's to delete.
    """
    if not _move(upload, _UNCLAIMED, UploadState.ABORTED):
        raise UserError(_l("This file is already in use; it can no longer be cancelled."),
                        "file")
    delete_after_commit(upload.key)


def _move(upload: Upload, from_states: tuple[UploadState, ...], to: UploadState) -> bool:
    """Change the upload's state if it is still in one of ``from_states``, checked by the
    database itself: a claim and a cancellation at the same moment cannot both win."""
    result = db.session.execute(
        update(Upload).where(Upload.id == upload.id, Upload.state.in_(from_states))
        .values(state=to, updated_at=utcnow()).execution_options(synchronize_session=False))
    db.session.refresh(upload)
    return result.rowcount == 1


def _forget_expired(owner: User | None = None, limit: int = 20) -> None:
    """Delete a few expired, unclaimed uploads (anyone's, or ``owner``'s) as new ones start."""
    stmt = select(Upload).where(Upload.expires_at < utcnow(), Upload.state.in_(_UNCLAIMED))
    if owner is not None:
        stmt = stmt.where(Upload.owner_id == owner.id)
    for upload in db.session.scalars(stmt.limit(limit)).all():
        abort_upload(upload)
