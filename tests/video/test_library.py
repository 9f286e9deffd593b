"""The instructor's library: uploads in chunks or whole, every bad input refused with a reason
the instructor can read in their language, and the file deleted."""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import threading
from pathlib import Path

import pytest

from lms.core.jobs import run_queued_jobs
from lms.core.storage import storage
from lms.extensions import db as database
from lms.uploads.models import Upload, UploadState
from lms.video.models import Video, VideoState

# Imported as well as found through conftest, so the tests also run with --noconftest.
from tests.video.conftest import generated_media  # noqa: F401

CHUNK = 64 * 1024


@pytest.fixture(autouse=True)
def small_chunks(app):
    app.config["UPLOAD_CHUNK_BYTES"] = CHUNK


def send_in_chunks(client, data: bytes, filename: str = "ཐང་ཀ.mp4"):
    """What upload.js does: announce, send every chunk at its offset, complete."""
    started = client.post("/uploads/", json={"purpose": "video", "filename": filename,
                                             "size": len(data)})
    if started.status_code != 201:
        return started
    upload_id, offset = started.json["id"], 0
    while offset < len(data):
        piece = data[offset:offset + CHUNK]
        response = client.put(f"/uploads/{upload_id}?offset={offset}", data=piece, headers={
            "X-CSRFToken": client.csrf_token(), "Content-Type": "application/octet-stream",
            "X-Chunk-SHA256": hashlib.sha256(piece).hexdigest()})
        if response.status_code != 200:
            return response
        offset = response.json["offset"]
    return client.post(f"/uploads/{upload_id}/complete")


