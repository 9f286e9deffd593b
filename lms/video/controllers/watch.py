"""Watch reports: the player says which seconds it played; the server decides what counts."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from werkzeug.exceptions import BadRequest

from lms.core.access import login_required
from lms.core.db import writes_later
from lms.core.errors import UserError
from lms.extensions import db
from lms.video import operations
from lms.video.controllers.loaders import load_lesson_video
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
    return {"credited_s": round(outcome.credited_s, 1), "watched_s": round(outcome.watched_s, 1),
            "percent": outcome.percent, "complete": outcome.complete}, 200
