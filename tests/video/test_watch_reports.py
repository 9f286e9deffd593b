"""Watch reports over HTTP: only seconds really watched, at the speed of the wall clock, count;
a lesson completes at the threshold and the instructor sees each learner's share."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from lms.core.db import utcnow
from lms.courses.models import LessonProgress
from lms.extensions import db as database
from lms.video.models import WatchRecord

TOLERANCE = 10.0  # the default VIDEO_WATCH_TOLERANCE_S


class Clock:
    """The server's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):
        return self.now

    def epoch(self) -> float:
        return self.now.timestamp()

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr("lms.video.operations.utcnow", clock)
    return clock


@pytest.fixture
def watching(make, login_as):
    """A learner enrolled in a course whose lesson plays a ten-minute video; their client."""
    video = make.video(duration=600.0)
    course, lesson = make.video_course(video=video)
    learner = make.learner()
    make.enrolment(learner, course)
    client = login_as(learner)

    def report(segments, position=None, **kwargs):
        body = {"segments": segments}
        if position is not None:
            body["position"] = position
        return client.post(f"/courses/{course.id}/lessons/{lesson.id}/video/watch", json=body,
                           **kwargs)

    return course, lesson, video, learner, report


def record_of(learner, video) -> WatchRecord:
    database.session.expire_all()
    return database.session.query(WatchRecord).filter_by(user_id=learner.id,
                                                         video_id=video.id).one()


def test_a_report_for_a_lesson_the_learner_is_not_enrolled_in_is_refused(make, login_as,
                                                                          watching):
    course, lesson, video, _, _ = watching
    stranger = login_as(make.learner())
    response = stranger.post(f"/courses/{course.id}/lessons/{lesson.id}/video/watch",
                             json={"segments": [[0, 10]]})
    assert response.status_code == 403
    assert database.session.query(WatchRecord).count() == 0


def test_a_report_without_the_csrf_token_is_refused(watching):
    *_, report = watching
    assert report([[0, 5]], csrf=False).status_code == 400


def test_steady_watching_is_credited_and_shown_as_a_share(clock, watching):
    _, _, video, learner, report = watching
    assert report([]).json["watched_s"] == 0  # playing starts: the clock starts
    for second in range(10, 61, 10):
        clock.advance(10)
        response = report([[0, second]], position=second)
    assert response.json | {"pass": None} == {"credited_s": 10.0, "watched_s": 60.0,
                                              "percent": 10, "complete": False, "pass": None}
    assert response.json["pass"]  # renewed for the heartbeats
    assert record_of(learner, video).position_s == 60


def test_ten_minutes_claimed_ten_seconds_after_the_last_report_earn_ten_seconds_and_the_tolerance(
        clock, watching):
    _, _, video, learner, report = watching
    report([[0, 1]])
    clock.advance(10)
    response = report([[0, 600]], position=600)
    assert response.json["watched_s"] <= 1 + 10 + TOLERANCE
    assert response.json["complete"] is False
    assert record_of(learner, video).watched_s <= 1 + 10 + TOLERANCE


def test_a_seek_to_the_end_credits_nothing(clock, watching):
    _, lesson, video, learner, report = watching
    report([[0, 5]])
    clock.advance(5)
    report([[0, 5]], position=5)
    clock.advance(2)
    # The learner drags the playhead to the end: nothing new was played, and a sliver
    # of "playing" at the very end is below what counts as a played piece.
    response = report([[0, 5], [599.9, 600]], position=600)
    assert response.json["credited_s"] == 0 and response.json["watched_s"] == 5
    progress = database.session.query(LessonProgress).filter_by(lesson_id=lesson.id).one()
    assert progress.completed_at is None


def test_two_tabs_playing_the_same_seconds_count_them_once(clock, watching, app):
    _, _, video, learner, report = watching
    report([])
    clock.advance(10)
    report([[0, 10]])  # the first tab
    clock.advance(0.5)
    report([[0, 10]])  # the second tab, playing along
    assert record_of(learner, video).watched_s == 10


