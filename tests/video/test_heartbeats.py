"""Heartbeats: taken in with the page's watch pass and no database, folded in by the worker
with the rules of a direct report, timed when they arrived."""

from __future__ import annotations

import json
import re
import threading
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from lms.core import jobs
from lms.core.db import utcnow
from lms.courses import operations as course_ops
from lms.courses.models import LessonProgress
from lms.extensions import db as database
from lms.video.models import WatchRecord
from lms.video.spool import (
    MAX_REPORT_BYTES,
    PASS_LIFETIME_S,
    FileSpool,
    RedisSpool,
    SpooledReport,
    read_pass,
    spool_of,
)
from lms.video.tasks import fold_spool
from tests.video.test_watch_reports import Clock

TOLERANCE = 10.0  # the default VIDEO_WATCH_TOLERANCE_S


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr("lms.video.operations.utcnow", clock)
    monkeypatch.setattr("lms.video.controllers.watch._now", clock.epoch)
    return clock


@pytest.fixture
def spool(app, tmp_path):
    """A spool of this test's own (the instance directory is shared by the session's tests)."""
    spool = FileSpool(app, tmp_path / "spool")
    app.extensions["lms_watch_spool"] = spool
    return spool


@pytest.fixture(autouse=True)
def _own_spool(spool):
    """Every test here, the player's included, uses a spool of its own."""


@pytest.fixture
def players(make, login_as, client, spool):
    """Makes a learner enrolled in a video lesson of the given length, with their page's pass
    and two ways to report: ``beat`` (the heartbeat, no cookie) and ``report`` (signed in,
    with the token)."""

    def player(duration: float) -> SimpleNamespace:
        video = make.video(duration=duration)
        course, lesson = make.video_course(video=video)
        learner = make.learner()
        make.enrolment(learner, course)
        signed_in = login_as(learner)
        page = signed_in.get(f"/courses/{course.id}/lessons/{lesson.id}").get_data(as_text=True)
        found = re.search(r'data-heartbeat="([^"]+)" data-pass="([^"]+)"', page)
        assert found, "the lesson page hands the player a heartbeat address and a pass"
        url, watch_pass = found.groups()
        anonymous = client.application.test_client()

        def beat(segments, position=None, *, token=None, at=url):
            data = {"pass": watch_pass if token is None else token,
                    "segments": json.dumps(segments)}
            if position is not None:
                data["position"] = str(position)
            return anonymous.post(at, data=data, csrf=False)

        def report(segments, position=None):
            body = {"segments": segments}
            if position is not None:
                body["position"] = position
            return signed_in.post(f"/courses/{course.id}/lessons/{lesson.id}/video/watch",
                                  json=body)

        return SimpleNamespace(course=course, lesson=lesson, video=video, learner=learner,
                               url=url, pass_=watch_pass, beat=beat, report=report,
                               signed_in=signed_in)

    return player


@pytest.fixture
def player(players) -> SimpleNamespace:
    """A learner watching a ten-minute video lesson."""
    return players(600.0)


def record_of(p) -> WatchRecord | None:
    database.session.expire_all()
    return database.session.scalar(select(WatchRecord).where(
        WatchRecord.user_id == p.learner.id, WatchRecord.video_id == p.video.id))


def test_a_heartbeat_is_spooled_without_touching_the_record_then_folded(clock, player, spool):
    player.report([])  # playing starts: the clock starts
    clock.advance(10)
    response = player.beat([[0, 10]], position=10)
    assert response.status_code == 202 and response.json["queued"] is True
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    assert spool.pending() == 1
    assert record_of(player).watched_s == 0  # not yet folded
    assert fold_spool() == 1
    record = record_of(player)
    assert record.watched_s == 10 and record.position_s == 10
    assert spool.pending() == 0


def test_a_heartbeat_answers_with_the_share_verified_last(clock, player):
    player.report([])
    clock.advance(10)
    first = player.beat([[0, 10]])
    assert first.json == {"queued": True, "percent": 0, "complete": False}  # the play report's
    clock.advance(20)
    player.beat([[0, 30]])
    fold_spool()
    clock.advance(10)
    assert player.beat([[0, 40]]).json == {"queued": True, "percent": 5, "complete": False}
    clock.advance(5)
    player.report([[0, 45]])  # a pause: merged at once, and noted for the next heartbeat
    clock.advance(10)
    assert player.beat([[0, 45]]).json["percent"] == 7


