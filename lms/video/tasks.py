"""The transcode job: probe the upload, write the ladder, then mark the video ready.

Everything slow happens outside any write transaction; the video's state and
the job's progress are written through short independent sessions so the
instructor's page sees them at once. A worker killed mid-job leaves the source
in place and the outputs only in a temporary directory beside the final one,
so the sweeper's re-run starts cleanly from the beginning.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import update
from werkzeug.exceptions import HTTPException

from lms.core.errors import UserError
from lms.core.jobs import EVERY_MINUTE, Job, JobContext, JobFailed, job
from lms.core.storage import storage
from lms.extensions import db
from lms.users.models import User
from lms.video import operations, util
from lms.video.models import Video, VideoState
from lms.video.probe import VideoRejected, probe_video
from lms.video.spool import SpooledReport, spool_of
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

def _segments(text: str) -> Any:
    try:
        return current_app.json.loads(text)  # arrays nested too deep are a ValueError too
    except ValueError:
        return None  # refused as malformed when credited, like a direct report's


def _fold(key: tuple[int, int, int, int, int], reports: list[SpooledReport]
          ) -> operations.WatchReport | None:
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


def fold_spool() -> int:
    """Fold every waiting heartbeat into the watch records; returns how many were read.

    One transaction per learner and lesson: what one report cannot be credited for
    (the learner withdrew, the lesson was hidden) costs nothing to the others. A batch
    is dropped only after all of it is committed; were the worker to stop half-way,
    folding it again credits nothing twice (seconds merge into the same intervals, and a
    report older than the clock is an overtaken one).
    """
    spool = spool_of(current_app)
    with spool.taken() as batches:
        groups: dict[tuple[int, int, int, int, int], list[SpooledReport]] = {}
        for _batch, reports in batches:
            for r in reports:
                key = (r.user_id, r.session_version, r.course_id, r.lesson_id, r.video_id)
                groups.setdefault(key, []).append(r)
        for key in sorted(groups):
            try:
                folded = _fold(key, groups[key])
                db.session.commit()
                if folded is not None:
                    user_id, _, _, lesson_id, video_id = key
                    spool.note_status(user_id, lesson_id, video_id, folded.percent,
                                      folded.complete)
            except (HTTPException, UserError):
                db.session.rollback()  # no longer the learner's to watch: nothing counts
            except Exception:
                db.session.rollback()
                log.exception("could not fold the heartbeats of %s", key)
        return sum(len(reports) for reports in groups.values())


EVERY_MINUTE["video.fold_spool"] = fold_spool
