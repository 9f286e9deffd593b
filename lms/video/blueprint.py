"""URL table of video: the instructor's library, lesson playback and watch reports."""

from flask import Blueprint

from lms.video.controllers import library as lib
from lms.video.controllers import playback as play
from lms.video.controllers import watch

bp = Blueprint("video", __name__, template_folder="templates")
bp.record_once(lib.install)

# The instructor's library.
bp.add_url_rule("/teach/videos/", "library", lib.library)
bp.add_url_rule("/teach/videos/", "upload", lib.upload, methods=["POST"])
bp.add_url_rule("/teach/videos/<int:video_id>", "detail", lib.detail)
bp.add_url_rule("/teach/videos/<int:video_id>/status", "status", lib.status)
bp.add_url_rule("/teach/videos/<int:video_id>/rename", "rename", lib.rename, methods=["POST"])
bp.add_url_rule("/teach/videos/<int:video_id>/retry", "retry", lib.retry, methods=["POST"])
bp.add_url_rule("/teach/videos/<int:video_id>/delete", "delete", lib.delete, methods=["POST"])
bp.add_url_rule("/teach/videos/<int:video_id>/subtitles", "add_subtitle", lib.add_subtitle,
                methods=["POST"])
bp.add_url_rule("/teach/videos/<int:video_id>/subtitles/<any(bo,zh,en):language>/delete",
                "delete_subtitle", lib.delete_subtitle, methods=["POST"])
bp.add_url_rule("/teach/videos/<int:video_id>/media/<name>", "preview", lib.preview)
bp.add_url_rule("/teach/videos/<int:video_id>/media/subtitles/<any(bo,zh,en):language>.vtt",
                "preview_subtitle", lib.preview_subtitle)
bp.add_url_rule("/teach/lessons/<int:lesson_id>/video", "attach", lib.attach, methods=["POST"])

# Playback: playlists name their segments by relative URLs, so every file of a lesson's
# video is fetched below the lesson's address, through the same permission check.
bp.add_url_rule("/courses/<int:course_id>/lessons/<int:lesson_id>/video/<name>", "media",
                play.media)
bp.add_url_rule("/courses/<int:course_id>/lessons/<int:lesson_id>/video/subtitles/"
                "<any(bo,zh,en):language>.vtt", "subtitle", play.subtitle)

# Watch reports.
bp.add_url_rule("/courses/<int:course_id>/lessons/<int:lesson_id>/video/watch", "watch",
                watch.report, methods=["POST"])
bp.add_url_rule("/courses/<int:course_id>/lessons/<int:lesson_id>/video/heartbeat", "heartbeat",
                watch.heartbeat, methods=["POST"])