def upload(client, data: bytes, *, filename: str = "ཐང་ཀ.mp4", title: str = "",
           chunked: bool = True):
    """Upload through the library page: resumable chunks then the form, or the plain form."""
    if chunked:
        sent = send_in_chunks(client, data, filename)
        if sent.status_code != 200:
            return sent
        return client.post("/teach/videos/", data={"upload_id": sent.json["id"], "title": title})
    return client.post("/teach/videos/", data={"title": title,
                                               "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def processed(video_id: int) -> Video:
    """Run the queued jobs and read the video as they left it."""
    run_queued_jobs(include_delayed=True)
    database.session.expire_all()
    return database.session.get(Video, video_id)


def video_id_of(response) -> int:
    return int(re.search(r"/teach/videos/(\d+)$", response.headers["Location"]).group(1))


@pytest.fixture
def instructor(make):
    return make.instructor()


# --- good uploads ---------------------------------------------------------------------------


@pytest.mark.slow
def test_an_upload_in_chunks_is_probed_transcoded_and_ready(login_as, instructor, media):
    client = login_as(instructor)
    data = media["lesson_360p.mp4"].read_bytes()
    response = upload(client, data, title="ཐང་ཀའི་རས་གཞི།")
    video_id = video_id_of(response)
    video = database.session.get(Video, video_id)
    assert video.state == VideoState.UPLOADED and video.title == "ཐང་ཀའི་རས་གཞི།"
    assert video.institution_id == instructor.institution_id
    source = storage().path(video.source_key)
    assert source.read_bytes() == data

    video = processed(video_id)
    assert video.state == VideoState.READY
    assert video.duration_s == pytest.approx(4, abs=0.2)
    assert [r["key"] for r in video.renditions] == ["240p", "360p"]
    assert video.source_key is None and not source.exists()  # kept only until success
    page = client.get(f"/teach/videos/{video_id}").text
    assert "Ready" in page and "data-player" in page
    assert client.get(f"/teach/videos/{video_id}/status").json == {
        "state": "ready", "label": "Ready", "percent": 100, "message": "", "active": False}


@pytest.mark.slow
def test_the_plain_form_without_javascript_uploads_a_small_video(login_as, instructor, media):
    client = login_as(instructor)
    response = upload(client, media["vp9_opus.webm"].read_bytes(), filename="lesson.webm",
                      chunked=False)
    video = processed(video_id_of(response))
    assert video.state == VideoState.READY and video.title == "lesson"
    assert video.filename == "lesson.webm"


def test_the_library_page_offers_the_resumable_form_with_a_plain_file_field(login_as,
                                                                           instructor):
    page = login_as(instructor).get("/teach/videos/").text
    assert 'data-resumable data-purpose="video"' in page
    assert 'type="file"' in page and 'name="upload_id"' in page
    assert "js/upload.js" in page and "<progress data-upload-progress" in page


def test_learners_cannot_upload_or_see_the_library(login_as, make, media):
    client = login_as(make.learner())
    assert client.get("/teach/videos/").status_code == 403
    started = client.post("/uploads/", json={"purpose": "video", "filename": "a.mp4",
                                             "size": 1000})
    assert started.status_code == 403


def test_another_institutions_videos_are_out_of_sight(login_as, make):
    video = make.video()
    client = login_as(make.instructor())
    assert client.get(f"/teach/videos/{video.id}").status_code == 404
    assert client.get(f"/teach/videos/{video.id}/media/master.m3u8").status_code == 404
    assert video.title not in client.get("/teach/videos/").text


# --- bad input ----------------------------------------------------------------------------------


def refused_before_storing(response) -> str:
    """The upload refused at its first chunk: the error it returned."""
    assert response.status_code in (400, 413, 415), response.status_code
    assert database.session.query(Video).count() == 0
    return response.json["error"]


def test_a_zero_byte_file_is_refused(login_as, instructor):
    client = login_as(instructor)
    assert refused_before_storing(send_in_chunks(client, b"")) == "The file is empty."
    response = upload(client, b"", chunked=False)
    assert response.status_code == 302
    assert "The file is empty." in client.get("/teach/videos/").text


def test_a_text_file_named_mp4_is_refused_and_deleted(login_as, instructor):
    client = login_as(instructor)
    text = "ཐང་ཀ་འབྲི་ཚུལ། 唐卡绘画教程\n".encode() * 50
    assert "cannot be uploaded" in refused_before_storing(send_in_chunks(client, text))
    row = database.session.query(Upload).one()
    assert row.state == UploadState.ABORTED and not storage().path(row.key).exists()


def test_a_jpeg_named_mp4_is_refused(login_as, instructor, media):
    client = login_as(instructor)
    jpeg = media["still.jpg"].read_bytes()
    assert "cannot be uploaded" in refused_before_storing(
        send_in_chunks(client, jpeg, "photo.mp4"))
    response = upload(client, jpeg, filename="photo.mp4", chunked=False)
    assert response.status_code == 302
    assert "cannot be uploaded" in client.get("/teach/videos/").text


def test_a_file_over_the_size_limit_is_refused_before_a_byte_is_sent(login_as, instructor,
                                                                     app):
    app.config["UPLOAD_MAX_BYTES"] = 10 * CHUNK
    client = login_as(instructor)
    response = client.post("/uploads/", json={"purpose": "video", "filename": "big.mp4",
                                              "size": 10 * CHUNK + 1})
    assert response.status_code == 413 and "limit" in response.json["error"]


def test_chunks_out_of_order_twice_or_beyond_the_size_are_refused(login_as, instructor, media):
    client = login_as(instructor)
    data = media["lesson_360p.mp4"].read_bytes()[: 3 * CHUNK]
    size = CHUNK + 100
    upload_id = client.post("/uploads/", json={"purpose": "video", "filename": "a.mp4",
                                               "size": size}).json["id"]

    def put(offset, piece):
        return client.put(f"/uploads/{upload_id}?offset={offset}", data=piece, headers={
            "X-CSRFToken": client.csrf_token(), "Content-Type": "application/octet-stream"})

    assert put(CHUNK, data[CHUNK:2 * CHUNK]).json == {
        "id": upload_id, "offset": 0, "size": size, "state": "receiving",
        "filename": "a.mp4", "error": "offset"}  # out of order: told where to go on
    assert put(0, data[:CHUNK]).status_code == 200
    twice = put(0, data[:CHUNK])
    assert twice.status_code == 409 and twice.json["offset"] == CHUNK
    beyond = put(CHUNK, data[CHUNK:2 * CHUNK])  # a whole chunk where 100 bytes were announced
    assert beyond.status_code == 400 and "beyond" in beyond.json["error"]
    row = database.session.get(Upload, upload_id)
    assert row.received == CHUNK and storage().path(row.key).stat().st_size == CHUNK
    # An incomplete upload cannot become a video.
    response = client.post("/teach/videos/", data={"upload_id": upload_id})
    assert response.status_code == 302 and database.session.query(Video).count() == 0


def rejected(client, data: bytes, **kwargs) -> Video:
    """Upload a file that gets past the first-bytes check; the job's probe decides."""
    video = database.session.get(Video, video_id_of(upload(client, data, **kwargs)))
    source = storage().path(video.source_key)
    assert source.exists()
    video = processed(video.id)
    assert video.state == VideoState.REJECTED
    assert video.source_key is None and not source.exists(), "the file is deleted"
    return video


def test_a_truncated_mp4_is_rejected_and_the_instructor_told_why(login_as, instructor, media):
    client = login_as(instructor)
    data = media["h264_aac.mp4"].read_bytes()
    video = rejected(client, data[: len(data) // 2])
    assert video.problem_code == "truncated"
    page = client.get(f"/teach/videos/{video.id}").text
    assert "Rejected" in page and "The file is incomplete" in page


def test_the_reason_is_shown_in_the_instructors_language(login_as, make, media):
    instructor = make.instructor(locale="zh_Hans")
    client = login_as(instructor)
    video = rejected(client, media["audio_only.mp4"].read_bytes())
    assert video.problem_code == "no_video"
    assert "该文件不含视频" in client.get(f"/teach/videos/{video.id}").text


def test_a_video_longer_than_the_limit_is_rejected(login_as, instructor, media, app):
    app.config["VIDEO_MAX_DURATION_S"] = 2.0
    video = rejected(login_as(instructor), media["h264_aac.mp4"].read_bytes())
    assert video.problem_code == "too_long"
    assert "the limit is" in video.problem_text()


def test_a_picture_larger_than_the_limit_is_rejected(login_as, instructor, media, app):
    app.config.update(VIDEO_MAX_WIDTH=160, VIDEO_MAX_HEIGHT=120)
    video = rejected(login_as(instructor), media["h264_aac.mp4"].read_bytes())
    assert video.problem_code == "frame_size" and "320×240" in video.problem_text()


def test_an_hls_playlist_that_reached_the_probe_is_rejected_without_opening_its_target(
        make, app, tmp_path):
    """The first-bytes check refuses a playlist at upload; this stores one as a video's source
    anyway (as a bug elsewhere might) to show the probe never follows it either."""
    outside = tmp_path / "outside-media-root"
    outside.mkdir()
    canary = outside / "secret.ts"
    os.mkfifo(canary)  # whoever opens it for reading releases the writer below
    opened, finished = [], threading.Event()

    def watch() -> None:
        fd = os.open(canary, os.O_WRONLY)
        opened.append(not finished.is_set())
        os.close(fd)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    key = storage().new_key("uploads", ".part")
    storage().save_bytes(key, (
        "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-PLAYLIST-TYPE:VOD\n"
        f"#EXTINF:4.0,\nfile:{canary}\n#EXTINF:4.0,\n{canary}\n#EXT-X-ENDLIST\n").encode())
    video = make.video(ready=False, source_key=key)
    from lms.core.jobs import enqueue

    enqueue("video.transcode", subject=f"video:{video.id}", video_id=video.id)
    database.session.commit()
    video = processed(video.id)
    assert (video.state, video.problem_code) == (VideoState.REJECTED, "not_video")
    assert not storage().path(key).exists()
    finished.set()
    release = os.open(canary, os.O_RDONLY | os.O_NONBLOCK)  # the watcher sees us, not ffmpeg
    watcher.join(timeout=5)
    os.close(release)
    assert opened == [False]


def test_a_phone_video_with_a_timecode_track_is_accepted(login_as, instructor, media):
    client = login_as(instructor)
    video = processed(video_id_of(upload(client, media["phone_timecode.mov"].read_bytes(),
                                         filename="IMG_0001.MOV")))
    assert video.state == VideoState.READY
    assert video.probe["ignored_streams"] == [2]


# --- subtitles, lessons, deleting -----------------------------------------------------------------


def test_srt_subtitles_become_clean_webvtt(login_as, make):
    instructor = make.instructor()
    video = make.video(uploader=instructor)
    client = login_as(instructor)
    srt = "1\n00:00:01,000 --> 00:00:03,000\n<font color=red>ཐང་ཀ།</font><script>x</script>\n"
    response = client.post(f"/teach/videos/{video.id}/subtitles", data={
        "language": "bo", "file": (io.BytesIO(srt.encode()), "thangka.srt")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    database.session.refresh(video)
    [subtitle] = video.subtitles
    text = storage().path(subtitle.key).read_text()
    assert text == "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nཐང་ཀ།\n"


def test_a_file_that_is_not_subtitles_is_refused_with_the_reason(login_as, make):
    instructor = make.instructor()
    video = make.video(uploader=instructor)
    client = login_as(instructor)
    client.post(f"/teach/videos/{video.id}/subtitles", data={
        "language": "zh", "file": (io.BytesIO(b"\x89PNG\r\n\x1a\n\x00\x00"), "a.vtt")},
        content_type="multipart/form-data")
    assert "This is not a subtitle file." in client.get(f"/teach/videos/{video.id}").text
    database.session.refresh(video)
    assert video.subtitles == []


def test_another_instructor_of_the_institution_may_use_but_not_change_a_video(login_as, make):
    uploader = make.instructor()
    colleague = make.instructor(institution=uploader.institution)
    video = make.video(uploader=uploader)
    client = login_as(colleague)
    assert client.get(f"/teach/videos/{video.id}").status_code == 200
    assert client.post(f"/teach/videos/{video.id}/delete").status_code == 403


def test_a_video_lesson_cannot_be_published_without_a_ready_video(login_as, make):
    from lms.courses import operations as course_ops

    instructor = make.instructor()
    course = make.course(lessons=0, published=False, institution=instructor.institution,
                         instructor=instructor)
    lesson = course_ops.save_lesson(instructor, course.sections[0], None, kind="video",
                                    title_en="Watch", credit_hours=1, required=True,
                                    is_published=True)
    database.session.commit()
    assert "Choose the video this lesson plays." in " ".join(course_ops.publish_problems(course))
    busy = make.video(uploader=instructor, ready=False)
    client = login_as(instructor)
    editor = client.get(f"/teach/lessons/{lesson.id}").text
    assert f'<option value="{busy.id}"' in editor
    client.post(f"/teach/lessons/{lesson.id}/video", data={"video_id": busy.id})
    assert "not ready" in " ".join(course_ops.publish_problems(course))
    ready = make.video(uploader=instructor)
    client.post(f"/teach/lessons/{lesson.id}/video", data={"video_id": ready.id})
    assert course_ops.publish_problems(course) == []


def test_a_lesson_cannot_play_another_institutions_video(login_as, make):
    instructor = make.instructor()
    course, lesson = make.video_course(institution=instructor.institution, instructor=instructor)
    foreign = make.video()
    response = login_as(instructor).post(f"/teach/lessons/{lesson.id}/video",
                                         data={"video_id": foreign.id})
    assert response.status_code == 302
    database.session.expire_all()
    from lms.video.util import video_of

    assert video_of(lesson).id != foreign.id


def test_a_video_some_lesson_plays_cannot_be_deleted_an_unused_one_can(login_as, make):
    admin = make.institution_admin()
    used = make.video(institution=admin.institution)
    make.video_course(video=used)
    unused = make.video(institution=admin.institution)
    hls_dir = storage().path(unused.renditions_key)
    client = login_as(admin)
    client.post(f"/teach/videos/{used.id}/delete")
    assert database.session.get(Video, used.id) is not None
    client.post(f"/teach/videos/{unused.id}/delete")
    database.session.expire_all()
    assert database.session.get(Video, unused.id) is None
    assert not hls_dir.exists()


def test_uploaded_file_names_never_become_paths(login_as, instructor, media):
    client = login_as(instructor)
    name = "../../etc/passwd.mp4"
    response = upload(client, media["h264_aac.mp4"].read_bytes()[:1000], filename=name)
    video = database.session.get(Video, video_id_of(response))
    assert video.filename == "passwd.mp4"
    assert re.fullmatch(r"uploads/[0-9a-f]{2}/[0-9a-f]{32}\.part", video.source_key)
    shutil.rmtree(storage().root / "uploads", ignore_errors=True)
    assert Path(storage().path(video.renditions_key)).is_relative_to(storage().root)



def test_a_file_name_with_a_line_break_gives_a_one_line_title(login_as, instructor, media):
    client = login_as(instructor)
    response = upload(client, media["h264_aac.mp4"].read_bytes()[:1000],
                      filename="ཐང་ཀ\nPart 2.mp4")
    video = database.session.get(Video, video_id_of(response))
    assert (video.title, video.filename) == ("ཐང་ཀ Part 2", "ཐང་ཀ Part 2.mp4")


def test_deleting_a_video_removes_what_a_killed_transcode_left(login_as, make, db):
    from sqlalchemy import select

    from lms.core.jobs import Job, JobState, enqueue

    teacher = make.instructor()
    key = storage().new_key("uploads", ".part")
    storage().save_bytes(key, b"\x00\x00\x00\x18ftypisom" + bytes(100))
    video = make.video(uploader=teacher, ready=False, source_key=key,
                       state=VideoState.TRANSCODING)
    enqueue("video.transcode", subject=f"video:{video.id}", video_id=video.id)
    db.session.flush()
    # Three workers were killed mid-transcode; the sweeper gave up on the job.
    job = db.session.scalars(select(Job).where(Job.subject == f"video:{video.id}")).one()
    job.state, job.attempts = JobState.FAILED, job.max_attempts
    out_dir = storage().path(video.renditions_key)
    partial = out_dir.parent / f".{out_dir.name}.partial-deadbeef"
    partial.mkdir(parents=True)
    (partial / "720p_00000.ts").write_bytes(bytes(188 * 100))
    db.session.commit()
    response = login_as(teacher).post(f"/teach/videos/{video.id}/delete")
    assert response.status_code == 302
    assert not storage().path(key).exists()
    assert not out_dir.parent.exists()
