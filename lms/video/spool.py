"""The watch-report spool: heartbeats taken in without touching the database.

A playing video reports every ten seconds, from every learner at once. Each
report is cumulative (it lists every segment played since the page opened),
so what matters about one heartbeat is that it arrives and when: the server's
clock at arrival is what caps the credit. The heartbeat endpoint therefore
checks a *watch pass* (an HMAC the lesson page signed for this learner,
lesson and video) and appends one line to the spool, stamped with the
server's time; nothing else. The worker folds the spool into the watch
records every minute with the same rules as a direct report
(``operations.fold_spooled_reports``), checking the enrolment and the lesson
again then.

Reports the learner causes (pause, end, leaving the page) still go the direct
way and answer with the verified status at once; a heartbeat answers with the
status the last fold or direct report verified (kept beside the spool), so the
learner's watched share still rises while they play. A spooled report folded
after a later direct one is an overtaken report: it credits nothing, and
loses nothing, since the later report carried the same segments and the time
that passed.

Two stores, one interface: files in the instance directory (one host, the
embedded default) or a Redis list (several web hosts share one spool).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app

#: A pass outlives any sitting in front of one lesson; the player falls back to direct
#: reports (signed-in, with the form token) when it expires.
PASS_LIFETIME_S = 12 * 3600
#: A heartbeat is a few hundred bytes; more is not a player.
MAX_REPORT_BYTES = 16 * 1024
#: Heartbeats closer together than this from one learner on one video add nothing (each
#: report repeats the earlier ones' segments) and are refused before they are stored.
MIN_INTERVAL_S = 2.0
_EXT = "lms_watch_spool"


@dataclass(frozen=True)
class WatchPass:
    """Who may report on what, as the lesson page signed it."""

    user_id: int
    session_version: int
    course_id: int
    lesson_id: int
    video_id: int
    expires: int


@dataclass(frozen=True)
class SpooledReport:
    """One heartbeat as it arrived."""

    user_id: int
    session_version: int
    course_id: int
    lesson_id: int
    video_id: int
    #: The ``segments`` field as sent (JSON text), parsed when folded.
    segments: str
    position_s: float | None
    #: Server time of arrival, epoch seconds.
    received_at: float

    def to_line(self) -> bytes:
        return json.dumps([self.user_id, self.session_version, self.course_id, self.lesson_id,
                           self.video_id, self.segments, self.position_s, self.received_at],
                          separators=(",", ":")).encode() + b"\n"

    @classmethod
    def from_line(cls, line: bytes) -> SpooledReport | None:
        """The report on one line, or None for a line that is not one (a torn write)."""
        try:
            u, v, c, lesson, video, segments, position, at = json.loads(line)
            report = cls(int(u), int(v), int(c), int(lesson), int(video), str(segments),
                         None if position is None else float(position), float(at))
        except (ValueError, TypeError):
            return None
        return report


def _key(app: Flask) -> bytes:
    return hashlib.sha256(b"yonten watch pass\0" + str(app.config["SECRET_KEY"]).encode()
                          ).digest()


def _mac(key: bytes, payload: str) -> str:
    digest = hmac.new(key, payload.encode(), hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(digest).decode()


def sign_pass(user: Any, course_id: int, lesson_id: int, video_id: int, *,
              now: float | None = None) -> str:
    """A pass for ``user`` to send heartbeats about one lesson's video."""
    expires = int((now or time.time()) + PASS_LIFETIME_S)
    payload = f"{user.id}.{user.session_version}.{course_id}.{lesson_id}.{video_id}.{expires}"
    return f"{payload}.{_mac(spool_of(current_app).key, payload)}"


def read_pass(token: str, key: bytes, *, now: float | None = None) -> WatchPass | None:
    """The pass ``token`` stands for, or None if it is forged, malformed or expired."""
    payload, _, mac = token.rpartition(".")
    if not payload or len(token) > 200 or not hmac.compare_digest(_mac(key, payload), mac):
        return None
    try:
        found = WatchPass(*(int(part) for part in payload.split(".")))
    except (TypeError, ValueError):
        return None
    return found if found.expires >= (now or time.time()) else None


