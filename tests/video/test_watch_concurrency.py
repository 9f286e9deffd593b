"""Two tabs reporting at the same instant: the watch record is locked from load to store, so
one report is merged after the other and neither is lost."""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta

from sqlalchemy import select

from lms.core.db import utcnow
from lms.extensions import db as database
from lms.video import operations
from lms.video.models import WatchRecord


def test_simultaneous_reports_from_two_tabs_are_merged_one_after_the_other(
        app, committed_make, monkeypatch):
    video = committed_make.video(duration=600.0)
    course, lesson = committed_make.video_course(video=video)
    learner = committed_make.learner()
    committed_make.enrolment(learner, course)
    address = f"/courses/{course.id}/lessons/{lesson.id}/video/watch"
    start = utcnow()
    clock = [start]
    monkeypatch.setattr(operations, "utcnow", lambda: clock[0])

    def tab():
        client = app.test_client()
        with client.session_transaction() as sess:
            sess["_user_id"], sess["_fresh"] = learner.get_id(), True
        return client

    first, second = tab(), tab()
    assert first.post(address, json={"segments": []}).status_code == 200
    clock[0] = start + timedelta(seconds=10)

    # Both reports stop just before merging; only a report that got past the lock gets
    # there, so with the lock the first waits in vain and the second comes after it.
    arrived = threading.Barrier(2, timeout=3)
    real_credit = operations.credit_report

    def credit_after_meeting(*args, **kwargs):
        with contextlib.suppress(threading.BrokenBarrierError):
            arrived.wait()
        return real_credit(*args, **kwargs)

    monkeypatch.setattr(operations, "credit_report", credit_after_meeting)
    answers = []
    tabs = [threading.Thread(target=lambda c=c, s=s: answers.append(
        c.post(address, json={"segments": s}).status_code))
        for c, s in ((first, [[0, 10]]), (second, [[300, 310]]))]
    for t in tabs:
        t.start()
    for t in tabs:
        t.join(60)
    assert answers == [200, 200]
    database.session.remove()
    record = database.session.scalar(select(WatchRecord).where(WatchRecord.user_id == learner.id))
    assert record.state["intervals"] == [[0.0, 10.0], [300.0, 310.0]]  # nothing overwritten
    assert record.watched_s == 20.0
