"""A worker killed in the middle of a transcode loses nothing: the sweeper hands the job to the
next worker, which starts again from the kept source and finishes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import ffmpeg
import pytest
from alembic import command
from sqlalchemy import select

from lms import create_app
from lms.cli import alembic_config
from lms.core.jobs import Job, JobState, enqueue, sweep
from lms.core.storage import storage
from lms.extensions import db
from lms.video.models import Video, VideoState
from tests.factories import Factories

# Imported as well as found through conftest, so the tests also run with --noconftest.
from tests.video.conftest import generated_media  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 3


def start_worker(settings: dict[str, str], log: Path, **extra: str) -> subprocess.Popen:
    """``lms worker`` in its own process group (so ffmpeg dies with it, as on a crashed host)."""
    env = {**os.environ, **{f"LMS_{k}": v for k, v in {**settings, **extra}.items()}}
    return subprocess.Popen([sys.executable, "-m", "lms.cli", "worker", "--workers", "1"],
                            cwd=ROOT, env=env, start_new_session=True,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)


def stop(worker: subprocess.Popen, sig: int) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, sig)
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=20)


def job_row(app, job_id: int) -> Job:
    with app.app_context(), db.independent_session() as s:
        return s.get(Job, job_id)


def wait_for(condition, timeout: float, what: str, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; worker log:\n{log.read_text()[-3000:]}")


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_worker_killed_mid_transcode_leaves_a_job_the_next_worker_finishes(tmp_path, media):
    instance, media_root, log = tmp_path / "instance", tmp_path / "media", tmp_path / "worker.log"
    instance.mkdir()
    url = f"sqlite:///{instance / 'yonten.db'}"
    command.upgrade(alembic_config(url), "heads")
    settings = {"INSTANCE_DIR": str(instance), "DATABASE_URL": url, "MEDIA_ROOT": str(media_root),
                "SECRET_KEY": "worker-test", "REDIS_URL": "", "DEFAULT_LOCALE": "en",
                "JOB_LEASE_SECONDS": str(LEASE_SECONDS)}
    app = create_app({**settings, "JOB_LEASE_SECONDS": LEASE_SECONDS})
    with app.app_context():
        instructor = Factories(db.session).instructor()
        key = storage().new_key("uploads", ".part")
        storage().path(key).parent.mkdir(parents=True)
        shutil.copyfile(media["lesson_720p.mp4"], storage().path(key))
        video = Video(institution_id=instructor.institution_id, uploader_id=instructor.id,
                      title="ཐང་ཀ", filename="thangka.mp4", source_key=key,
                      renditions_key=storage().new_key("videos") + "/hls")
        db.session.add(video)
        db.session.flush()
        job_id = enqueue("video.transcode", subject=f"video:{video.id}", video_id=video.id).id
        db.session.commit()  # the job is handed to the SQLite queue in the instance directory
        video_id, source = video.id, storage().path(key)
        out_dir = storage().path(video.renditions_key)

    # A slow preset, so the worker is surely still encoding when it is killed.
    first = start_worker(settings, log, VIDEO_X264_PRESET="veryslow")
    try:
        wait_for(lambda: job_row(app, job_id).progress > 0, 60, "progress", log)
        stop(first, signal.SIGKILL)
    finally:
        stop(first, signal.SIGKILL)
    killed = job_row(app, job_id)
    assert killed.state == JobState.RUNNING and killed.attempts == 1
    assert 0 < killed.progress < 1
    assert source.exists() and not out_dir.exists()
    assert list(out_dir.parent.glob(".hls.partial-*")), "the dead run's half-written outputs"

    time.sleep(LEASE_SECONDS + 0.5)  # nobody renews the lease any more
    with app.app_context():
        assert sweep() == 1
    assert job_row(app, job_id).state == JobState.QUEUED

    second = start_worker(settings, log)
    try:
        done = wait_for(lambda: (row := job_row(app, job_id)).state in (
            JobState.SUCCEEDED, JobState.FAILED) and row, 120, "the job to finish", log)
    finally:
        stop(second, signal.SIGINT)
    assert done.state == JobState.SUCCEEDED and done.attempts == 2, done.error

    with app.app_context():
        video = db.session.scalar(select(Video).where(Video.id == video_id))
        assert video.state == VideoState.READY
        assert [r["key"] for r in video.renditions] == ["240p", "360p", "720p"]
    assert not source.exists()  # deleted only now that the outputs are complete
    assert sorted(p.name for p in out_dir.parent.iterdir()) == ["hls"]  # no leftovers
    for rung in ("240p", "360p", "720p"):
        playlist = out_dir / f"{rung}.m3u8"
        segments = [line for line in playlist.read_text().splitlines()
                    if line and not line.startswith("#")]
        assert segments and all((out_dir / s).is_file() for s in segments)
        assert float(ffmpeg.probe(str(playlist))["format"]["duration"]) == pytest.approx(6, abs=0.3)
    assert float(ffmpeg.probe(str(out_dir / "download.mp4"))["format"]["duration"]) == \
        pytest.approx(6, abs=0.3)
    assert (out_dir / "poster.jpg").stat().st_size > 0
