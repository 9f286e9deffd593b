"""``lms video ...`` commands (probe a file, list the library, retry a failed video) and the
demo video lesson."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from lms.core.errors import UserError
from lms.courses import operations as course_operations
from lms.courses.models import Course
from lms.extensions import db
from lms.uploads.operations import store_file
from lms.users.cli import demo_user
from lms.users.models import Role
from lms.video import operations, util
from lms.video.models import Video, VideoLesson
from lms.video.probe import VideoRejected, probe_video


@click.group()
def cli() -> None:
    """Videos: probe files, list the library, retry failed ones."""


cli.name = "video"


@cli.command("probe")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def probe(file: Path) -> None:
    """Check FILE as the upload path does: its accepted streams as JSON, or why not (exit 2)."""
    try:
        result = probe_video(file, util.probe_limits())
    except VideoRejected as rejected:
        click.echo(f"{rejected.reason} ({rejected.code})", err=True)
        sys.exit(2)
    click.echo(result.to_json())


@cli.command("list")
@click.option("--limit", default=50, show_default=True)
@with_appcontext
def list_videos(limit: int) -> None:
    """The newest videos with their state and processing progress."""
    for video in db.session.scalars(select(Video).order_by(Video.id.desc()).limit(limit)):
        status = util.video_status(video)
        length = f"{video.duration_s:7.1f}s" if video.duration_s else " " * 8
        click.echo(f"{video.id:>5}  {status.state.value:<11} {status.percent:>3}%  {length}  "
                   f"{video.institution.code:<12} {video.title}  {status.message}"[:200])


@cli.command("retry")
@click.argument("video_id", type=int)
@with_appcontext
def retry(video_id: int) -> None:
    """Start a failed video's processing again (run by workers, or `lms jobs run`)."""
    video = db.session.get(Video, video_id)
    if video is None:
        raise click.ClickException(f"no video {video_id}")
    try:
        operations.retry_video(None, video)
    except UserError as err:
        db.session.rollback()
        raise click.ClickException(str(err.message)) from None
    db.session.commit()
    click.echo(f"Video {video_id} is queued again.")


# --- demo ---------------------------------------------------------------------------

DEMO_TITLE = "ཐང་ཀའི་རས་གཞི། · 唐卡画布 · The thangka canvas"
DEMO_SUBTITLES = """WEBVTT

00:00:00.500 --> 00:00:03.500
རས་དཀར་པོ་ཤིང་སྒྲོམ་ལ་དམ་པོར་བསྒྲིགས།

00:00:04.000 --> 00:00:07.500
སྤྱིན་དང་ས་དཀར་བསྲེས་ནས་བྱུགས།
"""
DEMO_LESSON = dict(
    kind="video", credit_hours=Decimal("0.5"), required=True, is_published=True,
    title_bo="བརྙན་ཟློས། རས་གཞི་གྲ་སྒྲིག", title_zh="视频：画布准备",
    title_en="Video: preparing the canvas",
    body_bo="བརྙན་ཟློས་འདི་ལ་ལྟ་རོགས།", body_zh="请观看下面的视频。", body_en="Watch the video below.",
)


def _demo_clip(path: Path) -> None:
    """Eight seconds of test pattern and tone, 640×360, made by ffmpeg's lavfi sources."""
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
         "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=8",
         "-f", "lavfi", "-i", "sine=frequency=330:sample_rate=48000:duration=8",
         "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac",
         "-shortest", str(path)], check=True, timeout=120)


def load_demo() -> list[str]:
    """A generated video, uploaded through the real pipeline and played by a lesson of
    THANGKA-101 (the demo command runs its transcode job)."""
    course = db.session.scalar(select(Course).where(Course.code == "THANGKA-101"))
    if course is None:
        return []
    admin = demo_user(Role.INSTITUTION_ADMIN)
    instructor = demo_user(Role.INSTRUCTOR)
    section = course.sections[0]
    lesson = next((x for x in section.lessons if x.kind == "video"), None)
    if lesson is not None and db.session.get(VideoLesson, lesson.id) is not None:
        return []
    with tempfile.TemporaryDirectory(prefix="yonten-demo-") as tmp:
        clip = Path(tmp) / "thangka-canvas.mp4"
        _demo_clip(clip)
        with open(clip, "rb") as fh:
            upload = store_file(instructor, purpose="video", filename=clip.name, stream=fh,
                                size=clip.stat().st_size)
    video = operations.add_video(instructor, upload.id, title=DEMO_TITLE)
    operations.save_subtitle(instructor, video, "bo", DEMO_SUBTITLES.encode("utf-8"),
                             "thangka-canvas.bo.vtt")
    if lesson is None:
        lesson = course_operations.save_lesson(admin, section, None, **DEMO_LESSON)
        # The course opens its lessons in order; the video comes first in its chapter.
        order = []
        for s in course.sections:
            lessons = [x for x in s.lessons if x.id != lesson.id]
            order += [("section", s.id)] + [("lesson", x.id) for x in (
                [lesson, *lessons] if s.id == section.id else lessons)]
        course_operations.reorder(admin, course, order)
    operations.attach_video(admin, lesson, video)
    db.session.flush()
    return [f"Demo video lesson in {course.code} (video {video.id}, transcoded below)."]
