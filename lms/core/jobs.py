"""Background jobs: a row in the database is the truth, Huey is the doorbell.

``enqueue("video.transcode", video_id=3)`` adds a ``Job`` row in the caller's
unit of work; only when that commits is the job id handed to Huey (SQLite by
default, Redis when ``LMS_REDIS_URL`` is set). A worker claims the row with a
lease and renews it while it works. Huey delivers at most once when a worker
dies hard, so a sweeper puts jobs with an expired lease (or a lost message)
back in the queue; claiming is atomic, so a duplicate delivery is harmless.

Job functions live in each domain's ``tasks.py``, registered with ``@job``.
They take ids, load, call an operation, and return; the runner commits their
work together with the job's success, in one transaction.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from flask import Flask, current_app
from flask_babel import LazyString, gettext
from huey import Huey
from sqlalchemy import ForeignKey, String, Text, and_, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from lms.core.db import Base, enum_column, utcnow, write_intent
from lms.extensions import db

log = logging.getLogger(__name__)


def N_(message: str) -> str:
    """Mark a message for translation where it is stored untranslated and shown later."""
    return message


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Job(Base):
    """One unit of background work and everything known about its progress."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[JobState] = mapped_column(enum_column(JobState), default=JobState.QUEUED,
                                            index=True)
    #: What the job is about, e.g. ``video:12``, so a page can find its job.
    subject: Mapped[str | None] = mapped_column(String(100), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    progress: Mapped[float] = mapped_column(default=0.0)
    #: Translatable failure: ``{"msgid": ..., "params": {...}}``; ``error`` keeps the detail.
    error_message: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None]
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    worker: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None]
    run_after: Mapped[datetime | None]
    dispatched_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    @property
    def is_active(self) -> bool:
        return self.state in (JobState.QUEUED, JobState.RUNNING)

    @property
    def percent(self) -> int:
        return 100 if self.state == JobState.SUCCEEDED else int(self.progress * 100)

    def failure_text(self) -> str:
        """The failure reason in the reader's language."""
        if not self.error_message:
            return gettext("The job failed.") if self.state == JobState.FAILED else ""
        msgid, params = self.error_message["msgid"], self.error_message.get("params", {})
        return gettext(msgid, **params)

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.name} {self.state}>"


# --- registry -------------------------------------------------------------

@dataclass(frozen=True)
class JobType:
    """A registered kind of job: its function and how long one attempt may hold a lease."""

    name: str
    func: Callable[..., Any]
    lease_seconds: int | None
    max_attempts: int | None


JOB_TYPES: dict[str, JobType] = {}

#: Work every consumer does once a minute after the sweep, by name; domains register it
#: here (``lms.video.tasks`` folds the watch heartbeats). Each is run in the app context
#: and must be harmless to run twice at once.
EVERY_MINUTE: dict[str, Callable[[], Any]] = {}


def run_every_minute() -> None:
    """The sweep, then each registered piece of minutely work; one failing stops no other."""
    sweep()
    for name, work in EVERY_MINUTE.items():
        try:
            work()
        except Exception:
            db.session.rollback()
            log.exception("minutely work %s failed", name)


