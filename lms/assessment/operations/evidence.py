"""Learners' evidence: the files of a practical submission.

Evidence arrives through the resumable upload (purpose ``evidence``), is
checked by its content, and photos are re-encoded without their metadata.
Videos are stored as they came; the video domain takes them further through
``EVIDENCE_VIDEO_HANDLERS`` (probed, transcoded, played to the reviewer).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.exceptions import Forbidden

from lms.assessment.models import Evidence, PracticalStage, SubmissionState
from lms.assessment.operations.practical import draft_for
from lms.core.errors import UserError
from lms.core.files import clean_image, clean_pdf
from lms.core.storage import delete_after_commit, delete_after_rollback, storage
from lms.courses.models import Enrolment, EnrolmentStatus
from lms.extensions import db
from lms.uploads.models import Upload
from lms.uploads.operations import Purpose, register_purpose
from lms.users.models import User

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
VIDEO_TYPES = {"video/mp4": ".mp4", "video/x-matroska": ".mkv"}
#: Photos and PDFs are read whole to be checked; larger ones are refused.
DOCUMENT_MAX_BYTES = 50 * 2**20


class EvidenceVideoHandler:
    """What a video pipeline does with learners' evidence videos.

    The video domain registers one in ``EVIDENCE_VIDEO_HANDLERS``; with none,
    videos are kept as uploaded and offered as downloads. Assessment keeps the
    permission: whatever a handler makes is served only through the evidence's
    own routes, to whoever may see the evidence.
    """

    def take(self, evidence: Evidence) -> None:
        """A new video evidence, inside the submitting unit of work (flush, never commit);
        note what was made in ``evidence.meta``."""

    def discard(self, evidence: Evidence) -> None:
        """The evidence is being removed: remove what ``take`` made (files after commit)."""

    def media(self, evidence: Evidence, name: str) -> Any:
        """The stored file called ``name`` of the playable video (with ``key``,
        ``mimetype`` and ``max_age``), or None."""
        return None

    def view(self, evidence: Evidence) -> dict[str, Any] | None:
        """What a page shows instead of a bare download: ``{"template": …, …}``, or None."""
        return None


EVIDENCE_VIDEO_HANDLERS: list[EvidenceVideoHandler] = []


def evidence_video_view(evidence: Evidence) -> dict[str, Any] | None:
    """What the registered video pipeline shows of a video evidence (a player, or how far
    it has got), or None: the file is offered as a download only."""
    if evidence.kind != "video":
        return None
    return next((v for v in (h.view(evidence) for h in EVIDENCE_VIDEO_HANDLERS)
                 if v is not None), None)


def _may_send_evidence(user: User) -> bool:
    """Only people enrolled in some course send evidence (nobody else needs the space)."""
    return db.session.scalar(select(Enrolment.id).where(
        Enrolment.user_id == user.id, Enrolment.status != EnrolmentStatus.WITHDRAWN)
        .limit(1)) is not None


EVIDENCE_PURPOSE = register_purpose(Purpose(
    "evidence", lambda: current_app.config["EVIDENCE_MAX_BYTES"],
    IMAGE_TYPES | {"application/pdf"} | frozenset(VIDEO_TYPES), _may_send_evidence))


def _keep(data: bytes, content_type: str) -> tuple[str, bytes, str, str]:
    """Check a photo or PDF by its content: (kind, cleaned bytes, content type, extension)."""
    if content_type in IMAGE_TYPES:
        clean = clean_image(data)
        return "photo", clean.data, clean.content_type, clean.extension
    clean = clean_pdf(data)
    return "pdf", clean.data, clean.content_type, clean.extension


def _link(source: Path, target: Path) -> None:
    """Give a big file a second name without copying it (a copy if the filesystem cannot)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def add_evidence(user: User, enrolment: Enrolment, stage: PracticalStage,
                 upload: Upload) -> Evidence:
    """Attach a claimed upload to the learner's draft for a stage, checked and cleaned."""
    if upload.owner_id != user.id:
        raise Forbidden()
    store = storage()
    name = upload.filename.rsplit("/", 1)[-1][:200] or "file"
    # Before the file is looked at: a refusal here is about the stage, not the file, which
    # stays uploaded for the learner to attach once they may.
    draft = draft_for(user, enrolment, stage)
    if not store.exists(upload.key):
        raise UserError(_l("The uploaded file is no longer there; please send it again."),
                        "file")
    try:
        if upload.content_type in VIDEO_TYPES:
            kind, content_type = "video", upload.content_type
            key = store.new_key("evidence", VIDEO_TYPES[content_type])
            _link(store.path(upload.key), store.path(key))
            delete_after_rollback(key)
            size = store.size(key)
        elif upload.content_type in IMAGE_TYPES | {"application/pdf"}:
            if upload.size > DOCUMENT_MAX_BYTES:
                raise UserError(_l("Photos and PDF files may be at most %(mb)s MB.",
                                   mb=DOCUMENT_MAX_BYTES // 2**20), "file")
            kind, data, content_type, extension = _keep(
                store.path(upload.key).read_bytes(), upload.content_type)
            key = store.new_key("evidence", extension)
            store.save_bytes(key, data)
            delete_after_rollback(key)
            size = len(data)
            if not name.lower().endswith(extension):
                name = name.rsplit(".", 1)[0] + extension
        else:
            raise UserError(_l("Send photos (JPEG, PNG, WebP), a PDF or a video (MP4, MKV)."),
                            "file")
    except UserError:
        # A refused file is of use to nobody, whatever becomes of this unit of work (the
        # caller rolls it back, and a plain-form upload's row goes with it): its bytes go now.
        store.delete(upload.key)
        raise
    # Kept: the evidence's own copy. The upload's bytes go once this is committed, so a
    # rolled-back unit of work leaves the upload whole (and the learner may attach it again).
    delete_after_commit(upload.key)
    evidence = Evidence(submission_id=draft.id, kind=kind, key=key, filename=name,
                        content_type=content_type, size=size)
    db.session.add(evidence)
    db.session.flush()
    if kind == "video":
        for handler in EVIDENCE_VIDEO_HANDLERS:
            handler.take(evidence)
    return evidence


def remove_evidence(user: User, evidence: Evidence) -> None:
    """Take a file out of an unsent submission."""
    submission = evidence.submission
    if submission.user_id != user.id:
        raise Forbidden()
    # Locked until the commit: a submission sent from another tab meanwhile keeps its files.
    db.session.refresh(submission, with_for_update=True)
    if submission.state != SubmissionState.DRAFT:
        raise UserError(_l("Files of a submission that was sent stay as they were."))
    if evidence.kind == "video":
        for handler in EVIDENCE_VIDEO_HANDLERS:
            handler.discard(evidence)
    delete_after_commit(evidence.key)
    db.session.delete(evidence)
    db.session.flush()
