"""Video operations: add an upload to the library, follow it through probing and
transcoding, subtitle it, attach it to lessons, delete it. They flush, never commit.

Files are deleted only once the unit of work that let go of them has committed,
so a rollback never leaves a row pointing at nothing.
"""

from __future__ import annotations

import logging
import math
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from werkzeug.exceptions import Forbidden

from lms.core import jobs, signals
from lms.core.db import utcnow
from lms.core.errors import UserError
from lms.core.i18n import one_line
from lms.core.storage import delete_after_commit, delete_after_rollback, storage
from lms.courses import operations as course_operations
from lms.courses import permissions as course_permissions
from lms.courses.models import Course, Enrolment, Lesson, LessonProgress
from lms.extensions import db
from lms.uploads.operations import Purpose, claim_upload, register_purpose
from lms.users.models import User
from lms.video import permissions, util
from lms.video.models import (
    SUBTITLE_LANGS,
    Subtitle,
    Video,
    VideoLesson,
    VideoOrigin,
    VideoState,
    WatchRecord,
)
from lms.video.probe import ProbeResult, VideoRejected
from lms.video.subtitles import SubtitleRejected, parse_subtitles
from lms.video.transcode import TranscodeResult
from lms.video.watch import ReportRejected, WatchState, credit_report, is_complete, measure

log = logging.getLogger(__name__)

TRANSCODE_JOB = "video.transcode"
VIDEO_TYPES = frozenset({"video/mp4", "video/x-matroska"})

register_purpose(Purpose("video", lambda: current_app.config["UPLOAD_MAX_BYTES"],
                         VIDEO_TYPES, permissions.can_upload_video))


# --- files let go of on commit -------------------------------------------------------

def problem_of(exc: BaseException) -> dict[str, Any] | None:
    """An exception's translatable reason, as stored for later readers."""
    return jobs.describe_error(exc)[0]


# --- the library --------------------------------------------------------------------------

def add_video(actor: User, upload_id: str, *, title: str | None = None) -> Video:
    """Put a finished upload into the actor's institution library and queue its checks.

    The file stays where the upload stored it (a server-made name); nothing
    reads it before the job's probe.
    """
    if not permissions.can_upload_video(actor):
        raise Forbidden()
    upload = claim_upload(upload_id, actor, "video")
    title = one_line(title) or upload.filename.rsplit(".", 1)[0] or upload.filename
    media_dir = storage().new_key("videos")
    video = Video(institution_id=actor.institution_id, uploader_id=actor.id, title=title[:200],
                  filename=upload.filename, size_bytes=upload.size, source_key=upload.key,
                  renditions_key=f"{media_dir}/hls", state=VideoState.UPLOADED)
    db.session.add(video)
    db.session.flush()
    jobs.enqueue(TRANSCODE_JOB, subject=util.subject_of(video), owner_id=actor.id,
                 video_id=video.id)
    return video


def take_evidence_video(evidence: Any) -> Video:
    """A learner's practical evidence video goes through the same probe and transcode.

    Called by the assessment domain (``EVIDENCE_VIDEO_HANDLERS``) inside its unit of
    work. The file stays the evidence's own; the video notes its id in ``evidence.meta``.
    """
    submission = evidence.submission
    course = db.session.get(Course, submission.task.course_id)
    media_dir = storage().new_key("videos")
    video = Video(institution_id=course.institution_id, uploader_id=submission.user_id,
                  title=evidence.filename[:200], filename=evidence.filename,
                  size_bytes=evidence.size, source_key=evidence.key,
                  renditions_key=f"{media_dir}/hls", origin=VideoOrigin.EVIDENCE)
    db.session.add(video)
    db.session.flush()
    evidence.meta = {**(evidence.meta or {}), "video": video.id}
    jobs.enqueue(TRANSCODE_JOB, subject=util.subject_of(video), owner_id=submission.user_id,
                 video_id=video.id)
    db.session.flush()
    return video


def media_dir_of(video: Video) -> str:
    """The directory of everything made from a video: its renditions, subtitles, and what a
    killed transcode left half-written (``.hls.partial-*``)."""
    return video.renditions_key.rsplit("/", 1)[0]


