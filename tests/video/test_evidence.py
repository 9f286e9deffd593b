"""Learners' practical evidence videos go through the same probe and transcode, and the
evidence file itself is left as the learner sent it."""

from __future__ import annotations

import io

from sqlalchemy import select

from lms.assessment.models import Evidence
from lms.assessment.operations import practical
from lms.core.jobs import run_queued_jobs
from lms.core.storage import storage
from lms.extensions import db as database
from lms.video.models import Video, VideoOrigin, VideoState

# Imported as well as found through conftest, so the tests also run with --noconftest.
from tests.video.conftest import generated_media  # noqa: F401


def send_evidence(make, login_as, data: bytes, name: str) -> Evidence:
    course, _quiz, lesson = make.assessed_course(practical={"evidence": ("video",)})
    learner = make.learner()
    make.enrolment(learner, course)
    stage = practical.task_for(lesson).stages[0]
    login_as(learner).post(f"/practical/stages/{stage.id}/evidence",
                           data={"file": (io.BytesIO(data), name)},
                           content_type="multipart/form-data")
    return database.session.scalar(select(Evidence))


def test_an_evidence_video_is_probed_and_transcoded_and_its_file_kept(make, login_as, media):
    data = media["lesson_360p.mp4"].read_bytes()
    evidence = send_evidence(make, login_as, data, "my-thangka.mp4")
    video = database.session.get(Video, evidence.meta["video"])
    assert video.origin == VideoOrigin.EVIDENCE and video.source_key == evidence.key
    run_queued_jobs()
    database.session.expire_all()
    video = database.session.get(Video, video.id)
    assert video.state == VideoState.READY
    assert (storage().path(video.renditions_key) / "master.m3u8").is_file()
    assert storage().path(evidence.key).read_bytes() == data  # still the learner's file
    # Evidence is not library material.
    assert video.title not in login_as(make.institution_admin(
        institution=video.institution)).get("/teach/videos/").text


def test_a_damaged_evidence_video_is_rejected_but_the_evidence_stays(make, login_as, media):
    data = media["h264_aac.mp4"].read_bytes()
    evidence = send_evidence(make, login_as, data[: len(data) // 2], "cut.mp4")
    run_queued_jobs()
    database.session.expire_all()
    video = database.session.get(Video, evidence.meta["video"])
    assert (video.state, video.problem_code) == (VideoState.REJECTED, "truncated")
    assert storage().path(evidence.key).exists()