def test_one_status_is_kept_per_learner_for_the_video_they_watch_now(app, spool):
    spool.note_status(7, 3, 4, 40, False)
    spool.note_status(7, 5, 6, 100, True)
    spool.note_status(8, 3, 4, 10, False)
    assert spool.status(7, 3, 4) is None
    assert spool.status(7, 5, 6) == {"percent": 100, "complete": True}
    assert spool.status(8, 3, 4) == {"percent": 10, "complete": False}
    assert sorted(p.name for p in (spool.directory / "status").iterdir()) == ["7", "8"]


def test_the_wall_clock_at_arrival_caps_a_heartbeat(clock, player):
    player.report([[0, 1]])
    clock.advance(10)
    player.beat([[0, 600]], position=600)
    clock.advance(500)  # folded long after: the time it arrived is what counts
    fold_spool()
    assert record_of(player).watched_s <= 1 + 10 + TOLERANCE


def test_steady_heartbeats_credit_what_was_played(clock, player):
    player.report([])
    for second in range(10, 121, 10):
        clock.advance(10)
        assert player.beat([[0, second]], position=second).status_code == 202
    assert fold_spool() == 12
    assert record_of(player).watched_s == 120


def test_heartbeats_folded_after_a_later_direct_report_credit_nothing_twice(clock, player):
    player.report([])
    clock.advance(10)
    player.beat([[0, 10]], position=10)
    clock.advance(10)
    player.beat([[0, 20]], position=20)
    clock.advance(5)
    paused = player.report([[0, 25]], position=25)  # the pause: merged at once
    assert paused.json["watched_s"] == 25
    fold_spool()  # the two heartbeats it overtook
    record = record_of(player)
    assert record.watched_s == 25
    assert record.position_s == 25  # not moved back to where an older heartbeat was


def test_folding_the_same_batch_twice_credits_it_once(clock, player, spool):
    player.report([])
    clock.advance(10)
    player.beat([[0, 10]])
    spool.seal(player.learner.id)
    (batch,) = spool.batches(player.learner.id)
    lines = batch.read_bytes()
    fold_spool()
    batch.write_bytes(lines)  # as if the worker stopped before dropping the batch
    fold_spool()
    assert record_of(player).watched_s == 10


def test_refolding_a_batch_credits_not_even_the_banked_tolerance_again(clock, player, spool):
    player.report([])
    clock.advance(60)
    player.report([])  # paused a minute: time banked
    clock.advance(10)
    player.beat([[0, 100]])  # claims far more than the ten seconds since
    spool.seal(player.learner.id)
    (batch,) = spool.batches(player.learner.id)
    lines = batch.read_bytes()
    fold_spool()
    first = record_of(player).watched_s
    assert first == 10 + TOLERANCE
    batch.write_bytes(lines)
    fold_spool()
    assert record_of(player).watched_s == first


def test_only_one_consumer_folds_everyone_at_a_time(clock, player, spool):
    player.report([])
    clock.advance(10)
    player.beat([[0, 10]])
    with spool.folding() as mine:
        assert mine
        assert fold_spool() == 0  # another consumer, the same minute: it leaves it
    assert fold_spool() == 1
    assert record_of(player).watched_s == 10


