"""The transcode job: real ffmpeg on a few seconds of video, outputs checked with ffprobe;
retries, the failure reason, and the retry button."""

from __future__ import annotations

import re
import shutil
import threading
from datetime import timedelta

import ffmpeg
import pytest
from flask_babel import lazy_gettext as _l
from sqlalchemy import update

from lms.core import signals
from lms.core.db import utcnow, write_intent
from lms.core.jobs import Job, JobState, enqueue, run_queued_jobs, sweep
from lms.core.storage import storage
from lms.extensions import db as database
from lms.video import tasks
from lms.video.models import Video, VideoState
from lms.video.transcode import TranscodeFailed

# Imported as well as found through conftest, so the tests also run with --noconftest.
from tests.video.conftest import generated_media  # noqa: F401


@pytest.fixture
def make(committed_make):
    """Factories with real commits: a job's notes and its rollbacks behave as in production.

    The test's own reads take no write lock (as a page view's would not), so the jobs it
    runs are never kept waiting for it.
    """
    token = write_intent.set(False)
    yield committed_make
    write_intent.reset(token)


@pytest.fixture
def login_as(app, committed_db):
    """A client logged in as ``user``, on the committed database."""

    def login(user):
        client = app.test_client()
        with client.session_transaction() as sess:
            sess["_user_id"] = user.get_id()
            sess["_fresh"] = True
        return client

    return login


@pytest.fixture
def queued(make, media):
    """Queue a video as an upload leaves it: a stored source file and a transcode job."""

    def queue(name: str = "lesson_360p.mp4", **kw) -> Video:
        instructor = make.instructor()
        key = storage().new_key("uploads", ".part")
        storage().path(key).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(media[name], storage().path(key))
        video = make.video(uploader=instructor, ready=False, source_key=key, **kw)
        enqueue("video.transcode", subject=f"video:{video.id}", owner_id=instructor.id,
                video_id=video.id)
        database.session.commit()
        return video

    return queue


def fresh() -> None:
    """Forget what the test's session read: a new snapshot, so the job's commits are seen."""
    database.session.rollback()
    database.session.expire_all()


def job_of(video: Video) -> Job:
    fresh()
    return database.session.query(Job).filter_by(subject=f"video:{video.id}").order_by(
        Job.id.desc()).first()


def reloaded(video: Video) -> Video:
    fresh()
    return database.session.get(Video, video.id)


def probe(path) -> dict:
    return ffmpeg.probe(str(path))


def keyframe_times(path) -> list[float]:
    packets = ffmpeg.probe(str(path), select_streams="v:0",
                           show_entries="packet=pts_time,flags")["packets"]
    return [round(float(p["pts_time"]), 2) for p in packets if "K" in p["flags"]]


@pytest.mark.slow
def test_the_job_writes_a_playable_ladder_download_and_poster(queued, monkeypatch):
    ready = []
    signals.video_ready.connect(receiver := lambda sender, video: ready.append(video.id))
    try:
        video = queued("lesson_720p.mp4")
        source = storage().path(video.source_key)
        run_queued_jobs()
    finally:
        signals.video_ready.disconnect(receiver)
    video = reloaded(video)
    assert video.state == VideoState.READY and ready == [video.id]
    assert job_of(video).state == JobState.SUCCEEDED and job_of(video).percent == 100
    out = storage().path(video.renditions_key)
    master = (out / "master.m3u8").read_text()
    assert re.findall(r"RESOLUTION=(\d+x\d+)[^\n]*\n(\S+)", master) == [
        ("426x240", "240p.m3u8"), ("640x360", "360p.m3u8"), ("1280x720", "720p.m3u8")]
    for rung in video.renditions:
        info = probe(out / f"{rung['key']}.m3u8")
        assert float(info["format"]["duration"]) == pytest.approx(6, abs=0.3)
        picture = next(s for s in info["streams"] if s["codec_type"] == "video")
        assert (picture["width"], picture["height"]) == (rung["width"], rung["height"])
    times = [keyframe_times(out / f"{r['key']}.m3u8") for r in video.renditions]
    assert times[0] == times[1] == times[2]
    download = probe(out / "download.mp4")
    assert [s["codec_name"] for s in download["streams"]] == ["h264", "aac"]
    assert float(download["format"]["duration"]) == pytest.approx(6, abs=0.3)
    assert (out / "poster.jpg").read_bytes()[:3] == b"\xff\xd8\xff"
    assert video.duration_s == pytest.approx(6, abs=0.1)
    assert not source.exists() and video.source_key is None
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no leftovers


@pytest.mark.slow
def test_phone_data_tracks_never_reach_the_outputs(queued):
    video = queued("phone_timecode.mov")
    run_queued_jobs()
    out = storage().path(reloaded(video).renditions_key)
    for name in ("download.mp4", "240p.m3u8"):
        assert {s["codec_type"] for s in probe(out / name)["streams"]} == {"video", "audio"}


