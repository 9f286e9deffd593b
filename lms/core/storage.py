"""Files under the media root: server-chosen names, atomic writes, safe serving.

A stored file is known by its *key*, a relative path the server generated
(``videos/3f/3f2a…/source``); a user's file name is kept only as text for
display and ``Content-Disposition``. Files are written to a temporary name
and renamed into place, so a reader never sees half a file. User files are
served as attachments, or inline under a sandboxing CSP for an allow-listed
type; with ``LMS_MEDIA_X_ACCEL_PREFIX`` the bytes are sent by nginx.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import shutil
import unicodedata
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO
from urllib.parse import quote

from flask import Response, current_app, request, send_file
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.exceptions import NotFound

from lms.core.i18n import one_line
from lms.core.security import SANDBOX_POLICY

log = logging.getLogger(__name__)

#: Types a browser may show inline (under the sandbox policy); all else downloads.
#: PDFs download: a browser's PDF viewer runs scripts the sandbox cannot vouch for.
INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})


class Storage:
    """The media root and the operations on keys below it."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    @staticmethod
    def new_key(area: str, suffix: str = "") -> str:
        """A fresh, unguessable key in ``area`` (e.g. ``videos``), spread over subdirectories."""
        token = secrets.token_hex(16)
        return f"{area}/{token[:2]}/{token}{suffix}"

    def path(self, key: str) -> Path:
        """The absolute path of ``key``; refuses anything that would leave the media root."""
        rel = PurePosixPath(key)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts:
            raise ValueError(f"bad storage key {key!r}")
        path = (self.root / rel).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError(f"storage key {key!r} leaves the media root")
        return path

    def exists(self, key: str) -> bool:
        return self.path(key).exists()

    @contextlib.contextmanager
    def atomic_writer(self, key: str) -> Iterator[BinaryIO]:
        """Write ``key`` through a temporary file renamed into place only on success."""
        final = self.path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(final) as fh:
            yield fh

    def save_bytes(self, key: str, data: bytes) -> None:
        with self.atomic_writer(key) as fh:
            fh.write(data)

    def delete(self, key: str) -> None:
        """Remove a file or a whole directory key; missing is fine."""
        path = self.path(key)
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)

    def size(self, key: str) -> int:
        return self.path(key).stat().st_size


@contextlib.contextmanager
def atomic_file(final: Path, *, mode: int = 0o666) -> Iterator[BinaryIO]:
    """Write ``final`` through a temporary file beside it, renamed into place only if the
    block succeeds: readers see the whole file or none. ``mode`` is filtered by the umask;
    0o600 keeps a file of personal data to its owner."""
    tmp = final.with_name(f".{final.name}.{secrets.token_hex(4)}.part")
    try:
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def storage() -> Storage:
    """The current app's media storage."""
    return current_app.extensions["lms_storage"]


def init_app(app) -> None:
    root = Path(app.config["MEDIA_ROOT"])
    root.mkdir(parents=True, exist_ok=True)
    app.extensions["lms_storage"] = Storage(root)


_SINGLE_RANGE = re.compile(r"bytes=(?:[0-9]+-[0-9]*|-[0-9]+)")


def send_media(key: str, *, mimetype: str, download_name: str | None = None,
               inline: bool = False, max_age: int = 0, private: bool = True) -> Response:
    """Serve a stored file with byte ranges and caching; user files never run on our origin.

    ``inline`` is honoured only for types on ``INLINE_TYPES``, and then under a
    sandboxing Content-Security-Policy; anything else is an attachment.
    """
    store = storage()
    path = store.path(key)
    if not path.is_file():
        raise NotFound()
    inline = inline and mimetype in INLINE_TYPES
    if not _SINGLE_RANGE.fullmatch(request.headers.get("Range", "bytes=0-").strip()):
        # Another unit, several ranges, nonsense: RFC 9110 has the whole file sent instead.
        request.environ.pop("HTTP_RANGE", None)
    if download_name is not None:  # a header cannot carry a line break a name was given
        download_name = one_line(download_name) or "download"
    prefix = current_app.config["MEDIA_X_ACCEL_PREFIX"]
    if prefix:
        response = current_app.response_class(mimetype=mimetype)
        response.headers["X-Accel-Redirect"] = prefix.rstrip("/") + "/" + key
        if download_name is not None:
            _set_disposition(response, "inline" if inline else "attachment", download_name)
    else:
        response = send_file(path, mimetype=mimetype, conditional=True, etag=True,
                             as_attachment=not inline and download_name is not None,
                             download_name=download_name, max_age=max_age)
    if not inline and download_name is None:
        # Media segments and playlists: never rendered as a document.
        response.headers["Content-Disposition"] = "inline" if mimetype.startswith(
            ("video/", "audio/", "application/vnd.apple.mpegurl", "text/vtt")) else "attachment"
    response.headers["Content-Security-Policy"] = SANDBOX_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.cache_control.private = private
    if private:
        response.cache_control.public = False
    return response


def _set_disposition(response: Response, disposition: str, filename: str) -> None:
    """Content-Disposition with the file's name, as ``send_file`` writes it (RFC 6266)."""
    try:
        filename.encode("ascii")
    except UnicodeEncodeError:
        simple = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
        names = {"filename": simple or "download",
                 "filename*": "UTF-8''" + quote(filename, safe="!#$&+^`|~")}
    else:
        names = {"filename": filename}
    response.headers.set("Content-Disposition", disposition, **names)


# --- deleting files together with the rows that point at them ---------------------

_DOOMED = "lms_doomed_keys"
_PROVISIONAL = "lms_provisional_keys"


def delete_after_commit(key: str | None) -> None:
    """Delete a stored file or directory once the current unit of work commits.

    Deleting first and rolling back would leave a row pointing at nothing;
    this way a rolled-back unit of work keeps its files.
    """
    from lms.extensions import db

    if key:
        db.session().info.setdefault(_DOOMED, []).append(key)


def delete_after_rollback(key: str | None) -> None:
    """Delete a file just written for the current unit of work if it rolls back.

    The rows that would have named it are gone then, and nobody else knows the
    file; once the unit of work commits, it is kept.
    """
    from lms.extensions import db

    if key:
        db.session().info.setdefault(_PROVISIONAL, []).append(key)


def _delete(keys: list[str]) -> None:
    for key in keys:
        try:
            storage().delete(key)
        except (OSError, ValueError):
            log.exception("could not delete %s", key)


def _delete_doomed(session: Session) -> None:
    if session.in_nested_transaction():  # a SAVEPOINT released: the work is not done yet
        return
    session.info.pop(_PROVISIONAL, None)
    _delete(session.info.pop(_DOOMED, []))


def _forget_doomed(session: Session, transaction: Any) -> None:
    # Every end of a unit of work that did not commit: a rollback, and also a session closed
    # with its work undone (an exception that left the request), which fires no rollback
    # event. After a commit both lists are already empty.
    if transaction.parent is None:
        session.info.pop(_DOOMED, None)
        _delete(session.info.pop(_PROVISIONAL, []))


if not event.contains(Session, "after_commit", _delete_doomed):
    event.listen(Session, "after_commit", _delete_doomed)
    event.listen(Session, "after_transaction_end", _forget_doomed)