class Spool(ABC):
    """Where heartbeats wait to be folded."""

    def __init__(self, app: Flask) -> None:
        self.key = _key(app)
        self._recent: dict[tuple[int, int, int], float] = {}
        self._recent_lock = threading.Lock()

    def too_soon(self, user_id: int, lesson_id: int, video_id: int, now: float) -> bool:
        """Whether this process took a heartbeat on the same video from the same learner
        under ``MIN_INTERVAL_S`` ago (and if not, remember this one)."""
        key = (user_id, lesson_id, video_id)
        with self._recent_lock:
            last = self._recent.get(key)
            if last is not None and now - last < MIN_INTERVAL_S:
                return True
            if len(self._recent) > 50_000:
                self._recent = {k: t for k, t in self._recent.items()
                                if now - t < MIN_INTERVAL_S}
            self._recent[key] = now
            return False

    @abstractmethod
    def append(self, report: SpooledReport) -> None:
        """Store one heartbeat."""

    @abstractmethod
    def batches(self) -> Iterator[Any]:
        """Sealed batches, oldest first; each is read with :meth:`read` and dropped with
        :meth:`done` once what it held is committed."""

    @abstractmethod
    def read(self, batch: Any) -> list[SpooledReport]:
        """The reports of a sealed batch (torn lines left out)."""

    @abstractmethod
    def done(self, batch: Any) -> None:
        """Drop a folded batch."""

    @abstractmethod
    def note_status(self, user_id: int, lesson_id: int, video_id: int, percent: int,
                    complete: bool) -> None:
        """Remember the verified share of a video a learner has watched, for heartbeats to
        answer with (set when a report is merged or heartbeats are folded)."""

    @abstractmethod
    def status(self, user_id: int, lesson_id: int, video_id: int) -> dict[str, Any] | None:
        """The last share noted for a learner's video: ``{"percent": .., "complete": ..}``,
        or None if the last one noted for the learner was about another video."""

    def pending(self) -> int:
        """How many heartbeats wait (for the status page and tests)."""
        return sum(len(self.read(batch)) for batch in self.batches()) + self._current()

    def _current(self) -> int:
        return 0

    @contextmanager
    def taken(self) -> Iterator[list[tuple[Any, list[SpooledReport]]]]:
        """Every batch now waiting, with its reports; dropped when the block succeeds."""
        self.seal()
        batches = [(batch, self.read(batch)) for batch in self.batches()]
        yield batches
        for batch, _ in batches:
            self.done(batch)

    @abstractmethod
    def seal(self) -> None:
        """Close the batch being appended to, so folding reads only finished batches."""


def _status_text(lesson_id: int, video_id: int, percent: int, complete: bool) -> str:
    return f"{lesson_id} {video_id} {int(percent)} {int(bool(complete))}"


def _status_of(text: str | bytes | None, lesson_id: int, video_id: int
               ) -> dict[str, Any] | None:
    """The status in ``text`` if it is about this lesson's video (one is kept per learner:
    what they watch now, so the store grows with the learners, not with their lessons)."""
    try:
        lesson, video, percent, complete = (
            text.decode() if isinstance(text, bytes) else text or "").split()
        if (int(lesson), int(video)) != (lesson_id, video_id):
            return None
        return {"percent": int(percent), "complete": complete == "1"}
    except ValueError:
        return None


