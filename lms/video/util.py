"""Read-side helpers: settings as typed objects, a video's status, the library, media files,
and what video adds to the progress table and to search."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, select
from sqlalchemy.orm import defer
from werkzeug.exceptions import Forbidden, NotFound

from lms.core.i18n import CONTENT_LANGS, labelled
from lms.core.jobs import Job, JobState
from lms.core.storage import storage
from lms.courses import permissions as course_permissions
from lms.courses.models import Course, Enrolment, Lesson
from lms.courses.util import LESSON_BODIES_DEFERRED, PROGRESS_COLUMNS, outline
from lms.extensions import db
from lms.users.models import Role, User
from lms.video.models import Video, VideoLesson, VideoOrigin, VideoState, WatchRecord
from lms.video.probe import ProbeLimits
from lms.video.renditions import RenditionProfile, build_profiles
from lms.video.subtitles import subtitle_text

# --- settings ---------------------------------------------------------------


def probe_limits() -> ProbeLimits:
    """The probe limits from the settings; the size limit is the upload limit."""
    config = current_app.config
    return ProbeLimits.from_config({**config, "VIDEO_MAX_BYTES": config["UPLOAD_MAX_BYTES"]})


def rendition_profiles() -> dict[str, RenditionProfile]:
    """The rendition ladder: the registry with ``VIDEO_RENDITIONS`` applied."""
    return build_profiles(current_app.config["VIDEO_RENDITIONS"])


# --- a lesson's video and who may play it -------------------------------------------

#: Texts a segment or a report never needs: left in the database.
_LONG_TEXTS = (*LESSON_BODIES_DEFERRED,
               *(defer(getattr(Course, f"summary_{lang}")) for lang in CONTENT_LANGS))


@dataclass
class LessonVideo:
    """A video lesson, its ready video, and the user's place in the course."""

    course: Course
    lesson: Lesson
    video: Video
    enrolment: Enrolment | None


def find_lesson_video(user: Any, course_id: int, lesson_id: int, *,
                      learners_only: bool = False) -> LessonVideo:
    """The video a lesson plays, for the course's enrolled learners and its staff.

    Raises ``NotFound`` (no such lesson video, or one ``user`` may not know of) or
    ``Forbidden`` (not enrolled, nor staff; or a lesson still locked to the learner).
    Every segment and every watch report comes through here, the spooled ones when they
    are folded, so course, lesson, video and enrolment are read in one query; the rules
    are the courses' own.
    """
    row = db.session.execute(
        select(Course, Lesson, Video, Enrolment)
        .join(Lesson, Lesson.course_id == Course.id)
        .join(VideoLesson, VideoLesson.lesson_id == Lesson.id)
        .join(Video, Video.id == VideoLesson.video_id)
        .outerjoin(Enrolment, and_(Enrolment.course_id == Course.id,
                                   Enrolment.user_id == user.id))
        .where(Course.id == course_id, Lesson.id == lesson_id)
        .options(*_LONG_TEXTS)).first()
    if row is None:
        raise NotFound()
    course, lesson, video, enrolment = row
    if not course_permissions.can_view_course(user, course, enrolment):
        raise NotFound()
    enrolled = enrolment is not None and enrolment.is_active
    staff = not learners_only and not enrolled and course_permissions.can_edit_course(
        user, course)
    if not (enrolled or staff):
        raise Forbidden()
    if not video.is_ready or not (lesson.is_published or staff):
        raise NotFound()
    if enrolled and course.sequential:
        item = outline(course, enrolment).item(lesson.id)
        if item is None or item.locked:
            raise Forbidden()
    return LessonVideo(course, lesson, video, enrolment if enrolled else None)


# --- status -----------------------------------------------------------------------


def subject_of(video: Video | int) -> str:
    """The job subject that ties a job row to a video."""
    return f"video:{video if isinstance(video, int) else video.id}"


def latest_job(video: Video) -> Job | None:
    """The video's most recent job."""
    return db.session.scalar(select(Job).where(Job.subject == subject_of(video))
                             .order_by(Job.id.desc()).limit(1))


@dataclass
class VideoStatus:
    """What the instructor's page shows about a video's processing."""

    state: VideoState
    percent: int
    message: str
    job: Job | None

    @property
    def active(self) -> bool:
        return self.state.is_active

    def to_json(self) -> dict[str, Any]:
        return {"state": self.state.value, "label": self.state.label, "percent": self.percent,
                "message": self.message, "active": self.active}


def video_status(video: Video) -> VideoStatus:
    """The video's state as people should see it.

    A job that ran out of attempts without saying why (its worker was killed
    three times, say) leaves the video looking busy; the job row tells the truth.
    """
    job = latest_job(video)
    state, message = video.state, video.problem_text()
    if state.is_active and job is not None and job.state == JobState.FAILED:
        state, message = VideoState.FAILED, job.failure_text()
    elif state.is_active and job is not None and job.error and job.state == JobState.QUEUED:
        message = str(_l("The last attempt did not finish; trying again."))
    percent = 100 if state == VideoState.READY else (
        job.percent if job is not None and state == VideoState.TRANSCODING else 0)
    return VideoStatus(state, percent, message, job)


# --- the library --------------------------------------------------------------------


def library_query(user: User) -> Select:
    """The videos a staff member can see: their institution's, or all for regional admins."""
    stmt = select(Video).where(Video.origin == VideoOrigin.LIBRARY).order_by(Video.id.desc())
    if user.role != Role.REGIONAL_ADMIN:
        stmt = stmt.where(Video.institution_id == user.institution_id)
    return stmt