def job(name: str, *, lease_seconds: int | None = None,
        max_attempts: int | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``func(ctx: JobContext, **payload)`` as the job called ``name``."""

    def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
        JOB_TYPES[name] = JobType(name, func, lease_seconds, max_attempts)
        return func

    return decorator


class JobFailed(Exception):
    """A failure to show to people in their language; the job is not retried."""

    def __init__(self, message: LazyString | str, detail: str = "") -> None:
        super().__init__(str(message))
        self.message = message
        self.detail = detail


def describe_error(exc: BaseException) -> tuple[dict[str, Any] | None, str]:
    """A translatable message (if the exception carries one) and a technical detail."""
    message = getattr(exc, "message", None) or getattr(exc, "reason", None)
    detail = getattr(exc, "detail", "") or f"{type(exc).__name__}: {exc}"
    if isinstance(message, LazyString) and message._args:
        params = {k: (str(v) if isinstance(v, LazyString) else v)
                  for k, v in message._kwargs.items()}
        return {"msgid": message._args[0], "params": params}, detail
    return None, detail


# --- enqueueing -----------------------------------------------------------

_PENDING_KEY = "lms_pending_jobs"


def enqueue(name: str, *, subject: str | None = None, owner_id: int | None = None,
            session: Session | None = None, **payload: Any) -> Job:
    """Add a job to the caller's unit of work; it is dispatched when that commits."""
    if name not in JOB_TYPES:
        raise KeyError(f"unknown job {name!r}")
    session = session or db.session()
    jt = JOB_TYPES[name]
    row = Job(name=name, payload=payload, subject=subject, owner_id=owner_id,
              max_attempts=jt.max_attempts or current_app.config["JOB_MAX_ATTEMPTS"])
    session.add(row)
    session.flush()
    session.info.setdefault(_PENDING_KEY, []).append(row.id)
    return row


def _after_commit(session: Session) -> None:
    # SQLAlchemy also reports the release of a SAVEPOINT here; only the outermost
    # commit makes the job rows visible to workers.
    if session.in_nested_transaction():
        return
    ids = session.info.pop(_PENDING_KEY, [])
    for job_id in ids:
        dispatch(job_id)


def _after_rollback(session: Session) -> None:
    # A rolled-back SAVEPOINT keeps the outer transaction's jobs; a job whose
    # row went with the savepoint is dispatched, finds no row and does nothing.
    if not session.in_nested_transaction():
        session.info.pop(_PENDING_KEY, None)


def dispatch(job_id: int, *, delay: float = 0) -> None:
    """Ring the doorbell: ask a worker to run ``job_id`` (now or after ``delay`` seconds)."""
    app = current_app._get_current_object()
    huey: Huey = app.extensions["lms_huey"]
    task = app.extensions["lms_run_job_task"]
    if delay > 0:
        task.schedule((job_id,), delay=delay)
    else:
        task(job_id)
    with db.independent_session() as s:
        s.execute(update(Job).where(Job.id == job_id).values(dispatched_at=utcnow()))
    log.debug("dispatched job %s through %s", job_id, type(huey).__name__)


# --- running --------------------------------------------------------------

class JobContext:
    """What a job function gets: its id, attempt number, progress reports, a write phase.

    A job reads, works for a long time, then writes. On SQLite a transaction
    that means to write holds the database's write lock, so the job's reads
    run in a plain (deferred) transaction and ``begin_write()`` starts the
    short write phase: it ends the read snapshot and takes the lock up front.
    """

    def __init__(self, job_row: Job) -> None:
        self.job_id = job_row.id
        self.attempt = job_row.attempts
        self._last_write = 0.0
        self._writing = False

    def begin_write(self) -> None:
        """End the read phase; what follows commits with the job's success."""
        if not self._writing:
            db.session.commit()
            write_intent.set(True)
            self._writing = True

    def progress(self, fraction: float, *, force: bool = False) -> None:
        """Record progress (0..1), at most about once a second, visible at once."""
        now = time.monotonic()
        if not force and now - self._last_write < 1.0:
            return
        self._last_write = now
        fraction = min(max(fraction, 0.0), 1.0)
        with db.independent_session() as s:
            s.execute(update(Job).where(Job.id == self.job_id, Job.state == JobState.RUNNING)
                      .values(progress=fraction))


def _lease_for(row: Job) -> timedelta:
    jt = JOB_TYPES.get(row.name)
    seconds = (jt.lease_seconds if jt and jt.lease_seconds else
               current_app.config["JOB_LEASE_SECONDS"])
    return timedelta(seconds=seconds)


def _claim(job_id: int, worker: str) -> bool:
    now = utcnow()
    with db.independent_session() as s:
        row = s.get(Job, job_id)
        if row is None:
            return False
        lease = _lease_for(row)
        result = s.execute(
            update(Job)
            .where(Job.id == job_id,
                   or_(Job.state == JobState.QUEUED,
                       and_(Job.state == JobState.RUNNING, Job.lease_expires_at < now)))
            .values(state=JobState.RUNNING, attempts=Job.attempts + 1, worker=worker,
                    lease_expires_at=now + lease, started_at=now, run_after=None)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1


class _Heartbeat(threading.Thread):
    """Renews a running job's lease until stopped, so only a dead worker loses it."""

    def __init__(self, app: Flask, job_id: int, lease: timedelta) -> None:
        super().__init__(name=f"lease-{job_id}", daemon=True)
        self.app, self.job_id, self.lease = app, job_id, lease
        self.stopped = threading.Event()

    def run(self) -> None:
        interval = max(self.lease.total_seconds() / 3, 0.5)
        while not self.stopped.wait(interval):
            try:
                with self.app.app_context(), db.independent_session() as s:
                    s.execute(update(Job)
                              .where(Job.id == self.job_id, Job.state == JobState.RUNNING)
                              .values(lease_expires_at=utcnow() + self.lease))
            except Exception:  # a missed heartbeat is survivable; the next one retries
                log.exception("lease renewal failed for job %s", self.job_id)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"[:100]


def run_job(job_id: int) -> JobState | None:
    """Claim and run one job; returns its new state, or None if someone else has it."""
    app = current_app._get_current_object()
    if not _claim(job_id, worker_name()):
        return None
    intent = write_intent.set(False)  # the read phase takes no write lock
    db.session.commit()  # start from a fresh snapshot that includes the claim
    row = db.session.get(Job, job_id)
    db.session.refresh(row)
    name = row.name
    jt = JOB_TYPES.get(name)
    heartbeat = _Heartbeat(app, job_id, _lease_for(row))
    heartbeat.start()
    try:
        if jt is None:
            raise JobFailed(f"unknown job {row.name}")
        ctx = JobContext(row)
        result = jt.func(ctx, **row.payload)
        ctx.begin_write()
        row = db.session.get(Job, job_id)
        row.state = JobState.SUCCEEDED
        row.progress = 1.0
        row.result = result if isinstance(result, dict) else None
        row.finished_at = utcnow()
        row.lease_expires_at = None
        db.session.commit()
        return JobState.SUCCEEDED
    except Exception as exc:
        db.session.rollback()
        log.warning("job %s (%s) attempt failed: %s", job_id, name, exc,
                    exc_info=not isinstance(exc, JobFailed))
        return _record_failure(job_id, exc)
    finally:
        write_intent.reset(intent)
        heartbeat.stopped.set()
        heartbeat.join()


def _record_failure(job_id: int, exc: BaseException) -> JobState:
    message, detail = describe_error(exc)
    final = isinstance(exc, JobFailed)
    with db.independent_session() as s:
        row = s.get(Job, job_id)
        if row is None:  # deleted while it ran: nothing is left to retry or report
            log.warning("job %s disappeared while it ran", job_id)
            return JobState.FAILED
        row.error_message, row.error = message, detail[-4000:]
        row.lease_expires_at = None
        if final or row.attempts >= row.max_attempts:
            row.state, row.finished_at = JobState.FAILED, utcnow()
            return JobState.FAILED
        delay = 5 * 2 ** (row.attempts - 1)
        row.state, row.run_after = JobState.QUEUED, utcnow() + timedelta(seconds=delay)
    dispatch(job_id, delay=delay)
    return JobState.QUEUED


def retry(row: Job) -> None:
    """Give a failed job a fresh set of attempts (dispatched when the caller commits)."""
    row.state, row.attempts, row.progress = JobState.QUEUED, 0, 0.0
    row.error, row.error_message, row.finished_at = None, None, None
    db.session.flush()
    db.session.info.setdefault(_PENDING_KEY, []).append(row.id)


def sweep(now: datetime | None = None) -> int:
    """Requeue jobs whose worker died (lease expired) or whose message was lost."""
    now = now or utcnow()
    stale_dispatch = now - timedelta(minutes=5)
    requeue: list[int] = []
    with db.independent_session() as s:
        expired = s.scalars(select(Job).where(Job.state == JobState.RUNNING,
                                              Job.lease_expires_at < now)).all()
        for row in expired:
            row.lease_expires_at = None
            row.error = f"worker {row.worker} stopped holding the lease"
            if row.attempts >= row.max_attempts:
                row.state, row.finished_at = JobState.FAILED, now
                row.error_message = {"msgid": N_("The worker stopped before the job finished."),
                                     "params": {}}
            else:
                row.state = JobState.QUEUED
                requeue.append(row.id)
        lost = s.scalars(select(Job.id).where(
            Job.state == JobState.QUEUED,
            or_(Job.dispatched_at.is_(None), Job.dispatched_at < stale_dispatch),
            or_(Job.run_after.is_(None), Job.run_after < now),
            Job.created_at < stale_dispatch)).all()
        requeue.extend(lost)
    for job_id in requeue:
        dispatch(job_id)
    if requeue:
        log.info("sweeper re-enqueued jobs %s", requeue)
    return len(requeue)


def run_queued_jobs(limit: int = 100, *, include_delayed: bool = False) -> int:
    """Run queued jobs in this process, oldest first (for `lms demo`, scripts and tests)."""
    done = 0
    while done < limit:
        now = utcnow()
        stmt = select(Job.id).where(Job.state == JobState.QUEUED).order_by(Job.id).limit(1)
        if not include_delayed:
            stmt = stmt.where(or_(Job.run_after.is_(None), Job.run_after <= now))
        with db.independent_session() as s:
            job_id = s.scalar(stmt)
        if job_id is None:
            break
        run_job(job_id)
        done += 1
    return done
