"""Loaders: a library video, or a lesson's video together with the viewer's rights."""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort
from flask_login import current_user
from sqlalchemy import and_, select
from sqlalchemy.orm import defer

from lms.core.i18n import CONTENT_LANGS
from lms.courses import permissions as course_permissions
from lms.courses.models import Course, Enrolment, Lesson
from lms.courses.util import LESSON_BODIES_DEFERRED, outline
from lms.extensions import db
from lms.video import permissions
from lms.video.models import Video, VideoLesson, VideoOrigin


def load_video(video_id: int, *, edit: bool = False) -> Video:
    """A video of the current user's library (another institution's, or a learner's evidence
    video, is as good as missing)."""
    video = db.get_or_404(Video, video_id)
    if video.origin != VideoOrigin.LIBRARY or not permissions.can_use_video(current_user, video):
        abort(404)
    if edit and not permissions.can_edit_video(current_user, video):
        abort(403)
    return video


#: Texts a segment or a report never needs: left in the database.
_LONG_TEXTS = (*LESSON_BODIES_DEFERRED,
               *(defer(getattr(Course, f"summary_{lang}")) for lang in CONTENT_LANGS))


@dataclass
class LessonVideo:
    """A video lesson, its ready video, and the current user's place in the course."""

    course: Course
    lesson: Lesson
    video: Video
    enrolment: Enrolment | None


def load_lesson_video(course_id: int, lesson_id: int, *, learners_only: bool = False
                      ) -> LessonVideo:
    """The video a lesson plays, for the course's enrolled learners and its staff (403 for
    anyone else, and for a lesson still locked to the learner).

    Every segment and every watch report comes through here, so course, lesson, video
    and enrolment are read in one query; the rules are the courses' own.
    """
    row = db.session.execute(
        select(Course, Lesson, Video, Enrolment)
        .join(Lesson, Lesson.course_id == Course.id)
        .join(VideoLesson, VideoLesson.lesson_id == Lesson.id)
        .join(Video, Video.id == VideoLesson.video_id)
        .outerjoin(Enrolment, and_(Enrolment.course_id == Course.id,
                                   Enrolment.user_id == current_user.id))
        .where(Course.id == course_id, Lesson.id == lesson_id)
        .options(*_LONG_TEXTS)).first()
    if row is None:
        abort(404)
    course, lesson, video, enrolment = row
    if not course_permissions.can_view_course(current_user, course, enrolment):
        abort(404)
    enrolled = enrolment is not None and enrolment.is_active
    staff = not learners_only and not enrolled and course_permissions.can_edit_course(
        current_user, course)
    if not (enrolled or staff):
        abort(403)
    if not video.is_ready or not (lesson.is_published or staff):
        abort(404)
    if enrolled and course.sequential:
        item = outline(course, enrolment).item(lesson.id)
        if item is None or item.locked:
            abort(403)
    return LessonVideo(course, lesson, video, enrolment if enrolled else None)