def test_a_fold_that_fails_keeps_the_heartbeats_for_the_next_and_gives_up_after_three(
        clock, player, spool, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from lms.video import tasks

    player.report([])
    clock.advance(10)
    player.beat([[0, 10]], position=10)
    real = tasks.operations.record_heard

    def busy(*args, **kwargs):
        raise OperationalError("UPDATE study_clocks", {}, Exception("database is locked"))

    monkeypatch.setattr(tasks.operations, "record_heard", busy)
    fold_spool()
    assert spool.pending() == 1  # put back for the next minute
    monkeypatch.setattr(tasks.operations, "record_heard", real)
    fold_spool()
    assert record_of(player).watched_s == 10
    clock.advance(10)
    player.beat([[0, 20]], position=20)
    monkeypatch.setattr(tasks.operations, "record_heard", busy)
    for _ in range(3):
        fold_spool()
    assert spool.pending() == 0  # given up after three failed folds


def test_one_report_with_a_huge_number_does_not_sink_the_others(clock, player, spool):
    player.report([])
    clock.advance(10)
    player.beat([[0, 10]])
    clock.advance(3)
    player.beat([[0, 10 ** 400]])  # JSON, but no float holds it
    clock.advance(7)
    player.beat([[0, 20]])
    fold_spool()
    assert record_of(player).watched_s == 20


def test_heartbeats_complete_the_lesson_once(clock, players):
    player = players(40.0)
    player.report([])
    for second in (10, 20, 30, 40):
        clock.advance(10)
        player.beat([[0, second]])
    fold_spool()
    database.session.expire_all()
    progress = database.session.scalar(select(LessonProgress).where(
        LessonProgress.lesson_id == player.lesson.id))
    assert progress.completed_at is not None
    assert progress.verified_seconds == 40
    assert progress.evidence["watched_s"] == 40


@pytest.mark.parametrize("tamper", ["forged", "other_lesson", "other_user", "expired", "empty",
                                    "not_ascii", "too_long"])
def test_a_heartbeat_without_a_good_pass_is_refused_and_not_spooled(clock, player, spool, tamper):
    payload, _, mac = player.pass_.rpartition(".")
    user, version, course, lesson, video, expires = payload.split(".")
    token, url = player.pass_, player.url
    if tamper == "forged":
        token = f"{payload}.{'A' * len(mac)}"
    elif tamper == "other_lesson":
        url = url.replace(f"/lessons/{lesson}/", f"/lessons/{int(lesson) + 1}/")
    elif tamper == "other_user":
        token = f"{int(user) + 1}.{version}.{course}.{lesson}.{video}.{expires}.{mac}"
    elif tamper == "expired":
        clock.advance(PASS_LIFETIME_S + 60)
    elif tamper == "not_ascii":
        token = f"{payload}.{'ཀ' * len(mac)}"
    elif tamper == "too_long":
        token = f"{'1' * 300}.{payload}.{mac}"
    else:
        token = ""
    response = player.beat([[0, 10]], token=token, at=url)
    assert response.status_code == 403
    assert "reload" in response.json["error"]
    assert spool.pending() == 0


def test_a_learner_who_withdrew_or_signed_out_everywhere_earns_nothing_from_the_spool(
        clock, player, make):
    player.report([])
    clock.advance(10)
    player.beat([[0, 10]])
    course_ops.withdraw(player.learner, player.course)
    database.session.commit()
    fold_spool()
    assert record_of(player).watched_s == 0


def test_a_pass_from_before_signing_out_everywhere_no_longer_counts(clock, player):
    player.report([])
    clock.advance(10)
    player.beat([[0, 10]])
    player.learner.session_version += 1  # what "sign out everywhere" and a new password do
    database.session.commit()
    fold_spool()
    assert record_of(player).watched_s == 0


def test_heartbeats_in_quick_succession_are_taken_once(clock, player, spool):
    player.report([])
    clock.advance(10)
    assert player.beat([[0, 10]]).status_code == 202
    clock.advance(0.5)
    assert player.beat([[0, 10.5]]).status_code == 429
    assert spool.pending() == 1


def test_an_oversized_heartbeat_is_refused(clock, player, spool):
    response = player.beat([[n, n + 0.5] for n in range(0, MAX_REPORT_BYTES, 1)])
    assert response.status_code == 413
    assert spool.pending() == 0


def test_a_malformed_heartbeat_is_skipped_and_the_others_count(clock, player, spool):
    player.report([])
    clock.advance(10)
    player.beat("not a list of segments")
    clock.advance(10)
    player.beat([[0, 20]])
    fold_spool()
    assert record_of(player).watched_s == 20


def test_segments_nested_thousands_deep_are_refused_both_ways(clock, player, client):
    player.report([])
    clock.advance(10)
    deep = "[" * 2000 + "]" * 2000
    assert player.beat(None, token=None).status_code == 202  # JSON null: malformed, spooled
    clock.advance(3)
    anonymous = client.application.test_client()
    assert anonymous.post(player.url, data={"pass": player.pass_, "segments": deep},
                          csrf=False).status_code == 202
    clock.advance(3)
    player.beat([[0, 16]])
    fold_spool()  # the malformed ones are skipped, the good one counts
    assert record_of(player).watched_s == 16
    direct = f"/courses/{player.course.id}/lessons/{player.lesson.id}/video/watch"
    assert player.signed_in.post(direct, data={"segments": deep}).status_code == 400
    assert player.signed_in.post(direct, data=deep,
                                 content_type="application/json").status_code == 400


def test_the_minutely_work_folds_the_spool(clock, player, spool):
    assert jobs.EVERY_MINUTE["video.fold_spool"] is fold_spool
    player.report([])
    clock.advance(10)
    player.beat([[0, 10]])
    jobs.run_every_minute()
    assert record_of(player).watched_s == 10


def test_staff_previewing_the_lesson_get_no_pass(make, login_as):
    video = make.video(duration=60.0)
    course, lesson = make.video_course(video=video)
    instructor = login_as(make.instructor(institution=course.institution))
    page = instructor.get(f"/courses/{course.id}/lessons/{lesson.id}").get_data(as_text=True)
    assert "data-pass" not in page


def test_a_pass_reads_back_what_was_signed_and_nothing_else(app, player, spool):
    found = read_pass(player.pass_, spool.key)
    assert (found.user_id, found.course_id, found.lesson_id, found.video_id) == (
        player.learner.id, player.course.id, player.lesson.id, player.video.id)
    assert read_pass(player.pass_ + "x", spool.key) is None
    assert read_pass("1.2.3", spool.key) is None
    assert read_pass(player.pass_, b"another key" * 3) is None


def test_appends_racing_a_seal_lose_no_line(app, tmp_path):
    spool = FileSpool(app, tmp_path / "race")
    report = SpooledReport(1, 1, 2, 3, 4, "[[0, 1]]", 1.0, 1e9)
    stop = threading.Event()
    written = []

    def writer():
        n = 0
        while not stop.is_set() and n < 3000:
            spool.append(report)
            n += 1
        written.append(n)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    seen = 0

    def take() -> int:
        batches = spool.taken(1)
        for batch, _ in batches:
            spool.done(batch)
        return sum(len(reports) for _, reports in batches)

    while any(t.is_alive() for t in threads):
        seen += take()
    stop.set()
    seen += take()
    assert seen == sum(written) == 12000


def test_the_redis_spool_keeps_each_learners_heartbeats_apart(app, redis_url):
    import redis

    app.config["QUEUE_NAME"] = f"test-spool-{utcnow().timestamp()}"
    spool = RedisSpool(app, redis_url)
    try:
        mine = SpooledReport(1, 1, 2, 3, 4, "[[0, 1]]", None, 1e9)
        theirs = SpooledReport(9, 1, 2, 3, 4, "[[0, 2]]", 2.0, 1e9 + 1)
        assert spool.status(1, 3, 4) is None
        spool.note_status(1, 3, 4, 42, False)
        assert spool.status(1, 3, 4) == {"percent": 42, "complete": False}
        assert spool.status(1, 3, 5) is None  # another video of the lesson
        assert not spool.has_waiting(1)
        spool.append(mine)
        spool.append(mine)
        spool.append(theirs)
        assert spool.learners() == [1, 9] and spool.has_waiting(1)
        assert spool.pending() == 3
        batches = spool.taken(1)
        assert [reports for _, reports in batches] == [[mine, mine]]
        assert spool.learners() == [1, 9]  # listed until their sealed batch is done
        assert spool.has_waiting(1)
        spool.append(mine)  # a heartbeat during the fold
        for batch, _ in batches:
            spool.done(batch)
        assert spool.learners() == [1, 9] and spool.pending() == 2
        for batch, _ in spool.taken(1):
            spool.done(batch)
        assert spool.learners() == [9]
        assert not spool.has_waiting(1) and spool.pending() == 1
        assert spool.taken(1) == []  # nothing appended: nothing to seal
        with spool.folding() as first, spool.folding() as second:
            assert first and not second
    finally:
        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter(match=f"{spool.prefix}:*"):
            client.delete(key)


def test_the_app_spools_to_redis_when_it_has_one(base_config, redis_url, tmp_path):
    from lms import create_app

    app = create_app({**base_config, "REDIS_URL": redis_url,
                      "SEARCH_INDEX_PATH": str(tmp_path / "search")})
    assert isinstance(spool_of(app), RedisSpool)


def test_a_signed_in_report_renews_the_pass_and_signing_out_stops_the_heartbeats(
        clock, player, spool):
    assert PASS_LIFETIME_S <= 5 * 60  # a page left open stops counting soon after sign-out
    clock.advance(PASS_LIFETIME_S + 60)
    assert player.beat([[0, 10]]).status_code == 403  # expired: the player reports directly
    fresh = player.report([[0, 10]]).json["pass"]
    assert read_pass(fresh, spool.key, now=clock.epoch()).user_id == player.learner.id
    clock.advance(10)
    assert player.beat([[0, 20]], token=fresh).status_code == 202
    player.signed_in.post("/account/logout")
    assert player.report([[0, 20]]).status_code in (302, 401)  # no fresh pass once signed out


def test_heartbeats_count_in_the_order_they_came_beside_a_text_being_read(
        clock, player, make, monkeypatch):
    """A video plays while a text lesson is open beside it: the reading reports move the
    learner's one clock, so they first fold the heartbeats that came before them."""
    from lms.courses.models import Lesson

    monkeypatch.setattr("lms.courses.controllers.learning.utcnow", clock)
    text_course = make.thangka_course()
    make.enrolment(player.learner, text_course)
    text = database.session.scalar(select(Lesson).where(Lesson.course_id == text_course.id)
                                   .order_by(Lesson.id))
    reading = f"/courses/{text_course.id}/lessons/{text.id}/reading"
    player.report([])
    player.signed_in.get(f"/courses/{text_course.id}/lessons/{text.id}")
    for t in range(1, 121):
        clock.advance(1)
        if t % 10 == 0:
            assert player.beat([[0, t]], t).status_code == 202
        if t % 20 == 15:
            assert player.signed_in.post(reading, headers={"Accept": "application/json"}
                                         ).status_code == 200
        if t % 60 == 0:
            fold_spool()
    clock.advance(5)
    player.report([[0, 125]], 125)
    # The same schedule of direct reports only credits the video 95 s; the time the text
    # took from the one clock is the rest.
    assert record_of(player).watched_s >= 90


def test_a_study_report_whose_heartbeats_fail_to_fold_moves_no_clock_past_them(
        clock, player, make, monkeypatch, spool):
    """Were the reading report to go on, it would take the heartbeats' time from the one
    clock and they could never be credited after; it fails instead, and they wait."""
    from lms.courses.models import Lesson
    from lms.video import tasks

    monkeypatch.setattr("lms.courses.controllers.learning.utcnow", clock)
    text_course = make.thangka_course()
    make.enrolment(player.learner, text_course)
    text = database.session.scalar(select(Lesson).where(Lesson.course_id == text_course.id)
                                   .order_by(Lesson.id))
    player.report([])
    player.signed_in.get(f"/courses/{text_course.id}/lessons/{text.id}")
    for t in (10, 20, 30):
        clock.advance(10)
        assert player.beat([[0, t]], position=t).status_code == 202
    real, calls = tasks.operations.record_heard, {"n": 0}

    def once_failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("lock timeout")
        return real(*args, **kwargs)

    monkeypatch.setattr(tasks.operations, "record_heard", once_failing)
    clock.advance(2)
    with pytest.raises(RuntimeError):
        player.signed_in.post(f"/courses/{text_course.id}/lessons/{text.id}/reading",
                              headers={"Accept": "application/json"})
    database.session.rollback()
    assert spool.pending() == 3
    fold_spool()
    assert record_of(player).watched_s == 30


def test_study_goes_on_when_the_spool_is_away(clock, player, spool, monkeypatch):
    player.report([])
    clock.advance(10)
    player.beat([[0, 10]])

    def away(*args, **kwargs):
        raise OSError("the spool's disk is gone")

    monkeypatch.setattr(spool, "has_waiting", away)
    monkeypatch.setattr(spool, "note_status", away)
    clock.advance(10)
    response = player.report([[0, 20]], position=20)
    assert response.status_code == 200 and response.json["watched_s"] == 20


def test_the_page_and_each_seal_make_the_learners_file_so_a_heartbeat_only_appends(
        clock, player, spool):
    current = spool.directory / str(player.learner.id) / "current.log"
    assert current.exists() and current.stat().st_size == 0  # made by the lesson page
    assert not spool.has_waiting(player.learner.id)
    player.report([])
    clock.advance(10)
    player.beat([[0, 10]])
    assert spool.has_waiting(player.learner.id)
    fold_spool()
    assert current.exists() and current.stat().st_size == 0  # made again by the seal
    assert not spool.has_waiting(player.learner.id)
    assert list(current.parent.glob("batch-*")) == []


def test_heartbeats_that_all_count_for_nothing_leave_no_progress_behind(clock, player):
    # The learner's clock has already moved past these heartbeats (another tab's report).
    with database.session.begin_nested():
        course_ops.study_clock(player.learner.id).last_report_at = clock.epoch() + 60
    database.session.commit()
    player.beat([[0, 10]], position=10)
    assert fold_spool() == 1
    assert database.session.scalar(select(LessonProgress).where(
        LessonProgress.lesson_id == player.lesson.id)) is None
    assert record_of(player).watched_s == 0
