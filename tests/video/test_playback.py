"""Playback: a video lesson's files go to its enrolled learners and its staff only, with the
right types, byte ranges and caching."""

from __future__ import annotations

import pytest

from lms.courses import operations as course_ops
from lms.extensions import db as database
from lms.video.models import VideoLesson


def url(course, lesson, name: str) -> str:
    return f"/courses/{course.id}/lessons/{lesson.id}/video/{name}"


@pytest.fixture
def lesson_video(make):
    """A published course whose lesson plays a ready video, and an enrolled learner."""
    course, lesson = make.video_course()
    learner = make.learner()
    make.enrolment(learner, course)
    return course, lesson, learner


@pytest.mark.parametrize(("name", "mimetype"), [
    ("master.m3u8", "application/vnd.apple.mpegurl"),
    ("240p.m3u8", "application/vnd.apple.mpegurl"),
    ("240p_00000.ts", "video/mp2t"),
    ("download.mp4", "video/mp4"),
    ("poster.jpg", "image/jpeg"),
])
def test_an_enrolled_learner_gets_each_file_with_its_type_and_private_caching(
        login_as, lesson_video, name, mimetype):
    course, lesson, learner = lesson_video
    response = login_as(learner).get(url(course, lesson, name))
    assert response.status_code == 200
    assert response.mimetype == mimetype
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "private" in response.headers["Cache-Control"]
    assert "max-age=86400" in response.headers["Cache-Control"]
    assert response.headers["ETag"]


def test_segments_are_served_in_byte_ranges(login_as, lesson_video):
    course, lesson, learner = lesson_video
    client = login_as(learner)
    whole = client.get(url(course, lesson, "240p_00000.ts")).data
    part = client.get(url(course, lesson, "240p_00000.ts"), headers={"Range": "bytes=188-375"})
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 188-375/{len(whole)}"
    assert part.data == whole[188:376]



@pytest.mark.parametrize("header", ["items=0-5", "bytes=0-0,5-10", "bytes=abc", "bytes=-"])
def test_a_range_the_server_cannot_use_is_ignored_and_the_whole_file_sent(login_as,
                                                                        lesson_video, header):
    course, lesson, learner = lesson_video
    client = login_as(learner)
    whole = client.get(url(course, lesson, "240p_00000.ts")).data
    response = client.get(url(course, lesson, "240p_00000.ts"), headers={"Range": header})
    assert response.status_code == 200 and response.data == whole

def test_playlists_name_their_files_relative_to_the_lesson_address(login_as, lesson_video):
    course, lesson, learner = lesson_video
    client = login_as(learner)
    master = client.get(url(course, lesson, "master.m3u8")).text
    variant = next(line for line in master.splitlines() if line and not line.startswith("#"))
    assert "/" not in variant  # resolved below .../video/, through the same check
    segment = next(line for line in client.get(url(course, lesson, variant)).text.splitlines()
                   if line and not line.startswith("#"))
    assert client.get(url(course, lesson, segment)).status_code == 200


def test_the_download_link_sends_an_attachment_named_after_the_video(login_as, lesson_video):
    course, lesson, learner = lesson_video
    response = login_as(learner).get(url(course, lesson, "download.mp4") + "?download=1")
    assert response.headers["Content-Disposition"].startswith("attachment")



def test_a_title_with_a_line_break_still_names_the_download(login_as, make):
    teacher = make.instructor()
    video = make.video(uploader=teacher)
    course, lesson = make.video_course(video=video)
    learner = make.learner()
    make.enrolment(learner, course)
    renamed = login_as(teacher).post(f"/teach/videos/{video.id}/rename",
                                     data={"title": "ཐང་ཀ 1\r\nPart 2\t"})
    assert renamed.status_code == 302
    database.session.refresh(video)
    assert video.title == "ཐང་ཀ 1 Part 2"
    video.title = "Part 1\nPart 2"  # as an older version could have stored it
    database.session.commit()
    response = login_as(learner).get(url(course, lesson, "download.mp4") + "?download=1")
    assert response.status_code == 200
    assert "Part 1 Part 2.mp4" in response.headers["Content-Disposition"]