def choices_for_course(course: Course) -> list[Video]:
    """Videos a lesson of ``course`` may play: its institution's, not rejected or failed."""
    return list(db.session.scalars(
        select(Video).where(Video.institution_id == course.institution_id,
                            Video.origin == VideoOrigin.LIBRARY,
                            Video.state.not_in([VideoState.REJECTED, VideoState.FAILED]))
        .order_by(Video.title, Video.id)))


def evidence_video(evidence: Any) -> Video | None:
    """The video made of a learner's practical evidence (its id is in ``evidence.meta``)."""
    video_id = (evidence.meta or {}).get("video")
    if not isinstance(video_id, int):
        return None
    video = db.session.get(Video, video_id)
    return video if video is not None and video.origin == VideoOrigin.EVIDENCE else None


def video_of(lesson: Lesson) -> Video | None:
    """The video a lesson plays, if one is attached."""
    link = db.session.get(VideoLesson, lesson.id)
    return link.video if link is not None else None


def lessons_playing(video: Video) -> list[Lesson]:
    """The lessons that play ``video``."""
    return list(db.session.scalars(
        select(Lesson).join(VideoLesson, VideoLesson.lesson_id == Lesson.id)
        .where(VideoLesson.video_id == video.id).order_by(Lesson.course_id, Lesson.id)))


def watch_record(user: User, lesson: Lesson, video: Video) -> WatchRecord | None:
    """What ``user`` has watched of ``video`` in ``lesson`` so far."""
    return db.session.scalar(select(WatchRecord).where(WatchRecord.user_id == user.id,
                                                       WatchRecord.lesson_id == lesson.id,
                                                       WatchRecord.video_id == video.id))


def watched_percent(watched_s: float, video: Video) -> int:
    """Unique watched seconds as a whole percentage of the video (never above 100)."""
    if not video.duration_s:
        return 0
    return min(100, int(100 * watched_s / video.duration_s))


# --- media files ------------------------------------------------------------------------

_MEDIA_NAME = re.compile(r"^(?P<rung>[A-Za-z0-9]{1,16})(?P<segment>_\d{5})?\.(?P<ext>m3u8|ts)$")
#: Segments and playlists never change once written; a day in the learner's own cache
#: saves a weak network from fetching them twice.
SEGMENT_MAX_AGE = 24 * 3600


@dataclass(frozen=True)
class MediaFile:
    """A file of a video that may be served: its key, type and how long it may be cached."""

    key: str
    mimetype: str
    max_age: int


def media_file(video: Video, name: str) -> MediaFile | None:
    """The served file called ``name`` in a ready video's renditions, or None.

    Only names the transcoder writes are served: the master playlist, each
    rung's playlist and segments, the download and the poster.
    """
    if not video.is_ready or not video.renditions_key:
        return None
    base = video.renditions_key
    if name == "download.mp4":
        return MediaFile(f"{base}/{name}", "video/mp4", SEGMENT_MAX_AGE)
    if name == "poster.jpg":
        return MediaFile(f"{base}/{name}", "image/jpeg", SEGMENT_MAX_AGE)
    match = _MEDIA_NAME.match(name)
    if match is None:
        return None
    rung, segment, ext = match.group("rung"), match.group("segment"), match.group("ext")
    rungs = {r["key"] for r in video.renditions or []}
    if rung == "master" and ext == "m3u8" and not segment:
        return MediaFile(f"{base}/{name}", "application/vnd.apple.mpegurl", SEGMENT_MAX_AGE)
    if rung not in rungs or (ext == "ts") != bool(segment):
        return None
    mimetype = "video/mp2t" if ext == "ts" else "application/vnd.apple.mpegurl"
    return MediaFile(f"{base}/{name}", mimetype, SEGMENT_MAX_AGE)


def download_size(video: Video) -> int | None:
    """Bytes of the download MP4, for the link's label."""
    media = media_file(video, "download.mp4")
    try:
        return storage().size(media.key) if media else None
    except OSError:
        return None


# --- what video adds to other domains' pages --------------------------------------------


def _watched_column(course: Course, enrolment_ids: list[int]) -> dict[int, str]:
    """Each learner's watched share of each video lesson of the course."""
    lessons = db.session.execute(
        select(Lesson, Video).join(VideoLesson, VideoLesson.lesson_id == Lesson.id)
        .join(Video, Video.id == VideoLesson.video_id)
        .where(Lesson.course_id == course.id)
        .order_by(Lesson.section_position, Lesson.position)).all()
    if not lessons or not enrolment_ids:
        return {}
    users = dict(db.session.execute(select(Enrolment.id, Enrolment.user_id)
                                    .where(Enrolment.id.in_(enrolment_ids))).all())
    records = db.session.scalars(select(WatchRecord).where(
        WatchRecord.user_id.in_(set(users.values())),
        WatchRecord.lesson_id.in_({lesson.id for lesson, _ in lessons})))
    watched = {(r.user_id, r.lesson_id, r.video_id): r.watched_s for r in records}
    values = {}
    for enrolment_id, user_id in users.items():
        values[enrolment_id] = " · ".join(
            labelled(lesson.title,
                     f"{watched_percent(watched.get((user_id, lesson.id, video.id), 0.0), video)}%")
            for lesson, video in lessons)
    return values


def lesson_subtitle_text(lesson: Lesson) -> str:
    """The words of a video lesson's subtitles, for search."""
    if lesson.kind != "video":
        return ""
    video = video_of(lesson)
    if video is None:
        return ""
    texts = []
    for subtitle in video.subtitles:
        try:
            texts.append(subtitle_text(storage().path(subtitle.key).read_text(encoding="utf-8")))
        except OSError:
            continue
    return "\n".join(texts)


PROGRESS_COLUMNS.append((_l("Video watched"), _watched_column))
