"""Videos of an institution's library, their subtitles, the lessons they play in, and
what each learner has watched."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import Base, TimestampMixin, enum_column, utcnow
from lms.users.models import Institution, User


class VideoState(StrEnum):
    """Where a video is on its way from an upload to something learners can play."""

    UPLOADED = "uploaded"
    PROBING = "probing"
    REJECTED = "rejected"
    TRANSCODING = "transcoding"
    READY = "ready"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return str(VIDEO_STATE_LABELS[self])

    @property
    def is_active(self) -> bool:
        """Work is queued or under way."""
        return self in (VideoState.UPLOADED, VideoState.PROBING, VideoState.TRANSCODING)


VIDEO_STATE_LABELS = {
    VideoState.UPLOADED: _l("Waiting to be checked"),
    VideoState.PROBING: _l("Checking the file"),
    VideoState.REJECTED: _l("Rejected"),
    VideoState.TRANSCODING: _l("Preparing for playback"),
    VideoState.READY: _l("Ready"),
    VideoState.FAILED: _l("Failed"),
}

class VideoOrigin(StrEnum):
    """Who brought the video: an instructor's library upload, or a learner's practical
    evidence (whose file belongs to the assessment domain and is never deleted here)."""

    LIBRARY = "library"
    EVIDENCE = "evidence"


#: Subtitle languages, in column-suffix form (as content languages elsewhere).
SUBTITLE_LANGS = ("bo", "zh", "en")


class Video(TimestampMixin, Base):
    """An uploaded video of an institution's library; its job is the one whose subject is
    ``video:<id>``."""

    __tablename__ = "videos"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    uploader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    #: The name on the uploader's device: shown, never used as a path.
    filename: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    state: Mapped[VideoState] = mapped_column(enum_column(VideoState),
                                              default=VideoState.UPLOADED, index=True)
    origin: Mapped[VideoOrigin] = mapped_column(enum_column(VideoOrigin),
                                                default=VideoOrigin.LIBRARY)
    #: The uploaded file, kept until transcoding has succeeded.
    source_key: Mapped[str | None] = mapped_column(String(200))
    #: Directory of the HLS ladder, the download MP4 and the poster.
    renditions_key: Mapped[str | None] = mapped_column(String(200))
    #: What ffprobe accepted (``ProbeResult`` as a dict).
    probe: Mapped[dict[str, Any] | None]
    #: The rungs written: ``[{"key": "360p", "width": 640, "height": 360, "bandwidth": …}]``.
    renditions: Mapped[list[Any] | None]
    download_rung: Mapped[str | None] = mapped_column(String(32))
    duration_s: Mapped[float | None]
    #: Why the video was rejected or failed, translatable: ``{"msgid": …, "params": {…}}``.
    problem: Mapped[dict[str, Any] | None]
    #: Stable code of the rejection (``truncated``, ``no_video`` …), for logs and tests.
    problem_code: Mapped[str | None] = mapped_column(String(32))
    ready_at: Mapped[datetime | None]

    institution: Mapped[Institution] = relationship()
    uploader: Mapped[User | None] = relationship()
    subtitles: Mapped[list[Subtitle]] = relationship(
        back_populates="video", order_by="Subtitle.language", cascade="all, delete-orphan")

    @property
    def is_ready(self) -> bool:
        return self.state == VideoState.READY

    @property
    def owns_source(self) -> bool:
        """Whether the uploaded file is ours to delete once it is no longer needed."""
        return self.origin == VideoOrigin.LIBRARY

    def problem_text(self) -> str:
        """Why the video was rejected or failed, in the reader's language."""
        if not self.problem:
            return ""
        msgid, params = self.problem["msgid"], self.problem.get("params", {})
        return gettext(msgid, **params)

    def __repr__(self) -> str:
        return f"<Video {self.id} {self.state}>"


class Subtitle(Base):
    """A sanitised WebVTT file of a video in one language."""

    __tablename__ = "video_subtitles"
    __table_args__ = (UniqueConstraint("video_id", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"),
                                          index=True)
    language: Mapped[str] = mapped_column(String(8))
    key: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    video: Mapped[Video] = relationship(back_populates="subtitles")


class VideoLesson(Base):
    """The video a video lesson plays; one video may play in several lessons."""

    __tablename__ = "video_lessons"

    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"),
                                           primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id"), index=True)

    video: Mapped[Video] = relationship()


class WatchRecord(Base):
    """What one learner has watched of one video in one lesson.

    Hours are credited per lesson, so a video reused in two lessons is watched
    for each. ``state`` holds the credited intervals (``lms.video.watch``); the
    row is locked while a report is merged into it.
    """

    __tablename__ = "video_watch_records"
    __table_args__ = (UniqueConstraint("user_id", "lesson_id", "video_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"),
                                           index=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"),
                                          index=True)
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Unique seconds credited so far.
    watched_s: Mapped[float] = mapped_column(default=0.0)
    #: Where the learner last was, to resume there.
    position_s: Mapped[float] = mapped_column(default=0.0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