def test_progress_is_shown_while_the_job_runs(queued, login_as, monkeypatch):
    video = queued()
    client = login_as(video.uploader)
    seen = []

    def fake_transcode(source, probe, out_dir, profiles, *, on_progress, **kw):
        on_progress(0.42)
        # The page polls from another thread (another session, another transaction).
        page = threading.Thread(target=lambda: seen.append(
            client.get(f"/teach/videos/{video.id}/status").json))
        page.start()
        page.join(10)
        raise TranscodeFailed(_l("The video could not be transcoded."), "boom")

    monkeypatch.setattr(tasks, "transcode", fake_transcode)
    run_queued_jobs()
    assert seen == [{"state": "transcoding", "label": "Preparing for playback", "percent": 42,
                     "message": "", "active": True}]


def test_a_failing_transcode_is_retried_then_marked_failed_with_its_reason(queued, login_as,
                                                                           monkeypatch):
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        raise TranscodeFailed(_l("The video could not be transcoded."), "ffmpeg said no")

    monkeypatch.setattr(tasks, "transcode", failing)
    video = queued()
    client = login_as(video.uploader)
    run_queued_jobs()
    assert reloaded(video).state == VideoState.TRANSCODING
    assert "trying again" in client.get(f"/teach/videos/{video.id}/status").json["message"]
    run_queued_jobs(include_delayed=True)
    run_queued_jobs(include_delayed=True)
    assert len(calls) == 3
    video = reloaded(video)
    assert video.state == VideoState.FAILED and video.problem_code == "transcode"
    assert job_of(video).state == JobState.FAILED
    assert storage().path(video.source_key).exists()  # kept for a retry
    page = client.get(f"/teach/videos/{video.id}").text
    assert "The video could not be transcoded." in page and "Try again" in page

    monkeypatch.undo()
    response = client.post(f"/teach/videos/{video.id}/retry")
    assert response.status_code == 302
    assert reloaded(video).state == VideoState.UPLOADED
    run_queued_jobs()
    assert reloaded(video).state == VideoState.READY


def test_a_job_whose_worker_died_three_times_shows_as_failed_and_can_be_retried(
        queued, login_as, app):
    video = queued()
    job = job_of(video)
    database.session.execute(update(Job).where(Job.id == job.id).values(
        state=JobState.RUNNING, attempts=3, lease_expires_at=utcnow() - timedelta(seconds=1)))
    database.session.commit()
    sweep()
    fresh()
    client = login_as(video.uploader)
    status = client.get(f"/teach/videos/{video.id}/status").json
    assert status["state"] == "failed" and "worker stopped" in status["message"]
    client.post(f"/teach/videos/{video.id}/retry")
    run_queued_jobs()
    assert reloaded(video).state == VideoState.READY


def test_a_second_delivery_after_success_changes_nothing(queued):
    video = queued()
    run_queued_jobs()
    renditions = reloaded(video).renditions
    job = job_of(video)
    database.session.execute(update(Job).where(Job.id == job.id).values(state=JobState.QUEUED))
    database.session.commit()
    run_queued_jobs()
    assert job_of(video).result == {"state": "ready"}
    assert reloaded(video).renditions == renditions


def test_a_job_for_a_missing_upload_fails_at_once_with_a_reason(queued):
    video = queued()
    storage().delete(video.source_key)
    run_queued_jobs()
    job = job_of(video)
    assert job.state == JobState.FAILED and job.attempts == 1
    assert "no longer there" in job.failure_text()
    assert reloaded(video).state == VideoState.UPLOADED


def test_cli_probe_prints_the_streams_or_the_reason(app, media, tmp_path):
    from lms.cli import main

    runner = app.test_cli_runner()
    accepted = runner.invoke(main, ["video", "probe", str(media["h264_aac.mp4"])])
    assert accepted.exit_code == 0
    assert '"video_codec": "h264"' in accepted.output
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    refused = runner.invoke(main, ["video", "probe", str(text)])
    assert refused.exit_code == 2
    assert "not a video in a format we accept" in refused.output


def test_cli_lists_videos_and_retries_a_failed_one(app, queued):
    from lms.cli import main

    video = queued()
    database.session.execute(update(Video).where(Video.id == video.id).values(
        state=VideoState.FAILED))
    database.session.execute(update(Job).where(Job.subject == f"video:{video.id}").values(
        state=JobState.FAILED))
    database.session.commit()
    runner = app.test_cli_runner()
    assert f"{video.id:>5}  failed" in runner.invoke(main, ["video", "list"]).output
    result = runner.invoke(main, ["video", "retry", str(video.id)])
    assert result.exit_code == 0, result.output
    run_queued_jobs()
    assert reloaded(video).state == VideoState.READY
    assert runner.invoke(main, ["video", "retry", str(video.id)]).exit_code == 1