def test_two_tabs_playing_different_parts_at_once_earn_one_wall_clock(clock, watching):
    _, _, video, learner, report = watching
    report([])
    clock.advance(10)
    report([[0, 10]])
    report([[300, 310]])  # another tab, at the same moment, elsewhere in the video
    clock.advance(10)
    report([[0, 20]])
    report([[300, 320]])
    assert record_of(learner, video).watched_s <= 20 + TOLERANCE


def test_watching_the_threshold_completes_the_lesson_with_its_evidence(clock, make, login_as):
    video = make.video(duration=40.0)
    course, lesson = make.video_course(video=video)
    learner = make.learner()
    make.enrolment(learner, course)
    client = login_as(learner)
    address = f"/courses/{course.id}/lessons/{lesson.id}/video/watch"
    client.post(address, json={"segments": []})
    for second in range(10, 41, 10):
        clock.advance(10)
        response = client.post(address, json={"segments": [[0, min(second, 38)]]})
    assert response.json["complete"] is True and response.json["percent"] == 95
    progress = database.session.query(LessonProgress).filter_by(lesson_id=lesson.id).one()
    assert progress.completed_at is not None
    assert progress.verified_seconds == 38
    assert progress.evidence == {"video": video.id, "watched_s": 38.0, "intervals": [[0, 38]]}
    page = client.get(f"/courses/{course.id}/lessons/{lesson.id}").text
    assert 'id="lesson-done"' in page


def test_a_report_sent_as_a_beacon_form_is_understood(clock, watching, login_as):
    course, lesson, video, learner, report = watching
    report([])
    clock.advance(10)
    client = login_as(learner)
    response = client.post(f"/courses/{course.id}/lessons/{lesson.id}/video/watch",
                           data={"segments": json.dumps([[0, 8]]), "position": "8.5"})
    assert response.status_code == 200 and response.json["watched_s"] == 8
    assert record_of(learner, video).position_s == 8.5


@pytest.mark.parametrize("segments", ["0-10", {"0": 10}, [[0, 1]] * 201])
def test_a_report_that_is_not_a_list_of_segments_is_refused(watching, segments):
    *_, report = watching
    assert report(segments).status_code == 400


def test_the_lesson_page_resumes_where_the_learner_stopped(clock, watching, login_as):
    course, lesson, _, learner, report = watching
    report([])
    clock.advance(10)
    report([[0, 10]], position=123.4)
    page = login_as(learner).get(f"/courses/{course.id}/lessons/{lesson.id}").text
    assert 'data-resume="123.4"' in page


def test_the_progress_table_shows_each_learners_watched_share(clock, watching, make, login_as):
    course, lesson, video, learner, report = watching
    report([])
    for second in range(10, 61, 10):
        clock.advance(10)
        report([[0, second]])
    other = make.learner()
    make.enrolment(other, course)
    page = login_as(make.author).get(f"/teach/courses/{course.id}/progress").text
    assert "Video watched" in page
    assert f"{lesson.title}: 10%" in page and f"{lesson.title}: 0%" in page


def test_a_video_reused_in_two_lessons_is_watched_for_each(clock, make, login_as):
    """Hours are credited per lesson, so one viewing cannot complete two lessons."""
    video = make.video(duration=40.0)
    first_course, first = make.video_course(video=video)
    second_course, second = make.video_course(video=video)
    learner = make.learner()
    make.enrolment(learner, first_course)
    make.enrolment(learner, second_course)
    client = login_as(learner)

    def watch(course, lesson):
        address = f"/courses/{course.id}/lessons/{lesson.id}/video/watch"
        client.post(address, json={"segments": []})
        for second in range(10, 41, 10):
            clock.advance(10)
            response = client.post(address, json={"segments": [[0, second]], "position": second})
        return response.json

    assert watch(first_course, first)["complete"] is True
    page = client.get(f"/courses/{second_course.id}/lessons/{second.id}").text
    assert 'data-resume="0"' in page  # it starts from the beginning there
    done = {p.lesson_id for p in database.session.query(LessonProgress)
            .filter(LessonProgress.completed_at.is_not(None))}
    assert done == {first.id}
    assert watch(second_course, second)["complete"] is True


