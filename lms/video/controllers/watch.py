"""Watch reports: the player says which seconds it played; the server decides what counts.

Two ways in. Heartbeats (every ten seconds while playing) show a watch pass and are
spooled, to be folded in by the worker (``lms.video.spool``); reports the learner
causes (pause, end, leaving) are signed-in form posts merged at once, so the status
line they answer with is the verified one.
"""

from __future__ import annotations

import math
import time
from typing import Any

from flask import current_app, request
from flask_babel import gettext
from werkzeug.exceptions import BadRequest

from lms.core.access import login_required, pass_required
from lms.core.db import writes_later
from lms.core.errors import UserError
from lms.extensions import csrf, db
from lms.video import operations
from lms.video.controllers.loaders import load_lesson_video
from lms.video.spool import (
    MAX_REPORT_BYTES,
    SPOOL_ERRORS,
    SpooledReport,
    read_pass,
    sign_pass,
    spool_of,
)
from lms.video.watch import ReportRejected


def _report() -> tuple[Any, Any]:
    """Segments and position from a JSON body, or from a form body (``navigator.sendBeacon``)."""
    data = request.get_json(silent=True)
    if data is None:
        try:
            data = {"segments": current_app.json.loads(request.form.get("segments") or "[]"),
                    "position": float(request.form.get("position") or "nan")}
        except ValueError:
            raise BadRequest() from None
    if not isinstance(data, dict):
        raise BadRequest()
    return data.get("segments", []), data.get("position")


@writes_later
@login_required
def report(course_id: int, lesson_id: int) -> tuple[dict, int]:
    """Every few seconds from every learner watching: the checks and the reading happen
    before the write lock is taken, so reports from many learners queue only for the
    short merge and commit."""
    found = load_lesson_video(course_id, lesson_id, learners_only=True)
    segments, position = _report()
    db.begin_write()
    try:
        outcome = operations.record_watch(found.enrolment, found.lesson, found.video, segments,
                                          position_s=position)
    except (ReportRejected, UserError) as err:
        db.session.rollback()
        return {"error": str(getattr(err, "reason", None) or err.message)}, 400
    db.session.commit()
    try:
        spool_of(current_app).note_status(found.enrolment.user_id, found.lesson.id,
                                          found.video.id, outcome.percent, outcome.complete)
    except SPOOL_ERRORS:  # the report is merged; only the heartbeats' answer waits
        current_app.logger.warning("the watch spool is unreachable", exc_info=True)
    return {"credited_s": round(outcome.credited_s, 1), "watched_s": round(outcome.watched_s, 1),
            "percent": outcome.percent, "complete": outcome.complete,
            # A fresh pass for the heartbeats: one that expired is renewed here.
            "pass": sign_pass(found.enrolment.user, course_id, lesson_id, found.video.id,
                              now=_now())}, 200


def _now() -> float:
    """The server's clock, epoch seconds (a function, so tests can move it)."""
    return time.time()


#: Heartbeat answers are for the player; none may be stored by a cache on the way.
_NO_STORE = {"Cache-Control": "no-store"}


@csrf.exempt
@pass_required
def heartbeat(course_id: int, lesson_id: int) -> tuple[dict, int, dict]:
    """Take a heartbeat in: check the pass, stamp the time, append to the spool. No session,
    no database: the rules are applied when the worker folds it."""
    request.max_content_length = MAX_REPORT_BYTES  # a body sent in chunks, too
    if (request.content_length or 0) > MAX_REPORT_BYTES:
        return {"error": gettext("This report is too large.")}, 413, _NO_STORE
    spool = spool_of(current_app)
    now = _now()
    found = read_pass(request.form.get("pass", ""), spool.key, now=now)
    if found is None or (found.course_id, found.lesson_id) != (course_id, lesson_id):
        # Expired or not for this lesson: the player sends its reports the signed-in way.
        return {"error": gettext("This page is too old to report watching; reload it.")}, \
            403, _NO_STORE
    try:
        position = float(request.form.get("position") or "nan")
    except ValueError:
        position = math.nan
    if spool.too_soon(found.user_id, lesson_id, found.video_id, now):
        return {"queued": False}, 429, _NO_STORE
    spool.append(SpooledReport(
        found.user_id, found.session_version, course_id, lesson_id, found.video_id,
        request.form.get("segments", ""), position if math.isfinite(position) else None, now))
    status = spool.status(found.user_id, lesson_id, found.video_id) or {}
    return {"queued": True, **status}, 202, _NO_STORE
