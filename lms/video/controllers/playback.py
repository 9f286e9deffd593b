"""Playback: a video lesson's playlists, segments, download, poster and subtitles, for the
course's learners and staff only."""

from __future__ import annotations

from flask import abort, request
from werkzeug.wrappers import Response

from lms.core.access import login_required
from lms.core.storage import send_media
from lms.video import util
from lms.video.controllers.loaders import load_lesson_video
from lms.video.models import Video


def serve(video: Video, name: str) -> Response:
    """One file of a ready video, with byte ranges and private caching."""
    media = util.media_file(video, name)
    if media is None:
        abort(404)
    download_name = None
    if name == "download.mp4" and request.args.get("download") == "1":
        download_name = f"{video.title}.mp4"
    return send_media(media.key, mimetype=media.mimetype, download_name=download_name,
                      max_age=media.max_age)


def serve_subtitle(video: Video, language: str) -> Response:
    subtitle = next((s for s in video.subtitles if s.language == language), None)
    if subtitle is None:
        abort(404)
    return send_media(subtitle.key, mimetype="text/vtt", max_age=3600)


@login_required
def media(course_id: int, lesson_id: int, name: str) -> Response:
    return serve(load_lesson_video(course_id, lesson_id).video, name)


@login_required
def subtitle(course_id: int, lesson_id: int, language: str) -> Response:
    return serve_subtitle(load_lesson_video(course_id, lesson_id).video, language)
