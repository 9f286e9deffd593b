"""An instructor uploads a video and watches it get ready; a learner plays it, and the watched
share the server verifies rises (with the browser's own HLS, and with hls.js)."""

from __future__ import annotations

import re

import ffmpeg
import pytest
from sqlalchemy import select

from lms.extensions import db
from lms.video.models import Video, VideoState, WatchRecord
from lms.video.spool import spool_of
from lms.video.tasks import fold_spool
from tests.e2e.conftest import log_in
from tests.factories import PASSWORD

#: Makes the browser say it cannot play HLS itself, so the player falls back to hls.js.
NO_NATIVE_HLS = """
(() => {
  const canPlay = HTMLMediaElement.prototype.canPlayType;
  HTMLMediaElement.prototype.canPlayType = function (type) {
    return /mpegurl/i.test(type) ? "" : canPlay.call(this, type);
  };
})();
"""


@pytest.fixture
def clip(tmp_path):
    """Twelve seconds of 720p test pattern and tone, as a camera might hand it over."""
    path = tmp_path / "thangka-lesson.mp4"
    video = ffmpeg.input("testsrc2=size=1280x720:rate=25:duration=12", f="lavfi")
    tone = ffmpeg.input("sine=frequency=440:sample_rate=48000:duration=12", f="lavfi")
    ffmpeg.output(video, tone, str(path), **{"c:v": "libx264", "preset": "ultrafast",
                                             "pix_fmt": "yuv420p", "c:a": "aac"}).run(quiet=True)
    return path


def watched_seconds(user_id: int) -> float:
    db.session.rollback()
    db.session.expire_all()
    record = db.session.scalar(select(WatchRecord).where(WatchRecord.user_id == user_id))
    return record.watched_s if record else 0.0


def play_and_watch_the_share_rise(page, learner_id: int, app=None) -> None:
    """Play, pause, and see the verified share rise; given the live ``app``, also wait for a
    heartbeat while playing and find it in the app's spool."""
    status = page.locator("[data-watch-status]")
    assert status.inner_text() == "Watched: 0%"
    with page.expect_response(re.compile(r"/video/watch$")) as first:
        page.evaluate("() => { const v = document.querySelector('video'); v.muted = true;"
                      " return v.play(); }")
    assert first.value.status == 200
    if app is not None:
        with page.expect_response(re.compile(r"/video/heartbeat$"), timeout=20_000) as beat:
            pass
        assert beat.value.status == 202
        with app.app_context():
            assert spool_of(app).pending() >= 1
            assert fold_spool() >= 1
    page.wait_for_function("() => document.querySelector('video').currentTime > 3",
                           timeout=20_000)
    with page.expect_response(re.compile(r"/video/watch$")) as paused:
        page.evaluate("() => document.querySelector('video').pause()")
    assert paused.value.json()["watched_s"] > 0
    page.wait_for_function(
        "() => /Watched: [1-9]/.test(document.querySelector('[data-watch-status]').textContent)")
    assert watched_seconds(learner_id) > 0


@pytest.mark.slow
def test_instructor_uploads_a_video_and_a_learner_watches_it(new_page, committed_make,
                                                             live_app, clip):
    live_app.config["VIDEO_X264_PRESET"] = "medium"  # slow enough to see the progress move
    instructor = committed_make.instructor()

    teacher = new_page("instructor")
    log_in(teacher, instructor.email, PASSWORD)
    teacher.goto("/teach/videos/")
    teacher.fill("#title", "ཐང་ཀའི་རས་གཞི། The canvas")
    teacher.set_input_files("input[type=file]", str(clip))
    polls: list[dict] = []
    teacher.on("response", lambda r: polls.append(r.json()) if r.url.endswith("/status") else None)
    teacher.click("form.upload-video button")
    teacher.wait_for_url(re.compile(r"/teach/videos/\d+$"))
    assert teacher.locator("[data-video-status] progress").count() == 1
    teacher.wait_for_selector("figure[data-player]", timeout=120_000)  # reloaded once ready
    assert "Ready" in teacher.inner_text("[data-video-status]")
    assert any(p["active"] for p in polls), "the page followed the work while it ran"
    assert any(0 < p["percent"] < 100 for p in polls), polls

    db.session.rollback()
    video = db.session.scalar(select(Video))
    assert video.state == VideoState.READY and video.title == "ཐང་ཀའི་རས་གཞི། The canvas"

    course, lesson = committed_make.video_course(video=video)
    learner = committed_make.learner()
    committed_make.enrolment(learner, course)
    lesson_url = f"/courses/{course.id}/lessons/{lesson.id}"

    student = new_page("learner")
    log_in(student, learner.email, PASSWORD)
    student.goto(lesson_url)
    player = student.locator("figure[data-player]")
    assert player.get_attribute("data-engine") in ("native", "hls.js")
    assert student.locator("label.quality").is_visible()
    play_and_watch_the_share_rise(student, learner.id, live_app)

    # A browser without HLS of its own: the vendored hls.js plays the same ladder.
    other = committed_make.learner()
    committed_make.enrolment(other, course)
    fallback = new_page("hls-js")
    fallback.add_init_script(NO_NATIVE_HLS)
    log_in(fallback, other.email, PASSWORD)
    fallback.goto(lesson_url)
    fallback.wait_for_function("() => window.Hls !== undefined")
    assert fallback.locator("figure[data-player]").get_attribute("data-engine") == "hls.js"
    assert fallback.evaluate("() => window.Hls.isSupported()")
    play_and_watch_the_share_rise(fallback, other.id)
    levels = fallback.evaluate("() => document.querySelectorAll('select[data-quality] option')"
                               ".length")
    assert levels == 1 + len(video.renditions)
