"""The transcode job: probe the upload, write the ladder, then mark the video ready.

Everything slow happens outside any write transaction; the video's state and
the job's progress are written through short independent sessions so the
instructor's page sees them at once. A worker killed mid-job leaves the source
in place and the outputs only in a temporary directory beside the final one,
so the sweeper's re-run starts cleanly from the beginning.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import update

from lms.core.jobs import Job, JobContext, JobFailed, job
from lms.core.storage import storage
from lms.extensions import db
from lms.video import operations, util
from lms.video.models import Video, VideoState
from lms.video.probe import VideoRejected, probe_video
from lms.video.transcode import TranscodeFailed, transcode

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
