"""The watch-report spool: heartbeats taken in without touching the database.

A playing video reports every ten seconds, from every learner at once. Each
report is cumulative (it lists every segment played since the page opened),
so what matters about one heartbeat is that it arrives and when: the server's
clock at arrival is what caps the credit. The heartbeat endpoint therefore
checks a *watch pass* (an HMAC the lesson page signed for this learner,
lesson and video, good for five minutes) and appends one line to the
learner's spool, stamped with the server's time; nothing else.

Heartbeats are folded into the watch records with the same rules as a direct
report (``lms.video.tasks``), the sign-in, enrolment and lesson checked again
then: by the worker every minute, and before anything else moves the
learner's study clock (a signed-in video report, reading, a quiz save), so
every report of the learner's is applied in the order it arrived and time
counts once, wherever it was spent.

Reports the learner causes (play, pause, end, leaving the page) still go the
direct way and answer with the verified status at once; a heartbeat answers
with the status the last fold or direct report verified (kept beside the
spool), so the learner's watched share still rises while they play.

Two stores, one interface: files in the instance directory (one host, the
embedded default) or Redis (several web hosts share one spool).
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
from redis import RedisError

#: A pass is good for five minutes; every signed-in report (play, pause, end)
#: answers with a fresh one, and when one expires the player reports the signed-in way,
#: which renews it. So signing out stops the heartbeats of a page left open soon after.
PASS_LIFETIME_S = 5 * 60
#: What a spool raises when its store is away (Redis down, a full disk).
SPOOL_ERRORS = (OSError, RedisError)
#: Folds a heartbeat may fail (the database away) before it is given up.
MAX_FOLD_ATTEMPTS = 3
#: Longest pass accepted: six numbers and a MAC.
_MAX_PASS_CHARS = 160
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
    #: Folds that failed on it (a database that was briefly away): it is put back until
    #: ``MAX_FOLD_ATTEMPTS``.
    attempts: int = 0

    def to_line(self) -> bytes:
        return json.dumps([self.user_id, self.session_version, self.course_id, self.lesson_id,
                           self.video_id, self.segments, self.position_s, self.received_at,
                           self.attempts], separators=(",", ":")).encode() + b"\n"

    @classmethod
    def from_line(cls, line: bytes) -> SpooledReport | None:
        """The report on one line, or None for a line that is not one (a torn write)."""
        try:
            u, v, c, lesson, video, segments, position, at, attempts = json.loads(line)
            report = cls(int(u), int(v), int(c), int(lesson), int(video), str(segments),
                         None if position is None else float(position), float(at),
                         int(attempts))
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
    spool = spool_of(current_app)
    spool.prepare(user.id)
    expires = int((now or time.time()) + PASS_LIFETIME_S)
    payload = f"{user.id}.{user.session_version}.{course_id}.{lesson_id}.{video_id}.{expires}"
    return f"{payload}.{_mac(spool.key, payload)}"


def read_pass(token: str, key: bytes, *, now: float | None = None) -> WatchPass | None:
    """The pass ``token`` stands for, or None if it is forged, malformed or expired."""
    if len(token) > _MAX_PASS_CHARS or not token.isascii():
        return None
    payload, _, mac = token.rpartition(".")
    if not payload or not hmac.compare_digest(_mac(key, payload).encode(), mac.encode()):
        return None
    try:
        found = WatchPass(*(int(part) for part in payload.split(".")))
    except (TypeError, ValueError):
        return None
    return found if found.expires >= (now or time.time()) else None


class Spool(ABC):
    """Where heartbeats wait to be folded, kept per learner: a report that moves a
    learner's study clock first folds that learner's waiting heartbeats, so every report
    is applied in the order it arrived (see ``lms.video.tasks.fold_learner``)."""

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
    def prepare(self, user_id: int) -> None:
        """Make ready for the learner's heartbeats (when a page hands out a pass), so taking
        one in does only the append."""

    @abstractmethod
    def append(self, report: SpooledReport) -> None:
        """Store one heartbeat."""

    @abstractmethod
    def learners(self) -> list[int]:
        """The learners who may have heartbeats waiting."""

    @abstractmethod
    def seal(self, user_id: int) -> None:
        """Close the learner's batch being appended to, so folding reads only finished
        batches; heartbeats that arrive meanwhile start a new one."""

    @abstractmethod
    def batches(self, user_id: int) -> list[Any]:
        """The learner's sealed batches, oldest first; each is read with :meth:`read` and
        dropped with :meth:`done` once what it held is committed."""

    @abstractmethod
    def read(self, batch: Any) -> list[SpooledReport]:
        """The reports of a sealed batch (torn lines left out)."""

    @abstractmethod
    def done(self, batch: Any) -> None:
        """Drop a folded batch."""

    @abstractmethod
    def has_waiting(self, user_id: int) -> bool:
        """Whether the learner has heartbeats waiting (asked before every study report,
        so it must be cheap)."""

    @abstractmethod
    @contextmanager
    def folding(self) -> Iterator[bool]:
        """Whether this process may fold every learner now (one at a time, across the
        consumers of every host sharing the spool)."""

    @abstractmethod
    def note_status(self, user_id: int, lesson_id: int, video_id: int, percent: int,
                    complete: bool) -> None:
        """Remember the verified share of a video a learner has watched, for heartbeats to
        answer with (set when a report is merged or heartbeats are folded)."""

    @abstractmethod
    def status(self, user_id: int, lesson_id: int, video_id: int) -> dict[str, Any] | None:
        """The last share noted for a learner's video: ``{"percent": .., "complete": ..}``,
        or None if the last one noted for the learner was about another video."""

    def taken(self, user_id: int) -> list[tuple[Any, list[SpooledReport]]]:
        """Seal the learner's heartbeats and read every batch of theirs now waiting."""
        self.seal(user_id)
        return [(batch, self.read(batch)) for batch in self.batches(user_id)]

    def pending(self) -> int:
        """How many heartbeats wait, sealed or not (for tests and the benchmark)."""
        return sum(len(self.read(batch)) for user_id in self.learners()
                   for batch in self.batches(user_id)) + self._current()

    def _current(self) -> int:
        return 0


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
    """A directory per learner in the instance: ``<user id>/current.log`` takes the
    heartbeats, sealed batches sit beside it. The page that hands out a pass makes the
    learner's file, and each seal makes the next, so a heartbeat only appends.

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

    def _current_of(self, user_id: int) -> Path:
        return self.directory / str(int(user_id)) / "current.log"

    def prepare(self, user_id: int) -> None:
        current = self._current_of(user_id)
        current.parent.mkdir(exist_ok=True)
        self._create(current)

    @staticmethod
    def _create(current: Path) -> None:
        """An empty current file, unless there is one: creating a file costs more than
        appending to it, so heartbeats find theirs made (by the page, and by each seal)."""
        with contextlib.suppress(FileExistsError):
            os.close(os.open(current, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))

    def append(self, report: SpooledReport) -> None:
        line, current = report.to_line(), self._current_of(report.user_id)
        while True:
            try:
                fd = os.open(current, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            except FileNotFoundError:  # no page prepared it (the directory was cleared)
                self.prepare(report.user_id)
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_SH)
                # Sealed between the open and the lock: the file may already be read, so
                # the line goes to the new current file instead.
                try:
                    still_current = os.stat(current).st_ino == os.fstat(fd).st_ino
                except FileNotFoundError:
                    still_current = False
                if still_current:
                    os.write(fd, line)
                    return
            finally:
                os.close(fd)

    def learners(self) -> list[int]:
        return sorted(int(entry.name) for entry in os.scandir(self.directory)
                      if entry.name.isdigit() and entry.is_dir())

    def seal(self, user_id: int) -> None:
        current = self._current_of(user_id)
        sealed = current.with_name(f"batch-{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.log")
        try:
            if os.stat(current).st_size == 0:
                return  # nothing came (one that comes now waits for the next seal)
            os.rename(current, sealed)
        except FileNotFoundError:
            return
        self._create(current)
        with open(sealed, "rb") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # appends in flight finish first

    def batches(self, user_id: int) -> list[Path]:
        return sorted((self.directory / str(int(user_id))).glob("batch-*.log"))

    def read(self, batch: Path) -> list[SpooledReport]:
        try:
            with open(batch, "rb") as handle:
                # An append that locked the file before it was sealed finishes first (the
                # seal waits for it too, but another reader may come between).
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                lines = handle.read().splitlines()
        except FileNotFoundError:  # folded meanwhile by a study report of the learner's
            return []
        return [r for r in (SpooledReport.from_line(line) for line in lines) if r is not None]

    def done(self, batch: Path) -> None:
        batch.unlink(missing_ok=True)

    def has_waiting(self, user_id: int) -> bool:
        folder = self.directory / str(int(user_id))
        try:
            names = os.listdir(folder)
            return any(name.startswith("batch-") for name in names) or (
                "current.log" in names and os.stat(folder / "current.log").st_size > 0)
        except FileNotFoundError:
            return False

    @contextmanager
    def folding(self) -> Iterator[bool]:
        with open(self.directory / "fold.lock", "a") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True

    def _current(self) -> int:
        total = 0
        for user_id in self.learners():
            with contextlib.suppress(FileNotFoundError):
                total += len(self._current_of(user_id).read_bytes().splitlines())
        return total

    def note_status(self, user_id: int, lesson_id: int, video_id: int, percent: int,
                    complete: bool) -> None:
        path = self.directory / "status" / str(int(user_id))
        path.parent.mkdir(exist_ok=True)
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
        partial.write_text(_status_text(lesson_id, video_id, percent, complete))
        os.replace(partial, path)  # a reader sees the old status or the new, never half

    def status(self, user_id: int, lesson_id: int, video_id: int) -> dict[str, Any] | None:
        try:
            text = (self.directory / "status" / str(int(user_id))).read_text()
        except FileNotFoundError:
            return None
        return _status_of(text, lesson_id, video_id)


class RedisSpool(Spool):
    """Redis lists: ``current:<user>`` takes the heartbeats; sealing renames it to a batch
    key listed in ``batches:<user>`` (both in one transaction); ``learners`` is the set of
    learners with something waiting, left only once nothing of theirs is."""

    #: How long one consumer may hold the fold for everyone before another may take it.
    FOLD_LOCK_S = 300

    def __init__(self, app: Flask, url: str) -> None:
        import redis

        super().__init__(app)
        self.redis = redis.Redis.from_url(url)
        self.prefix = f"{app.config['QUEUE_NAME']}:watch-spool"

    def _key(self, *parts: object) -> str:
        return ":".join((self.prefix, *(str(p) for p in parts)))

    def prepare(self, user_id: int) -> None:
        """Nothing: a Redis list is made by its first push."""

    def append(self, report: SpooledReport) -> None:
        pipe = self.redis.pipeline(transaction=False)
        pipe.rpush(self._key("current", report.user_id), report.to_line())
        pipe.sadd(self._key("learners"), report.user_id)
        pipe.execute()

    def learners(self) -> list[int]:
        return sorted(int(u) for u in self.redis.smembers(self._key("learners")))

    def seal(self, user_id: int) -> None:
        import redis

        batch = self._key("batch", user_id, f"{time.time_ns():020d}", uuid.uuid4().hex[:8])
        pipe = self.redis.pipeline(transaction=True)  # a heartbeat comes before or after
        pipe.rename(self._key("current", user_id), batch)
        pipe.sadd(self._key("batches", user_id), batch)
        try:
            pipe.execute()
        except redis.ResponseError:  # nothing to rename: the batch listed is empty
            self.redis.srem(self._key("batches", user_id), batch)

    def batches(self, user_id: int) -> list[bytes]:
        return sorted(self.redis.smembers(self._key("batches", user_id)))

    def read(self, batch: bytes) -> list[SpooledReport]:
        reports = (SpooledReport.from_line(line) for line in self.redis.lrange(batch, 0, -1))
        return [r for r in reports if r is not None]

    #: Drop a batch; a learner leaves the list only with nothing left, sealed or not (a fold
    #: that rolled back leaves its batches listed, and the learner with them).
    _DONE = """
    redis.call('DEL', KEYS[1])
    redis.call('SREM', KEYS[2], KEYS[1])
    if redis.call('SCARD', KEYS[2]) == 0 and redis.call('EXISTS', KEYS[3]) == 0 then
      redis.call('SREM', KEYS[4], ARGV[1])
    end
    """

    def done(self, batch: bytes) -> None:
        user_id = batch.decode().split(":")[-3]
        self.redis.eval(self._DONE, 4, batch, self._key("batches", user_id),
                        self._key("current", user_id), self._key("learners"), user_id)

    def has_waiting(self, user_id: int) -> bool:
        pipe = self.redis.pipeline(transaction=False)
        pipe.exists(self._key("current", user_id))
        pipe.scard(self._key("batches", user_id))
        current, sealed = pipe.execute()
        return bool(current or sealed)

    @contextmanager
    def folding(self) -> Iterator[bool]:
        token = uuid.uuid4().hex
        lock = self._key("fold-lock")
        if not self.redis.set(lock, token, nx=True, ex=self.FOLD_LOCK_S):
            yield False
            return
        try:
            yield True
        finally:
            if self.redis.get(lock) == token.encode():
                self.redis.delete(lock)

    def _current(self) -> int:
        return sum(int(self.redis.llen(self._key("current", u))) for u in self.learners())

    def note_status(self, user_id: int, lesson_id: int, video_id: int, percent: int,
                    complete: bool) -> None:
        self.redis.hset(self._key("status"), str(user_id),
                        _status_text(lesson_id, video_id, percent, complete))

    def status(self, user_id: int, lesson_id: int, video_id: int) -> dict[str, Any] | None:
        return _status_of(self.redis.hget(self._key("status"), str(user_id)),
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