def discard_evidence_video(evidence: Any) -> None:
    """The learner removed their evidence: its video row goes, and its renditions once this
    commits (the source is the evidence's own file, which assessment deletes).

    A transcode still under way finds the row gone and removes what it wrote.
    """
    video = util.evidence_video(evidence)
    if video is None:
        return
    delete_after_commit(media_dir_of(video))
    db.session.delete(video)
    db.session.flush()


def rename_video(actor: User, video: Video, title: str) -> None:
    """Change the title the library and lesson editors show."""
    if not permissions.can_edit_video(actor, video):
        raise Forbidden()
    title = one_line(title)
    if not title:
        raise UserError(_l("Give the video a title."), "title")
    video.title = title[:200]
    db.session.flush()


def reject_video(video: Video, rejection: VideoRejected) -> None:
    """The probe refused the file: say why, and delete it."""
    log.info("video %s rejected (%s): %s", video.id, rejection.code, rejection.detail)
    video.state = VideoState.REJECTED
    video.problem, video.problem_code = problem_of(rejection), rejection.code
    if video.owns_source:
        delete_after_commit(video.source_key)
        video.source_key = None
    db.session.flush()


def mark_ready(video: Video, probe: ProbeResult, result: TranscodeResult) -> None:
    """The renditions are in place: the video can be played; the upload is no longer needed."""
    video.state = VideoState.READY
    video.probe = asdict(probe)
    video.duration_s = probe.duration_s
    video.renditions = [{"key": r.key, "width": r.width, "height": r.height,
                         "bandwidth": r.bandwidth} for r in result.rungs]
    video.download_rung = result.download_key
    video.problem = video.problem_code = None
    video.ready_at = utcnow()
    if video.owns_source:
        delete_after_commit(video.source_key)
        video.source_key = None
    db.session.flush()
    signals.video_ready.send(video, video=video)


def retry_video(actor: User | None, video: Video) -> None:
    """Start a failed video's processing again, with a fresh set of attempts.

    ``actor`` is None for the command line, whose user runs the installation.
    """
    if actor is not None and not permissions.can_edit_video(actor, video):
        raise Forbidden()
    status = util.video_status(video)
    if status.state != VideoState.FAILED:
        raise UserError(_l("Only a video whose processing failed can be tried again."))
    if not video.source_key or not storage().exists(video.source_key):
        raise UserError(_l("The uploaded file is no longer there; please upload the video "
                           "again."))
    video.state = VideoState.UPLOADED
    video.problem = video.problem_code = None
    db.session.flush()
    if status.job is not None and status.job.state == jobs.JobState.FAILED:
        jobs.retry(status.job)
    else:
        jobs.enqueue(TRANSCODE_JOB, subject=util.subject_of(video), owner_id=video.uploader_id,
                     video_id=video.id)


def delete_video(actor: User, video: Video) -> None:
    """Remove a video nobody's lesson plays, with its files (once this commits)."""
    if not permissions.can_edit_video(actor, video):
        raise Forbidden()
    if util.video_status(video).active:
        raise UserError(_l("The video is still being processed; delete it when it is done."))
    if util.lessons_playing(video):
        raise UserError(_l("Lessons play this video; choose another video for them first."))
    if video.owns_source:
        delete_after_commit(video.source_key)
    delete_after_commit(media_dir_of(video))
    db.session.delete(video)
    db.session.flush()


# --- subtitles --------------------------------------------------------------------------------

