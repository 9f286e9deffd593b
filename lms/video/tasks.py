"""The transcode job: probe the upload, write the ladder, then mark the video ready.

Everything slow happens outside any write transaction; the video's state and
the job's progress are written through short independent sessions so the
instructor's page sees them at once. A worker killed mid-job leaves the source
in place and the outputs only in a temporary directory beside the final one,
so the sweeper's re-run starts cleanly from the beginning.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, update
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from lms.core.errors import UserError
from lms.core.jobs import EVERY_MINUTE, Job, JobContext, JobFailed, job
from lms.core.storage import storage
from lms.courses.operations.learning import BEFORE_CLOCK_READ
from lms.extensions import db
from lms.users.models import User
from lms.video import operations, util
from lms.video.models import Video, VideoState
from lms.video.probe import VideoRejected, probe_video
from lms.video.spool import MAX_FOLD_ATTEMPTS, SPOOL_ERRORS, Spool, SpooledReport, spool_of
from lms.video.transcode import TranscodeFailed, transcode

log = logging.getLogger(__name__)

# A video is known by its id and its renditions key together: the row may be deleted while
# its job runs (a learner removes the evidence it was made of), and SQLite hands a deleted
# row's id to the next video. The key is new for every video, so it is never mistaken.


def _note(video_id: int, out_key: str, **values: Any) -> None:
    """Write the video's progress through the pipeline where watchers see it now."""
    with db.independent_session() as s:
        s.execute(update(Video).where(Video.id == video_id, Video.renditions_key == out_key)
                  .values(**values))


def _current(video_id: int, out_key: str) -> Video | None:
    """The video as it is now, locked for the result (the states noted meanwhile were
    written by other sessions); None if it was deleted meanwhile."""
    video = db.session.get(Video, video_id, populate_existing=True, with_for_update=True)
    return video if video is not None and video.renditions_key == out_key else None


@job(operations.TRANSCODE_JOB)
def transcode_video(ctx: JobContext, video_id: int) -> dict[str, Any]:
    """Probe, then transcode an uploaded video; nothing reaches ffmpeg before the probe."""
    video = db.session.get(Video, video_id)
    if video is None:  # removed before its turn came: there is nothing left to do
        return {"state": "deleted"}
    if video.state in (VideoState.READY, VideoState.REJECTED):
        return {"state": video.state.value}  # a duplicate delivery of finished work
    if not video.source_key or not storage().exists(video.source_key):
        raise JobFailed(_l("The uploaded file is no longer there; please upload the video "
                           "again."))
    source = storage().path(video.source_key)
    out_key = video.renditions_key
    out_dir = storage().path(out_key)

    _note(video_id, out_key, state=VideoState.PROBING)
    try:
        probe = probe_video(source, util.probe_limits())
    except VideoRejected as rejected:
        ctx.begin_write()
        current = _current(video_id, out_key)
        if current is None:
            return {"state": "deleted"}
        operations.reject_video(current, rejected)
        return {"state": "rejected", "code": rejected.code}

    _note(video_id, out_key, state=VideoState.TRANSCODING, probe=asdict(probe),
          duration_s=probe.duration_s)
    config = current_app.config
    try:
        result = transcode(source, probe, out_dir, util.rendition_profiles(),
                           on_progress=ctx.progress, timeout_s=config["VIDEO_TRANSCODE_TIMEOUT_S"],
                           preset=config["VIDEO_X264_PRESET"])
    except TranscodeFailed as failed:
        if ctx.attempt >= db.session.get(Job, ctx.job_id).max_attempts:
            _note(video_id, out_key, state=VideoState.FAILED,
                  problem=operations.problem_of(failed),
                  problem_code="transcode")
            raise JobFailed(failed.reason, failed.detail) from None
        raise  # retried; the next attempt starts again from the source

    ctx.begin_write()
    current = _current(video_id, out_key)
    if current is None:  # nobody will play what was just written
        storage().delete(out_key)
        return {"state": "deleted"}
    operations.mark_ready(current, probe, result)
    return {"state": "ready", "rungs": [r.key for r in result.rungs]}


# --- the heartbeat spool -----------------------------------------------------------------

#: Set while heartbeats are being folded: the study clock they lock asks for no fold again.
_folding: ContextVar[bool] = ContextVar("lms_folding_heartbeats", default=False)
#: Spool work to do once the unit of work that folded the heartbeats commits.
_AFTER_COMMIT = "lms_spool_after_commit"

Key = tuple[int, int, int, int, int]


def _segments(text: str) -> Any:
    try:
        return current_app.json.loads(text)  # arrays nested too deep are a ValueError too
    except ValueError:
        return None  # refused as malformed when credited, like a direct report's


def _fold(key: Key, reports: list[SpooledReport]) -> operations.WatchReport | None:
    """Credit one learner's heartbeats on one lesson's video, checked as a direct report is:
    the learner still signed in as they were, enrolled, the lesson open to them."""
    user_id, session_version, course_id, lesson_id, video_id = key
    user = db.session.get(User, user_id)
    if user is None or not user.is_active or user.session_version != session_version:
        return None  # signed out everywhere, or switched off, since the page was opened
    found = util.find_lesson_video(user, course_id, lesson_id, learners_only=True)
    if found.video.id != video_id or found.enrolment is None:
        return None  # the lesson plays another video now
    return operations.record_heard(found.enrolment, found.lesson, found.video, [
        operations.Heard(_segments(r.segments), r.position_s,
                         datetime.fromtimestamp(r.received_at, UTC)) for r in reports])


