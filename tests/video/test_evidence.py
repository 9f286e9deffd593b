"""Learners' practical evidence videos go through the same probe and transcode, and the
evidence file itself is left as the learner sent it."""

from __future__ import annotations

import io

from sqlalchemy import delete, select

from lms.assessment.models import Evidence
from lms.assessment.operations import evidence as practical_evidence
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


# --- who sees an evidence video -----------------------------------------------------------------

def staff_of(make, video):
    """The institution's admin and an instructor of the institution (who do not teach the
    learner's course)."""
    institution = video.institution
    return make.institution_admin(institution=institution), make.instructor(
        institution=institution)


def test_the_library_does_not_know_a_learners_evidence_video(make, login_as):
    evidence, video = make.evidence_video()
    vtt = b"WEBVTT\n\n00:00.000 --> 00:01.000\nx\n"
    for person in staff_of(make, video):
        client = login_as(person)
        base = f"/teach/videos/{video.id}"
        for url in (base, f"{base}/status", f"{base}/media/master.m3u8",
                    f"{base}/media/download.mp4", f"{base}/media/poster.jpg"):
            assert client.get(url).status_code == 404, url
        assert client.post(f"{base}/rename", data={"title": "mine"}).status_code == 404
        assert client.post(f"{base}/retry").status_code == 404
        assert client.post(f"{base}/delete").status_code == 404
        assert client.post(f"{base}/subtitles", data={
            "language": "bo", "file": (io.BytesIO(vtt), "a.vtt")},
                           content_type="multipart/form-data").status_code == 404
    database.session.expire_all()
    video = database.session.get(Video, video.id)
    assert video.title == "my-thangka.mp4" and video.subtitles == []
    assert storage().path(video.renditions_key).is_dir()


def test_a_lesson_cannot_be_made_to_play_an_evidence_video(make, login_as):
    evidence, video = make.evidence_video()
    admin, _instructor = staff_of(make, video)
    course, lesson = make.video_course(institution=video.institution)
    login_as(admin).post(f"/teach/lessons/{lesson.id}/video", data={"video_id": video.id})
    database.session.expire_all()
    from lms.video.util import video_of

    assert video_of(lesson).id != video.id


def test_the_reviewer_plays_the_evidence_through_the_evidence_route(make, login_as):
    course = make.course(lessons=1)
    teacher = make.instructor(institution=course.institution)
    course.instructors.append(teacher)
    database.session.commit()
    evidence, video = make.evidence_video(course=course)
    client = login_as(teacher)
    page = client.get(f"/review/submissions/{evidence.submission_id}").text
    media = f"/practical/evidence/{evidence.id}/video"
    assert f'data-master="{media}/master.m3u8"' in page and f'poster="{media}/poster.jpg"' in page
    assert "/teach/videos/" not in page
    for name in ("master.m3u8", "240p.m3u8", "240p_00000.ts", "poster.jpg"):
        response = client.get(f"{media}/{name}")
        assert response.status_code == 200 and "sandbox" in response.headers[
            "Content-Security-Policy"], name
    download = client.get(f"{media}/download.mp4?download=1")
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert "my-thangka.mp4" in download.headers["Content-Disposition"]
    assert client.get(f"{media}/../../etc/passwd").status_code == 404
    assert client.get(f"{media}/source.mp4").status_code == 404
    # Another instructor of the institution is not the learner's reviewer.
    colleague = login_as(make.instructor(institution=course.institution))
    assert colleague.get(f"{media}/master.m3u8").status_code == 403


def test_a_draft_evidence_video_plays_to_its_learner_only(make, login_as):
    course = make.course(lessons=1)
    teacher = make.instructor(institution=course.institution)
    course.instructors.append(teacher)
    database.session.commit()
    learner = make.learner()
    evidence, _video = make.evidence_video(course=course, learner=learner, submitted=False)
    media = f"/practical/evidence/{evidence.id}/video/master.m3u8"
    assert login_as(teacher).get(media).status_code == 403
    assert login_as(learner).get(media).status_code == 200