def save_subtitle(actor: User, video: Video, language: str, data: bytes,
                  filename: str) -> Subtitle:
    """Add or replace a video's subtitles in one language, from a WebVTT or SRT file."""
    if not permissions.can_edit_video(actor, video):
        raise Forbidden()
    if language not in SUBTITLE_LANGS:
        raise UserError(_l("Choose the language of the subtitles."), "language")
    try:
        vtt = parse_subtitles(data, filename,
                              max_bytes=current_app.config["VIDEO_SUBTITLE_MAX_BYTES"])
    except SubtitleRejected as rejected:
        raise UserError(rejected.reason, "file") from None
    # Two tabs adding the same language take turns: the second replaces the first's file.
    db.session.refresh(video, with_for_update=True)
    db.session.expire(video, ["subtitles"])
    key = f"{media_dir_of(video)}/subtitles/{language}-{secrets.token_hex(4)}.vtt"
    storage().save_bytes(key, vtt.encode("utf-8"))
    delete_after_rollback(key)
    subtitle = next((s for s in video.subtitles if s.language == language), None)
    if subtitle is None:
        subtitle = Subtitle(language=language, key=key, filename="")
        video.subtitles.append(subtitle)
    else:
        delete_after_commit(subtitle.key)
        subtitle.key = key
    subtitle.filename = (filename or "").rsplit("/", 1)[-1][:255]
    subtitle.created_at = utcnow()
    db.session.flush()
    _content_changed(video)
    return subtitle


def delete_subtitle(actor: User, video: Video, language: str) -> None:
    """Remove a video's subtitles in one language."""
    if not permissions.can_edit_video(actor, video):
        raise Forbidden()
    subtitle = next((s for s in video.subtitles if s.language == language), None)
    if subtitle is not None:
        delete_after_commit(subtitle.key)
        video.subtitles.remove(subtitle)
        db.session.flush()
        _content_changed(video)


def _content_changed(video: Video) -> None:
    """Published courses whose lessons play ``video`` changed what they say (search listens)."""
    courses = {lesson.course_id for lesson in util.lessons_playing(video)}
    for course in db.session.scalars(select(Course).where(Course.id.in_(courses))):
        if course.is_published:
            signals.course_published.send(course, course=course)


# --- lessons --------------------------------------------------------------------------------

def attach_video(actor: User, lesson: Lesson, video: Video) -> None:
    """Make a video lesson play ``video`` (a video of the course's institution)."""
    course = db.session.get(Course, lesson.course_id)
    if not course_permissions.can_edit_course(actor, course):
        raise Forbidden()
    if not permissions.can_use_video(actor, video):  # a library video, never evidence
        raise Forbidden()
    if lesson.kind != "video":
        raise UserError(_l("Only a video lesson can play a video."))
    if not permissions.can_attach_to_course(video, course):
        raise UserError(_l("Choose a video from this course's institution."), "video_id")
    if video.state in (VideoState.REJECTED, VideoState.FAILED):
        raise UserError(_l("This video cannot be played; choose another."), "video_id")
    link = db.session.get(VideoLesson, lesson.id)
    if link is None:
        db.session.add(VideoLesson(lesson_id=lesson.id, video_id=video.id))
    else:
        link.video_id = video.id
    db.session.flush()
    if course.is_published:
        signals.course_published.send(course, course=course)


# --- watching ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class WatchReport:
    """What a report changed, for the player's status line."""

    credited_s: float
    watched_s: float
    percent: int
    complete: bool


@dataclass(frozen=True)
class Heard:
    """One report as the server heard it: the segments played, where the player was, when."""

    segments: Any
    position_s: float | None
    at: datetime


def record_watch(enrolment: Enrolment, lesson: Lesson, video: Video, segments: Any, *,
                 position_s: float | None = None, now: datetime | None = None) -> WatchReport:
    """Merge a player's report of played segments into the learner's record of the lesson.

    The learner's study clock, then the lesson's record, are locked from load to
    store, so reports from two tabs (of one video or of two, or a video and a
    text being read) are merged one after the other: the same seconds count
    once, and time that passed counts once whatever was playing. The lesson
    completes when the unique watched seconds cover the threshold of the
    video's duration. A refused report raises :class:`ReportRejected`.
    """
    return _merge(enrolment, lesson, video, [(segments, position_s, now)], strict=True)


def record_heard(enrolment: Enrolment, lesson: Lesson, video: Video,
                 reports: list[Heard]) -> WatchReport:
    """Merge reports taken in earlier (the spool's heartbeats), in the order they arrived,
    each timed when it arrived; a refused one is skipped, the others count."""
    return _merge(enrolment, lesson, video,
                  [(r.segments, r.position_s, r.at) for r in sorted(reports, key=lambda r: r.at)],
                  strict=False)