class FileSpool(Spool):
    """Lines appended to ``current.log`` in a directory of the instance.

    Each heartbeat opens the file, takes a shared lock, checks that the file it
    holds is still the current one, writes one line with ``O_APPEND`` and closes
    it. Sealing renames the file (new heartbeats start a new one), then takes
    an exclusive lock on the sealed file, which waits for any append already
    holding it; an append that opened it before the rename but locked it after
    finds it is no longer current and writes to the new one.
    """

    def __init__(self, app: Flask, directory: Path) -> None:
        super().__init__(app)
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.current = directory / "current.log"

    def append(self, report: SpooledReport) -> None:
        line = report.to_line()
        while True:
            fd = os.open(self.current, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_SH)
                # Sealed between the open and the lock: the file may already be read, so
                # the line goes to the new current file instead.
                try:
                    still_current = os.stat(self.current).st_ino == os.fstat(fd).st_ino
                except FileNotFoundError:
                    still_current = False
                if still_current:
                    os.write(fd, line)
                    return
            finally:
                os.close(fd)

    def seal(self) -> None:
        sealed = self.directory / f"batch-{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.log"
        try:
            os.rename(self.current, sealed)
        except FileNotFoundError:
            return
        with open(sealed, "rb") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # appends in flight finish first

    def batches(self) -> Iterator[Path]:
        return iter(sorted(self.directory.glob("batch-*.log")))

    def read(self, batch: Path) -> list[SpooledReport]:
        reports = (SpooledReport.from_line(line) for line in batch.read_bytes().splitlines())
        return [r for r in reports if r is not None]

    def done(self, batch: Path) -> None:
        batch.unlink(missing_ok=True)

    def _current(self) -> int:
        try:
            return len(self.current.read_bytes().splitlines())
        except FileNotFoundError:
            return 0

    def note_status(self, user_id: int, lesson_id: int, video_id: int, percent: int,
                    complete: bool) -> None:
        path = self.directory / "status" / str(user_id)
        path.parent.mkdir(exist_ok=True)
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
        partial.write_text(_status_text(lesson_id, video_id, percent, complete))
        os.replace(partial, path)  # a reader sees the old status or the new, never half

    def status(self, user_id: int, lesson_id: int, video_id: int) -> dict[str, Any] | None:
        try:
            text = (self.directory / "status" / str(user_id)).read_text()
        except FileNotFoundError:
            return None
        return _status_of(text, lesson_id, video_id)


class RedisSpool(Spool):
    """A Redis list; sealing renames it to a batch key of its own (atomic in Redis)."""

    def __init__(self, app: Flask, url: str) -> None:
        import redis

        super().__init__(app)
        self.redis = redis.Redis.from_url(url)
        self.prefix = f"{app.config['QUEUE_NAME']}:watch-spool"
        self.current = f"{self.prefix}:current"

    def append(self, report: SpooledReport) -> None:
        self.redis.rpush(self.current, report.to_line())

    def seal(self) -> None:
        import redis

        with contextlib.suppress(redis.ResponseError):  # nothing appended since the last seal
            self.redis.rename(self.current, f"{self.prefix}:batch:{time.time_ns():020d}:"
                                            f"{uuid.uuid4().hex[:8]}")

    def batches(self) -> Iterator[bytes]:
        return iter(sorted(self.redis.scan_iter(match=f"{self.prefix}:batch:*")))

    def read(self, batch: bytes) -> list[SpooledReport]:
        reports = (SpooledReport.from_line(line) for line in self.redis.lrange(batch, 0, -1))
        return [r for r in reports if r is not None]

    def done(self, batch: bytes) -> None:
        self.redis.delete(batch)

    def _current(self) -> int:
        return int(self.redis.llen(self.current))

    def note_status(self, user_id: int, lesson_id: int, video_id: int, percent: int,
                    complete: bool) -> None:
        self.redis.hset(f"{self.prefix}:status", str(user_id),
                        _status_text(lesson_id, video_id, percent, complete))

    def status(self, user_id: int, lesson_id: int, video_id: int) -> dict[str, Any] | None:
        return _status_of(self.redis.hget(f"{self.prefix}:status", str(user_id)),
                          lesson_id, video_id)


def init_app(app: Flask) -> None:
    """The app's spool: on Redis when ``REDIS_URL`` is set, else files in the instance."""
    if app.config["REDIS_URL"]:
        app.extensions[_EXT] = RedisSpool(app, app.config["REDIS_URL"])
    else:
        app.extensions[_EXT] = FileSpool(app, Path(app.instance_path) / "watch-spool")


def spool_of(app: Flask) -> Spool:
    """The spool of ``app``."""
    return app.extensions[_EXT]
