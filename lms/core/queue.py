"""The job queue: Huey on SQLite by default or on Redis, its one task, the sweeper, consumers.

Huey only rings the doorbell (see lms.core.jobs): every message is a job id,
and the one registered task runs that job's row. The sweeper, and the minutely
work the domains register (``jobs.EVERY_MINUTE``), run every minute on every
consumer; running them twice is harmless.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey, crontab
from huey.consumer import Consumer
from sqlalchemy import event
from sqlalchemy.orm import Session

from lms.core.jobs import _after_commit, _after_rollback, run_every_minute, run_job


def make_huey(app: Flask) -> Huey:
    """Huey on Redis when configured, else on SQLite in the instance directory.

    Tests that drive jobs by hand set ``JOB_QUEUE="memory"``: nothing consumes
    it, and ``run_queued_jobs`` runs the rows directly.
    """
    name = app.config["QUEUE_NAME"]
    if app.config.get("JOB_QUEUE") == "memory":
        return MemoryHuey(name, results=False)
    if app.config["REDIS_URL"]:
        return RedisHuey(name, url=app.config["REDIS_URL"], results=False)
    path = Path(app.instance_path) / "huey.db"
    return SqliteHuey(name, filename=str(path), results=False)


def init_app(app: Flask) -> None:
    """Create the queue, register the one Huey task and the sweeper, hook commits."""
    huey = make_huey(app)

    def run_job_task(job_id: int) -> None:
        with app.app_context():
            run_job(job_id)

    def sweep_task() -> None:
        with app.app_context():
            run_every_minute()

    app.extensions["lms_huey"] = huey
    app.extensions["lms_run_job_task"] = huey.task(name="lms.run_job")(run_job_task)
    huey.periodic_task(crontab(minute="*"), name="lms.sweep_jobs")(sweep_task)
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)


class EmbeddedConsumer(Consumer):
    """A Huey consumer running in threads beside the web server (``lms serve``)."""

    def _set_signal_handlers(self) -> None:  # the web server owns the signals
        pass


def make_consumer(app: Flask, *, workers: int, embedded: bool = False) -> Consumer:
    """A consumer for this app's queue; ``embedded`` leaves signal handling to the caller."""
    cls = EmbeddedConsumer if embedded else Consumer
    return cls(app.extensions["lms_huey"], workers=workers, worker_type="thread",
               periodic=True, check_worker_health=True)