def test_a_learner_not_enrolled_is_refused_every_file(login_as, make, lesson_video):
    course, lesson, _ = lesson_video
    client = login_as(make.learner())
    for name in ("master.m3u8", "240p_00000.ts", "download.mp4", "poster.jpg"):
        assert client.get(url(course, lesson, name)).status_code == 403


def test_a_learner_who_left_the_course_is_refused(login_as, lesson_video):
    course, lesson, learner = lesson_video
    course_ops.withdraw(learner, course)
    database.session.commit()
    assert login_as(learner).get(url(course, lesson, "master.m3u8")).status_code == 403


def test_staff_of_another_institution_are_refused(login_as, make, lesson_video):
    course, lesson, _ = lesson_video
    assert login_as(make.instructor()).get(url(course, lesson, "master.m3u8")).status_code == 403


def test_the_courses_instructor_may_fetch_the_files(login_as, make):
    instructor = make.instructor()
    course, lesson = make.video_course(institution=instructor.institution, instructor=instructor)
    assert login_as(instructor).get(url(course, lesson, "master.m3u8")).status_code == 200


def test_anonymous_visitors_are_sent_to_log_in(client, lesson_video):
    course, lesson, _ = lesson_video
    response = client.get(url(course, lesson, "master.m3u8"))
    assert response.status_code in (302, 401)


@pytest.mark.parametrize("name", [
    "..%2F..%2Fsecret_key", "720p.m3u8", "240p_00000.m3u8", "240p.ts", "source", "master.mp4",
    "240p_1.ts", "watch",
])
def test_only_files_the_transcoder_writes_are_served(login_as, lesson_video, name):
    course, lesson, learner = lesson_video
    assert login_as(learner).get(url(course, lesson, name)).status_code == 404


def test_a_lesson_still_locked_to_the_learner_keeps_its_video(login_as, make):
    course, lesson = make.video_course(sequential=True)
    first = course_ops.save_lesson(make.author, course.sections[0], None, kind="text",
                                   title_en="Before", credit_hours=1, required=True,
                                   is_published=True)
    course_ops.reorder(make.author, course, [("section", course.sections[0].id),
                                             ("lesson", first.id), ("lesson", lesson.id)])
    database.session.commit()
    learner = make.learner()
    make.enrolment(learner, course)
    assert login_as(learner).get(url(course, lesson, "master.m3u8")).status_code == 403


def test_subtitles_are_served_as_webvtt(login_as, lesson_video, make):
    from lms.video import operations

    course, lesson, learner = lesson_video
    video = database.session.get(VideoLesson, lesson.id).video
    operations.save_subtitle(make.author, video, "bo",
                             "1\n00:00:01,000 --> 00:00:02,000\nཐང་ཀ།\n".encode(), "a.srt")
    database.session.commit()
    response = login_as(learner).get(url(course, lesson, "subtitles/bo.vtt"))
    assert response.status_code == 200 and response.mimetype == "text/vtt"
    assert response.text.startswith("WEBVTT") and "ཐང་ཀ།" in response.text
    assert login_as(learner).get(url(course, lesson, "subtitles/zh.vtt")).status_code == 404


def test_the_lesson_page_offers_hls_the_mp4_fallback_and_the_subtitle_tracks(login_as,
                                                                            lesson_video):
    course, lesson, learner = lesson_video
    page = login_as(learner).get(f"/courses/{course.id}/lessons/{lesson.id}").text
    assert f'data-master="{url(course, lesson, "master.m3u8")}"' in page
    assert f'<source src="{url(course, lesson, "download.mp4")}" type="video/mp4">' in page
    assert 'data-report="' in page and "vendor/hls/hls.light.min.js" in page
    assert '<option value="auto">' in page


def test_the_search_index_reads_a_video_lessons_subtitles(lesson_video, make):
    from lms.search.documents import course_documents
    from lms.video import operations

    course, lesson, _ = lesson_video
    video = database.session.get(VideoLesson, lesson.id).video
    operations.save_subtitle(make.author, video, "zh",
                             "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<b>研磨</b>石青\n".encode(),
                             "a.vtt")
    database.session.commit()
    lesson_doc = next(d for d in course_documents(course) if d["doc_id"] == f"lesson:{lesson.id}")
    assert lesson_doc["subtitles"] == "研磨石青"