def _merge(enrolment: Enrolment, lesson: Lesson, video: Video,
           reports: list[tuple[Any, float | None, datetime | None]], *,
           strict: bool) -> WatchReport:
    config = current_app.config
    duration = video.duration_s or 0.0
    if not video.is_ready or duration <= 0:
        raise UserError(_l("This video cannot be played yet."))
    clock = course_operations.study_clock(enrolment.user_id)
    record = _locked_record(enrolment.user_id, lesson.id, video.id)
    state = WatchState(intervals=WatchState.from_dict(record.state or {}).intervals,
                       last_report_at=clock.last_report_at, carry_s=clock.carry_s)
    credited, latest = 0.0, None
    for segments, position_s, at in reports:
        # Read once the clock is ours: a report that waited for the lock behind another
        # tab's is timed after it, not before (which would count it as overtaken).
        now = at or utcnow()
        if not strict and state.last_report_at is not None \
                and now.timestamp() <= state.last_report_at:
            continue  # heard before the clock last moved: overtaken, or folded already
        try:
            outcome = credit_report(state, segments, now=now.timestamp(), duration=duration,
                                    tolerance_s=config["VIDEO_WATCH_TOLERANCE_S"])
        except ReportRejected:
            if strict:
                raise
            continue
        overtaken = state.last_report_at is not None and now.timestamp() < state.last_report_at
        state, credited, latest = outcome.state, credited + outcome.credited_s, now
        if overtaken:  # a later report already placed the player and moved the clock
            continue
        if isinstance(position_s, int | float) and math.isfinite(position_s):
            record.position_s = min(max(float(position_s), 0.0), duration)
        record.updated_at = now
    total = measure(state.intervals)
    if latest is None:  # every report refused: nothing moves, nothing is made
        completed_at = db.session.scalar(select(LessonProgress.completed_at).where(
            LessonProgress.enrolment_id == enrolment.id, LessonProgress.lesson_id == lesson.id))
        return WatchReport(0.0, total, util.watched_percent(total, video),
                           completed_at is not None)
    now = latest
    clock.last_report_at, clock.carry_s = state.last_report_at, state.carry_s
    record.state = {"intervals": [list(i) for i in state.intervals]}
    record.watched_s = total
    progress = course_operations.progress_for(enrolment, lesson)
    if course_operations.activity_is_stale(enrolment, now):
        course_operations.touch(enrolment, now)
    db.session.flush()
    # The lesson's study time is every video it played to this learner: one swapped in by
    # the instructor half-way adds its seconds to those watched of the first.
    lesson_s = int(db.session.scalar(select(func.coalesce(func.sum(WatchRecord.watched_s), 0))
                                     .where(WatchRecord.user_id == enrolment.user_id,
                                            WatchRecord.lesson_id == lesson.id)) or 0)
    if progress.completed_at is None:
        progress.verified_seconds = max(progress.verified_seconds, lesson_s)
    db.session.flush()
    threshold = config["VIDEO_COMPLETION_THRESHOLD"]
    if progress.completed_at is None and is_complete(state, duration, threshold):
        course_operations.complete_lesson(
            progress, verified_seconds=max(progress.verified_seconds, lesson_s), now=now,
            evidence={"video": video.id, "watched_s": round(total, 1),
                      "intervals": [[round(s, 2), round(e, 2)] for s, e in state.intervals]})
    return WatchReport(credited, total, util.watched_percent(total, video),
                       progress.completed_at is not None)


def _locked_record(user_id: int, lesson_id: int, video_id: int) -> WatchRecord:
    """The learner's record of a lesson's video, created if need be, locked until the commit."""
    return db.one_or_create(
        select(WatchRecord).where(WatchRecord.user_id == user_id,
                                  WatchRecord.lesson_id == lesson_id,
                                  WatchRecord.video_id == video_id),
        lambda: WatchRecord(user_id=user_id, lesson_id=lesson_id, video_id=video_id, state={}),
        locked=True)
