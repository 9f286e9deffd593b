"""Background jobs: the row is the truth, workers lease it, the sweeper recovers lost work."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

import pytest
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from lms import create_app
from lms.core import jobs
from lms.core.db import utcnow
from lms.core.jobs import Job, JobFailed, JobState, enqueue, run_job, run_queued_jobs, sweep
from lms.core.queue import make_consumer
from lms.extensions import db as database

CALLS: list[tuple[int, int, str]] = []
GATE = threading.Event()


@jobs.job("test.record", lease_seconds=2)
def record_job(ctx, word: str, fail_times: int = 0, wait: bool = False) -> dict:
    CALLS.append((ctx.job_id, ctx.attempt, word))
    ctx.progress(0.5, force=True)
    if wait:
        GATE.wait(10)
    if ctx.attempt <= fail_times:
        raise RuntimeError("a transient problem")
    return {"word": word}


@jobs.job("test.refuse")
def refuse_job(ctx) -> None:
    raise JobFailed(_l("The file is not a video (%(kind)s).", kind="text"), detail="magic=text")


@pytest.fixture(autouse=True)
def _reset():
    CALLS.clear()
    GATE.clear()


def queued_in_huey(app) -> int:
    return app.extensions["lms_huey"].pending_count()


def test_a_job_is_dispatched_only_when_its_unit_of_work_commits(app, db):
    row = enqueue("test.record", word="ཐང་ཀ")
    assert row.state == JobState.QUEUED and queued_in_huey(app) == 0
    db.session.commit()
    assert queued_in_huey(app) == 1


def test_a_rolled_back_job_is_never_dispatched(app, db):
    enqueue("test.record", word="lost")
    db.session.rollback()
    db.session.commit()
    assert queued_in_huey(app) == 0


def test_a_job_runs_records_progress_and_succeeds(app, db):
    row = enqueue("test.record", word="唐卡")
    db.session.commit()
    assert run_queued_jobs() == 1
    db.session.refresh(row)
    assert row.state == JobState.SUCCEEDED and row.percent == 100
    assert row.result == {"word": "唐卡"} and row.attempts == 1
    assert CALLS == [(row.id, 1, "唐卡")]


def test_a_second_delivery_of_the_same_job_does_nothing(app, db):
    row = enqueue("test.record", word="once")
    db.session.commit()
    assert run_job(row.id) == JobState.SUCCEEDED
    assert run_job(row.id) is None
    assert len(CALLS) == 1


def test_a_failing_job_is_retried_and_then_marked_failed_with_its_reason(app, db):
    row = enqueue("test.record", word="flaky", fail_times=99)
    db.session.commit()
    run_queued_jobs(include_delayed=True)
    db.session.refresh(row)
    assert row.state == JobState.FAILED
    assert row.attempts == row.max_attempts == 3
    assert "transient problem" in row.error


def test_a_job_that_recovers_on_retry_succeeds(app, db):
    row = enqueue("test.record", word="second time lucky", fail_times=1)
    db.session.commit()
    run_queued_jobs(include_delayed=True)
    db.session.refresh(row)
    assert row.state == JobState.SUCCEEDED and row.attempts == 2


def test_a_refused_job_fails_at_once_with_a_translatable_reason(app, db):
    row = enqueue("test.refuse")
    db.session.commit()
    run_queued_jobs()
    db.session.refresh(row)
    assert row.state == JobState.FAILED and row.attempts == 1
    assert row.error_message == {"msgid": "The file is not a video (%(kind)s).",
                                 "params": {"kind": "text"}}
    assert row.failure_text() == "The file is not a video (text)."


def test_the_sweeper_requeues_a_job_whose_worker_died(app, db):
    row = enqueue("test.record", word="survivor")
    db.session.commit()
    # A worker claimed it and died: the lease ran out with the job "running".
    db.session.execute(update(Job).where(Job.id == row.id).values(
        state=JobState.RUNNING, attempts=1, lease_expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert sweep() == 1
    db.session.refresh(row)
    assert row.state == JobState.QUEUED and "stopped holding the lease" in row.error
    run_queued_jobs()
    db.session.refresh(row)
    assert row.state == JobState.SUCCEEDED and row.attempts == 2


def test_the_sweeper_fails_a_job_that_has_no_attempts_left(app, db):
    row = enqueue("test.record", word="doomed")
    db.session.commit()
    db.session.execute(update(Job).where(Job.id == row.id).values(
        state=JobState.RUNNING, attempts=3, lease_expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    sweep()
    db.session.refresh(row)
    assert row.state == JobState.FAILED
    assert row.failure_text() == "The worker stopped before the job finished."


def test_the_sweeper_redispatches_a_job_whose_message_was_lost(app, db):
    row = enqueue("test.record", word="lost message")
    db.session.commit()
    app.extensions["lms_huey"].flush()  # the queue forgot it (e.g. Redis restarted)
    long_ago = utcnow() - timedelta(minutes=10)
    db.session.execute(update(Job).where(Job.id == row.id).values(
        created_at=long_ago, dispatched_at=long_ago))
    db.session.commit()
    assert sweep() == 1 and queued_in_huey(app) == 1


def test_a_running_job_keeps_its_lease_alive(app, db):
    row = enqueue("test.record", word="slow", wait=True)
    db.session.commit()
    worker = threading.Thread(target=lambda: _run_in_context(app, row.id))
    worker.start()
    time.sleep(1.6)  # longer than half the 2 s lease
    with database.independent_session() as s:
        lease = s.scalar(select(Job.lease_expires_at).where(Job.id == row.id))
    assert lease is not None and lease > utcnow()
    assert sweep() == 0  # a live worker's job is not taken away
    GATE.set()
    worker.join(10)
    db.session.refresh(row)
    assert row.state == JobState.SUCCEEDED


def _run_in_context(app, job_id):
    with app.app_context():
        run_job(job_id)


# --- real consumers ----------------------------------------------------------

def _consume_until_done(app, job_id: int, timeout: float = 30) -> Job:
    consumer = make_consumer(app, workers=2, embedded=True)
    consumer.start()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with database.independent_session() as s:
                row = s.get(Job, job_id)
                if not row.is_active:
                    return row
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} did not finish in {timeout}s")
    finally:
        consumer.stop(graceful=False)


@pytest.fixture
def real_queue_app(base_config, committed_db, tmp_path):
    """An app whose jobs go through a real Huey queue, on committed data."""

    def build(**config):
        app = create_app({**base_config, "JOB_QUEUE": "real",
                          "QUEUE_NAME": f"test-{uuid.uuid4().hex[:8]}", **config})
        return app

    return build


def test_a_job_runs_through_the_sqlite_queue_and_a_real_consumer(real_queue_app):
    app = real_queue_app()
    with app.app_context():
        row = enqueue("test.record", word="བོད་སྤོས")
        database.session.commit()
        done = _consume_until_done(app, row.id)
    assert done.state == JobState.SUCCEEDED and done.result == {"word": "བོད་སྤོས"}


def test_a_job_runs_through_redis_and_a_real_consumer(real_queue_app, redis_url):
    app = real_queue_app(REDIS_URL=redis_url)
    assert type(app.extensions["lms_huey"]).__name__ == "RedisHuey"
    with app.app_context():
        row = enqueue("test.record", word="redis")
        database.session.commit()
        done = _consume_until_done(app, row.id)
        app.extensions["lms_huey"].flush()
    assert done.state == JobState.SUCCEEDED and done.result == {"word": "redis"}


def test_a_job_is_not_dispatched_when_a_savepoint_inside_its_transaction_commits(app, db):
    enqueue("test.record", word="nested")
    with db.session.begin_nested():
        pass
    assert queued_in_huey(app) == 0
    db.session.commit()
    assert queued_in_huey(app) == 1