def _fold_learner(spool: Spool, user_id: int) -> int:
    """Apply the learner's waiting heartbeats in the current unit of work, one savepoint per
    lesson video, in the order they arrived; the spool is told once it commits. Returns how
    many were read.

    A lesson video the learner may no longer watch counts nothing. Any other failure is
    raised: the caller's unit of work must not move the learner's clock past heartbeats
    that were not applied (their time would go to whatever reported next).
    """
    taken = spool.taken(user_id)
    groups: dict[Key, list[SpooledReport]] = {}
    for _batch, reports in taken:
        for r in reports:
            groups.setdefault((r.user_id, r.session_version, r.course_id, r.lesson_id,
                               r.video_id), []).append(r)
    statuses: list[tuple[Key, operations.WatchReport]] = []
    token = _folding.set(True)
    try:
        for key in sorted(groups, key=lambda k: min(r.received_at for r in groups[k])):
            try:
                with db.session.begin_nested():
                    folded = _fold(key, groups[key])
            except (HTTPException, UserError):
                continue  # no longer the learner's to watch: nothing counts
            if folded is not None:
                statuses.append((key, folded))
    finally:
        _folding.reset(token)
    db.session().info.setdefault(_AFTER_COMMIT, []).append(
        (spool, [batch for batch, _ in taken], statuses))
    return sum(len(reports) for reports in groups.values())


def _settle(session: Session) -> None:
    """After the commit: drop the folded batches and note the shares. The spool being away
    only leaves the batches to be folded again, which credits nothing twice."""
    if session.in_nested_transaction():  # a SAVEPOINT released: the work is not done yet
        return
    for spool, batches, statuses in session.info.pop(_AFTER_COMMIT, []):
        try:
            for batch in batches:
                spool.done(batch)
            for (user_id, _, _, lesson_id, video_id), folded in statuses:
                spool.note_status(user_id, lesson_id, video_id, folded.percent,
                                  folded.complete)
        except SPOOL_ERRORS:
            log.warning("the watch spool is unreachable; folded batches are kept",
                        exc_info=True)


def _forget(session: Session, transaction: Any) -> None:
    # Not committed: the batches stay in the spool and are folded again later (a report
    # older than the learner's clock credits nothing twice).
    if transaction.parent is None:
        session.info.pop(_AFTER_COMMIT, None)


if not event.contains(Session, "after_commit", _settle):
    event.listen(Session, "after_commit", _settle)
    event.listen(Session, "after_transaction_end", _forget)


def fold_before_study(user_id: int) -> None:
    """Called with the learner's study clock locked, before anything reads it: apply the
    heartbeats that arrived before this report, so reports count in the order they came.

    With the spool unreachable the report goes on without them: they are folded when it
    is back, and the time they would have earned stays with the report (one clock)."""
    if _folding.get():
        return
    spool = spool_of(current_app)
    try:
        waiting = spool.has_waiting(user_id)
    except SPOOL_ERRORS:
        log.warning("the watch spool is unreachable; study goes on without it", exc_info=True)
        return
    if waiting:
        _fold_learner(spool, user_id)


def _put_back(spool: Spool, user_id: int) -> None:
    """After a failed fold of the learner: their batches go back with one more attempt
    counted, and what failed ``MAX_FOLD_ATTEMPTS`` times is given up."""
    for batch in spool.batches(user_id):
        for report in spool.read(batch):
            if report.attempts + 1 < MAX_FOLD_ATTEMPTS:
                spool.append(replace(report, attempts=report.attempts + 1))
            else:
                log.error("giving up heartbeats of learner %s after %s failed folds",
                          user_id, MAX_FOLD_ATTEMPTS)
        spool.done(batch)


def fold_spool() -> int:
    """Fold every learner's waiting heartbeats, one transaction per learner; returns how
    many were read (0 if another consumer is folding now).

    A batch is dropped only once what it held is committed. A learner whose fold fails
    (the database away) gets their heartbeats back for the next minute, and those that
    failed ``MAX_FOLD_ATTEMPTS`` times are given up. Were the worker to stop half-way,
    folding a batch again credits nothing twice: its seconds merge into the same
    intervals, and a report no newer than the learner's clock is an overtaken one.
    """
    spool = spool_of(current_app)
    read = 0
    with spool.folding() as mine:
        if not mine:
            return 0
        for user_id in spool.learners():
            try:
                read += _fold_learner(spool, user_id)
                db.session.commit()
            except Exception:
                db.session.rollback()
                log.exception("could not fold the heartbeats of learner %s", user_id)
                try:
                    _put_back(spool, user_id)
                except SPOOL_ERRORS:
                    log.warning("the watch spool is unreachable", exc_info=True)
    return read


EVERY_MINUTE["video.fold_spool"] = fold_spool
BEFORE_CLOCK_READ.append(fold_before_study)