def test_two_videos_played_at_once_earn_one_wall_clock_between_them(clock, make, login_as):
    first_course, first = make.video_course(video=make.video(duration=600.0))
    second_course, second = make.video_course(video=make.video(duration=600.0))
    learner = make.learner()
    make.enrolment(learner, first_course)
    make.enrolment(learner, second_course)
    client = login_as(learner)

    def report(course, lesson, segments):
        return client.post(f"/courses/{course.id}/lessons/{lesson.id}/video/watch",
                           json={"segments": segments}).json

    report(first_course, first, [])
    report(second_course, second, [])
    for second_played in range(10, 301, 10):
        clock.advance(10)
        report(first_course, first, [[0, second_played]])
        report(second_course, second, [[0, second_played]])
    database.session.expire_all()
    total = sum(r.watched_s for r in database.session.query(WatchRecord)
                .filter_by(user_id=learner.id))
    assert total <= 300 + 2 * TOLERANCE  # five minutes of clock, not ten of video
    assert total >= 300 - TOLERANCE  # and the clock that passed is not lost


def test_reading_in_one_tab_while_a_video_plays_in_another_earns_the_time_once(
        clock, make, login_as, monkeypatch):
    """One learner, one clock: watching and reading share the time that passes."""
    monkeypatch.setattr("lms.courses.controllers.learning.utcnow", clock)
    video_course, video_lesson = make.video_course(video=make.video(duration=600.0))
    text_course = make.course(lessons=1)
    text_lesson = text_course.sections[0].lessons[0]
    text_lesson.min_reading_seconds = 600
    database.session.commit()
    learner = make.learner()
    make.enrolment(learner, video_course)
    make.enrolment(learner, text_course)
    client = login_as(learner)
    watch = f"/courses/{video_course.id}/lessons/{video_lesson.id}/video/watch"
    reading = f"/courses/{text_course.id}/lessons/{text_lesson.id}/reading"

    client.get(f"/courses/{text_course.id}/lessons/{text_lesson.id}")  # the reading tab
    client.post(watch, json={"segments": []})  # the video tab starts playing
    for second in range(10, 121, 10):
        clock.advance(5)
        client.post(reading, headers={"Accept": "application/json"})
        clock.advance(5)
        client.post(watch, json={"segments": [[0, second]]})
    database.session.expire_all()
    watched = database.session.query(WatchRecord).filter_by(user_id=learner.id).one().watched_s
    read = database.session.query(LessonProgress).filter_by(lesson_id=text_lesson.id).one()
    assert watched + read.verified_seconds <= 120 + TOLERANCE  # two minutes passed, once
    assert watched + read.verified_seconds >= 120 - TOLERANCE


def test_seconds_watched_of_a_video_swapped_out_still_count_for_the_lesson(make, db):
    from lms.courses import operations as course_ops
    from lms.records.models import EntryKind, LedgerEntry
    from lms.video import operations as video_ops
    from lms.video.models import VideoLesson

    def watch(video, seconds, now):
        video_ops.record_watch(enrolment, lesson, video, [[0, 0.5]], now=now)  # it starts
        for n in range(int(seconds // 5)):
            now += timedelta(seconds=5)
            video_ops.record_watch(enrolment, lesson, video, [[5 * n, 5 * n + 5]], now=now)
        return now

    learner = make.learner()
    course, lesson = make.video_course()  # a 60-second video
    enrolment = make.enrolment(learner, course)
    first = db.session.get(VideoLesson, lesson.id).video
    now = watch(first, 50, utcnow())  # 50 of 60 seconds: not complete
    # The instructor swaps in a better take; the learner watches all of it.
    video_ops.attach_video(make.author, lesson, make.video(institution=course.institution))
    watch(db.session.get(VideoLesson, lesson.id).video, 60, now + timedelta(minutes=1))
    db.session.commit()
    assert course_ops.progress_for(enrolment, lesson).completed_at is not None
    entry = db.session.scalar(select(LedgerEntry).where(
        LedgerEntry.learner_id == learner.id, LedgerEntry.kind == EntryKind.LESSON_COMPLETED))
    assert entry.verified_seconds >= 50 + 55