def test_the_reviewer_is_told_while_the_evidence_is_processed_and_why_it_failed(make, login_as):
    course = make.course(lessons=1)
    teacher = make.instructor(institution=course.institution)
    course.instructors.append(teacher)
    database.session.commit()
    evidence, video = make.evidence_video(course=course, ready=False)
    client = login_as(teacher)
    address = f"/review/submissions/{evidence.submission_id}"
    assert "This video is being processed" in client.get(address).text
    assert client.get(f"/practical/evidence/{evidence.id}/video/master.m3u8").status_code == 404
    video.state = VideoState.REJECTED
    video.problem = {"msgid": "The video file is damaged.", "params": {}}
    database.session.commit()
    page = client.get(address).text
    assert "could not be prepared for playback. The video file is damaged." in page
    assert f"/practical/evidence/{evidence.id}" in page  # the file itself still downloads


# --- removing the evidence ------------------------------------------------------------------------

def test_removing_the_evidence_removes_its_video_and_renditions_once_committed(make, login_as):
    learner = make.learner()
    evidence, video = make.evidence_video(learner=learner, submitted=False)
    renditions, source = storage().path(video.renditions_key), storage().path(evidence.key)
    # A unit of work that is rolled back keeps everything.
    practical_evidence.remove_evidence(learner, evidence)
    database.session.rollback()
    assert renditions.is_dir() and source.is_file()
    assert database.session.get(Video, video.id) is not None
    response = login_as(learner).post(f"/practical/evidence/{evidence.id}/delete")
    assert response.status_code == 302
    database.session.expire_all()
    assert database.session.get(Video, video.id) is None
    assert database.session.get(Evidence, evidence.id) is None
    assert not renditions.exists() and not source.exists()


def test_an_evidence_video_removed_while_it_is_transcoded_leaves_no_files(make, login_as, media,
                                                                          monkeypatch):
    from lms.video import tasks

    evidence = send_evidence(make, login_as, media["lesson_360p.mp4"].read_bytes(), "w.mp4")
    video_id = evidence.meta["video"]
    renditions = storage().path(database.session.get(Video, video_id).renditions_key)
    real_transcode = tasks.transcode

    def transcode_while_the_learner_removes_it(*args, **kwargs):
        result = real_transcode(*args, **kwargs)
        with database.independent_session() as s:  # the learner's request, meanwhile
            s.execute(delete(Video).where(Video.id == video_id))
        return result

    monkeypatch.setattr(tasks, "transcode", transcode_while_the_learner_removes_it)
    run_queued_jobs()
    database.session.expire_all()
    assert database.session.get(Video, video_id) is None
    assert not renditions.exists()


def test_a_transcode_never_finishes_onto_a_new_video_that_took_the_removed_ones_id(
        make, login_as, media, monkeypatch):
    """SQLite gives a deleted row's id to the next row: the job must know its video by more
    than the id, or the learner's next upload would be marked ready with the old files."""
    from lms.video import tasks

    evidence = send_evidence(make, login_as, media["lesson_360p.mp4"].read_bytes(), "w.mp4")
    video_id = evidence.meta["video"]
    old = database.session.get(Video, video_id)
    institution_id, old_renditions = old.institution_id, storage().path(old.renditions_key)
    real_transcode = tasks.transcode

    def transcode_while_the_id_is_reused(*args, **kwargs):
        result = real_transcode(*args, **kwargs)
        with database.independent_session() as s:  # removed, and the next upload gets its id
            s.execute(delete(Video).where(Video.id == video_id))
            s.add(Video(id=video_id, institution_id=institution_id, title="the right one",
                        filename="right.mp4", size_bytes=1, state=VideoState.UPLOADED,
                        origin=VideoOrigin.EVIDENCE, source_key="evidence/right.mp4",
                        renditions_key="videos/right/hls"))
        return result

    monkeypatch.setattr(tasks, "transcode", transcode_while_the_id_is_reused)
    run_queued_jobs()
    database.session.expire_all()
    newcomer = database.session.get(Video, video_id)
    assert (newcomer.title, newcomer.state) == ("the right one", VideoState.UPLOADED)
    assert newcomer.renditions is None and newcomer.source_key == "evidence/right.mp4"
    assert not old_renditions.exists()
