"""The video lesson kind: a lesson that plays a video of its institution's library and is
complete when the learner has really watched enough of it."""

from __future__ import annotations

from flask import current_app, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from lms.courses.kinds import LessonKind, register_kind
from lms.courses.models import Lesson
from lms.video import util
from lms.video.models import VideoState
from lms.video.spool import sign_pass


@register_kind
class VideoKind(LessonKind):
    """A video with subtitles; complete when the unique watched seconds cover the threshold."""

    key = "video"
    label = _l("Video")
    template = "video/kind_video.html"
    editor_template = "video/kind_video_editor.html"
    order = 30

    def requirement(self, lesson: Lesson) -> str:
        percent = round(100 * current_app.config["VIDEO_COMPLETION_THRESHOLD"])
        return gettext("Watch at least %(percent)s%% of the video.", percent=percent)

    def on_view(self, lesson, enrolment, progress, now):
        video = util.video_of(lesson)
        record = heartbeat = None
        if video is not None and enrolment is not None:
            record = util.watch_record(enrolment.user, lesson, video)
            heartbeat = {"url": url_for("video.heartbeat", course_id=lesson.course_id,
                                        lesson_id=lesson.id),
                         "pass": sign_pass(enrolment.user, lesson.course_id, lesson.id, video.id)}
        return {"video": video, "record": record, "heartbeat": heartbeat,
                "watched": util.watched_percent(record.watched_s, video) if record else 0}

    def publish_problems(self, lesson: Lesson) -> list[str]:
        video = util.video_of(lesson)
        if video is None:
            return [str(_l("Choose the video this lesson plays."))]
        if video.state != VideoState.READY:
            return [str(_l("Its video is not ready to play yet."))]
        return []
