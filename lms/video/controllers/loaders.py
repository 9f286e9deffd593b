"""Loaders: a library video, or a lesson's video together with the viewer's rights."""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from lms.extensions import db
from lms.video import permissions
from lms.video.models import Video, VideoOrigin
from lms.video.util import LessonVideo, find_lesson_video


def load_video(video_id: int, *, edit: bool = False) -> Video:
    """A video of the current user's library (another institution's, or a learner's evidence
    video, is as good as missing)."""
    video = db.get_or_404(Video, video_id)
    if video.origin != VideoOrigin.LIBRARY or not permissions.can_use_video(current_user, video):
        abort(404)
    if edit and not permissions.can_edit_video(current_user, video):
        abort(403)
    return video


def load_lesson_video(course_id: int, lesson_id: int, *, learners_only: bool = False
                      ) -> LessonVideo:
    """The video a lesson plays, for the course's enrolled learners and its staff (403 for
    anyone else, and for a lesson still locked to the learner); see
    :func:`lms.video.util.find_lesson_video`."""
    return find_lesson_video(current_user, course_id, lesson_id, learners_only=learners_only)
